"""History: the audit trail cannot be rewritten, and can be read by anyone who may read the register."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from register import services
from register.extensions import db
from register.models import AuditEvent, GroupEntity


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET actor_label = 'someone else'",
    "UPDATE audit_events SET changes = '{}' WHERE id = 1",
    "DELETE FROM audit_events",
    "DELETE FROM audit_events WHERE id = 1",
], ids=["rewrite-who", "rewrite-what", "erase-all", "erase-one"])
def test_the_database_refuses_to_change_or_erase_the_trail(app, writer, statement):
    writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"}))
    db.session.rollback()
    with pytest.raises(DatabaseError) as refused:
        with db.engine.begin() as connection:
            connection.execute(text(statement))
    assert "append-only" in str(refused.value)
    db.session.rollback()
    event = db.session.scalar(db.select(AuditEvent))
    assert event.actor_label == "test" and event.changes["legal_name"] == [None, "Meridian Assist SA"]


def test_new_events_are_still_appended(app, writer):
    writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"}))
    writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist GmbH", "country_code": "DE"}))
    db.session.rollback()
    assert db.session.query(AuditEvent).count() == 2


@pytest.fixture
def changes(writer, make_user):
    """A few writes by different doors and people."""
    from register.audit import Actor
    from register.models import AuditSource, ThirdParty

    editor, _ = make_user("editor")
    with services.write_unit(Actor(AuditSource.WEB, user=editor)):
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
    vendor = writer(lambda: services.create(ThirdParty, {"legal_name": "=Cloudy Inc", "country_code": "US"}))
    writer(lambda: services.update(db.session.get(ThirdParty, vendor.id), {"website": "https://cloudy.example"}, expected_version=1))
    return {"editor": editor, "hq": hq, "vendor": vendor}


def test_the_log_filters_by_user_type_action_source_and_period(logged_in, changes):
    from datetime import date, timedelta

    client = logged_in("auditor")
    page = client.get("/history").get_data(as_text=True)
    assert "Meridian Assist SA" in page and "=Cloudy Inc" in page and "https://cloudy.example" in page
    assert f'href="/third-parties/{changes["vendor"].id}"' in page and f'href="/group-entities/{changes["hq"].id}"' in page
    mine = client.get(f"/history?user={changes['editor'].id}").get_data(as_text=True)
    assert "Meridian Assist SA" in mine and "=Cloudy Inc" not in mine
    updates = client.get("/history?action=update&record_type=parties&source=cli").get_data(as_text=True)
    assert "1 events" in updates and "https://cloudy.example" in updates
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert "0 events" in client.get(f"/history?since={tomorrow}").get_data(as_text=True)
    assert client.get("/history?action=erase").status_code == 400
    assert client.get("/history?since=2026-02-30").status_code == 400
    record = client.get(f"/history?record_type=parties&record_id={changes['vendor'].id}").get_data(as_text=True)
    assert "2 events" in record


def test_the_log_downloads_as_a_spreadsheet_with_the_filters(logged_in, changes):
    import io
    import zipfile

    from openpyxl import load_workbook

    client = logged_in("auditor")
    response = client.get("/history.xlsx?record_type=parties")
    assert response.status_code == 200 and "audit-log-" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    rows = list(book["Audit log"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Event", "When (UTC)", "Who") and len(rows) == 1 + 3
    assert {row[8] for row in rows[1:]} == {"Meridian Assist SA", "=Cloudy Inc"}
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_the_log_needs_a_login_and_record_pages_link_to_it(app, logged_in, changes):
    assert app.test_client().get("/history").status_code == 302
    page = logged_in("auditor").get(f"/third-parties/{changes['vendor'].id}").get_data(as_text=True)
    assert f"record_id={changes['vendor'].id}" in page and "Full history" in page


def snapshot() -> dict:
    """Every register record's fields now, as the trail records them (secrets aside: users and tokens)."""
    from register.audit import plain, record_type
    from register.models import AUDITED_MODELS, ApiToken, Setting, User
    from register.services import spec_for

    found = {}
    for model in AUDITED_MODELS:
        if model in (User, ApiToken, Setting):
            continue
        for record in db.session.scalars(db.select(model)):
            spec = spec_for(type(record))
            values = {name: plain(value) for name, value in spec.snapshot(record).items()}
            values.update({name: plain(getattr(record, name)) for name in spec.fixed})  # a party's kind
            found[(record_type(record), record.id)] = {name: value for name, value in values.items() if value is not None}
    return found


def rebuilt(moment) -> dict:
    from register.timeline import register_at

    return {key: state.fields for key, state in register_at(moment).items() if key[0] not in ("users", "api_tokens", "settings")}


def test_the_register_rebuilt_as_of_a_moment_equals_a_snapshot_taken_then(app, writer):
    from datetime import date, datetime, timezone

    from register.models import BcrApproval, Engagement, ThirdParty, TransferInstrument, TransferRoute
    from register.seed import load_demo

    load_demo()
    db.session.rollback()
    then = datetime.now(timezone.utc)
    taken = snapshot()
    assert len(taken) > 400
    route = db.session.scalar(db.select(TransferRoute).where(TransferRoute.status == "active").limit(1))
    engagement = db.session.scalar(db.select(Engagement).where(Engagement.locations.any()).limit(1))
    approval = db.session.scalar(db.select(BcrApproval).limit(1))
    vendor = db.session.scalar(db.select(ThirdParty).limit(1))
    instrument = db.session.scalar(db.select(TransferInstrument).limit(1))
    ids = (route.id, route.version, engagement.id, engagement.version, approval.id, approval.version, vendor.id, vendor.version,
           instrument.id, instrument.version)

    def change_everything():
        r, e, a, v, i = (db.session.get(TransferRoute, ids[0]), db.session.get(Engagement, ids[2]), db.session.get(BcrApproval, ids[4]),
                         db.session.get(ThirdParty, ids[6]), db.session.get(TransferInstrument, ids[8]))
        services.update(r, {"purpose": "Changed later", "instrument_ids": [], "carries_uk_data": True}, expected_version=ids[1])
        services.update(e, {"locations": ["JP"], "notes": "moved"}, expected_version=ids[3])
        services.update(a, {"memberships": []}, expected_version=ids[5])
        services.retire(v, expected_version=ids[7], ends_on=date(2026, 12, 31))
        services.update(i, {"title": "Renamed", "signatories": []}, expected_version=ids[9])
        services.create(GroupEntity, {"legal_name": "Meridian Assist Kenya Ltd", "country_code": "KE"})

    writer(change_everything)
    db.session.rollback()
    assert rebuilt(then) == taken
    assert rebuilt(datetime.now(timezone.utc)) == snapshot()


def _sheets(data: bytes) -> dict:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    found = {sheet.title: [row for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}
    book.close()
    # The summary says when, by whom and for which moment the file was made: the rest must be equal.
    if "Summary" in found:
        found["Summary"] = [row for row in found["Summary"] if row[0] not in ("Generated at (UTC)", "Generated by", "Filters")]
    return found


def test_the_exports_as_of_a_moment_equal_the_exports_taken_then(app, logged_in, writer):
    from datetime import date, datetime, timezone

    from register.models import Engagement, ThirdParty, TransferRoute
    from register.seed import load_demo

    from register.api import make_token, revoke_token
    from register.models import User

    load_demo()
    db.session.rollback()
    # Users, tokens (two, one revoked) and settings are in the trail too; the past register ignores them.
    admin = db.session.scalar(db.select(User).where(User.email == "admin@meridian.example"))
    tokens = writer(lambda: [make_token(admin, name)[1] for name in ("sync", "backup")])
    writer(lambda: revoke_token(db.session.get(type(tokens[0]), tokens[0].id)))
    client = logged_in("auditor")
    workbook_then = client.get("/exports/register.xlsx").data
    processors_then = client.get("/exports/processors.csv").get_data(as_text=True)
    then = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    vendor = db.session.scalar(db.select(ThirdParty).where(ThirdParty.legal_name.like("Nimbus%")))
    route = db.session.scalar(db.select(TransferRoute).where(TransferRoute.importer_id == vendor.id).limit(1))
    engagement = db.session.scalar(db.select(Engagement).where(Engagement.engaged_id == vendor.id).limit(1))
    ids = vendor.id, vendor.version, route.id, route.version, engagement.id, engagement.version

    def change():
        services.update(db.session.get(ThirdParty, ids[0]), {"trading_name": "Renamed Cloud"}, expected_version=ids[1])
        services.update(db.session.get(TransferRoute, ids[2]), {"instrument_ids": [], "purpose": "Changed"}, expected_version=ids[3])
        services.update(db.session.get(Engagement, ids[4]), {"locations": ["JP"]}, expected_version=ids[5])

    writer(change)
    db.session.rollback()
    # The live exports moved on ...
    assert _sheets(client.get("/exports/register.xlsx").data) != _sheets(workbook_then)
    assert "Renamed Cloud" in client.get("/exports/processors.csv").get_data(as_text=True)
    # ... and the exports as of the moment before are the ones taken then.
    as_of = client.get(f"/history/as-of/register.xlsx?at={then}")
    assert as_of.status_code == 200 and f"as-of-{date.today().isoformat()}" in as_of.headers["Content-Disposition"]
    assert _sheets(as_of.data) == _sheets(workbook_then)
    assert client.get(f"/history/as-of/processors.csv?at={then}").get_data(as_text=True) == processors_then
    listed = client.get(f"/history/as-of/processors.xlsx?at={then}")
    assert listed.status_code == 200 and "Renamed Cloud" not in str(_sheets(listed.data))
    # A moment that is not one is a 400, not a 500; anonymous users are sent to the login page.
    assert client.get("/history/as-of/register.xlsx?at=yesterday").status_code == 400
    assert client.get("/history/as-of/processors.csv").status_code == 400


def test_comparing_two_moments_names_what_was_added_removed_and_changed(logged_in, writer):
    from datetime import datetime, timedelta, timezone

    from register.timeline import compare, register_at

    entity = writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"}))
    db.session.rollback()
    then = datetime.now(timezone.utc)
    writer(lambda: services.update(db.session.get(GroupEntity, entity.id), {"registration_number": "RCS 1"}, expected_version=1))
    writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist GmbH", "country_code": "DE"}))
    db.session.rollback()
    difference = compare(register_at(then), register_at(datetime.now(timezone.utc)))
    assert [record.label for record in difference.added] == ["Meridian Assist GmbH"]
    assert difference.removed == []
    assert [(record.label, fields) for record, fields in difference.changed] == [
        ("Meridian Assist SA", {"registration_number": [None, "RCS 1"]})]
    client = logged_in("auditor")
    today = datetime.now(timezone.utc).date().isoformat()
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    page = client.get(f"/history/compare?from={yesterday}&to={today}").get_data(as_text=True)
    assert "Meridian Assist GmbH" in page and "RCS 1" not in page  # both were added within the period
    as_of = client.get(f"/history/as-of?at={yesterday}&record_type=parties").get_data(as_text=True)
    assert "Meridian Assist SA" not in as_of  # it did not exist yesterday
    assert client.get(f"/history/compare?from={today}&to={yesterday}").status_code == 400
    workbook = client.get(f"/history/compare?from={yesterday}&format=xlsx")
    assert workbook.status_code == 200 and "register-changes-" in workbook.headers["Content-Disposition"]


def test_a_mistake_nothing_refers_to_can_be_deleted_and_the_deletion_is_audited(logged_in, writer):
    from datetime import datetime, timezone

    from helpers import post_form

    from register.timeline import register_at

    mistake_id = writer(lambda: services.create(GroupEntity, {"legal_name": "Typo Ltdd", "country_code": "FR"})).id
    db.session.rollback()
    before = datetime.now(timezone.utc)
    client = logged_in("editor")
    response = post_form(client, f"/group-entities/{mistake_id}/delete", {"version": "1"})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(GroupEntity, mistake_id) is None
    last = db.session.scalar(db.select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert last.action.value == "delete" and last.changes["legal_name"] == ["Typo Ltdd", None]
    assert ("parties", mistake_id) in register_at(before)
    assert ("parties", mistake_id) not in register_at(datetime.now(timezone.utc))


def test_records_with_history_or_references_are_retired_not_deleted(logged_in, writer):
    from helpers import post_form

    from register.models import ThirdParty, TransferRoute

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
        vendor = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US"})
        services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                        "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor"})
        return hq, vendor

    hq, vendor = writer(build)
    hq_id, vendor_id = hq.id, vendor.id
    writer(lambda: services.update(db.session.get(ThirdParty, vendor_id), {"website": "https://cloudy.example"}, expected_version=1))
    client = logged_in("editor")
    referenced = post_form(client, f"/group-entities/{hq_id}/delete", {"version": "1"})
    assert referenced.status_code == 400 and "Other records refer to Meridian Assist SA" in referenced.get_data(as_text=True)
    changed = post_form(client, f"/third-parties/{vendor_id}/delete", {"version": "2"})
    assert changed.status_code == 400 and "retire it instead" in changed.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(GroupEntity, hq_id) is not None and db.session.get(ThirdParty, vendor_id) is not None
