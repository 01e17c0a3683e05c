"""Stored verdicts follow the register: every write that can change a route's coverage updates it."""

import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from register import assessments, services
from register.extensions import db
from register.models import (
    AssessmentRun,
    BcrApproval,
    DpfCertification,
    Engagement,
    GroupEntity,
    RouteRegimeVerdict,
    RouteVerdict,
    ThirdParty,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
)


def verdict(route_id: int) -> RouteVerdict:
    db.session.rollback()
    return db.session.get(RouteVerdict, route_id)


@pytest.fixture
def us_route(writer):
    """A French controller sending case data to a US processor with nothing signed yet."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US", "vetting_status": "approved"})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                                "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor"})
        return {"hq": hq, "vendor": vendor, "route": route}

    return writer(build)


def test_a_new_route_is_assessed_in_the_same_write(us_route):
    stored = verdict(us_route["route"].id)
    assert stored is not None and stored.assessed_on == date.today()
    assert stored.status == "gap" and stored.mechanisms == "none"
    regimes = db.session.scalars(select(RouteRegimeVerdict).where(RouteRegimeVerdict.route_id == us_route["route"].id)).all()
    assert [(r.regime, r.mechanism, r.status) for r in regimes] == [("EU", "none", "gap")]


def test_a_dpf_row_for_the_importer_updates_its_routes(us_route, writer):
    writer(lambda: services.create(DpfCertification, {"third_party_id": us_route["vendor"].id, "framework": "eu_us",
                                                      "certified_entity_name": "Cloudy Inc", "covers_non_hr_data": True,
                                                      "verified_on": date.today()}))
    stored = verdict(us_route["route"].id)
    assert stored.mechanisms == "adequacy"
    assert stored.status == "attention"  # the EU-US DPF is under legal challenge: an SCC fallback is advised


def test_an_instrument_and_a_tia_update_the_route(us_route, writer):
    hq, vendor, route = us_route["hq"], us_route["vendor"], us_route["route"]
    scc = writer(lambda: services.create(TransferInstrument, {
        "kind": "eu_scc", "title": "SCC", "scc_decision": "2021/914", "scc_modules": "2", "signed_on": "2024-01-10",
        "signatories": [{"party_id": hq.id, "side": "exporter"}, {"party_id": vendor.id, "side": "importer"}]}))
    writer(lambda: services.update(db.session.get(TransferRoute, route.id), {"instrument_ids": [scc.id]}, expected_version=1))
    stored = verdict(route.id)
    assert stored.mechanisms == "scc" and stored.status == "attention"  # a TIA is required (Schrems II) and missing
    writer(lambda: services.create(TransferImpactAssessment, {"route_id": route.id, "assessed_on": date.today(), "outcome": "can_comply",
                                                              "next_review_on": date.today() + timedelta(days=365)}))
    assert verdict(route.id).status == "covered"
    tia = db.session.scalar(select(TransferImpactAssessment))
    writer(lambda: services.update(db.session.get(TransferImpactAssessment, tia.id), {"outcome": "cannot_comply"}, expected_version=1))
    assert verdict(route.id).status == "gap"


def test_bcr_membership_changes_reach_intra_group_routes(writer):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
        india = services.create(GroupEntity, {"legal_name": "Meridian Assist India Pvt Ltd", "country_code": "IN"})
        approval = services.create(BcrApproval, {"name": "Meridian BCR-C", "regime": "EU", "bcr_type": "bcr_c", "authority": "CNIL",
                                                  "approved_on": "2020-01-15",
                                                  "memberships": [{"group_entity_id": hq.id, "bound_from": "2020-01-15"}]})
        reliance = services.create(TransferInstrument, {"kind": "bcr", "title": "Reliance on the BCR-C", "bcr_approval_id": approval.id})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": india.id, "destination_country": "IN",
                                                "carries_eu_data": True, "exporter_role": "controller", "importer_role": "controller",
                                                "instrument_ids": [reliance.id]})
        services.create(TransferImpactAssessment, {"route_id": route.id, "assessed_on": date.today(), "outcome": "can_comply"})
        return approval, india, route

    approval, india, route = writer(build)
    assert verdict(route.id).status == "gap"  # the Indian entity is not bound by the BCR yet
    writer(lambda: services.update(db.session.get(BcrApproval, approval.id), {"memberships": [
        {"group_entity_id": db.session.scalar(select(GroupEntity.id).where(GroupEntity.country_code == "FR")), "bound_from": "2020-01-15"},
        {"group_entity_id": india.id, "bound_from": "2021-03-01"}]}, expected_version=1))
    stored = verdict(route.id)
    assert stored.mechanisms == "bcr" and stored.status == "covered"


def test_an_engagement_location_without_a_route_needs_attention(us_route, writer):
    hq, vendor, route = us_route["hq"], us_route["vendor"], us_route["route"]
    writer(lambda: services.create(DpfCertification, {"third_party_id": vendor.id, "framework": "eu_us",
                                                      "certified_entity_name": "Cloudy Inc", "verified_on": date.today()}))
    engagement = writer(lambda: services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Hosting",
                                                             "relationship_type": "processor", "locations": ["US", "PH"]}))
    writer(lambda: services.update(db.session.get(TransferRoute, route.id), {"engagement_id": engagement.id}, expected_version=1))
    assert verdict(route.id).status == "attention"
    found = assessments.assess(db.session(), date.today(), [route.id])[route.id]
    assert any("PH" in reason.text and reason.severity == "attention" for reason in found.reasons)


def test_the_whole_register_is_reassessed_daily_and_when_the_law_file_changes(us_route, monkeypatch):
    db.session.rollback()
    run = assessments.ensure_fresh()
    assert run.route_count == 1 and run.assessed_on == date.today()
    assert assessments.ensure_fresh().id == run.id  # fresh: nothing recomputed
    tomorrow = date.today() + timedelta(days=1)
    next_day = assessments.ensure_fresh(tomorrow)
    assert next_day.id != run.id and next_day.assessed_on == tomorrow
    monkeypatch.setattr(assessments, "law_digest", lambda law: "another file")
    assert assessments.ensure_fresh(tomorrow).id != next_day.id
    assert db.session.query(AssessmentRun).count() == 3


def test_every_process_computes_the_same_law_digest(app):
    """Each web worker, the job worker and the command line are processes with their own hash seed: if
    the digest followed it, each would take the others' stored verdicts for stale and reassess."""
    from register import countries

    here = assessments.law_digest(countries.current())
    program = ("from register import assessments, countries, create_app\n"
               "with create_app({'TESTING': True}).app_context(): print(assessments.law_digest(countries.current()))")
    for seed in ("1", "2"):
        other = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120,
                               env={**os.environ, "PYTHONHASHSEED": seed})
        assert other.stdout.strip() == here


def test_a_what_if_date_is_computed_and_not_stored(writer):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
        uk = services.create(GroupEntity, {"legal_name": "Meridian Assist UK Ltd", "country_code": "GB"})
        return services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": uk.id, "destination_country": "GB",
                                               "carries_eu_data": True, "exporter_role": "controller", "importer_role": "controller"})

    route = writer(build)
    db.session.rollback()
    in_2023 = assessments.assess(db.session(), date(2023, 1, 1), [route.id])[route.id]
    in_2032 = assessments.assess(db.session(), date(2032, 1, 1), [route.id])[route.id]
    assert (in_2023.status, in_2023.regimes[0].mechanism) == ("covered", "adequacy")  # Decision 2021/1772
    assert (in_2032.status, in_2032.regimes[0].mechanism) == ("gap", "none")  # renewal ends 2031-12-27
    assert verdict(route.id).assessed_on == date.today()


def test_what_if_facts_are_reused_until_the_register_changes(us_route, writer):
    db.session.rollback()
    first = assessments.register_facts(db.session())
    assert assessments.register_facts(db.session()) is first
    writer(lambda: services.update(db.session.get(ThirdParty, us_route["vendor"].id), {"website": "https://cloudy.example"},
                                   expected_version=1))
    db.session.rollback()
    assert assessments.register_facts(db.session()) is not first


def test_members_removed_from_a_bcr_lose_it_on_every_route_that_relies_on_it(writer):
    """The routes relying on an approval are reassessed when it changes, also between entities it no longer binds."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
        india = services.create(GroupEntity, {"legal_name": "Meridian Assist India Pvt Ltd", "country_code": "IN"})
        mexico = services.create(GroupEntity, {"legal_name": "Meridian Asistencia México SA de CV", "country_code": "MX"})
        approval = services.create(BcrApproval, {"name": "Meridian BCR-C", "regime": "EU", "bcr_type": "bcr_c", "authority": "CNIL",
                                                  "approved_on": "2020-01-15", "memberships": [
                                                      {"group_entity_id": party.id, "bound_from": "2020-01-15"} for party in (hq, india, mexico)]})
        reliance = services.create(TransferInstrument, {"kind": "bcr", "title": "Reliance on the BCR-C", "bcr_approval_id": approval.id})
        # An onward transfer of EU data between two non-EEA members.
        route = services.create(TransferRoute, {"exporter_id": india.id, "importer_id": mexico.id, "destination_country": "MX",
                                                "carries_eu_data": True, "exporter_role": "controller", "importer_role": "controller",
                                                "instrument_ids": [reliance.id]})
        services.create(TransferImpactAssessment, {"route_id": route.id, "assessed_on": date.today(), "outcome": "can_comply"})
        return approval.id, hq.id, route.id

    approval_id, hq_id, route_id = writer(build)
    assert verdict(route_id).mechanisms == "bcr"
    writer(lambda: services.update(db.session.get(BcrApproval, approval_id), {"memberships": [
        {"group_entity_id": hq_id, "bound_from": "2020-01-15"}]}, expected_version=1))
    assert (verdict(route_id).mechanisms, verdict(route_id).status) == ("none", "gap")


def test_a_route_moved_to_another_engagement_leaves_its_old_siblings_reassessed(writer):
    """Art. 30(1)(e): a processing location is covered only while a route of the engagement reaches it."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
        vendor = services.create(ThirdParty, {"legal_name": "Kiwi Cloud Ltd", "country_code": "NZ"})
        hosting = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Hosting",
                                               "relationship_type": "processor", "locations": ["NZ", "PH"]})
        support = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Support",
                                               "relationship_type": "processor", "locations": ["PH"]})
        values = {"exporter_id": hq.id, "importer_id": vendor.id, "carries_eu_data": True, "exporter_role": "controller",
                  "importer_role": "processor", "engagement_id": hosting.id}
        new_zealand = services.create(TransferRoute, {**values, "destination_country": "NZ"})
        philippines = services.create(TransferRoute, {**values, "destination_country": "PH"})
        return support.id, new_zealand.id, philippines.id

    support_id, new_zealand_id, philippines_id = writer(build)
    assert verdict(new_zealand_id).status == "covered"  # adequacy, and PH is reached by its sibling
    writer(lambda: services.update(db.session.get(TransferRoute, philippines_id), {"engagement_id": support_id}, expected_version=1))
    assert verdict(new_zealand_id).status == "attention", "the NZ route's engagement no longer reaches PH"


def test_what_if_facts_brought_up_to_date_after_writes_equal_a_fresh_read(app, writer, monkeypatch):
    """After each kind of write, the cached facts, read again only for the routes it can change, equal
    the facts read from scratch (and the refresh really was partial)."""
    from register.models import BcrApproval, Certificate, DpfCertification, ScopeFact, TransferInstrument
    from register.seed import load_demo

    load_demo()
    db.session.rollback()
    assessments.register_facts(db.session())
    reads = []
    original = assessments.load_facts
    monkeypatch.setattr(assessments, "load_facts", lambda sess, route_ids=None: (
        reads.append("all" if route_ids is None else len(route_ids)), original(sess, route_ids))[1])

    def first(model, *where):
        return db.session.scalars(db.select(model).where(*where).order_by(model.id).limit(1)).first()

    def bump(record, values):
        return lambda: services.update(db.session.get(type(record), record.id), values, expected_version=record.version)

    route = first(TransferRoute, TransferRoute.engagement_id.is_not(None))
    tia = first(TransferImpactAssessment)
    other_route = first(TransferRoute, TransferRoute.id != tia.route_id, TransferRoute.carries_eu_data.is_(True))
    certificate = first(Certificate)
    new_owner = first(ThirdParty, ThirdParty.id != certificate.third_party_id)
    writes = [
        bump(first(ThirdParty), {"is_subject_to_gdpr_art3_2": True}),
        bump(route, {"carries_uk_data": True, "instrument_ids": []}),
        bump(first(Engagement, Engagement.locations.any()), {"locations": ["JP"]}),
        bump(first(BcrApproval), {"memberships": []}),
        bump(first(TransferInstrument), {"status": "retired"}),
        bump(certificate, {"withdrawn_on": date(2026, 1, 1)}),
        bump(certificate, {"third_party_id": new_owner.id}),  # moved: its former owner's routes too
        bump(tia, {"route_id": other_route.id}),  # moved: its former route too
        bump(first(DpfCertification), {"covers_hr_data": False, "is_active": False}),
        bump(first(ScopeFact), {"answer": "no"}),
        lambda: services.create(TransferRoute, {"exporter_id": route.exporter_id, "importer_id": route.importer_id,
                                                "destination_country": "BR", "carries_eu_data": True,
                                                "exporter_role": "controller", "importer_role": "processor"}),
        lambda: services.delete(db.session.scalars(db.select(TransferRoute).order_by(TransferRoute.id.desc()).limit(1)).one(),
                                expected_version=1),
    ]
    for number, write in enumerate(writes):
        writer(write)
        db.session.rollback()
        reads.clear()
        cached = assessments.register_facts(db.session())
        assert reads and reads[-1] != "all", f"write {number}: the facts were read in full, not brought up to date"
        fresh = original(db.session())
        assert cached == fresh, f"write {number}"
    # An event that shows up below the mark (on PostgreSQL, a transaction committing after a later one)
    # is not missed: the cached count no longer matches, and everything is read again.
    key = db.session().get_bind().url.render_as_string(hide_password=True)
    assessments._FACTS_CACHE[key].event_count -= 1
    writer(bump(first(ThirdParty), {"notes": "checked"}))
    db.session.rollback()
    reads.clear()
    assessments.register_facts(db.session())
    assert reads == ["all"]
