"""The one writer of audit events, and the guard that refuses unaudited writes."""

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Optional

from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import AUDITED_MODELS, OWNED_MODELS, AuditAction, AuditEvent, AuditSource, User

REDACTED = "(changed)"
SECRET_FIELDS = frozenset({"password_hash", "session_nonce", "token_hash"})
# Personal data the trail must never hold (a requester's details, erased on schedule): it records only
# that the value was set, changed or erased.
PERSONAL = "(personal)"
# The free texts of a request's steps live with the requester's details (they may name the person: "Told
# Quentin ... on +41 79 ..."): the trail records only that one was given, or changed, or erased (None).
GIVEN = "(given)"
PERSONAL_TEXT_FIELDS = frozenset({"controller_instructions", "extension_reason", "refusal_reason"})
PERSONAL_FIELDS = frozenset({"requester"}) | PERSONAL_TEXT_FIELDS


class UnauditedWrite(RuntimeError):
    """A register record was about to be written outside the audited service path."""


@dataclass(frozen=True)
class Actor:
    """Who is writing, and through which door."""

    source: AuditSource
    user: Optional[User] = None
    label: str = ""

    @property
    def name(self) -> str:
        return self.user.email if self.user is not None else self.label


_AS_IS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """A JSON-ready form of a field value for the trail."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields whose value changed."""
    changes = {}
    for field in sorted(set(before) | set(after)):
        old, new = plain(before.get(field)), plain(after.get(field))
        if old != new:
            if field in SECRET_FIELDS:
                old, new = None if old is None else REDACTED, REDACTED
            elif field in PERSONAL_TEXT_FIELDS:
                old, new = None if old is None else GIVEN, None if new is None else GIVEN if old is None else REDACTED
            elif field in PERSONAL_FIELDS:
                old, new = None if old is None else PERSONAL, None if new is None else PERSONAL
            changes[field] = [old, new]
    return changes


def created(after: dict) -> dict:
    """`diff({}, after)`, the changes of a new record, in one pass (imports record 100,000 of them)."""
    changes = {}
    for field in sorted(after):
        new = after[field]
        if new is None:
            continue
        if type(new) not in _AS_IS:
            new = plain(new)
        if field in _HIDDEN:
            new = REDACTED if field in SECRET_FIELDS else GIVEN if field in PERSONAL_TEXT_FIELDS else PERSONAL
        changes[field] = [None, new]
    return changes


_HIDDEN = SECRET_FIELDS | PERSONAL_FIELDS


def record_event(session: Session, record: Any, action: AuditAction, changes: dict) -> AuditEvent:
    """Add the audit event of one write to the session's transaction."""
    audit_event = AuditEvent(**event_values(session, record, action, changes))
    session.add(audit_event)
    return audit_event


def event_values(session: Session, record: Any, action: AuditAction, changes: dict) -> dict:
    """The columns of one write's audit event, the record marked as audited in this unit (a bulk
    unit inserts many such rows at once: services.flush_pending)."""
    actor: Optional[Actor] = session.info.get("actor")
    if actor is None:
        raise UnauditedWrite(f"{type(record).__name__} written with no actor: use services.write_unit()")
    values = {
        "user_id": actor.user.id if actor.user is not None else None,
        "actor_label": actor.name,
        "source": actor.source,
        "record_type": record_type(record),
        "record_id": record.id,
        "record_uid": getattr(record, "uid", None),
        "record_label": (record.label or "")[:300],
        "record_version": getattr(record, "version", None),
        "action": action,
        "changes": changes,
    }
    mark_audited(session, record)
    # What the unit wrote: its routes' stored verdicts are brought up to date before it commits. A
    # record that now points elsewhere also touched the record it pointed at before (a route moved to
    # another engagement leaves its former siblings with one route fewer).
    session.info.setdefault("touched", set()).update(touched_by(values["record_type"], record.id, changes))
    return values


def touched_by(record_type: str, record_id: int, changes: dict) -> set[tuple[str, int]]:
    """The records one write touched, for the verdicts that depend on them: the record itself, the
    records it pointed at before (a route moved to another engagement leaves its former siblings with
    one route fewer), and the group entities a BCR approval no longer binds."""
    touched = {(record_type, record_id)}
    for name, change in changes.items():
        former = FORMER_REFERENCES.get((record_type, name))
        if former is not None and change[0] is not None:
            touched.add((former, change[0]))
    if record_type == "bcr_approvals" and "memberships" in changes:
        # Memberships are recorded as "entity:from:to".
        touched.update(("parties", int(item.split(":")[0])) for item in changes["memberships"][0] or [])
    return touched


# (record type, field) -> the record type the field refers to, where the verdicts of the routes of the
# record it referred to before depend on it (sibling routes, a route's TIAs, a party's vetting).
FORMER_REFERENCES = {
    ("transfer_routes", "engagement_id"): "engagements",
    ("transfer_impact_assessments", "route_id"): "transfer_routes",
    ("certificates", "third_party_id"): "parties",
    ("dpf_certifications", "third_party_id"): "parties",
    ("scope_facts", "party_id"): "parties",
    ("vendor_statements", "party_id"): "parties",
    ("vendor_statements", "engagement_id"): "engagements",
}


def record_type(record: Any) -> str:
    """The audited type of a record: its table name (one name for every kind of party)."""
    return type(record).__table__.name


def mark_audited(session: Session, *records: Any) -> None:
    session.info.setdefault("audited", set()).update(id(record) for record in records)


def _owner(record: Any) -> Any:
    return getattr(record, OWNED_MODELS[type(record)], None)


@event.listens_for(Session, "before_flush")
def _refuse_unaudited_writes(session: Session, _context, _instances) -> None:
    """Every new, changed or deleted register row must have been audited in this unit."""
    audited = session.info.get("audited", set())
    changed = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    for obj in [*session.new, *changed, *session.deleted]:
        if isinstance(obj, AUDITED_MODELS):
            if id(obj) not in audited:
                raise UnauditedWrite(f"unaudited write to {type(obj).__name__} {getattr(obj, 'id', None)}")
        elif type(obj) in OWNED_MODELS:
            owner = _owner(obj)
            if owner is not None and id(owner) not in audited:
                raise UnauditedWrite(f"unaudited write to {type(obj).__name__} of {type(owner).__name__}")


@event.listens_for(Session, "after_transaction_end")
def _forget_audited(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop("audited", None)
        session.info.pop("touched", None)
