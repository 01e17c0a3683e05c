"""Assessing many routes at once shares work between them (rules.Batch); the verdicts must be exactly
those of each route assessed alone. Checked on a varied generated register, across the law's
boundary dates (nothing is timed here: speed is measured in bench/)."""

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import pytest
from helpers import generated_register
from sqlalchemy import select

from bench.generate import Scale
from register import assessments, countries, rules
from register.rules import verdicts
from register.extensions import db
from register.regions import builtin_regions
from register.models import RouteRegimeVerdict, RouteVerdict

TODAY = date(2026, 11, 25)
# More group entities and routes than the "tiny" scale: BCR, codes, certifications and derogations
# all turn up, and many routes share importers, exporters and instruments.
VARIED = Scale("varied", group_entities=30, third_parties=200, routes=2_000)


@pytest.fixture(scope="module")
def register_app(tmp_path_factory):
    """An app on its own migrated SQLite file, holding the generated register."""
    with generated_register(tmp_path_factory.mktemp("batch"), VARIED, TODAY) as (app, _report):
        yield app


def boundary_dates(facts: list[rules.RouteFacts], law: countries.CountryData) -> list[date]:
    """Days on which a verdict can change, with the day before: the law's dates, the adequacy
    decisions', and a sample of the register's own (signing, termination, BCR, TIA, certificates)."""
    days = {rules.OLD_SCC_LAST_DAY, rules.OLD_SCC_CONCLUDED_BY, rules.UK_TOOLS_FROM, rules.UK_OLD_SCC_LAST_DAY,
            rules.UK_OLD_SCC_CONCLUDED_BY, rules.FADP_REVISED_FROM, rules.ISO_2013_LAST_DAY, TODAY,
            TODAY + timedelta(days=400), date(2032, 1, 1)}
    for regime in law.regimes.values():
        for instrument in regime.adequacy:
            days |= {instrument.valid_from, instrument.valid_until}
        for basis in regime.adequacy_articles:
            days |= {basis.valid_from, basis.valid_until}
    own: set[date] = set()
    for route in facts:
        own |= {route.starts_on, route.ends_on}
        for instrument in route.instruments:
            own |= {instrument.signed_on, instrument.terminated_on}
            if instrument.bcr_approval:
                own |= {instrument.bcr_approval.approved_on, instrument.bcr_approval.withdrawn_on}
        own |= {tia.assessed_on for tia in route.tias} | {tia.next_review_on for tia in route.tias}
        for party in (route.exporter, route.importer):
            own |= {membership.bound_to for membership in party.bcr}
            own |= {certificate.expires_on for certificate in party.certificates}
    own.discard(None)
    days |= set(sorted(own)[::max(1, len(own) // 8)])
    days.discard(None)
    return sorted(days | {day - timedelta(days=1) for day in days if day is not None})


def test_a_batch_gives_every_route_the_verdict_it_has_alone(register_app):
    session = db.session()
    law = countries.current()
    facts = assessments.load_facts(session)
    days = boundary_dates(facts, law)
    assert len(days) > 30
    mechanisms: Counter = Counter()
    shared = restricted = 0
    for on in days:
        batch = rules.Batch(on, law)
        batched = {route.id: rules.assess_route(route, on, law, batch) for route in facts}
        for route in facts:
            alone = rules.assess_route(route, on, law)
            # Dataclass equality: every field, down to each reason's text and reference.
            assert batched[route.id] == alone, (route.id, on)
            mechanisms.update((item.mechanism, item.status) for item in alone.regimes)
            restricted += sum(item.restricted for item in alone.regimes)
        shared += len(batch.regimes)
    # The comparison covered verdicts shared between routes, and every kind of verdict.
    assert shared < restricted / 2
    assert {mechanism for mechanism, _ in mechanisms} >= {"none_needed", "adequacy", "bcr", "scc", "derogation",
                                                         "code_of_conduct", "certification", "none"}
    assert {status for _, status in mechanisms} == {"covered", "attention", "gap"}


def test_the_app_paths_batch_and_agree_with_single_assessments(register_app):
    session = db.session()
    law = countries.current()
    facts = {route.id: route for route in assessments.load_facts(session)}
    for on in (rules.OLD_SCC_LAST_DAY, rules.UK_OLD_SCC_LAST_DAY + timedelta(days=1), TODAY,
               TODAY + timedelta(days=400)):
        what_if = assessments.assess(session, on)
        stored = assessments.evaluate(session, on)
        assert set(what_if) == set(stored) == set(facts)
        for route_id, route in facts.items():
            alone = rules.assess_route(route, on, law)
            assert what_if[route_id] == alone and stored[route_id].assessment == alone, (route_id, on)
            importer = route.importer
            vetting = rules.vetting_state(importer, on).state if importer.kind == "third_party" else None
            assert stored[route_id].importer_vetting == vetting


def test_a_batch_serves_one_date_and_one_law(register_app):
    law = countries.current()
    route = next(route for route in assessments.load_facts(db.session()) if route.regimes)
    batch = rules.Batch(TODAY, law)
    rules.assess_route(route, TODAY, law, batch)
    with pytest.raises(ValueError):
        rules.assess_route(route, TODAY + timedelta(days=1), law, batch)


# --- routes that differ in one fact each: a batch must tell them apart -------------------------

D = date.fromisoformat
LAW = countries.load(countries.DEFAULT_FILE)
_ids = iter(range(5000, 10**6))


def party(country="DE", kind="group_entity", name=None, *, dpf=(), scope=None, bcr=(), certs=(), art3_2=False):
    return rules.PartyFacts(id=next(_ids), kind=kind, legal_name=name or f"{kind} in {country}", country=country,
                            bcr=tuple(bcr), dpf=tuple(dpf), scope_facts=dict(scope or {}),
                            is_subject_to_gdpr_art3_2=art3_2, certificates=tuple(certs))


def vendor(country="US", **kwargs):
    kwargs.setdefault("name", "Cloudco Inc.")
    return party(country, "third_party", **kwargs)


def route(dest, importer, exporter, *, roles=("controller", "processor"), tools=(), tias=(), hr=False, onward=False,
          org=None, regimes="EU"):
    return rules.RouteFacts(id=next(_ids), exporter=exporter, importer=importer, destination_country=None if org else dest,
                            destination_organisation=org, regimes=frozenset(regimes.split()), is_onward=onward,
                            exporter_role=roles[0], importer_role=roles[1], has_hr_data=hr, instruments=tuple(tools),
                            tias=tuple(tias))


def families() -> dict[str, list[rules.RouteFacts]]:
    """Per fact a batch keys its shared verdicts on: routes alike in everything else (the same
    objects), whose verdicts that one fact changes."""
    germany, norway = party("DE"), party("NO")
    approval = rules.BcrApprovalFacts(approval_id=1, regime="EU", bcr_type="bcr_c", approved_on=D("2019-01-01"))
    membership = rules.BcrMembershipFacts(approval_id=1, regime="EU", bcr_type="bcr_c", approved_on=D("2019-01-01"),
                                          bound_from=D("2019-06-01"))
    bound_exporter, bound_importer = party("FR", bcr=[membership]), party("IN", bcr=[membership])
    unbound_importer = party("IN")
    bcr = rules.InstrumentFacts(id=next(_ids), kind="bcr", title="Group BCR", bcr_approval=approval)
    scc = rules.InstrumentFacts(id=next(_ids), kind="eu_scc", title="SCC", scc_decision="2021/914",
                                scc_modules=frozenset({2}), signed_on=D("2021-10-01"))
    certificate = rules.CertificateFacts(edition="2022", issued_on=D("2024-01-01"), expires_on=D("2027-01-01"))
    certified = rules.DpfFacts(framework="eu_us", covers_hr_data=False, covers_non_hr_data=True,
                               certified_entity_name="Cloudco Inc.")
    us_vendor, indian_vendor = vendor("US", dpf=[certified]), vendor("IN")
    tia = rules.TiaFacts(assessed_on=D("2020-01-01"), outcome="can_comply")
    blocked = rules.TiaFacts(assessed_on=D("2020-01-01"), outcome="cannot_comply")
    return {
        "HR data (the DPF entry's data types)": [route("US", us_vendor, germany, hr=hr) for hr in (False, True, False)],
        "the exporter's country (whether the decision applies to it)": [
            route("BR", vendor("BR", scope={"br_lgpd_covered": "yes"}), exporter) for exporter in (germany, norway)],
        "the roles (the SCC module)": [route("IN", indian_vendor, germany, roles=roles, tools=[scc])
                                       for roles in (("controller", "processor"), ("processor", "processor"))],
        "the importer's scope answers": [route("CA", vendor("CA", scope={"ca_pipeda": answer}), germany)
                                         for answer in ("yes", "no", "yes", None)],
        "the importer's DPF entry and legal name": [
            route("US", vendor("US", name=name, dpf=[certified]), germany) for name in ("Cloudco Inc.", "Cloudco EU")],
        "the importer's certificates": [route("IN", vendor("IN", certs=certs), germany)
                                        for certs in ((), [certificate], ())],
        "Art. 3(2)": [route("IN", vendor("IN", art3_2=art3_2), germany, tools=[scc], tias=[tia])
                      for art3_2 in (False, True)],
        "the group importer (BCR)": [route("IN", importer, bound_exporter, tools=[bcr], tias=[tia])
                                     for importer in (bound_importer, unbound_importer, bound_importer)],
        "the group exporter (BCR)": [route("IN", bound_importer, exporter, tools=[bcr], tias=[tia])
                                     for exporter in (bound_exporter, germany)],
        "the group exporter (unused BCR)": [route("IN", bound_importer, exporter) for exporter in (bound_exporter, germany)],
        "the TIAs": [route("IN", indian_vendor, germany, tools=[scc], tias=tias) for tias in ((), [tia], [blocked])],
        "the instruments": [route("IN", indian_vendor, germany, tools=tools) for tools in ((), [scc], [bcr])],
        "onward": [route("IN", indian_vendor, germany, onward=onward) for onward in (False, True)],
        "the destination": [route(dest, indian_vendor, germany, org=org)
                            for dest, org in (("IN", None), ("CA", None), (None, "UN"), (None, None))],
        "the regime": [route("IN", indian_vendor, germany, regimes=regimes) for regimes in ("EU", "UK", "CH", "EU UK CH")],
        "the region's members": [to_region(route("US", vendor("US"), germany, tools=tools), region)
                                 for region in (ANZ, NZ_ONLY, ANZ, WORLD) for tools in ((), [scc])],
        "a region's member reading HR data or the exporter's country": [
            to_region(route("US", us_vendor, exporter, hr=hr), region)
            for region in (AMERICAS, WORLD) for exporter in (germany, norway) for hr in (False, True)],
    }


ANZ = rules.RegionFacts(code="ANZ", name="Australia and New Zealand", countries=("AU", "NZ"))
NZ_ONLY = rules.RegionFacts(code="NZ-ONLY", name="New Zealand", countries=("NZ",))
AMERICAS = rules.RegionFacts(code="AMER", name="Americas", countries=("BR", "CA", "US"))
WORLD = builtin_regions(LAW)["WORLD"].facts


def to_region(facts: rules.RouteFacts, region: rules.RegionFacts) -> rules.RouteFacts:
    return replace(facts, destination_country=region.code, destination_region=region)


@pytest.mark.parametrize("on", [D("2021-06-01"), TODAY, D("2032-01-01")])
def test_a_batch_tells_apart_routes_that_differ_in_one_fact(on):
    groups = families()
    batch = rules.Batch(on, LAW)
    batched = {route.id: rules.assess_route(route, on, LAW, batch)
               for members in groups.values() for route in members}
    for fact, members in groups.items():
        alone = [rules.assess_route(route, on, LAW) for route in members]
        assert [batched[route.id] for route in members] == alone, fact
        if on == TODAY:
            assert len({assessments_key(item) for item in alone}) > 1, f"{fact}: the family does not vary"


def assessments_key(assessment: rules.RouteAssessment) -> tuple:
    """An assessment without its route id, to see whether two routes got the same verdict."""
    return (assessment.status, assessment.regimes, assessment.reasons)


@pytest.mark.parametrize("cls, make", [(rules.Reason, verdicts._reason),
                                       (rules.RegimeAssessment, verdicts._regime_assessment),
                                       (rules.RouteAssessment, verdicts._route_assessment)])
def test_the_fast_constructors_make_the_same_verdicts(cls, make):
    import dataclasses

    values = [f"value of {item.name}" for item in dataclasses.fields(cls)]
    made = make(*values)
    assert type(made) is cls and made == cls(*values)
    assert [getattr(made, item.name) for item in dataclasses.fields(cls)] == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, dataclasses.fields(cls)[0].name, "changed")


def test_verdicts_refreshed_in_chunks_are_those_of_the_whole_register_assessed_at_once(register_app, monkeypatch):
    # refresh_touched (an import touches every route) stores them REFRESH_CHUNK routes at a time,
    # chunks grouped by engagement; an engagement's routes are read for its uncovered locations.
    session = db.session()
    facts = assessments.load_facts(session)
    assert sum(bool(route.uncovered_locations) for route in facts) > 10
    monkeypatch.setattr(assessments, "REFRESH_CHUNK", 97)
    try:
        count = assessments.refresh_touched(session, {("transfer_routes", route.id) for route in facts}, TODAY)
        stored = {row.route_id: (row.status, row.mechanisms, row.importer_vetting, row.live, row.destination,
                                 row.breaks_notice_promise) for row in session.scalars(select(RouteVerdict))}
        stored_regimes = {(row.route_id, row.regime, row.mechanism, row.status, row.adequacy_id, row.live)
                          for row in session.scalars(select(RouteRegimeVerdict))}
    finally:
        session.rollback()
    whole = assessments.evaluate(session, TODAY)
    assert count == len(whole) == len(facts)
    assert stored == {route_id: (verdict.assessment.status, ",".join(sorted({item.mechanism for item in verdict.assessment.regimes})),
                                 verdict.importer_vetting, verdict.live, verdict.destination, verdict.assessment.breaks_notice_promise)
                      for route_id, verdict in whole.items()}
    assert stored_regimes == {(route_id, item.regime, item.mechanism, item.status, item.adequacy_id, verdict.live)
                              for route_id, verdict in whole.items() for item in verdict.assessment.regimes}
