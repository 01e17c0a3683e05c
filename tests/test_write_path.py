"""The audited write path: one event per write, field-level changes, stale writes refused."""

import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select, text

from register import services
from register.audit import Actor, UnauditedWrite
from register.extensions import db
from register.models import (
    AuditEvent,
    AuditSource,
    BcrApproval,
    Engagement,
    GroupEntity,
    Lifecycle,
    ThirdParty,
    TransferInstrument,
    TransferRoute,
)


def events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def chain(writer):
    """A group entity engaging a US vendor, and one route under an SCC."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US"})
        engagement = services.create(
            Engagement,
            {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Hosting", "relationship_type": "processor",
             "locations": ["US", {"country_code": "IE", "activity": "storage"}]},
        )
        scc = services.create(
            TransferInstrument,
            {"kind": "eu_scc", "title": "SCC Meridian-Cloudy", "scc_decision": "2021/914", "scc_modules": "2",
             "signatories": [{"party_id": hq.id, "side": "exporter"}, {"party_id": vendor.id, "side": "importer"}]},
        )
        route = services.create(
            TransferRoute,
            {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US", "carries_eu_data": True,
             "exporter_role": "controller", "importer_role": "processor", "engagement_id": engagement.id,
             "purpose": None, "instrument_ids": [scc.id]},
        )
        return {"hq": hq, "vendor": vendor, "engagement": engagement, "scc": scc, "route": route}

    return writer(build)


def test_each_create_writes_exactly_one_event_with_the_fields(chain):
    trail = events()
    assert [(e.record_type, e.action.value) for e in trail] == [
        ("parties", "create"), ("parties", "create"), ("engagements", "create"),
        ("transfer_instruments", "create"), ("transfer_routes", "create"),
    ]
    route_event = trail[-1]
    assert route_event.record_id == chain["route"].id
    assert route_event.record_uid == chain["route"].uid
    assert route_event.source == AuditSource.CLI and route_event.actor_label == "test"
    assert route_event.changes["destination_country"] == [None, "US"]
    assert route_event.changes["instrument_ids"] == [None, [chain["scc"].id]]
    assert trail[2].changes["locations"] == [None, ["IE:storage", "US:storage_and_access"]]
    assert route_event.occurred_at.tzinfo is not None


def test_an_update_records_before_and_after_of_changed_fields_only(chain, writer):
    route = chain["route"]

    def change():
        fresh = db.session.get(TransferRoute, route.id)
        services.update(fresh, {"purpose": "Case management", "carries_uk_data": True, "instrument_ids": [],
                                "destination_country": "US"}, expected_version=1)

    writer(change)
    last = events()[-1]
    assert last.action.value == "update"
    assert last.changes == {
        "purpose": [None, "Case management"],
        "carries_uk_data": [False, True],
        "instrument_ids": [[chain["scc"].id], []],
    }
    assert db.session.get(TransferRoute, route.id).version == 2
    assert last.record_version == 2 and events()[-2].record_version == 1


def test_an_update_that_changes_nothing_writes_no_event(chain, writer):
    before = len(events())
    writer(lambda: services.update(db.session.get(ThirdParty, chain["vendor"].id), {"country_code": "US"}, expected_version=1))
    assert len(events()) == before


def test_a_stale_write_is_refused_and_changes_nothing(chain, writer):
    vendor_id = chain["vendor"].id
    writer(lambda: services.update(db.session.get(ThirdParty, vendor_id), {"website": "https://cloudy.example"}, expected_version=1))
    before = len(events())
    with pytest.raises(services.ConflictError):
        writer(lambda: services.update(db.session.get(ThirdParty, vendor_id), {"website": "https://stale.example"}, expected_version=1))
    db.session.expire_all()
    vendor = db.session.get(ThirdParty, vendor_id)
    assert vendor.website == "https://cloudy.example" and vendor.version == 2
    assert len(events()) == before


def test_a_write_is_refused_whole_when_one_field_is_bad(chain, writer):
    before_routes, before_events = count(TransferRoute), len(events())
    with pytest.raises(services.DomainError) as refused:
        writer(lambda: services.create(TransferRoute, {
            "exporter_id": chain["hq"].id, "importer_id": chain["hq"].id, "destination_country": "XX",
            "exporter_role": "boss", "importer_role": "processor", "starts_on": "2026-02-30", "colour": "red"}))
    assert set(refused.value.errors) == {"importer_id", "destination_country", "exporter_role", "starts_on", "colour"}
    assert count(TransferRoute) == before_routes and len(events()) == before_events


def test_a_write_that_fails_midway_rolls_back_the_whole_unit(chain, writer):
    before_parties, before_events = count(GroupEntity), len(events())

    def two_writes():
        services.create(GroupEntity, {"legal_name": "Meridian GmbH", "country_code": "DE"})
        services.create(GroupEntity, {"legal_name": "Meridian SA", "country_code": "FR"})  # duplicate

    with pytest.raises(services.DomainError) as refused:
        writer(two_writes)
    assert "legal_name" in refused.value.errors
    assert count(GroupEntity) == before_parties and len(events()) == before_events


def test_a_direct_write_outside_the_services_is_refused(chain):
    route = db.session.get(TransferRoute, chain["route"].id)
    route.purpose = "sneaked in"
    with pytest.raises(UnauditedWrite):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(TransferRoute, chain["route"].id).purpose is None


def test_retire_keeps_the_record_with_an_end_date(chain, writer):
    vendor_id = chain["vendor"].id
    writer(lambda: services.retire(db.session.get(ThirdParty, vendor_id), expected_version=1, ends_on=date(2026, 6, 30)))
    vendor = db.session.get(ThirdParty, vendor_id)
    assert vendor.status == Lifecycle.RETIRED and vendor.ends_on == date(2026, 6, 30)
    assert events()[-1].changes == {"status": ["active", "retired"], "ends_on": [None, "2026-06-30"]}


def test_a_user_write_names_the_user_and_source(app, make_user, chain):
    user, _ = make_user("editor")
    with services.write_unit(Actor(AuditSource.WEB, user=user)):
        services.update(db.session.get(ThirdParty, chain["vendor"].id), {"trading_name": "Cloudy"}, expected_version=1)
    last = events()[-1]
    assert last.user_id == user.id and last.actor_label == user.email and last.source == AuditSource.WEB


def test_password_hashes_never_reach_the_trail(make_user):
    user, _ = make_user("auditor")
    created = [e for e in events() if e.record_type == "users" and e.record_id == user.id]
    assert len(created) == 1
    assert created[0].changes["password_hash"] == [None, "(changed)"]
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"kind": "eu_scc", "title": "x", "scc_decision": "2021/914"}, "scc_modules", "modules"),
        ({"kind": "eu_scc", "title": "x", "scc_decision": "1999/1"}, "scc_decision", "SCC decision"),
        ({"kind": "derogation", "title": "x", "derogation_ground": "b"}, "derogation_justification", "Art. 49"),
        ({"kind": "uk_addendum", "title": "x"}, "uk_addendum_version", "version"),
        ({"kind": "bcr", "title": "x"}, "bcr_approval_id", "BCR"),
        ({"kind": "uk_idta", "title": "x", "has_swiss_adaptation": True}, "has_swiss_adaptation", "Only EU SCCs"),
        ({"kind": "uk_idta", "title": "x", "signed_on": "2024-05-01", "terminated_on": "2024-01-01"}, "terminated_on", "before"),
    ],
)
def test_instruments_need_what_their_kind_requires(app, writer, values, field, message):
    with pytest.raises(services.DomainError) as refused:
        writer(lambda: services.create(TransferInstrument, values))
    assert message in " ".join(refused.value.errors[field])


def test_the_engagement_graph_refuses_cycles(chain, writer):
    sub = writer(lambda: services.create(ThirdParty, {"legal_name": "Sub Ltd", "country_code": "IN"}))
    writer(lambda: services.create(Engagement, {"engager_id": chain["vendor"].id, "engaged_id": sub.id,
                                                "service": "Support", "relationship_type": "sub_processor"}))
    with pytest.raises(services.DomainError) as refused:
        writer(lambda: services.create(Engagement, {"engager_id": sub.id, "engaged_id": chain["vendor"].id,
                                                    "service": "Backup", "relationship_type": "sub_processor"}))
    assert "cycle" in refused.value.errors["engaged_id"][0]


def test_two_writers_closing_a_loop_at_the_same_time_cannot_both_succeed(app, chain, writer):
    # Each would check the graph without the other's uncommitted engagement (write skew). SQLite's
    # write lock serialises writers; on PostgreSQL the engagement checks take a lock on the graph.
    sub = writer(lambda: services.create(ThirdParty, {"legal_name": "Sub Ltd", "country_code": "IN"}))
    vendor_id, sub_id = chain["vendor"].id, sub.id
    first_checked, outcome = threading.Event(), {}

    def second_writer():
        with app.app_context():
            first_checked.wait(10)
            try:
                with services.write_unit(Actor(AuditSource.CLI, label="second")):
                    services.create(Engagement, {"engager_id": sub_id, "engaged_id": vendor_id, "service": "Backup",
                                                 "relationship_type": "sub_processor"})
                outcome["second"] = "written"
            except services.DomainError as error:
                outcome["second"] = error.errors
            finally:
                db.session.remove()

    thread = threading.Thread(target=second_writer)
    thread.start()
    with services.write_unit(Actor(AuditSource.CLI, label="first")) as sess:
        services.create(Engagement, {"engager_id": vendor_id, "engaged_id": sub_id, "service": "Support",
                                     "relationship_type": "sub_processor"})
        first_checked.set()
        # Commit only once the second writer has checked, or waits for this one to commit (on SQLite
        # it waits to begin: it cannot check before this commits).
        deadline = time.monotonic() + (10 if db.engine.dialect.name == "postgresql" else 0.3)
        while "second" not in outcome and time.monotonic() < deadline:
            if db.engine.dialect.name == "postgresql":
                sess.execute(text("SELECT pg_stat_clear_snapshot()"))  # else read once per transaction
                if sess.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' "
                                    "AND datname = current_database() AND pid <> pg_backend_pid()")):
                    break
            time.sleep(0.05)
    thread.join(30)
    assert outcome["second"] != "written", "both engagements were written: a loop"
    assert "cycle" in outcome["second"]["engaged_id"][0]
    assert count(Engagement) == 2


@pytest.mark.parametrize("bulk", [False, True], ids=["one record", "an import's bulk unit"])
def test_a_deleted_records_id_is_never_given_to_a_new_one(app, writer, bulk):
    # SQLite gives a new row the largest id present + 1: the deleted record's, which the trail still holds.
    writer(lambda: services.create(ThirdParty, {"legal_name": "Kept Ltd", "country_code": "IN"}))
    mistake_id = writer(lambda: services.create(ThirdParty, {"legal_name": "Mistake Ltd", "country_code": "IN"}).id)
    writer(lambda: services.delete(db.session.get(ThirdParty, mistake_id), expected_version=1))
    with services.write_unit(Actor(AuditSource.IMPORT, label="test"), bulk=bulk):
        new_id = services.create(ThirdParty, {"legal_name": "New Ltd", "country_code": "IN"}).id
    assert new_id > mistake_id
    new_uid = db.session.get(ThirdParty, new_id).uid
    trail = db.session.execute(select(AuditEvent.record_uid, AuditEvent.action).where(
        AuditEvent.record_type == "parties", AuditEvent.record_id == new_id)).all()
    assert [uid for uid, _action in trail] == [new_uid]


def test_an_international_organisation_is_never_given_a_country(app, writer):
    from register.models import InternationalOrganisation

    with pytest.raises(services.DomainError) as refused:
        writer(lambda: services.create(InternationalOrganisation, {"legal_name": "EPO", "organisation_code": "EPO", "country_code": "DE"}))
    assert "country_code" in refused.value.errors
    epo = writer(lambda: services.create(InternationalOrganisation, {"legal_name": "European Patent Organisation", "organisation_code": "EPO"}))
    assert epo.country_code is None


def test_bcr_binds_only_group_entities(chain, writer):
    with pytest.raises(services.DomainError) as refused:
        writer(lambda: services.create(BcrApproval, {
            "name": "Meridian BCR-C", "regime": "EU", "bcr_type": "bcr_c", "authority": "CNIL", "approved_on": "2020-01-15",
            "memberships": [{"group_entity_id": chain["vendor"].id, "bound_from": "2020-01-15"}]}))
    assert "Only group entities" in refused.value.errors["memberships"][0]
    approval = writer(lambda: services.create(BcrApproval, {
        "name": "Meridian BCR-C", "regime": "EU", "bcr_type": "bcr_c", "authority": "CNIL", "approved_on": "2020-01-15",
        "memberships": [{"group_entity_id": chain["hq"].id, "bound_from": "2020-01-15"}]}))
    assert [m.group_entity_id for m in approval.memberships] == [chain["hq"].id]


def test_an_update_that_leaves_collections_alone_keeps_them(chain, writer):
    """Changing a note must not require re-sending an engagement's locations or an instrument's signatories."""
    engagement_id, scc_id = chain["engagement"].id, chain["scc"].id
    writer(lambda: services.update(db.session.get(Engagement, engagement_id), {"notes": "Renewed"}, expected_version=1))
    writer(lambda: services.update(db.session.get(TransferInstrument, scc_id), {"notes": "Signed copy filed"}, expected_version=1))
    engagement = db.session.get(Engagement, engagement_id)
    assert engagement.notes == "Renewed" and [loc.country_code for loc in engagement.locations] == ["IE", "US"]
    assert len(db.session.get(TransferInstrument, scc_id).signatories) == 2


def test_a_database_constraint_failure_becomes_a_field_error(chain, writer, monkeypatch):
    """When two writers race past the check, the database's unique key still answers, as a field error."""
    monkeypatch.setattr(services.parties, "_validate_party", lambda *args: None)  # as if the other write landed after the check
    before = len(events())
    with pytest.raises(services.DomainError) as refused:
        writer(lambda: services.create(GroupEntity, {"legal_name": "MERIDIAN  sa", "country_code": "FR"}))
    assert refused.value.errors == {"legal_name": ["A record with this legal name already exists in this country."]}
    assert len(events()) == before
