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
