"""The demo register: the shape it promises, written only through the audited services from its files."""

import shutil
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from register import countries
from register.auth import verify_password
from register.extensions import db
from register.models import (
    AUDITED_MODELS,
    AuditAction,
    AuditEvent,
    AuditSource,
    BcrApproval,
    Certificate,
    Client,
    DpfCertification,
    Engagement,
    GroupEntity,
    InstrumentKind,
    InternationalOrganisation,
    Lifecycle,
    Party,
    Regime,
    Relationship,
    Role,
    ThirdParty,
    TiaOutcome,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    User,
    VettingStatus,
)
from register.seed import DEMO_DIR, UNITS, DemoDataError, RegisterNotEmpty, load_demo, read_demo


@pytest.fixture
def demo(demo_register):
    """The demo loaded into the empty test register (once per backend: conftest.demo_register); the logins it returned."""
    return demo_register


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def all_of(model, *where) -> list:
    return list(db.session.scalars(select(model).where(*where)))


def test_demo_returns_one_working_login_per_role(demo):
    assert sorted(role for role, _email, _password in demo) == sorted(role.value for role in Role)
    for role, email, password in demo:
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.role == Role(role) and user.is_active and email.endswith("@meridian.example")
        assert verify_password(user.password_hash, password)
    assert len({password for _role, _email, password in demo}) == 3


def test_demo_is_a_global_group_with_vendors_clients_and_an_international_organisation(demo):
    assert 35 <= count(GroupEntity) <= 45
    assert count(Party, Party.kind == "group_entity", Party.is_controller.is_(True)) == count(GroupEntity)
    assert count(GroupEntity, GroupEntity.is_processor.is_(True)) >= 3
    assert db.session.scalar(select(func.count(func.distinct(GroupEntity.country_code)))) >= 25
    assert 55 <= count(ThirdParty) <= 65
    assert 3 <= count(Client) <= 5
    assert all(client.notice_period_days for client in all_of(Client))
    organisations = all_of(InternationalOrganisation)
    assert "EPO" in {organisation.organisation_code for organisation in organisations}
    assert all(countries.is_organisation(o.organisation_code) and o.country_code is None for o in organisations)
    retired = all_of(GroupEntity, GroupEntity.status == Lifecycle.RETIRED)
    assert retired and all(entity.ends_on for entity in retired)


def test_demo_vetting_covers_every_state_including_the_dpf_traps(demo):
    today = date.today()
    certificates = all_of(Certificate)
    assert any(c.edition == "2022" and c.expires_on > today + timedelta(days=90) for c in certificates)
    assert any(today <= c.expires_on <= today + timedelta(days=90) for c in certificates)
    assert any(c.expires_on < today for c in certificates)
    assert any(c.edition == "2013" for c in certificates)
    assert any(c.last_verified_on and c.last_verified_on < today - timedelta(days=365) for c in certificates)
    assert count(ThirdParty) > len({c.third_party_id for c in certificates})  # some have none
    statuses = {party.vetting_status for party in all_of(ThirdParty)}
    assert {VettingStatus.APPROVED, VettingStatus.REJECTED, VettingStatus.PENDING} <= statuses
    assert count(ThirdParty, ThirdParty.vetting_next_review_on < today) >= 1
    assert count(ThirdParty, ThirdParty.is_subject_to_gdpr_art3_2.is_(True)) >= 1
    assert count(ThirdParty, ThirdParty.is_in_subject_list.is_(False)) >= 1
    rows = all_of(DpfCertification)
    assert {row.framework.value for row in rows} == {"eu_us", "uk_extension", "swiss_us"}
    assert any(row.certified_entity_name != row.third_party.legal_name for row in rows)
    non_hr_only = {row.third_party_id for row in rows if row.is_active and not row.covers_hr_data}
    hr_routes = all_of(TransferRoute, TransferRoute.has_hr_data.is_(True), TransferRoute.carries_eu_data.is_(True))
    assert any(route.importer_id in non_hr_only for route in hr_routes)


def test_demo_engagements_form_sub_processor_chains_and_bcr_bind_the_group(demo):
    engagements = all_of(Engagement)
    relationships = {engagement.relationship_type for engagement in engagements}
    assert set(Relationship) <= relationships
    engaged_by = {}
    for engagement in engagements:
        engaged_by.setdefault(engagement.engaged_id, set()).add(engagement.engager_id)
    shared = [party for party, engagers in engaged_by.items() if len(engagers) >= 3]
    assert shared, "one cloud is the sub-processor of several vendors"

    def depth(party: int) -> int:
        return 1 + max((depth(engager) for engager in engaged_by.get(party, ())), default=0)

    assert max(depth(party) for party in engaged_by) >= 4  # entity -> vendor -> sub -> sub-sub
    assert any(e.status == Lifecycle.PROPOSED and e.planned_start_on > date.today() for e in engagements)
    assert any(e.status == Lifecycle.RETIRED and e.ends_on for e in engagements)
    clients = {client.id for client in all_of(Client)}
    assert any(e.engager_id in clients and e.relationship_type == Relationship.PROCESSOR for e in engagements)
    # BCR: approved for the EU (lead authority CNIL) and the UK (ICO), never for Switzerland.
    approvals = {approval.regime: approval for approval in all_of(BcrApproval)}
    assert set(approvals) == {Regime.EU, Regime.UK}
    eu, uk = approvals[Regime.EU], approvals[Regime.UK]
    assert "CNIL" in eu.authority and "ICO" in uk.authority
    assert len(eu.memberships) > len(uk.memberships) >= 3
    assert any(membership.bound_to for membership in eu.memberships)  # one entity left the group


def test_demo_instruments_cover_every_tool_and_every_instrument_is_relied_on(demo):
    instruments = all_of(TransferInstrument)
    assert 15 <= len(instruments) <= 25
    assert all(instrument.signatories and instrument.signed_on for instrument in instruments)
    relied_on = {instrument.id for route in all_of(TransferRoute) for instrument in route.instruments}
    assert {instrument.id for instrument in instruments} <= relied_on
    kinds = {instrument.kind for instrument in instruments}
    assert {InstrumentKind.EU_SCC, InstrumentKind.UK_IDTA, InstrumentKind.UK_ADDENDUM, InstrumentKind.BCR,
            InstrumentKind.DEROGATION} <= kinds
    sccs = [i for i in instruments if i.kind == InstrumentKind.EU_SCC]
    assert set().union(*(i.module_numbers for i in sccs)) == {1, 2, 3, 4}
    assert any(i.has_swiss_adaptation for i in sccs)
    assert any(i.scc_decision != "2021/914" for i in sccs)
    assert all(i.uk_addendum_version for i in instruments if i.kind == InstrumentKind.UK_ADDENDUM)
    assert all(i.bcr_approval_id for i in instruments if i.kind == InstrumentKind.BCR)
    derogations = [i for i in instruments if i.kind == InstrumentKind.DEROGATION]
    assert {i.derogation_ground.value for i in derogations} >= {"b", "f"}
    assert all(i.derogation_justification for i in derogations)
    assert any(i.status == Lifecycle.RETIRED and i.terminated_on for i in instruments)


def test_demo_routes_exercise_every_regime_state_and_onward_transfer(demo):
    routes = all_of(TransferRoute)
    assert 200 <= len(routes) <= 300
    for regime in Regime:
        assert any(regime in route.regimes for route in routes), regime
    assert any({Regime.EU, Regime.UK} <= set(route.regimes) for route in routes)
    assert any(not route.regimes for route in routes), "a route with no EU, UK or Swiss data"
    assert any(route.destination_organisation_id for route in routes)
    assert any(route.has_special_category_data and route.special_category_basis == "explicit_consent"
               and route.consent_mechanism for route in routes)
    assert any(route.special_category_basis == "vital_interests" for route in routes)
    assert any(route.has_special_category_data and route.special_category_basis is None for route in routes)
    assert any(route.has_hr_data for route in routes)
    assert {route.status for route in routes} == set(Lifecycle)
    assert all(route.ends_on for route in routes if route.status == Lifecycle.RETIRED)

    # Onward transfers name their source route and carry (at least) its regimes.
    onward = [route for route in routes if route.source_route_id]
    assert len(onward) >= 3
    for route in onward:
        assert set(route.source_route.regimes) <= set(route.regimes), route.label
    third_parties = {party.id for party in all_of(ThirdParty)}
    assert any(route.exporter_id in third_parties and route.destination_country == "IN" for route in onward)

    # TIAs: every outcome, an overdue review, and a safeguard relied on without one.
    assessments = all_of(TransferImpactAssessment)
    assert {assessment.outcome for assessment in assessments} == set(TiaOutcome)
    assert any(a.next_review_on and a.next_review_on < date.today() for a in assessments)
    assessed = {assessment.route_id for assessment in assessments}
    safeguarded = [route for route in routes
                   if any(i.kind in (InstrumentKind.EU_SCC, InstrumentKind.BCR) for i in route.instruments)]
    assert any(route.id not in assessed for route in safeguarded), "a safeguard without a TIA"


def test_every_demo_record_has_exactly_one_seed_creation_event(demo):
    events = all_of(AuditEvent)
    assert {event.source for event in events} == {AuditSource.SEED}
    created = Counter((e.record_type, e.record_id) for e in events if e.action == AuditAction.CREATE)
    records = Counter()
    for model in AUDITED_MODELS:
        for record_id in db.session.scalars(select(model.id)):
            records[(model.__table__.name, record_id)] += 1
    assert records and created == records


def test_demo_refuses_a_register_that_is_not_empty(demo):
    events = count(AuditEvent)
    with pytest.raises(RegisterNotEmpty):
        load_demo()
    assert count(AuditEvent) == events
    assert count(User) == 3


def test_every_field_section_and_reference_of_the_demo_files_is_known_to_the_loader():
    plan, consent_mechanism = read_demo()
    sections = {(model, where.split(" ")[1]) for steps in plan for model, where, _key, _fields in steps}
    assert sections == {(model, section) for unit in UNITS for _file, section, model in unit}
    assert consent_mechanism
    assert {path.name for path in DEMO_DIR.glob("*.yaml")} == {file for unit in UNITS for file, _s, _m in unit}


@pytest.fixture
def demo_copy(tmp_path):
    """A copy of the demo files to break."""
    copy = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, copy)
    return copy


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("file, old, new, message", [
    ("group.yaml", "        legal_name: Meridian Assist SA\n", "        legal_name: Meridian Assist SA\n        legal_nmae: x\n",
     "group.yaml: group_entities fr: unknown fields ['legal_nmae']"),
    ("routes.yaml", "        importer: nimbus\n", "        importer: nimbuss\n",
     "importer refers to nimbuss, not written before it"),
    ("engagements.yaml", "engaged: nimbus\n", "engaged: nimbus\n        engaged: relata\n", "engaged given twice"),
    ("group.yaml", "country_code: FR\n", "country_code: NO\n", "country_code must be text (quote False)"),
    ("routes.yaml", "carries: [EU]", "carries: [EEA]", "carries is a list of EU, UK, CH"),
    ("routes.yaml", "\nroutes:\n", "\nroute:\n", "routes.yaml: unknown sections ['route']"),
])
def test_a_demo_file_the_loader_does_not_know_stops_it_and_says_where(demo_copy, file, old, new, message):
    edit(demo_copy / file, old, new)
    with pytest.raises(DemoDataError) as refused:
        read_demo(demo_copy)
    assert message in refused.value.message


def test_a_demo_file_the_loader_does_not_read_stops_it(demo_copy):
    (demo_copy / "processors.yaml").write_text("processors: {}\n", encoding="utf-8")
    with pytest.raises(DemoDataError, match="unknown files"):
        read_demo(demo_copy)


@pytest.mark.parametrize("file, old, new, message", [
    ("instruments.yaml", "scc_modules: 2,3\n", "scc_modules: '9'\n", "instruments.yaml: instruments scc-nimbus: scc_modules"),
    ("vetting.yaml", "issued_on: today-400d", "issued_on: today-400", "vetting.yaml: certificates 1: Invalid isoformat"),
])
def test_a_demo_record_the_register_refuses_stops_the_load_and_names_it(app, demo_copy, file, old, new, message):
    edit(demo_copy / file, old, new)
    with pytest.raises(DemoDataError, match=message):
        load_demo(demo_copy)
