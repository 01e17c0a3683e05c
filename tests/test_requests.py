"""Data subjects' requests: logged, clocked, answered from the register, and forgotten on schedule."""

import csv
import hashlib
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import CSRF_INPUT, csrf_token, post_form
from openpyxl import load_workbook
from sqlalchemy import select

from register import services
from register.extensions import db
from register.exports.processors import csv_text, processor_list
from register.models import (
    AuditEvent,
    Client,
    Engagement,
    GroupEntity,
    RequestPersonalData,
    RequestStatus,
    Role,
    SubjectRequest,
    ThirdParty,
    TransferInstrument,
    TransferRoute,
)
from register.requests import operations as request_services

NAME = "Ingrid Quarantotto"
EMAIL = "ingrid.q@mail.example"
TODAY = date.today()


@pytest.fixture
def register_content(writer):
    """A French entity with a US processor (SCC), a sub-processor, an insurer (controller) and a retired vendor."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        cloud = services.create(ThirdParty, {"legal_name": "Nimbus Cloud Inc.", "country_code": "US"})
        backup = services.create(ThirdParty, {"legal_name": "Vault Backup GmbH", "country_code": "DE"})
        insurer = services.create(ThirdParty, {"legal_name": "Big Insurer SA", "country_code": "CH"})
        old = services.create(ThirdParty, {"legal_name": "Old Telecom Ltd", "country_code": "GB"})
        hosting = services.create(Engagement, {"engager_id": hq.id, "engaged_id": cloud.id, "service": "Case platform hosting",
                                               "purpose": "Assistance cases", "relationship_type": "processor", "locations": ["US"]})
        services.create(Engagement, {"engager_id": cloud.id, "engaged_id": backup.id, "service": "Backups",
                                     "relationship_type": "sub_processor", "locations": ["DE"]})
        services.create(Engagement, {"engager_id": hq.id, "engaged_id": insurer.id, "service": "Claims cover",
                                     "purpose": "Assistance cases", "relationship_type": "independent_controller"})
        scc = services.create(TransferInstrument, {"kind": "eu_scc", "title": "SCC Meridian-Nimbus", "scc_decision": "2021/914",
                                                   "scc_modules": "2", "signed_on": "2024-01-01", "signatories": [
                                                       {"party_id": hq.id, "side": "exporter"}, {"party_id": cloud.id, "side": "importer"}]})
        services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": cloud.id, "destination_country": "US",
                                        "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor",
                                        "engagement_id": hosting.id, "purpose": "Assistance cases", "instrument_ids": [scc.id]})
        phone = services.create(Engagement, {"engager_id": hq.id, "engaged_id": old.id, "service": "Call centre",
                                             "purpose": "Assistance cases", "relationship_type": "processor",
                                             "starts_on": "2020-01-01"})
        services.retire(phone, expected_version=phone.version, ends_on=date(2024, 6, 30))
        client = services.create(Client, {"legal_name": "Acme Travel Insurance plc", "country_code": "GB"})
        return {"hq": hq.id, "client": client.id}

    return writer(build)


def log_request(writer, **values):
    base = {"request_type": "processor_list", "channel": "email", "received_on": TODAY,
            "requester": {"name": NAME, "contact": EMAIL}}
    return writer(lambda: request_services.create_request({**base, **values})).id


DRAFT_HASH = re.compile(r'name="answer-draft_sha256" type="hidden" value="([0-9a-f]{64})"')


def step(client, record_id: int, name: str, on: date = TODAY, text: str = "", send_anyway: bool = True):
    """Take a step from the request's page; the answer after building its draft, as a browser does."""
    page = f"/requests/{record_id}"
    data = {f"{name}-on": on.isoformat(), f"{name}-text": text}
    if name == "answer":
        shown = client.get(f"{page}?draft=1").get_data(as_text=True)
        found = DRAFT_HASH.search(shown)
        data["answer-draft_sha256"] = found.group(1) if found else ""
        if send_anyway:
            data["answer-send_anyway"] = "y"
        token = CSRF_INPUT.search(shown).group(1)
    else:
        token = csrf_token(client, page)
    record = db.session.get(SubjectRequest, record_id)
    return client.post(f"{page}/{name}", data={**data, f"{name}-csrf_token": token, f"{name}-version": str(record.version)})


def tables_holding(*needles: str) -> list[str]:
    """Every table and column (all of them, by inspection) still holding one of the texts."""
    found = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for column, value in zip(table.columns, row):
                    if value is not None and any(needle.casefold() in str(value).casefold() for needle in needles):
                        found.append(f"{table.name}.{column.name}")
    return found


# --- the request log ----------------------------------------------------------------------------


def test_an_editor_logs_a_request_and_the_trail_never_holds_the_requester(logged_in, register_content):
    editor = logged_in(Role.EDITOR)
    response = post_form(editor, "/requests/new", {
        "request_type": "recipients", "received_on": TODAY.isoformat(), "channel": "email", "requester_name": NAME,
        "requester_contact": EMAIL, "notes": "Prefers English", "scope_entity_ids": [str(register_content["hq"])],
        "scope_purposes": "Assistance cases"})
    assert response.status_code == 302, response.get_data(as_text=True)
    record = db.session.scalar(select(SubjectRequest))
    assert record.status == RequestStatus.RECEIVED and record.entity_ids == [register_content["hq"]]
    assert record.personal.requester_name == NAME
    page = editor.get(f"/requests/{record.id}").get_data(as_text=True)
    assert NAME in page and EMAIL in page and "Acknowledge (5 working days)" in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "subject_requests"))
    assert event.changes["requester"] == [None, "(personal)"]
    assert tables_holding(NAME, EMAIL, "Prefers English") == ["request_personal_data.requester_name",
                                                               "request_personal_data.requester_contact",
                                                               "request_personal_data.notes"]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"requester_name": ""}, "requester_name", "This field is required."),
    ({"received_on": (TODAY + timedelta(days=3)).isoformat()}, "received_on", "cannot be received in the future"),
    ({"received_on": "31/01/2026"}, "received_on", "Give the date the request was received."),
    ({"is_for_controller": "y"}, "controller_id", "Choose the client whose request this is"),
    ({"request_type": "nonsense"}, "request_type", "Not a valid choice."),
])
def test_bad_input_redisplays_the_form_with_the_error_and_the_input_kept(logged_in, register_content, change, field, message):
    editor = logged_in(Role.EDITOR)
    form = {"request_type": "processor_list", "received_on": TODAY.isoformat(), "channel": "web_form",
            "requester_name": NAME, "requester_contact": EMAIL, **change}
    response = post_form(editor, "/requests/new", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    assert f'value="{EMAIL}"' in page
    assert db.session.scalar(select(SubjectRequest)) is None


def test_an_editor_changes_a_request_and_a_stale_form_gets_409(logged_in, writer, register_content):
    record_id = log_request(writer)
    editor = logged_in(Role.EDITOR)
    form = {"request_type": "processor_list", "received_on": TODAY.isoformat(), "channel": "post",
            "requester_name": "Ingrid Q.", "requester_contact": EMAIL, "version": "1"}
    assert post_form(editor, f"/requests/{record_id}/edit", form).status_code == 302
    db.session.expire_all()
    record = db.session.get(SubjectRequest, record_id)
    assert record.channel.value == "post" and record.personal.requester_name == "Ingrid Q."
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last.changes["requester"] == ["(personal)", "(personal)"]
    assert post_form(editor, f"/requests/{record_id}/edit", {**form, "channel": "phone"}).status_code == 409


def test_a_date_in_the_future_is_refused_on_the_edit_form_and_in_a_step_too(logged_in, writer, register_content):
    record_id = log_request(writer)
    editor = logged_in(Role.EDITOR)
    later = TODAY + timedelta(days=150)
    form = {"request_type": "processor_list", "received_on": later.isoformat(), "channel": "post",
            "requester_name": NAME, "requester_contact": EMAIL, "version": "1"}
    edited = post_form(editor, f"/requests/{record_id}/edit", form)
    assert edited.status_code == 400 and "A request cannot be received in the future." in edited.get_data(as_text=True)
    acknowledged = step(editor, record_id, "acknowledge", on=later)
    assert acknowledged.status_code == 400 and "Cannot be in the future." in acknowledged.get_data(as_text=True)
    db.session.expire_all()
    record = db.session.get(SubjectRequest, record_id)
    assert (record.received_on, record.acknowledged_on, record.version) == (TODAY, None, 1)


# --- the steps ----------------------------------------------------------------------------------


def test_the_steps_move_the_status_and_every_step_is_audited(logged_in, writer, register_content):
    record_id = log_request(writer, request_type="recipients")
    editor = logged_in(Role.EDITOR)
    assert step(editor, record_id, "acknowledge").status_code == 302
    assert db.session.get(SubjectRequest, record_id).status == RequestStatus.ACKNOWLEDGED
    # An access request is not answered before the person's identity is verified (Art. 12(6)).
    refused = step(editor, record_id, "answer")
    assert refused.status_code == 400 and "Verify the person&#39;s identity" in refused.get_data(as_text=True)
    assert step(editor, record_id, "verify").status_code == 302
    assert step(editor, record_id, "extend", text="").status_code == 400  # reasons required
    assert step(editor, record_id, "extend", text="Many systems to search").status_code == 302
    db.session.expire_all()
    record = db.session.get(SubjectRequest, record_id)
    assert record.status == RequestStatus.EXTENDED and record.extension_told_on == TODAY
    actions = [event.changes for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.record_type == "subject_requests").order_by(AuditEvent.id))]
    assert [changes.get("status") for changes in actions] == [
        [None, "received"], ["received", "acknowledged"], ["acknowledged", "identity_verified"], ["identity_verified", "extended"]]


def test_an_extension_after_the_first_deadline_is_refused(logged_in, writer, register_content):
    record_id = log_request(writer, received_on=TODAY - timedelta(days=40), acknowledged_on=TODAY - timedelta(days=39))
    editor = logged_in(Role.EDITOR)
    response = step(editor, record_id, "extend", on=TODAY - timedelta(days=35), text="Complex")
    assert response.status_code == 303  # no longer offered: the first deadline has passed
    with pytest.raises(services.DomainError, match="extension can only be recorded before"):
        writer(lambda: request_services.update_request(
            db.session.get(SubjectRequest, record_id), {"extension_told_on": TODAY - timedelta(days=35), "extension_reason": "x"},
            expected_version=2 - 1))


def test_a_request_for_a_client_waits_for_the_controllers_instructions(logged_in, writer, register_content):
    record_id = log_request(writer, is_for_controller=True, controller_id=register_content["client"])
    editor = logged_in(Role.EDITOR)
    assert step(editor, record_id, "ask_controller").status_code == 302
    assert db.session.get(SubjectRequest, record_id).status == RequestStatus.AWAITING_CONTROLLER
    response = step(editor, record_id, "answer")
    assert response.status_code == 400 and "instructions first" in response.get_data(as_text=True)
    assert step(editor, record_id, "controller_answer", text="").status_code == 400
    assert step(editor, record_id, "controller_answer", text="Answer it with our list").status_code == 302
    db.session.expire_all()
    record = db.session.get(SubjectRequest, record_id)
    assert record.personal.controller_instructions == "Answer it with our list" and record.status == RequestStatus.RECEIVED
    assert step(editor, record_id, "answer").status_code == 302


# --- the answer ---------------------------------------------------------------------------------


def test_a_processor_list_request_is_answered_with_the_subject_facing_list_kept_with_its_hash(logged_in, writer, register_content):
    record_id = log_request(writer, scope_entity_ids=str(register_content["hq"]))
    editor = logged_in(Role.EDITOR)
    assert step(editor, record_id, "answer").status_code == 302
    db.session.expire_all()
    record = db.session.get(SubjectRequest, record_id)
    assert record.status == RequestStatus.ANSWERED and record.answer.sent_on == TODAY
    assert record.answer.content == csv_text(processor_list([register_content["hq"]]))
    assert record.answer.sha256 == hashlib.sha256(record.answer.content.encode()).hexdigest()
    download = editor.get(f"/requests/{record_id}/answer.csv")
    assert download.get_data(as_text=True) == record.answer.content
    assert download.headers["X-Content-SHA256"] == record.answer.sha256
    names = {row["Processor"] for row in csv.DictReader(io.StringIO(record.answer.content))}
    assert names == {"Nimbus Cloud Inc.", "Vault Backup GmbH"}
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.changes["answer"] == [None, record.answer.sha256]
    # Closed: no more steps, no edit.
    assert editor.get(f"/requests/{record_id}/edit").status_code == 303


def test_an_access_request_gets_the_actual_recipients_current_and_past_with_safeguards(logged_in, writer, register_content):
    record_id = log_request(writer, request_type="recipients", identity_verified_on=TODAY,
                            scope_entity_ids=str(register_content["hq"]), scope_purposes="Assistance cases")
    editor = logged_in(Role.EDITOR)
    assert step(editor, record_id, "answer").status_code == 302
    db.session.expire_all()
    content = db.session.get(SubjectRequest, record_id).answer.content
    rows = {(row["Recipient"], row["Relationship"]): row for row in csv.DictReader(io.StringIO(content))}
    assert rows[("Nimbus Cloud Inc.", "Processor")]["Receives data"] == "now"
    assert "standard contractual clauses" in rows[("Nimbus Cloud Inc.", "Processor")]["How transfers are safeguarded"]
    assert ("Big Insurer SA", "Independent controller") in rows
    assert rows[("Old Telecom Ltd", "Processor")]["Receives data"] == "in the past (until 2024-06-30)"
    assert any(name == "Vault Backup GmbH" for name, _relationship in rows)
    assert NAME not in content and EMAIL not in content


def test_refusing_needs_a_reason(logged_in, writer, register_content):
    record_id = log_request(writer)
    editor = logged_in(Role.EDITOR)
    assert step(editor, record_id, "refuse").status_code == 400
    assert step(editor, record_id, "refuse", text="Manifestly unfounded: the tenth identical request this month").status_code == 302
    assert db.session.get(SubjectRequest, record_id).status == RequestStatus.REFUSED


# --- the purge ----------------------------------------------------------------------------------


def answered_long_ago(writer, days: int = 31) -> int:
    sent = TODAY - timedelta(days=days)
    record_id = log_request(writer, received_on=sent - timedelta(days=5), identity_verified_on=sent - timedelta(days=4))
    writer(lambda: request_services.update_request(
        db.session.get(SubjectRequest, record_id), {"answered_on": sent, "answer": {"content": "Processor\r\nNimbus\r\n",
                                                                                   "media_type": "text/csv", "sent_on": sent}},
        expected_version=1))
    return record_id


def test_the_purge_erases_the_requester_30_days_after_the_answer_and_no_table_keeps_them(app, runner, writer, register_content):
    kept = answered_long_ago(writer, days=29)
    purged = answered_long_ago(writer, days=31)
    db.session.get(SubjectRequest, kept).personal.requester_name  # still there
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and f"#{purged}" in result.output and "1 request(s) purged." in result.output
    db.session.expire_all()
    assert db.session.get(SubjectRequest, purged).personal is None
    assert db.session.get(SubjectRequest, purged).personal_data_purged_at is not None
    assert db.session.get(SubjectRequest, kept).personal is not None
    assert db.session.get(SubjectRequest, purged).answer is not None  # the register content stays
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.changes["requester"] == ["(personal)", None] and event.actor_label == "cli purge"
    # The kept request still holds them (in its one purgeable place only); purge it too and look everywhere.
    assert set(tables_holding(NAME, EMAIL)) == {"request_personal_data.requester_name", "request_personal_data.requester_contact"}
    assert runner.invoke(args=["purge", "--on", (TODAY + timedelta(days=2)).isoformat()]).exit_code == 0
    assert tables_holding(NAME, EMAIL) == []
    assert db.session.scalar(select(RequestPersonalData)) is None
    assert "0 request(s) purged." in runner.invoke(args=["purge"]).output


def test_the_purge_is_enforced_when_a_request_is_read(logged_in, writer, register_content):
    record_id = answered_long_ago(writer)
    auditor = logged_in(Role.AUDITOR)
    page = auditor.get(f"/requests/{record_id}").get_data(as_text=True)
    assert NAME not in page and "Erased on" in page
    assert tables_holding(NAME, EMAIL) == []
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.source.value == "system" and event.changes["requester"] == ["(personal)", None]


def test_no_byte_of_the_requester_survives_in_the_sqlite_files(app, runner, writer, register_content):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    answered_long_ago(writer)
    assert runner.invoke(args=["purge"]).exit_code == 0
    db.session.remove()
    path = db.engine.url.database
    raw = b"".join(file.read_bytes() for file in (Path(path), Path(path + "-wal")) if file.exists())
    assert NAME.encode() not in raw and EMAIL.encode() not in raw


# --- the queue, the dashboard and the log -------------------------------------------------------


def test_the_queue_shows_what_is_due_first_and_highlights_overdue_and_this_week(logged_in, writer, register_content):
    fresh = log_request(writer)
    late = log_request(writer, received_on=TODAY - timedelta(days=20))
    # Answer due a month after receipt: 1-4 days from today (6 at most if it moves past a weekend), always before
    # the fresh request's acknowledgement (5 working days: a week or more), whatever the weekday.
    soon = log_request(writer, received_on=TODAY - timedelta(days=27), acknowledged_on=TODAY - timedelta(days=26))
    auditor = logged_in(Role.AUDITOR)
    page = auditor.get("/requests/").get_data(as_text=True)
    positions = [page.index(f"Request #{record_id} ") for record_id in (late, soon, fresh)]
    assert positions == sorted(positions)
    assert page.count('<tr class="overdue">') == 1 and page.count('<tr class="due-soon">') >= 1
    assert "Log a request" not in page  # auditors read only
    dashboard = auditor.get("/dashboard").get_data(as_text=True)
    assert "3 open requests" in dashboard and "1 overdue" in dashboard


def test_a_request_whose_answer_is_overdue_shows_the_answer_deadline_and_that_both_are_overdue(logged_in, writer, register_content):
    record_id = log_request(writer, received_on=TODAY - timedelta(days=40))  # never acknowledged, never answered
    auditor = logged_in(Role.AUDITOR)
    queue = " ".join(auditor.get("/requests/").get_data(as_text=True).split())
    row = re.search(rf'<tr class="overdue"> <td><a href="/requests/{record_id}">.*?</tr>', queue).group(0)
    assert "<td>Answer (" in row and "also overdue: Acknowledge (5 working days), due" in row and "both overdue" in row
    page = " ".join(auditor.get(f"/requests/{record_id}").get_data(as_text=True).split())
    binding = re.search(r'<p class="binding-deadline">(.*?)</p> <p>(.*?)</p>', page)
    assert "Binding: <strong>Answer (" in binding.group(1) and "overdue" in binding.group(1)
    assert binding.group(2).startswith("Also overdue: Acknowledge (5 working days), due")


def test_auditors_download_the_log_without_any_personal_data(logged_in, writer, register_content):
    open_id = log_request(writer)
    answered_long_ago(writer, days=3)
    auditor = logged_in(Role.AUDITOR)
    response = auditor.get("/requests/log.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = list(book["Requests"].iter_rows(values_only=True))
    assert rows[0][0] == "ID" and {row[0] for row in rows[1:]} == {open_id, open_id + 1}
    text = " ".join(str(value) for sheet in book for row in sheet.iter_rows(values_only=True) for value in row)
    assert NAME not in text and EMAIL not in text


@pytest.mark.parametrize(("data", "message"), [
    ({"refuse-on": "not a date", "refuse-text": "Unfounded"}, "Give the date."),
    ({"refuse-on": TODAY.isoformat(), "refuse-text": "Unfounded", "refuse-version": ""}, "The version must be a whole number."),
    ({"refuse-on": (TODAY + timedelta(days=1)).isoformat(), "refuse-text": "Unfounded"}, "Cannot be in the future."),
    ({"refuse-on": TODAY.isoformat(), "refuse-text": "x" * 4001}, "Field cannot be longer than 4000 characters."),
])
def test_a_bad_step_redisplays_the_request_with_the_error_and_writes_nothing(logged_in, writer, register_content, data, message):
    record_id = log_request(writer)
    editor = logged_in(Role.EDITOR)
    token = csrf_token(editor, f"/requests/{record_id}")
    response = editor.post(f"/requests/{record_id}/refuse", data={"refuse-csrf_token": token, "refuse-version": "1", **data})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SubjectRequest, record_id).status == RequestStatus.RECEIVED


def test_a_tokenless_step_is_refused(logged_in, writer, register_content):
    record_id = log_request(writer)
    editor = logged_in(Role.EDITOR)
    assert editor.post(f"/requests/{record_id}/acknowledge", data={"acknowledge-on": TODAY.isoformat()}).status_code == 400
    assert db.session.get(SubjectRequest, record_id).acknowledged_on is None
