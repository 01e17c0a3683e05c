"""The register as it stood at any moment, rebuilt from the audit trail.

Every write records the fields it changed (a creation records them all), and the trail cannot be
rewritten; replaying it up to a moment gives every record's values at that moment.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Optional

from sqlalchemy import select

from .extensions import db
from .models import AuditAction, AuditEvent

CHUNK = 5000
Key = tuple[str, int]  # (record type, record id)


@dataclass
class RecordState:
    """One record's fields as they stood, with the label and version it had."""

    record_type: str
    record_id: int
    uid: Optional[str]
    label: str
    version: Optional[int]
    fields: dict = field(default_factory=dict)


def _events_until(moment: datetime) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.occurred_at <= moment, AuditEvent.id > last_id)
                                    .order_by(AuditEvent.id).limit(CHUNK)).all()
        if not events:
            return
        yield from events
        last_id = events[-1].id
        db.session.expunge_all()


def register_at(moment: datetime) -> dict[Key, RecordState]:
    """Every record that existed at `moment`, with its fields then."""
    state: dict[Key, RecordState] = {}
    for event in _events_until(moment):
        key = (event.record_type, event.record_id)
        if event.action == AuditAction.DELETE:
            state.pop(key, None)
            continue
        record = state.get(key)
        if record is None:
            record = state[key] = RecordState(event.record_type, event.record_id, event.record_uid, event.record_label,
                                              event.record_version)
        record.fields.update({name: change[1] for name, change in event.changes.items()})
        record.label, record.version = event.record_label, event.record_version
    for record in state.values():
        record.fields = {name: value for name, value in record.fields.items() if value is not None}
    return state


@dataclass
class Difference:
    added: list[RecordState]
    removed: list[RecordState]
    changed: list[tuple[RecordState, dict]]  # the record then, and {field: [before, after]}


def compare(before: dict[Key, RecordState], after: dict[Key, RecordState]) -> Difference:
    """What was added, removed and changed (with the fields) between two states of the register."""
    added = [after[key] for key in sorted(after.keys() - before.keys())]
    removed = [before[key] for key in sorted(before.keys() - after.keys())]
    changed = []
    for key in sorted(before.keys() & after.keys()):
        old, new = before[key].fields, after[key].fields
        fields = {name: [old.get(name), new.get(name)] for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)}
        if fields:
            changed.append((after[key], fields))
    return Difference(added, removed, changed)
