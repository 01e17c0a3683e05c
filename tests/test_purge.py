"""The purge reaches every piece of a requester's personal data: their details and every free text of
the request's steps that may name them (the refusal reason, the extension reason, the controller's
instructions). Staff see them until the purge; after it, no table, no dump, no trail entry, no page and
no request log holds them."""

import io
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import current_app
from flask_migrate import downgrade, upgrade
from openpyxl import load_workbook
from sqlalchemy import inspect, select, text

from helpers import csrf_token, login
from register.extensions import db
from register.models import AuditEvent, Client, RequestPersonalData, Role, SubjectRequest
from register import requests as request_views
from register.requests import operations as request_services
from register import services

TODAY = date.today()
NAME, PHONE = "Quentin Vauclair", "+41 79 555 12 34"
NEEDLES = ("Quentin", "Vauclair", "555 12 34")
TEXTS = {
    "controller_answer": f"Acme says: answer {NAME} directly, he is on {PHONE}",
    "extend": f"Told {NAME} on {PHONE} that three archives must be searched",
    "refuse": f"Told {NAME} on {PHONE}: the tenth identical request this month",
}


def take_step(client, record_id: int, name: str, text: str = "") -> None:
    page = f"/requests/{record_id}"
    token = csrf_token(client, page)
    version = db.session.get(SubjectRequest, record_id).version
    response = client.post(f"{page}/{name}", data={f"{name}-on": TODAY.isoformat(), f"{name}-text": text,
                                                   f"{name}-csrf_token": token, f"{name}-version": str(version)})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def refused_request(app, make_user, writer) -> int:
    """A client's request, refused today through the pages, whose three texts name the person and a phone number."""
    client_id = writer(lambda: services.create(Client, {"legal_name": "Acme Travel Insurance plc", "country_code": "GB"})).id
    record_id = writer(lambda: request_services.create_request({
        "request_type": "processor_list", "channel": "phone", "received_on": TODAY, "is_for_controller": True,
        "controller_id": client_id, "requester": {"name": NAME, "contact": PHONE}})).id
    editor, password = make_user(Role.EDITOR)
    browser = app.test_client()  # the editor's own browser: the test's client logs in as someone else
    assert login(browser, editor.email, password).status_code == 302
    take_step(browser, record_id, "ask_controller")
    for step, reason in TEXTS.items():
        take_step(browser, record_id, step, reason)
    return record_id


def holding(*needles: str) -> list[str]:
    """Every table.column of the database (all of them, read from the database itself) holding a needle."""
    found = []
    with db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            result = connection.execute(text(f'SELECT * FROM "{table}"'))
            for row in result:
                for column, value in zip(result.keys(), row):
                    if value is not None and any(needle.casefold() in str(value).casefold() for needle in needles):
                        found.append(f"{table}.{column}")
    return sorted(set(found))


def database_dump() -> str:
    """The whole database as its own dump tool writes it (sqlite3's .dump; pg_dump of the schema)."""
    db.session.remove()
    if db.engine.dialect.name == "sqlite":
        connection = db.engine.raw_connection()
        try:
            return "\n".join(connection.driver_connection.iterdump())
        finally:
            connection.close()
    assert shutil.which("pg_dump"), "pg_dump is needed to dump the PostgreSQL test schema"
    with db.engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--schema", schema, url], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def workbook_text(client) -> str:
    response = client.get("/requests/log.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    return "\n".join(str(value) for sheet in book for row in sheet.iter_rows(values_only=True) for value in row
                     if value is not None)


def hits(content: str) -> list[str]:
    return [needle for needle in NEEDLES if needle.casefold() in content.casefold()]


def assert_gone_everywhere(client, record_id: int) -> None:
    assert holding(*NEEDLES) == []
    assert hits(database_dump()) == []
    assert hits(workbook_text(client)) == []
    page = client.get(f"/requests/{record_id}").get_data(as_text=True)
    assert hits(page) == []
    assert page.count("(erased)") == 3  # the controller's instructions, the extension and the refusal
    if db.engine.dialect.name == "sqlite":  # not even in the file's free pages or its write-ahead log
        path = db.engine.url.database
        raw = b"".join(file.read_bytes() for file in (Path(path), Path(path + "-wal")) if file.exists())
        assert [needle for needle in NEEDLES if needle.encode() in raw] == []


def test_staff_see_the_reasons_and_instructions_until_the_purge_and_only_the_purgeable_row_holds_them(
        logged_in, refused_request):
    auditor = logged_in(Role.AUDITOR)
    page = auditor.get(f"/requests/{refused_request}").get_data(as_text=True)
    assert all(reason in page for reason in TEXTS.values())
    log = workbook_text(auditor)
    assert all(reason in log for reason in TEXTS.values()) and NAME in log  # the texts, until the purge
    assert holding(*NEEDLES) == ["request_personal_data.controller_instructions", "request_personal_data.extension_reason",
                                 "request_personal_data.refusal_reason", "request_personal_data.requester_contact",
                                 "request_personal_data.requester_name"]


def test_the_trail_records_that_a_reason_was_given_or_changed_never_its_text(writer, refused_request):
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "subject_requests")
                                .order_by(AuditEvent.id)).all()
    recorded = {name: [event.changes[name] for event in events if name in event.changes]
                for name in request_services.STEP_TEXTS}
    assert recorded == {name: [[None, "(given)"]] for name in request_services.STEP_TEXTS}
    # A text changed on an open request: the trail says only that it changed.
    other = writer(lambda: request_services.create_request({
        "request_type": "processor_list", "channel": "email", "received_on": TODAY, "extension_told_on": TODAY,
        "extension_reason": f"Told {NAME} by phone", "requester": {"name": NAME, "contact": PHONE}}))
    writer(lambda: request_services.update_request(db.session.get(SubjectRequest, other.id),
                                                   {"extension_reason": f"Told {NAME} on {PHONE}"}, expected_version=1))
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last.changes == {"extension_reason": ["(given)", "(changed)"]}


def test_flask_purge_leaves_the_name_and_number_nowhere(logged_in, runner, refused_request):
    result = runner.invoke(args=["purge", "--on", (TODAY + timedelta(days=31)).isoformat()])
    assert result.exit_code == 0 and "1 request(s) purged." in result.output
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.actor_label == "cli purge" and {name: event.changes[name] for name in request_services.STEP_TEXTS} == {
        name: ["(given)", None] for name in request_services.STEP_TEXTS}
    assert db.session.scalar(select(RequestPersonalData)) is None
    assert_gone_everywhere(logged_in(Role.AUDITOR), refused_request)


@pytest.mark.parametrize("door", ["/requests/{id}", "/requests/", "/requests/log.xlsx"])
def test_the_purge_on_reading_leaves_the_name_and_number_nowhere(logged_in, monkeypatch, refused_request, door):
    class ThirtyOneDaysLater(date):
        @classmethod
        def today(cls):
            return TODAY + timedelta(days=31)

    monkeypatch.setattr(request_services, "date", ThirtyOneDaysLater)
    monkeypatch.setattr(request_views, "date", ThirtyOneDaysLater)
    auditor = logged_in(Role.AUDITOR)
    assert auditor.get(door.format(id=refused_request)).status_code == 200
    db.session.expire_all()
    assert db.session.get(SubjectRequest, refused_request).personal_data_purged_at is not None
    assert_gone_everywhere(auditor, refused_request)


def test_migration_0011_moves_the_texts_of_requests_kept_and_drops_those_of_requests_purged(app):
    from alembic.script import ScriptDirectory

    before = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_revision("0011").down_revision
    db.session.remove()
    downgrade(revision=before)
    columns = ("uid, request_type, channel, received_on, status, is_for_controller, controller_instructions, "
               "extension_reason, refusal_reason, personal_data_purged_at, created_at, updated_at, version")
    with db.engine.begin() as connection:
        for uid, purged_at in (("kept", None), ("no-row", None), ("purged", "2026-01-01 00:00:00")):
            connection.execute(text(
                f"INSERT INTO subject_requests ({columns}) VALUES (:uid, 'processor_list', 'email', '2026-01-01', 'refused', "
                ":no, :instructions, :extension, :refusal, :purged_at, '2026-01-01', '2026-01-01', 1)"),
                {"uid": uid, "no": False, "instructions": f"{uid}: call {NAME}", "extension": f"{uid}: told {PHONE}",
                 "refusal": f"{uid}: refused", "purged_at": purged_at})
        kept_id = connection.execute(text("SELECT id FROM subject_requests WHERE uid = 'kept'")).scalar()
        connection.execute(text("INSERT INTO request_personal_data (request_id, requester_name, requester_contact) "
                                "VALUES (:id, :name, :phone)"), {"id": kept_id, "name": NAME, "phone": PHONE})
    upgrade()
    with db.engine.connect() as connection:
        moved = connection.execute(text(
            "SELECT s.uid, p.requester_name, p.controller_instructions, p.extension_reason, p.refusal_reason "
            "FROM request_personal_data p JOIN subject_requests s ON s.id = p.request_id ORDER BY s.uid")).all()
    assert [tuple(row) for row in moved] == [
        ("kept", NAME, f"kept: call {NAME}", f"kept: told {PHONE}", "kept: refused"),
        ("no-row", "", f"no-row: call {NAME}", f"no-row: told {PHONE}", "no-row: refused")]
    assert holding("purged:") == []
