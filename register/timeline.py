"""The register as it stood at any moment, rebuilt from the audit trail.

Every write records the fields it changed (a creation records them all), and the trail cannot be
rewritten; replaying it up to a moment gives every record's values at that moment.
"""

import shutil
import tempfile
import time as time_module
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from datetime import date, datetime, time, timezone
from typing import Any, Callable, Iterator, Optional

from sqlalchemy import Date, DateTime, Enum, String, create_engine, insert, select
from sqlalchemy.orm import Session

from .extensions import db
from .models import (
    AUDITED_MODELS,
    ApiToken,
    AuditAction,
    AuditEvent,
    BcrMembership,
    EngagementLocation,
    InstrumentParty,
    Party,
    PartyKind,
    Setting,
    SubjectRequest,
    User,
    route_instruments,
)

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


def versions(record_type: str) -> dict[int, list[dict]]:
    """Every state each record of a type has had, in order, replayed from the trail (records deleted
    as mistakes dropped: they never were)."""
    states: dict[int, list[dict]] = {}
    current: dict[int, dict] = {}
    events = db.session.execute(select(AuditEvent.record_id, AuditEvent.action, AuditEvent.changes)
                                .where(AuditEvent.record_type == record_type).order_by(AuditEvent.id))
    for record_id, action, changes in events:
        if action == AuditAction.DELETE:
            states.pop(record_id, None)
            current.pop(record_id, None)
            continue
        fields = {**current.get(record_id, {}), **{name: change[1] for name, change in changes.items()}}
        current[record_id] = fields
        states.setdefault(record_id, []).append(fields)
    return states


# --- one record at an earlier version ---------------------------------------------------------


class _Unkept:
    """A value the trail does not keep (a secret or personal data): only that it changed."""

    def __repr__(self) -> str:
        return "UNKEPT"


UNKEPT = _Unkept()


def events_since(record: Any, version: Any) -> list[AuditEvent]:
    """The audit events of a record after a version (e.g. the one a form was built on), in order."""
    try:
        since = int(version)
    except (TypeError, ValueError):
        since = 0
    return list(db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.record_type == record.__table__.name, AuditEvent.record_id == record.id,
            AuditEvent.record_version > since,
        ).order_by(AuditEvent.id)
    ))


def fields_before(current: dict, events: list[AuditEvent]) -> dict:
    """A record's fields as they were before `events` (its latest events, in order): its fields now
    (as the trail records them, audit.plain), each change those events made undone. What the trail does
    not keep (audit.SECRET_FIELDS, audit.PERSONAL_FIELDS) is UNKEPT, unless it was empty."""
    from .audit import PERSONAL_FIELDS, SECRET_FIELDS

    fields = dict(current)
    undone: set[str] = set()
    for event in events:
        for name, (before, _after) in event.changes.items():
            if name in undone:
                continue  # the first change after the version holds the value it had then
            undone.add(name)
            fields[name] = UNKEPT if before is not None and name in SECRET_FIELDS | PERSONAL_FIELDS else before
    return fields


def parse_moment(text: str) -> datetime:
    """A moment as people give it, in UTC: a date means the end of that day; a date and time, that time.
    Raises ValueError."""
    if "T" in text:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return datetime.combine(date.fromisoformat(text), time.max, timezone.utc)


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


# --- the register as of a moment, as a database ------------------------------------------------

# Collections the trail records as lists of strings (services' readers): the rows they stand for.
def _locations(owner_id: int, item: str) -> dict:
    country_code, activity = item.split(":")
    return {"engagement_id": owner_id, "country_code": country_code, "activity": activity}


def _signatories(owner_id: int, item: str) -> dict:
    side, party_id = item.split(":")
    return {"instrument_id": owner_id, "party_id": int(party_id), "side": side}


def _memberships(owner_id: int, item: str) -> dict:
    entity_id, bound_from, bound_to = item.split(":")
    return {"approval_id": owner_id, "group_entity_id": int(entity_id), "bound_from": date.fromisoformat(bound_from),
            "bound_to": date.fromisoformat(bound_to) if bound_to else None}


def _instrument_ids(owner_id: int, item: Any) -> dict:
    return {"route_id": owner_id, "instrument_id": int(item)}


COLLECTIONS: dict[tuple[str, str], tuple[Any, Callable[[int, Any], dict]]] = {
    ("engagements", "locations"): (EngagementLocation.__table__, _locations),
    ("transfer_instruments", "signatories"): (InstrumentParty.__table__, _signatories),
    ("bcr_approvals", "memberships"): (BcrMembership.__table__, _memberships),
    ("transfer_routes", "instrument_ids"): (route_instruments, _instrument_ids),
}


def _column_value(column: Any, value: Any) -> Any:
    from .services import _coerce

    if value is None:
        return None
    column_type = getattr(column.type, "impl", column.type)  # through UTCDateTime and other wrappers
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(column.type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(column_type, String) and not isinstance(column_type, Enum) and isinstance(value, str):
        return value  # as the trail recorded it: text written before today's checks still rebuilds
    return _coerce(column, value)


def _party_kind(record: RecordState, known: dict[int, str]) -> str:
    """A party's kind: recorded at creation; for parties created before it was, the live record's."""
    kind = record.fields.get("kind") or known.get(record.record_id)
    if kind:
        return kind
    if record.fields.get("organisation_code"):  # erased since, and created before kinds were recorded
        return PartyKind.INTERNATIONAL_ORGANISATION.value
    return PartyKind.CLIENT.value if record.fields.get("notice_period_days") is not None else PartyKind.THIRD_PARTY.value


# The register's own records: what the exports read. Users, tokens, settings and requests are not
# rebuilt (the trail keeps no secrets or personal data to rebuild them from, and no export needs them).
REGISTER_MODELS = tuple(model for model in AUDITED_MODELS if model not in (User, ApiToken, Setting, SubjectRequest))


def load_into(engine: Any, state: dict[Key, RecordState]) -> None:
    """Write the records of `state` into an empty database with the register's tables."""
    from .services import name_key

    tables = {model.__table__.name: model.__table__ for model in REGISTER_MODELS}
    known_kinds = {row.id: row.kind.value for row in db.session.execute(select(Party.id, Party.kind))}
    rows: dict[str, list[dict]] = {}
    extra: dict[Any, list[dict]] = {}
    for (record_type, record_id), record in sorted(state.items(), key=lambda item: item[0][1]):
        table = tables.get(record_type)
        if table is None:
            continue
        row = {"id": record_id, "uid": record.uid, "version": record.version or 1}
        for column in table.columns:
            if column.key in record.fields:
                row[column.key] = _column_value(column, record.fields[column.key])
        if record_type == "parties":
            row["kind"] = _party_kind(record, known_kinds)
            row["name_key"] = name_key(row.get("legal_name") or "")
        rows.setdefault(record_type, []).append(row)
        for (owner_type, name), (child_table, make) in COLLECTIONS.items():
            if owner_type == record_type:
                extra.setdefault(child_table, []).extend(make(record_id, item) for item in record.fields.get(name) or [])
    # Foreign keys are not enforced in this scratch database: tables load in any order.
    with engine.begin() as connection:
        for record_type, table_rows in rows.items():
            table = tables[record_type]
            # Rows differ in which fields they carry; insert each shape on its own.
            shapes: dict[tuple, list[dict]] = {}
            for row in table_rows:
                shapes.setdefault(tuple(sorted(row)), []).append(row)
            for shape_rows in shapes.values():
                connection.execute(insert(table), shape_rows)
        for table, table_rows in extra.items():
            if table_rows:
                connection.execute(insert(table), table_rows)


@contextmanager
def as_of_session(moment: datetime, on: Optional[date] = None) -> Iterator[Session]:
    """A session on a scratch copy of the register as it stood at `moment`, routes assessed on `on`.

    The copy is a temporary SQLite database with the register's tables, filled from the trail; the
    exports run on it unchanged, so a past register is exported exactly as today's is.
    """
    from . import assessments

    on = on or moment.date()
    folder = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
    engine = None
    try:  # removed on every way out: an error, a client gone mid-download (GeneratorExit), the end
        engine = create_engine(f"sqlite:///{folder}/register.sqlite")
        db.metadata.create_all(engine)
        load_into(engine, register_at(moment))
        with Session(engine) as sess:
            assessments.store(sess, on, assessments.evaluate(sess, on))
            sess.commit()
            yield sess
    finally:
        if engine is not None:
            engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


SCRATCH_PREFIX = "register-as-of-"
SCRATCH_KEPT_SECONDS = 3600


def sweep_scratch_copies(older_than: float = SCRATCH_KEPT_SECONDS) -> int:
    """Remove the scratch copies a killed process left in the temp folder (an export in progress takes
    minutes, not an hour); returns how many. Called at start-up."""
    removed = 0
    cutoff = time_module.time() - older_than
    for folder in Path(tempfile.gettempdir()).glob(SCRATCH_PREFIX + "*"):
        try:
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder)
                removed += 1
        except OSError:
            continue  # another process's, or already gone
    return removed
