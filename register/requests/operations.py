"""Writes of data subjects' requests: through the one audited write path, personal data kept apart.

The request record (audited, kept) holds no personal data. The requester's name and contact are the
`requester` field of the write path: stored in `request_personal_data`, recorded in the trail only as
"(personal)" (audit.PERSONAL_FIELDS), and erased 30 days after the answer or refusal (`purge_due`),
by cron (`flask --app app purge`) and whenever a request is read after its purge date. The steps'
free texts (`STEP_TEXTS`: reasons told to the person, the controller's instructions) may name the
person: they are stored in the same row, recorded only as "(given)"/"(changed)", and erased with it.
"""

import hashlib
from datetime import date, datetime, timezone
from typing import Any, Optional

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import rules, services
from ..audit import Actor
from ..extensions import db
from ..models import (
    AuditSource,
    Party,
    PartyKind,
    RequestAnswer,
    RequestPersonalData,
    RequestStatus,
    RequestType,
    SubjectRequest,
)
from ..services import DomainError, Errors, Spec, check_text, check_visible
from ..services.coerce import LONG_TEXT_LIMIT

RETENTION_ACTOR = Actor(AuditSource.SYSTEM, label="retention schedule")
CLOSED = (RequestStatus.ANSWERED, RequestStatus.REFUSED)
# The steps' free texts, each with the date of its step: personal data (audit.PERSONAL_TEXT_FIELDS).
STEP_TEXTS = {"controller_instructions": "controller_answered_on", "extension_reason": "extension_told_on",
              "refusal_reason": "refused_on"}
ERASED = "(erased)"


def holidays() -> frozenset[date]:
    return current_app.config.get("PUBLIC_HOLIDAYS", frozenset())


def request_dates(values: Any) -> rules.RequestDates:
    """The clocks' inputs from a request (or a dict of its values)."""
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return rules.RequestDates(
        received_on=get("received_on"), identity_verified_on=get("identity_verified_on"),
        acknowledged_on=get("acknowledged_on"), extension_told_on=get("extension_told_on"),
        answered_on=get("answered_on"), refused_on=get("refused_on"),
    )


def clocks(record: SubjectRequest, today: Optional[date] = None) -> rules.Clocks:
    return rules.request_clocks(request_dates(record), today or date.today(), holidays())


def status_for(values: dict) -> RequestStatus:
    """The status follows from the dates recorded: the last step reached."""
    if values.get("refused_on"):
        return RequestStatus.REFUSED
    if values.get("answered_on"):
        return RequestStatus.ANSWERED
    if values.get("controller_asked_on") and not values.get("controller_answered_on"):
        return RequestStatus.AWAITING_CONTROLLER
    if values.get("extension_told_on"):
        return RequestStatus.EXTENDED
    if values.get("identity_verified_on"):
        return RequestStatus.IDENTITY_VERIFIED
    if values.get("acknowledged_on"):
        return RequestStatus.ACKNOWLEDGED
    return RequestStatus.RECEIVED


# --- the write spec ---------------------------------------------------------------------------


def _read_requester(record: SubjectRequest) -> Optional[list]:
    # Compared to detect a change; the trail only ever shows "(personal)" (audit.PERSONAL_FIELDS).
    personal = record.personal
    return None if personal is None else [personal.requester_name, personal.requester_contact, personal.notes]


def _write_requester(sess: Session, record: SubjectRequest, value: Optional[dict]) -> None:
    if value is None:
        if record.personal is not None:
            row, record.personal = record.personal, None
            sess.delete(row)
        return
    if record.personal is None:
        record.personal = RequestPersonalData(request_id=record.id)
    record.personal.requester_name = value["name"].strip()
    record.personal.requester_contact = value["contact"].strip()
    record.personal.notes = (value.get("notes") or "").strip() or None


def _recorded_requester(value: Optional[dict]) -> Optional[list]:
    if value is None:
        return None
    return [value["name"].strip(), value["contact"].strip(), (value.get("notes") or "").strip() or None]


def step_text(record: SubjectRequest, name: str) -> Optional[str]:
    """One of the steps' free texts as stored (None once erased)."""
    return getattr(record.personal, name) if record.personal is not None else None


def shown_step_text(record: SubjectRequest, name: str) -> Optional[str]:
    """A step's free text as pages and the request log show it: the text until the purge, "(erased)" after."""
    text = step_text(record, name)
    if text is None and record.personal_data_purged_at is not None and getattr(record, STEP_TEXTS[name]) is not None:
        return ERASED
    return text


def _text_writer(name: str):
    def write(sess: Session, record: SubjectRequest, value: Optional[str]) -> None:
        text = (value or "").strip() or None
        if record.personal is None:
            if text is None:
                return
            # Only before the requester's details are given (a create writes its fields in any order).
            record.personal = RequestPersonalData(request_id=record.id, requester_name="", requester_contact="")
        setattr(record.personal, name, text)

    return write


def _recorded_text(value: Optional[str]) -> Optional[str]:
    return (value or "").strip() or None


def _read_answer(record: SubjectRequest) -> Optional[str]:
    return record.answer.sha256 if record.answer is not None else None


def _write_answer(sess: Session, record: SubjectRequest, value: Optional[dict]) -> None:
    if value is None or record.answer is not None:
        return  # an answer sent is never rewritten
    content = value["content"]
    record.answer = RequestAnswer(request_id=record.id, media_type=value["media_type"], content=content,
                                  sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(), sent_on=value["sent_on"])


def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _validate(sess: Session, record: Optional[SubjectRequest], values: dict, errors: Errors) -> None:
    today = date.today()
    requester = values.get("requester", ...)
    if requester is ... and record is None:
        _add(errors, "requester_name", "This field is required.")
    elif isinstance(requester, dict):
        for key, field_name, limit in (("name", "requester_name", 200), ("contact", "requester_contact", 300)):
            text = (requester.get(key) or "").strip()
            if not text:
                _add(errors, field_name, "This field is required.")
            elif len(text) > limit:
                _add(errors, field_name, f"At most {limit} characters.")
        for key, field_name in (("name", "requester_name"), ("contact", "requester_contact"), ("notes", "notes")):
            try:
                text = (requester.get(key) or "").strip()
                check_text(text, multiline=key == "notes")  # the notes have several lines
                if text:
                    check_visible(text)
                if key == "notes" and len(text) > LONG_TEXT_LIMIT:
                    raise ValueError(f"At most {LONG_TEXT_LIMIT:,} characters ({len(text):,} given).")
            except ValueError as error:
                _add(errors, field_name, str(error))
    received = values.get("received_on")
    if received and received > today:
        _add(errors, "received_on", "A request cannot be received in the future.")
    for name in ("acknowledged_on", "identity_verified_on", "controller_asked_on", "controller_answered_on",
                 "answered_on", "refused_on"):
        day = values.get(name)
        if day and received and day < received:
            _add(errors, name, "Cannot be before the request was received.")
        elif day and day > today:
            _add(errors, name, "Cannot be in the future.")
    if values.get("controller_answered_on") and values.get("controller_asked_on") and \
            values["controller_answered_on"] < values["controller_asked_on"]:
        _add(errors, "controller_answered_on", "The controller cannot answer before it was asked.")
    ids = [part.strip() for part in (values.get("scope_entity_ids") or "").split(",") if part.strip()]
    for part in ids:
        party = sess.get(Party, int(part)) if part.isdigit() and int(part) < 2**31 else None
        if party is None or party.kind != PartyKind.GROUP_ENTITY:
            _add(errors, "scope_entity_ids", f"No group entity with id {part}.")
    if values.get("is_for_controller"):
        controller = sess.get(Party, values["controller_id"]) if values.get("controller_id") else None
        if controller is None:
            _add(errors, "controller_id", "Choose the client whose request this is: it instructs us first (Art. 28(3)(e)).")
        elif controller.kind != PartyKind.CLIENT:
            _add(errors, "controller_id", f"{controller.legal_name} is not a client.")
    elif values.get("controller_id") or values.get("controller_asked_on"):
        _add(errors, "is_for_controller", "Only a request we handle as a client's processor has a controller to ask.")
    def text(name: str) -> str:
        # A step's text lives in its own row: what the write gives, else what is stored.
        given = values[name] if name in values else (step_text(record, name) if record is not None else None)
        return (given or "").strip()

    for name in STEP_TEXTS:
        if name in values:
            if record is not None and record.personal_data_purged_at is not None:
                _add(errors, name, "The requester's details have been erased: this text can no longer be recorded.")
            try:
                check_text(values[name] or "")
            except ValueError as error:
                _add(errors, name, str(error))
    if values.get("controller_answered_on") and not text("controller_instructions"):
        _add(errors, "controller_instructions", "Record what the controller said.")
    if values.get("refused_on") and not text("refusal_reason"):
        _add(errors, "refusal_reason", "Give the reason for the refusal (Art. 12(4): the person must be told why).")
    told_on = values.get("extension_told_on")
    if told_on and (record is None or record.extension_told_on != told_on):
        problems = rules.extension_problems(request_dates(values), told_on, today)
        for problem in problems:
            _add(errors, "extension_told_on", problem)
        if not text("extension_reason"):
            _add(errors, "extension_reason", "Give the reasons for the delay: the person must be told them (Art. 12(3)).")


services.SPECS[SubjectRequest] = Spec(
    SubjectRequest,
    collections={"requester": (_read_requester, _write_requester), "answer": (_read_answer, _write_answer),
                 **{name: (lambda record, name=name: step_text(record, name), _text_writer(name)) for name in STEP_TEXTS}},
    recorded={"requester": _recorded_requester,
              "answer": lambda value: None if value is None else hashlib.sha256(value["content"].encode("utf-8")).hexdigest(),
              **{name: _recorded_text for name in STEP_TEXTS}},
    validate=_validate,
    required=("request_type", "channel", "received_on"),
)


# --- the writes -------------------------------------------------------------------------------


def _status_after(record: Optional[SubjectRequest], values: dict) -> RequestStatus:
    current = {} if record is None else {name: getattr(record, name) for name in services.spec_for(SubjectRequest).columns}
    return status_for({**current, **values})


def create_request(values: dict) -> SubjectRequest:
    """Log a new request (inside write_unit)."""
    return services.create(SubjectRequest, {**values, "status": _status_after(None, values)})


def update_request(record: SubjectRequest, values: dict, *, expected_version: Any) -> SubjectRequest:
    """Change a request's fields or record a step (inside write_unit); the status follows the dates."""
    if record.status in CLOSED:
        raise DomainError({"": [f"{record.label} is {record.status.label.lower()}: it can no longer change."]})
    return services.update(record, {**values, "status": _status_after(record, values)}, expected_version=expected_version)


def purge(record: SubjectRequest, now: Optional[datetime] = None) -> None:
    """Erase the requester's personal data (inside write_unit); the trail records only that it was erased."""
    if record.personal_data_purged_at is not None and record.personal is None:
        return
    services.update(record, {"requester": None, "personal_data_purged_at": now or datetime.now(timezone.utc)},
                    expected_version=record.version)


def due_for_purge(today: Optional[date] = None) -> list[int]:
    """Ids of the requests whose personal data is past its keeping date (30 days after the answer)."""
    today = today or date.today()
    found = []
    query = select(SubjectRequest).where(SubjectRequest.status.in_(CLOSED), SubjectRequest.personal_data_purged_at.is_(None))
    for record in db.session.scalars(query):
        purge_on = clocks(record, today).purge_on
        if purge_on is not None and purge_on <= today:
            found.append(record.id)
    return found


def purge_due(today: Optional[date] = None, actor: Actor = RETENTION_ACTOR) -> list[str]:
    """Erase every requester's data past its keeping date; the labels of the requests purged."""
    ids = due_for_purge(today)
    purged = []
    if ids:
        with services.write_unit(actor):
            for record_id in ids:
                record = db.session.get(SubjectRequest, record_id)
                purge(record)
                purged.append(record.label)
    if purged:
        _checkpoint()
    return purged


def _checkpoint() -> None:
    """SQLite: older copies of erased pages may sit in the write-ahead log; fold it into the file
    (where secure_delete has zeroed them) and truncate it."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def purge_if_due(record: SubjectRequest) -> SubjectRequest:
    """Enforced on access: a request read after its purge date is purged first."""
    if record.personal_data_purged_at is None and record.status in CLOSED:
        purge_on = clocks(record).purge_on
        if purge_on is not None and purge_on <= date.today():
            record_id = record.id
            with services.write_unit(RETENTION_ACTOR):
                purge(db.session.get(SubjectRequest, record_id))
            _checkpoint()
            record = db.session.get(SubjectRequest, record_id)
    return record


def check_answerable(record: SubjectRequest) -> None:
    """What must happen before any answer is sent (refused with the reason)."""
    errors: Errors = {}
    if record.request_type == RequestType.RECIPIENTS and record.identity_verified_on is None:
        _add(errors, "", "Verify the person's identity before answering an access request (Art. 12(6)).")
    if record.is_for_controller and record.controller_answered_on is None:
        _add(errors, "", "We act as processor for this request: record the controller's instructions first (Art. 28(3)(e)).")
    if errors:
        raise DomainError(errors)


def answer_request(record: SubjectRequest, sent_on: date, *, expected_version: Any,
                   content: Optional[str] = None) -> SubjectRequest:
    """Send the answer (`content`, the draft the person reviewed; built from the register when not given),
    keep its snapshot and SHA-256, and close the request."""
    from .answers import answer_content

    check_answerable(record)
    if content is None:
        content = answer_content(record)
    return update_request(record, {"answered_on": sent_on, "answer": {"content": content, "media_type": "text/csv",
                                                                       "sent_on": sent_on}},
                          expected_version=expected_version)
