"""The one write path of the register: validate, write, audit, in one transaction.

Pages, the API, the CLI, the demo seed and imports all call `create`, `update` and `retire` inside
`write_unit(actor)`. Values are plain Python or JSON values keyed by field name; they are coerced by
the column's type, checked by the record's validator, and refused as a whole with field errors
(`DomainError`). A write based on a stale version raises `ConflictError` and changes nothing.
"""

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, NamedTuple, Optional

from flask import current_app, has_app_context
from sqlalchemy import Boolean, Date, Integer, String, Text, event, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import countries, rules
from .audit import Actor, created, diff, event_values, mark_audited, plain, record_event
from .collector import rare_full_collections
from .extensions import _begin_immediate, db
from .models import (
    ApiToken,
    AuditAction,
    AuditEvent,
    BcrApproval,
    BcrMembership,
    Certificate,
    ChangeNotice,
    Client,
    DpfCertification,
    Engagement,
    EngagementLocation,
    GroupEntity,
    InstrumentKind,
    InstrumentParty,
    InstrumentSide,
    InternationalOrganisation,
    Lifecycle,
    LocationActivity,
    NoticeOutcome,
    Party,
    PartyKind,
    PartyRole,
    Relationship,
    ScopeFact,
    Setting,
    ThirdParty,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    User,
    route_instruments,
    utcnow,
)

Errors = dict[str, list[str]]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SYSTEM_FIELDS = frozenset({"id", "uid", "version", "created_at", "updated_at", "name_key"})


class DomainError(Exception):
    """Input the register refuses, with messages per field ("" for the whole record)."""

    def __init__(self, errors: Errors):
        super().__init__("; ".join(f"{k or 'record'}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Derived:
    """A value the register filled in because the write left it out, and why (shown to the caller)."""

    value: Any
    reason: str


class ConflictError(Exception):
    """The record changed since the caller read it; nothing was written."""

    def __init__(self, record: Any, expected_version: Optional[int]):
        super().__init__(f"{record.label} changed meanwhile (version {record.version}, not {expected_version})")
        self.record = record
        self.expected_version = expected_version


# --- the transaction --------------------------------------------------------------------------


def session() -> Session:
    return db.session()


@contextmanager
def write_unit(actor: Actor, *, dry_run: bool = False, bulk: bool = False) -> Iterator[Session]:
    """One audited, atomic write: commits at the end, rolls back on any error.

    On SQLite the transaction starts with BEGIN IMMEDIATE, so records read inside the unit cannot be
    changed by another writer before this one commits (no silent read-then-write race). A dry run
    does everything (checks, writes, audit) and then rolls back: previews and import dry runs.
    `bulk` is for a unit of many thousand records (an import): see `Bulk`.
    """
    sess = session()
    if sess.in_transaction():
        if sess.new or sess.dirty or sess.deleted:
            raise RuntimeError("write_unit() entered with unflushed changes")
        sess.commit()  # end the read transaction; the unit reads afresh under the write lock
    token = _begin_immediate.set(True)
    try:
        sess.connection()
    finally:
        _begin_immediate.reset(token)
    sess.info["actor"] = actor
    collector = ExitStack()
    if bulk:
        sess.info["bulk"] = Bulk(sess)
        collector.enter_context(rare_full_collections())  # it keeps much alive: see register/collector.py
    try:
        yield sess
        if dry_run:
            if bulk:
                flush_pending(sess)  # what the database would refuse shows in a preview too
            sess.rollback()
            return
        if bulk:
            flush_pending(sess)
            sess.info.pop("bulk")  # and what it kept at hand, before the verdicts are brought up to date
        touched = sess.info.pop("touched", None)
        if touched:
            from .assessments import refresh_touched  # the rules' verdicts, kept in step in this transaction

            refresh_touched(sess, touched)
        sess.commit()
    except StaleDataError as error:
        sess.rollback()
        raise ConflictError(_StaleRecord(str(error)), None) from error
    except BaseException:
        sess.rollback()
        raise
    finally:
        sess.info.pop("actor", None)
        sess.info.pop("bulk", None)
        sess.info.pop("graph_locked", None)
        collector.close()


@dataclass
class _StaleRecord:
    label: str
    version: Optional[int] = None


# --- many records in one unit (imports) ---------------------------------------------------------

# Records a bulk unit keeps at hand: the checks of later rows read them (kinds, names, signatories).
BULK_KEPT = (Party, TransferInstrument, BcrApproval)
# New records written to the database at a time.
BULK_BATCH = 500
# Ids taken from a PostgreSQL sequence at a time (those a unit leaves unused are gaps, as a rollback's are).
BULK_IDS = 500
# Records a bulk unit inserts itself, as rows, instead of through the ORM's unit of work: they are the
# many (routes, engagements, and the vendors' certificates and DPF entries, the routes' TIAs), the
# checks read what they need of them from `Bulk`'s own indexes, and no other record points at them in
# memory. Every creation event is inserted the same way.
BULK_ROWS = (TransferRoute, Engagement, Certificate, DpfCertification, ScopeFact, TransferImpactAssessment)


class Bulk:
    """A unit writing many thousand records (an import), with the same checks and the same trail.

    What changes is only when things reach the database. A new record takes its id from the
    database's own counter up front (so later rows can refer to it at once), and is written with
    the others, `BULK_BATCH` at a time; its creation event is recorded once it is written, so the
    trail holds what the database stored, defaults included, exactly as one row at a time would.
    The checks read parties, instruments, BCR approvals, the ids of engagements and routes, the
    engagement graph and the party names from memory, kept up to date as the unit writes, instead
    of one query each. A database constraint failure cannot be pinned on one row here: it is raised
    as is (`IntegrityError`), and the caller redoes the unit without `bulk` to say which row.
    """

    def __init__(self, sess: Session):
        self.sess = sess
        self.kept: dict[tuple[type, int], Any] = {}
        self.pending: list[tuple[Any, "Spec"]] = []  # records created, not yet written
        # records updated, not yet audited: (how many creations came before, record, changes)
        self.updates: list[tuple[int, Any, dict]] = []
        self._ids: dict[str, set[int]] = {}
        self._next_ids: dict[str, list[int]] = {}
        self._edges: Optional[dict[int, tuple[int, int]]] = None
        self._graph: dict[int, dict[int, int]] = {}
        self._names: Optional[dict[tuple, set[int]]] = None
        self._name_of: dict[int, tuple] = {}
        self._last_id: dict[str, int] = {}
        self._upstream: Optional[dict[int, dict[int, "_Link"]]] = None
        self._upstream_of: dict[int, int] = {}
        self._engagements: Optional[dict[int, EngagementFacts]] = None
        self._live_pairs: dict[tuple[int, int], set[int]] = {}
        self._route_regimes: Optional[dict[int, tuple[bool, bool, bool]]] = None

    # records
    def get(self, model: type, record_id: int) -> Any:
        base = Party if issubclass(model, Party) else model
        record = self.kept.get((base, record_id))
        if record is None:
            with self.sess.no_autoflush:  # what this unit created is kept already (`noted`)
                record = self.sess.get(model, record_id)
            if record is not None and isinstance(record, BULK_KEPT):
                self.kept[(base, record_id)] = record
        return record if isinstance(record, model) else None

    def exists(self, model: type, record_id: int) -> bool:
        table = model.__table__
        if table.name not in self._ids:
            self._ids[table.name] = set(self.sess.scalars(select(table.c.id)))
            self._ids[table.name].update(record.id for record, _spec in self.pending if type(record).__table__ is table)
        return record_id in self._ids[table.name]

    def next_id(self, model: type) -> int:
        """An id from the table's own counter: PostgreSQL's sequence, or SQLite's next rowid (the
        unit holds SQLite's write lock, so nobody else takes it meanwhile)."""
        table = model.__table__
        free = self._next_ids.setdefault(table.name, [])
        if not free:
            connection = self.sess.connection()
            if connection.dialect.name == "postgresql":
                free.extend(connection.exec_driver_sql(
                    f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, {BULK_IDS})").scalars())
                free.reverse()
            else:
                start = self._last_id.get(table.name)
                if start is None:
                    start = largest_id_used(self.sess, table)
                free.extend(range(start + BULK_IDS, start, -1))
                self._last_id[table.name] = start + BULK_IDS
        return free.pop()

    def noted(self, record: Any) -> None:
        """Keep what the checks of later rows read in step with a record just written."""
        if isinstance(record, BULK_KEPT):
            self.kept[(Party if isinstance(record, Party) else type(record), record.id)] = record
        table = type(record).__table__.name
        if table in self._ids:
            self._ids[table].add(record.id)
        if isinstance(record, Party) and self._names is not None:
            self._forget_name(record.id)
            key = (record.kind, name_key(record.legal_name or ""), record.country_code)
            self._names.setdefault(key, set()).add(record.id)
            self._name_of[record.id] = key
        if isinstance(record, TransferRoute) and self._route_regimes is not None:
            self._route_regimes[record.id] = _regime_flags(record)
        if isinstance(record, Engagement):
            if self._engagements is not None:
                self._note_engagement(EngagementFacts.of(record))
            if self._edges is not None:
                self._drop_edge(record.id)
                if record.status != Lifecycle.RETIRED:
                    self._add_edge(record.id, record.engager_id, record.engaged_id)
            if self._upstream is not None:
                self._note_link(record.id, record.engager_id, record.engaged_id, record.relationship_type, record.authorisation,
                                record.status)

    # what a route's defaults read (route_defaults): engagements, and the regimes of source routes
    def engagement(self, engagement_id: int) -> Optional["EngagementFacts"]:
        self._load_engagements()
        return self._engagements.get(engagement_id)

    def live_engagements(self, engager_id: int, engaged_id: int) -> list["EngagementFacts"]:
        self._load_engagements()
        return [self._engagements[item] for item in sorted(self._live_pairs.get((engager_id, engaged_id), ()))]

    def _load_engagements(self) -> None:
        if self._engagements is not None:
            return
        self._engagements = {}
        for row in self.sess.execute(select(*EngagementFacts.COLUMNS)):
            self._note_engagement(EngagementFacts(*row))
        for record in self._pending_rows(Engagement):  # not in the database yet
            self._note_engagement(EngagementFacts.of(record))

    def _note_engagement(self, facts: "EngagementFacts") -> None:
        former = self._engagements.get(facts.id)
        if former is not None:
            self._live_pairs.get((former.engager_id, former.engaged_id), set()).discard(facts.id)
        self._engagements[facts.id] = facts
        if facts.status != Lifecycle.RETIRED:
            self._live_pairs.setdefault((facts.engager_id, facts.engaged_id), set()).add(facts.id)

    def route_regimes(self, route_id: int) -> Optional[tuple[bool, bool, bool]]:
        if self._route_regimes is None:
            self._route_regimes = {row[0]: (bool(row[1]), bool(row[2]), bool(row[3])) for row in self.sess.execute(
                select(TransferRoute.id, TransferRoute.carries_eu_data, TransferRoute.carries_uk_data, TransferRoute.carries_ch_data))}
            for record in self._pending_rows(TransferRoute):  # not in the database yet
                self._route_regimes[record.id] = _regime_flags(record)
        return self._route_regimes.get(route_id)

    # who engages a party for processing (notices.clients_served walks it up)
    def upstream(self, party_id: int) -> list["_Link"]:
        if self._upstream is None:
            self._upstream = {}
            for row in self.sess.execute(select(Engagement.id, Engagement.engager_id, Engagement.engaged_id,
                                                Engagement.relationship_type, Engagement.authorisation, Engagement.status)):
                self._note_link(*row)
            for record in self._pending_rows(Engagement):  # not in the database yet
                self._note_link(record.id, record.engager_id, record.engaged_id, record.relationship_type, record.authorisation,
                                record.status)
        return list(self._upstream.get(party_id, {}).values())

    def _note_link(self, engagement_id: int, engager_id: int, engaged_id: int, relationship: Any, authorisation: Any,
                   status: Any) -> None:
        former = self._upstream_of.pop(engagement_id, None)
        if former is not None:
            self._upstream[former].pop(engagement_id, None)
        if status != Lifecycle.RETIRED and relationship in (Relationship.PROCESSOR, Relationship.SUB_PROCESSOR):
            link = _Link(relationship, engager_id, self.get(Party, engager_id), authorisation)
            self._upstream.setdefault(engaged_id, {})[engagement_id] = link
            self._upstream_of[engagement_id] = engaged_id

    def _pending_rows(self, model: type) -> list:
        return [record for record, _spec in self.pending if isinstance(record, model)]

    # party names (legal name + country, per kind)
    def name_taken(self, kind: PartyKind, key: str, country: Optional[str], other_than: Optional[int]) -> bool:
        if self._names is None:
            self._names = {}
            for party_id, party_kind, party_key, party_country in self.sess.execute(
                    select(Party.id, Party.kind, Party.name_key, Party.country_code)):
                self._names.setdefault((party_kind, party_key, party_country), set()).add(party_id)
                self._name_of[party_id] = (party_kind, party_key, party_country)
        return bool(self._names.get((kind, key, country), set()) - {other_than})

    def _forget_name(self, party_id: int) -> None:
        key = self._name_of.pop(party_id, None)
        if key is not None:
            self._names[key].discard(party_id)

    # the engagement graph (live engagements)
    def creates_cycle(self, engager_id: int, engaged_id: int, ignore_id: Optional[int]) -> bool:
        if self._edges is None:
            self._edges = {}
            for engagement_id, source, target in self.sess.execute(
                    select(Engagement.id, Engagement.engager_id, Engagement.engaged_id).where(Engagement.status != Lifecycle.RETIRED)):
                self._add_edge(engagement_id, source, target)
            for record in self._pending_rows(Engagement):  # not in the database yet
                self.noted(record)
        ignored = self._edges.get(ignore_id) if ignore_id is not None else None
        return _reaches(engaged_id, engager_id, lambda node: (
            target for target, count in self._graph.get(node, {}).items() if count > (1 if ignored == (node, target) else 0)))

    def _add_edge(self, engagement_id: int, source: int, target: int) -> None:
        self._edges[engagement_id] = (source, target)
        targets = self._graph.setdefault(source, {})
        targets[target] = targets.get(target, 0) + 1

    def _drop_edge(self, engagement_id: int) -> None:
        edge = self._edges.pop(engagement_id, None)
        if edge is not None:
            targets = self._graph[edge[0]]
            targets[edge[1]] -= 1
            if not targets[edge[1]]:
                del targets[edge[1]]


@dataclass(frozen=True)
class _Link:
    """An engagement as the walk up a processing chain reads it (notices.clients_served)."""

    relationship_type: Relationship
    engager_id: int
    engager: Party
    authorisation: Any


def _bulk(sess: Session) -> Optional[Bulk]:
    return sess.info.get("bulk")


def bulk_unit(sess: Session) -> bool:
    """Whether the unit in progress writes in batches (`write_unit(..., bulk=True)`)."""
    return _bulk(sess) is not None


def flush_pending(sess: Optional[Session] = None) -> None:
    """In a bulk unit: write the records created so far, record their creation events, and let the
    session forget what later rows do not read (so memory stays flat however large the import)."""
    sess = sess or session()
    bulk = _bulk(sess)
    if bulk is None:
        return
    sess.flush()
    rows: dict[Any, list[dict]] = {}
    links: list[dict] = []
    places: list[dict] = []
    snapshots = []
    for record, spec in bulk.pending:
        if type(record) in BULK_ROWS:
            row = _row(record)
            rows.setdefault(type(record).__table__, []).append(row)
            snapshots.append({**{key: row[key] for key in spec.columns},
                              **{name: reader(record) for name, (reader, _writer) in spec.collections.items()}})
            labelled: tuple[str, ...] = ()  # the others' labels name no other record
            if isinstance(record, TransferRoute):
                links += [{"route_id": record.id, "instrument_id": instrument.id} for instrument in record.instruments]
                labelled = ("exporter", "importer", "destination_organisation")
            elif isinstance(record, Engagement):
                places += [{"engagement_id": record.id, "country_code": location.country_code, "activity": location.activity}
                           for location in record.locations]
                labelled = ("engager", "engaged")
            for name in labelled:  # what its label names (read from memory: the record is not in the session)
                party_id = record.__dict__.get(f"{name}_id")
                record.__dict__[name] = None if party_id is None else bulk.get(Party, party_id)
        else:
            snapshots.append(spec.snapshot(record))
    for table, values in rows.items():
        insert_rows(sess, table, values)
    insert_rows(sess, EngagementLocation.__table__, places)
    insert_rows(sess, route_instruments, links)
    events = []
    updates = iter(bulk.updates)
    made = next(updates, None)
    for index, ((record, spec), snapshot) in enumerate([*zip(bulk.pending, snapshots), ((None, None), None)]):
        while made is not None and made[0] <= index:  # the updates in the order they were made
            events.append(event_values(sess, made[1], AuditAction.UPDATE, made[2]))
            made = next(updates, None)
        if record is not None:
            # Fixed fields (a party's kind) are set once: the creation records them (see `create`).
            after = {**snapshot, **{name: getattr(record, name) for name in spec.fixed}}
            events.append(event_values(sess, record, AuditAction.CREATE, created(after)))
    insert_rows(sess, AuditEvent.__table__, events)
    done = [record for record, _spec in bulk.pending] + [record for _index, record, _changes in bulk.updates]
    written = [record for record in done if not isinstance(record, BULK_KEPT) and record in sess]
    # Written now: nothing left to check them for at the next flush (`audit._refuse_unaudited_writes`).
    sess.info.get("audited", set()).difference_update(id(record) for record in done)
    bulk.pending.clear()
    bulk.updates.clear()
    for record in written:  # (an engagement takes its locations along; what was read for updates goes by itself)
        sess.expunge(record)


def _row(record: Any) -> dict:
    """A new record's row, with the defaults its columns give (set on the record too, as an ORM
    insert would: its creation event records them)."""
    values = {}
    given = record.__dict__  # the values set (plain reads: the record is in no session)
    for column in type(record).__table__.columns:
        value = given.get(column.key)
        if value is None and column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
            given[column.key] = value
        values[column.key] = value
    return values


def insert_rows(sess: Session, table: Any, rows: list[dict]) -> None:
    """Insert rows with the driver's executemany, each value through its column's own bind processing
    (what SQLAlchemy's executemany does, without its bookkeeping per row: an import inserts 200,000
    rows, and a whole register's verdicts are 250,000).
    A column the rows leave out takes its default, if it has one (else the database's: an id)."""
    if not rows:
        return
    connection = sess.connection()
    dialect = connection.dialect
    given = set(rows[0])
    columns = [column for column in table.columns if column.key in given or column.default is not None]
    defaults = [(index, column.default) for index, column in enumerate(columns) if column.key not in given]
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    statement = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(column.name) for column in columns)}) "
                 f"VALUES ({', '.join([marker] * len(columns))})")
    keys = [column.key for column in columns]
    processed = [(index, process) for index, process in enumerate(processors) if process is not None]
    values = []
    for row in rows:
        items = [row.get(key) for key in keys]
        for index, default in defaults:
            items[index] = default.arg(None) if default.is_callable else default.arg
        for index, process in processed:
            items[index] = process(items[index])
        values.append(tuple(items))
    connection.exec_driver_sql(statement, values)


def _as_row(sess: Session, record: Any) -> bool:
    """Whether a bulk unit inserts this new record as a row (`BULK_ROWS`): it never enters the session,
    so its values are plain attributes, with no change tracking to pay for."""
    return type(record) in BULK_ROWS and _bulk(sess) is not None and inspect(record).transient


def largest_id_used(sess: Session, table: Any) -> int:
    """The largest id a record of this table ever had, deleted records included. SQLite (without
    AUTOINCREMENT) gives a new row the largest id present + 1: after the newest record was deleted, its
    id again, and the trail would hold two records under one id. The trail knows every id used (its
    (record type, record id) index makes this one seek). PostgreSQL's sequences never go back."""
    present = sess.scalar(select(func.max(table.c.id))) or 0
    used = sess.scalar(select(func.max(AuditEvent.record_id)).where(AuditEvent.record_type == table.name)) or 0
    return max(present, used)


def _get(sess: Session, model: type, record_id: int) -> Any:
    """A record the checks read (from memory in a bulk unit)."""
    bulk = _bulk(sess)
    return bulk.get(model, record_id) if bulk is not None else sess.get(model, record_id)


def _exists(sess: Session, model: type, record_id: int) -> bool:
    bulk = _bulk(sess)
    return bulk.exists(model, record_id) if bulk is not None else sess.get(model, record_id) is not None


def check_version(record: Any, expected_version: Optional[int]) -> None:
    """Refuse a write built on another version of the record than the current one."""
    if expected_version is None:
        raise DomainError({"version": ["The version this change is based on is required."]})
    try:
        expected = whole_number(expected_version)  # not int(): int(True) == 1 would pass for a version
    except ValueError:
        raise DomainError({"version": ["The version must be a whole number."]}) from None
    if record.version != expected:
        raise ConflictError(record, expected)


# --- coercion ---------------------------------------------------------------------------------

# PostgreSQL's INTEGER (ids included): a larger number is input no record can match.
INTEGER_RANGE = (-(2**31), 2**31 - 1)


def check_text(value: str) -> str:
    """Text a database can store: no NUL character (PostgreSQL refuses it), valid Unicode."""
    if "\x00" in value:
        raise ValueError("Text cannot contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text must be valid Unicode.") from None
    return value


def whole_number(value: Any) -> int:
    """A whole number the database can store, from an int or its digits; else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("Must be a whole number.")
    if isinstance(value, str):
        if not re.fullmatch(r"-?\d{1,12}", value.strip()):
            raise ValueError("Must be a whole number.")
        value = int(value)
    if not INTEGER_RANGE[0] <= value <= INTEGER_RANGE[1]:
        raise ValueError("The number is out of range.")
    return value


def _column_fields(model: type) -> dict[str, Any]:
    return {column.key: column for column in model.__table__.columns if column.key not in SYSTEM_FIELDS}


def _coerce(column: Any, value: Any) -> Any:
    """Turn a form, JSON or spreadsheet value into the column's Python type, or raise ValueError.
    Text is stripped, and blank text is no value (None; False for a yes/no column)."""
    return coercer(column)(value)


_COERCERS: dict[Any, Callable[[Any], Any]] = {}


def coercer(column: Any) -> Callable[[Any], Any]:
    """`_coerce` for one column, made once: an import coerces millions of values."""
    found = _COERCERS.get(column)
    if found is None:
        found = _COERCERS[column] = _make_coercer(column.type)
    return found


YES, NO = frozenset({"yes", "true", "1", "y"}), frozenset({"no", "false", "0", "n"})


def _make_coercer(column_type: Any) -> Callable[[Any], Any]:
    enum_class = getattr(column_type, "enum_class", None)
    if enum_class is not None:
        allowed = ", ".join(member.value for member in enum_class)

        def to_member(value: Any) -> Any:
            if isinstance(value, enum_class):
                return value
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
            elif value is None:
                return None
            try:
                return enum_class(str(value))
            except ValueError:
                raise ValueError(f"Choose one of: {allowed}.") from None

        return to_member
    if isinstance(column_type, Boolean):
        def to_bool(value: Any) -> bool:
            if value is True or value is False:
                return value
            if isinstance(value, str):
                lowered = value.strip().lower()
                if not lowered:
                    return False
                if lowered in YES:
                    return True
                if lowered in NO:
                    return False
            elif value is None:
                return False
            raise ValueError("Must be yes or no.")

        return to_bool
    if isinstance(column_type, Date):
        def to_date(value: Any) -> Optional[date]:
            if type(value) is date:
                return value
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
                try:
                    return date.fromisoformat(value)
                except ValueError:
                    raise ValueError("Not a valid date (YYYY-MM-DD).") from None
            if value is None:
                return None
            if isinstance(value, date):
                return value.date()  # a datetime
            raise ValueError("Not a valid date (YYYY-MM-DD).")

        return to_date
    if isinstance(column_type, Integer):
        def to_integer(value: Any) -> Optional[int]:
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
            elif value is None:
                return None
            return whole_number(value)

        return to_integer
    if isinstance(column_type, (String, Text)):
        length = getattr(column_type, "length", None)

        def to_text(value: Any) -> Optional[str]:
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
                check_text(value)
                if length and len(value) > length:
                    raise ValueError(f"At most {length} characters.")
                return value
            if value is None:
                return None
            raise ValueError("Must be text.")

        return to_text

    def as_given(value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    return as_given


# --- record specifications --------------------------------------------------------------------


@dataclass
class Spec:
    """How one record type is written: its editable fields, collections and validation."""

    model: type
    # Fields that are not columns, each with a reader (for the trail) and a writer.
    collections: dict[str, tuple[Callable[[Any], list], Callable[[Session, Any, Any], None]]] = field(
        default_factory=dict
    )
    validate: Callable[[Session, Any, dict, Errors], None] = lambda sess, record, values, errors: None
    # Fields required on create.
    required: tuple[str, ...] = ()
    # Fields a caller may not set (set by the service itself).
    fixed: frozenset[str] = frozenset()
    # Values derived from the others when the caller leaves them out:
    # (session, record, merged values, the fields the write gives) -> {field: Derived}.
    complete: Optional[Callable[[Session, Any, dict, frozenset[str]], dict[str, "Derived"]]] = None
    # The fields `complete` may fill in, and how (the API's documentation says so).
    derivable: Mapping[str, str] = field(default_factory=dict)
    # Each collection's value as given to its writer -> as its reader will give it back (`recorded`).
    recorded: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    @functools.cached_property
    def columns(self) -> dict[str, Any]:
        return {k: v for k, v in _column_fields(self.model).items() if k not in self.fixed}

    def snapshot(self, record: Any) -> dict:
        values = {key: getattr(record, key) for key in self.columns}
        for name, (reader, _writer) in self.collections.items():
            values[name] = reader(record)
        return values


SPECS: dict[type, Spec] = {}


class _Refused:
    """A value the write would refuse: it equals no recorded value (`recorded`)."""

    def __repr__(self) -> str:
        return "REFUSED"


REFUSED = _Refused()


def recorded(model: type, values: dict) -> dict:
    """The values the trail would record for these fields once written (what the record's snapshot
    gives: the coerced value, a collection as its reader gives it), without writing anything; a value
    the write would refuse is REFUSED. Merging a change made on an older version compares in these."""
    spec = spec_for(model)
    found = {}
    for key, value in values.items():
        try:
            if key in spec.columns:
                found[key] = plain(coercer(spec.columns[key])(value))
            elif key in spec.recorded:
                found[key] = plain(spec.recorded[key](value))
            else:
                found[key] = REFUSED
        except (ValueError, TypeError, KeyError, AttributeError):
            found[key] = REFUSED
    return found


def spec_for(model: type) -> Spec:
    for klass in model.__mro__:
        if klass in SPECS:
            return SPECS[klass]
    raise KeyError(f"no write spec for {model.__name__}")


def _add(errors: Errors, field_name: str, message: str) -> None:
    errors.setdefault(field_name, []).append(message)


def _prepare(spec: Spec, record: Any, values: dict, errors: Errors) -> dict:
    """Coerce the given values; unknown fields are errors."""
    columns = spec.columns
    prepared = {}
    for key, value in values.items():
        if key in columns:
            try:
                prepared[key] = _coerce(columns[key], value)
            except ValueError as error:
                _add(errors, key, str(error))
        elif key in spec.collections:
            prepared[key] = value
        else:
            _add(errors, key, "Unknown field.")
    return prepared


def _merged(spec: Spec, record: Any, prepared: dict) -> dict:
    """The record's values as they would be after the write (for cross-field checks).

    Collections are checked only when the write gives them (in the writers' format).
    """
    current = {key: getattr(record, key) for key in spec.columns} if record is not None else {}
    return {**current, **prepared}


def _complete(spec: Spec, sess: Session, record: Any, prepared: dict, merged: dict, errors: Errors,
              derived: Optional[dict]) -> None:
    """Fill in the values a record derives from its others; `derived`, when given, receives each value
    filled in with its reason. A value that did not coerce is left out of `merged` (its error stands), so
    that what can still be derived is, and is not reported missing besides."""
    if spec.complete is None:
        return
    found = spec.complete(sess, record, merged, frozenset(prepared) | frozenset(errors))  # (a value refused was given)
    for key, item in found.items():
        prepared[key] = merged[key] = item.value
    if derived is not None:
        derived.update(found)


def _validate(spec: Spec, sess: Session, record: Any, merged: dict, errors: Errors) -> None:
    """Run the record's checks, keeping the first error of a field that failed coercion."""
    found: Errors = {}
    spec.validate(sess, record, {k: v for k, v in merged.items() if k not in errors}, found)
    for key, messages in found.items():
        if key not in errors:
            errors[key] = messages


def _write(sess: Session, spec: Spec, record: Any, prepared: dict) -> None:
    plain_values = _as_row(sess, record)
    for key, value in prepared.items():
        if key in spec.collections:
            spec.collections[key][1](sess, record, value)
        elif plain_values:
            record.__dict__[key] = value
        else:
            setattr(record, key, value)


def _flush(sess: Session, record: Any) -> None:
    """Flush, turning a database constraint failure into a field error (a bulk unit flushes in batches)."""
    if _bulk(sess) is not None:
        return
    try:
        with sess.begin_nested():
            sess.flush()
    except IntegrityError as error:
        raise DomainError(constraint_errors(error)) from None


def constraint_errors(error: IntegrityError) -> Errors:
    """Name the field a database constraint failure concerns, in words a user can act on."""
    message = str(error.orig).lower()
    if "natural_key" in message or "parties.kind, parties.name_key" in message:
        return {"legal_name": ["A record with this legal name already exists in this country."]}
    if "unique" in message or "duplicate" in message:
        return {"": ["This record duplicates one that already exists."]}
    if "foreign key" in message:
        return {"": ["A record this one refers to does not exist."]}
    if "dates_ordered" in message or "check" in message:
        return {"": ["The record breaks a rule of the register (for example dates out of order)."]}
    return {"": ["The database refused this change."]}


def create(model: type, values: dict, *, uid: Optional[str] = None, derived: Optional[dict] = None,
           as_recorded: Optional[dict] = None) -> Any:
    """Create a record from field values; one audit event. `uid` keeps a stable identifier (imports).
    Fields left out (absent, not None) may be derived from the others (`Spec.complete`): `derived`,
    when given, receives each with its reason.

    `as_recorded`: fixed fields as another register recorded them (an import moving a register in: the
    sub-processor a notice told of, who may since have been replaced); otherwise the record derives them.
    """
    sess = session()
    spec = spec_for(model)
    errors: Errors = {}
    prepared = _prepare(spec, None, values, errors)
    for name, value in (as_recorded or {}).items():
        if name not in spec.fixed:
            _add(errors, name, "Unknown field.")
        elif value is not None:
            prepared[name] = value
    merged = _merged(spec, None, prepared)
    _complete(spec, sess, None, prepared, merged, errors, derived)
    for name in spec.required:
        if merged.get(name) in (None, "", []) and name not in errors:
            _add(errors, name, "This field is required.")
    _validate(spec, sess, None, merged, errors)
    if errors:
        raise DomainError(errors)
    record = model()
    if uid is not None:
        record.uid = uid
    bulk = _bulk(sess)
    if bulk is not None:
        record.id = bulk.next_id(model)
    elif sess.connection().dialect.name == "sqlite":
        record.id = largest_id_used(sess, model.__table__) + 1
    mark_audited(sess, record)
    if bulk is None or model not in BULK_ROWS:
        sess.add(record)
    _write(sess, spec, record, {k: v for k, v in prepared.items() if k not in spec.collections})
    _flush(sess, record)
    _write(sess, spec, record, {k: v for k, v in prepared.items() if k in spec.collections})
    if bulk is not None:
        bulk.noted(record)
        bulk.pending.append((record, spec))  # its creation event once written (flush_pending)
        if len(bulk.pending) + len(bulk.updates) >= BULK_BATCH:
            flush_pending(sess)
        return record
    _flush(sess, record)
    # Fixed fields (a party's kind) are set once: the creation records them, so the trail alone can
    # rebuild the record (timeline.register_at).
    after = {**spec.snapshot(record), **{name: getattr(record, name) for name in spec.fixed}}
    record_event(sess, record, AuditAction.CREATE, created(after))
    _flush(sess, record)
    return record


def update(record: Any, values: dict, *, expected_version: Any, derived: Optional[dict] = None) -> Any:
    """Change a record's fields if it is still at `expected_version`; one audit event (none if nothing changed).
    `derived` as for `create` (a field left out may follow the fields it derives from)."""
    sess = session()
    check_version(record, expected_version)
    bulk = _bulk(sess)
    if bulk is not None and any(type(new) in BULK_ROWS for new, _spec in bulk.pending):
        flush_pending(sess)  # the rows first: the ORM's UPDATE may point at one of them
    spec = spec_for(type(record))
    errors: Errors = {}
    prepared = _prepare(spec, record, values, errors)
    merged = _merged(spec, record, prepared)
    _complete(spec, sess, record, prepared, merged, errors, derived)
    for name in spec.required:
        if name in prepared and merged.get(name) in (None, "", []) and name not in errors:
            _add(errors, name, "This field is required.")
    _validate(spec, sess, record, merged, errors)
    if errors:
        raise DomainError(errors)
    before = spec.snapshot(record)
    mark_audited(sess, record)
    _write(sess, spec, record, prepared)
    changes = diff(before, spec.snapshot(record))
    if any(name in spec.collections for name in changes) and hasattr(record, "updated_at"):
        # A collection lives in rows of its own: without this the record's row, and so its version, would
        # stay as they were, and a form built before the change would still pass as current.
        record.updated_at = utcnow()
    if changes and bulk is not None:
        # its event once written (flush_pending), with the version the write gives it, in file order
        bulk.updates.append((len(bulk.pending), record, changes))
        bulk.noted(record)
    elif changes:
        _flush(sess, record)
        record_event(sess, record, AuditAction.UPDATE, changes)
        _flush(sess, record)
    return record


def retire(record: Any, *, expected_version: Any, ends_on: Optional[date] = None) -> Any:
    """Retire a record from a date (default today): it stays in the register and its history."""
    sess = session()
    check_version(record, expected_version)
    if getattr(record, "status", None) == Lifecycle.RETIRED:
        raise DomainError({"": [f"{record.label} is already retired."]})
    ends_on = ends_on or date.today()
    starts_on = getattr(record, "starts_on", None)
    if starts_on is not None and ends_on < starts_on:
        raise DomainError({"ends_on": ["The end date cannot be before the start date."]})
    spec = spec_for(type(record))
    before = spec.snapshot(record)
    mark_audited(sess, record)
    record.status = Lifecycle.RETIRED
    end_field = "ends_on" if hasattr(record, "ends_on") else "terminated_on"
    if hasattr(record, end_field):
        setattr(record, end_field, ends_on)
    _flush(sess, record)
    record_event(sess, record, AuditAction.RETIRE, diff(before, spec.snapshot(record)))
    _flush(sess, record)
    return record


def delete(record: Any, *, expected_version: Any) -> None:
    """Erase a record created by mistake: only if it never changed and nothing refers to it (audited).

    Anything with a history or with records pointing at it is retired instead, so that the register
    as of any past date can still be rebuilt and nothing that mattered disappears.
    """
    sess = session()
    check_version(record, expected_version)
    if record.version != 1:
        raise DomainError({"": [f"{record.label} has changed since it was created: retire it instead of deleting it."]})
    spec = spec_for(type(record))
    label = record.label  # read now: after a refused flush the session can load nothing more
    before = spec.snapshot(record)
    record_event(sess, record, AuditAction.DELETE, diff(before, {key: None for key in before}))
    sess.delete(record)
    try:
        with sess.begin_nested():
            sess.flush()
    except IntegrityError:
        raise DomainError({"": [f"Other records refer to {label}: retire it instead of deleting it."]}) from None


# --- shared checks ----------------------------------------------------------------------------


def _country(errors: Errors, values: dict, key: str, required: bool = True) -> None:
    code = values.get(key)
    if code is None:
        if required:
            _add(errors, key, "This field is required.")
        return
    if not countries.is_country(code):
        _add(errors, key, f"Unknown country code {code!r} (ISO 3166-1 alpha-2 expected).")


def _email(errors: Errors, values: dict, key: str) -> None:
    if values.get(key) and not EMAIL.match(values[key]):
        _add(errors, key, "Not a valid email address.")


def _ordered(errors: Errors, values: dict, first: str, then: str, message: str) -> None:
    if values.get(first) and values.get(then) and values[first] > values[then]:
        _add(errors, then, message)


def _is_list(errors: Errors, values: dict, key: str) -> bool:
    """A collection must be given as a list (of ids, codes or objects)."""
    if values.get(key) is None or isinstance(values[key], list):
        return True
    _add(errors, key, "Give a list.")
    return False


def _party(sess: Session, errors: Errors, values: dict, key: str, kinds: tuple[PartyKind, ...]) -> Optional[Party]:
    party_id = values.get(key)
    if party_id is None:
        return None
    party = _get(sess, Party, party_id)
    if party is None:
        _add(errors, key, f"No party with id {party_id}.")
        return None
    if party.kind not in kinds:
        allowed = " or ".join(kind.label.lower() for kind in kinds)
        _add(errors, key, f"{party.legal_name} is a {party.kind.label.lower()}; expected a {allowed}.")
    return party


def name_key(legal_name: str) -> str:
    return " ".join(legal_name.split()).casefold()


# --- parties ----------------------------------------------------------------------------------


def _validate_party(sess: Session, record: Optional[Party], values: dict, errors: Errors) -> None:
    kind = values.get("kind") or (record.kind if record is not None else None)
    if kind == PartyKind.INTERNATIONAL_ORGANISATION:
        if values.get("country_code"):
            _add(errors, "country_code", "An international organisation is a destination of its own, not a country.")
        code = values.get("organisation_code")
        if not code:
            _add(errors, "organisation_code", "This field is required.")
        elif not countries.is_organisation(code):
            _add(errors, "organisation_code", f"Unknown international organisation {code!r} (see data/countries.yaml).")
    else:
        _country(errors, values, "country_code")
        if values.get("organisation_code"):
            _add(errors, "organisation_code", "Only international organisations have an organisation code.")
    for key in ("contact_email", "dpo_email"):
        _email(errors, values, key)
    _ordered(errors, values, "starts_on", "ends_on", "The end date cannot be before the start date.")
    _ordered(errors, values, "vetting_last_review_on", "vetting_next_review_on", "The next review cannot be before the last one.")
    if values.get("notice_period_days") is not None and values["notice_period_days"] < 0:
        _add(errors, "notice_period_days", "The notice period cannot be negative.")
    if values.get("legal_name") and not errors:
        country = values.get("country_code")
        bulk = _bulk(sess)
        if bulk is not None:
            if bulk.name_taken(kind, name_key(values["legal_name"]), country, record.id if record is not None else None):
                _add(errors, "legal_name", "A record with this legal name already exists in this country.")
            return
        query = select(Party.id).where(
            Party.kind == kind,
            Party.name_key == name_key(values["legal_name"]),
            Party.country_code.is_(None) if country is None else Party.country_code == country,
        )
        if record is not None:
            query = query.where(Party.id != record.id)
        if sess.scalar(query.limit(1)) is not None:
            _add(errors, "legal_name", "A record with this legal name already exists in this country.")


PARTY_FIELDS_BY_KIND: dict[PartyKind, frozenset[str]] = {
    PartyKind.GROUP_ENTITY: frozenset(
        {"legal_name", "trading_name", "country_code", "registration_number", "address", "website",
         "contact_name", "contact_email", "dpo_name", "dpo_email", "is_controller", "is_processor",
         "status", "starts_on", "ends_on", "notes"}
    ),
    PartyKind.THIRD_PARTY: frozenset(
        {"legal_name", "trading_name", "country_code", "registration_number", "address", "website",
         "contact_name", "contact_email", "dpo_name", "dpo_email", "status", "starts_on", "ends_on",
         "vetting_status", "vetting_last_review_on", "vetting_next_review_on", "vetting_notes",
         "is_subject_to_gdpr_art3_2", "is_in_subject_list", "notes"}
    ),
    PartyKind.CLIENT: frozenset(
        {"legal_name", "trading_name", "country_code", "registration_number", "address", "website",
         "contact_name", "contact_email", "dpo_name", "dpo_email", "status", "starts_on", "ends_on",
         "notice_period_days", "notes"}
    ),
    PartyKind.INTERNATIONAL_ORGANISATION: frozenset(
        {"legal_name", "trading_name", "organisation_code", "address", "website", "contact_name",
         "contact_email", "status", "starts_on", "ends_on", "notes"}
    ),
}


def _party_validator(kind: PartyKind) -> Callable[[Session, Any, dict, Errors], None]:
    allowed = PARTY_FIELDS_BY_KIND[kind]

    def validate(sess: Session, record: Any, values: dict, errors: Errors) -> None:
        for key, value in values.items():
            if key not in allowed and key in _column_fields(Party) and value not in (None, False):
                if record is None or getattr(record, key) != value:
                    _add(errors, key, f"Not a field of a {kind.label.lower()}.")
        _validate_party(sess, record, {**values, "kind": kind}, errors)

    return validate


def _party_spec(model: type, kind: PartyKind) -> Spec:
    return Spec(model=model, validate=_party_validator(kind), required=("legal_name",), fixed=frozenset({"kind"}))


@event.listens_for(Party, "before_insert", propagate=True)
@event.listens_for(Party, "before_update", propagate=True)
def _keep_name_key(_mapper, _connection, party: Party) -> None:
    party.name_key = name_key(party.legal_name)


# --- engagements ------------------------------------------------------------------------------

ENGAGER_KINDS = (PartyKind.GROUP_ENTITY, PartyKind.THIRD_PARTY, PartyKind.CLIENT)
ENGAGED_KINDS = (PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY)


def engagement_creates_cycle(sess: Session, engager_id: int, engaged_id: int, ignore_id: Optional[int]) -> bool:
    """Would engager -> engaged close a loop (engaged already reaches engager down the chain)?"""
    bulk = _bulk(sess)
    if bulk is not None:
        return bulk.creates_cycle(engager_id, engaged_id, ignore_id)
    edges: dict[int, set[int]] = {}
    query = select(Engagement.engager_id, Engagement.engaged_id).where(Engagement.status != Lifecycle.RETIRED)
    if ignore_id is not None:
        query = query.where(Engagement.id != ignore_id)
    for source, target in sess.execute(query):
        edges.setdefault(source, set()).add(target)
    return _reaches(engaged_id, engager_id, lambda node: edges.get(node, ()))


def _reaches(start: int, goal: int, targets: Callable[[int], Iterable[int]]) -> bool:
    """Whether `goal` is reached from `start` following `targets` (the parties a party engages)."""
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(targets(node))
    return False


# On PostgreSQL, a transaction-level advisory lock (this number is ours) held by every write unit that
# checks an engagement or a change notice: the checks read the whole engagement graph (cycles, the Art.
# 28(2) chain up to the clients and their notices), and two units each checking without the other's
# uncommitted change could together close a loop or let a sub-processor take effect past an objection
# (write skew). Taken once per unit, before the graph is read, outside any savepoint (rolling one back
# would release it); released when the unit ends. A unit waiting longer than BUSY_TIMEOUT_MS for it
# fails with PostgreSQL's lock_not_available: the register is busy (503). SQLite's write lock (BEGIN
# IMMEDIATE) already lets one writer in at a time.
ENGAGEMENT_GRAPH_LOCK = 2_820_001


def lock_engagement_graph(sess: Session) -> None:
    connection = sess.connection()
    if connection.dialect.name != "postgresql" or sess.info.get("graph_locked") is connection:
        return
    waiting = int(current_app.config.get("BUSY_TIMEOUT_MS", 15000)) if has_app_context() else 15000
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {waiting}")
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ENGAGEMENT_GRAPH_LOCK})")
    connection.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
    sess.info["graph_locked"] = connection


def _validate_engagement(sess: Session, record: Optional[Engagement], values: dict, errors: Errors) -> None:
    lock_engagement_graph(sess)
    engager = _party(sess, errors, values, "engager_id", ENGAGER_KINDS)
    engaged = _party(sess, errors, values, "engaged_id", ENGAGED_KINDS)
    if engager is not None and engaged is not None:
        if engager.id == engaged.id:
            _add(errors, "engaged_id", "A party cannot engage itself.")
        elif engaged.kind == PartyKind.GROUP_ENTITY and engager.kind == PartyKind.THIRD_PARTY:
            _add(errors, "engaged_id", "A third party cannot engage a group entity; record the reverse engagement.")
        elif values.get("status") != Lifecycle.RETIRED and engagement_creates_cycle(
            sess, engager.id, engaged.id, record.id if record is not None else None
        ):
            _add(errors, "engaged_id", f"{engaged.legal_name} already engages {engager.legal_name} down the chain: this would make a cycle.")
    _ordered(errors, values, "starts_on", "ends_on", "The end date cannot be before the start date.")
    if values.get("status") == Lifecycle.PROPOSED and not values.get("planned_start_on"):
        _add(errors, "planned_start_on", "A proposed engagement needs its planned start date.")
    if engager is not None and engaged is not None and _takes_effect(record, values):
        _check_activation(sess, record, engager, engaged, values, errors)
    if not _is_list(errors, values, "locations"):
        return
    for location in values.get("locations") or []:
        code = location.get("country_code") if isinstance(location, dict) else location
        if not countries.is_country(code):
            _add(errors, "locations", f"Unknown country code {code!r}.")
        elif isinstance(location, dict) and location.get("activity") not in (None, *LocationActivity._value2member_map_):
            _add(errors, "locations", f"Unknown activity {location.get('activity')!r}: storage, access or storage_and_access.")


def _takes_effect(record: Optional[Engagement], values: dict) -> bool:
    """Whether this write makes a sub-processor take effect (the rules decide what counts)."""
    from .rules import EngagementLink, sub_processor_takes_effect

    def link(status, relationship, engager_id, engaged_id) -> EngagementLink:
        return EngagementLink(status=getattr(status, "value", status), relationship=getattr(relationship, "value", relationship),
                              engager_id=engager_id, engaged_id=engaged_id)

    before = None if record is None else link(record.status, record.relationship_type, record.engager_id, record.engaged_id)
    after = link(values.get("status") or Lifecycle.ACTIVE,  # the column's default
                 values.get("relationship_type"), values.get("engager_id"), values.get("engaged_id"))
    return sub_processor_takes_effect(before, after)


def _check_activation(sess: Session, record: Optional[Engagement], engager: Party, engaged: Party, values: dict,
                      errors: Errors) -> None:
    """Art. 28(2): a sub-processor takes effect for a client's data only with the client's written
    authorisation and, under a general one, once the client was told and its objection window closed
    with no objection standing. An editor may override the waiting (not a missing authorisation) by
    recording why in this very write; the trail keeps the reason with its author."""
    from .notices import client_states

    states = client_states(sess, record.id if record is not None else None, engager.id, engaged.id,
                           values.get("relationship_type"), values.get("starts_on"), date.today())
    blockers = [reason for state in states for reason in state.blockers]
    if not blockers:
        return
    reason_given = (values.get("activation_override_reason") or "").strip()
    new_reason = bool(reason_given) and (record is None or reason_given != (record.activation_override_reason or "").strip())
    binding = [reason for reason in blockers if reason.severity == "gap"]
    if not binding and new_reason:
        return
    for reason in blockers:
        _add(errors, "status", f"Cannot take effect yet: {reason}.")
    if not binding:
        _add(errors, "activation_override_reason",
             "To let it take effect anyway, record why (a reason for this change; the override is audited).")


def _read_locations(record: Engagement) -> list:
    # Sorted: the trail must record a collection the same way whatever order it was given in.
    return sorted(f"{location.country_code}:{location.activity.value}" for location in record.locations)


def _wanted_locations(value: list) -> dict[str, LocationActivity]:
    """The processing locations asked for: each a country code or {country_code, activity}."""
    wanted: dict[str, LocationActivity] = {}
    for item in value or []:
        if isinstance(item, dict):
            wanted[item["country_code"].upper()] = LocationActivity(item.get("activity") or LocationActivity.STORAGE_AND_ACCESS)
        else:
            wanted[str(item).upper()] = LocationActivity.STORAGE_AND_ACCESS
    return wanted


def _recorded_locations(value: list) -> list:
    return sorted(f"{code}:{activity.value}" for code, activity in _wanted_locations(value).items())


def _write_locations(sess: Session, record: Engagement, value: list) -> None:
    """Replace the processing locations; each is a country code or {country_code, activity}."""
    wanted = _wanted_locations(value)
    if _as_row(sess, record):  # a new engagement a bulk unit inserts as rows (flush_pending)
        record.__dict__["locations"] = [EngagementLocation(country_code=code, activity=activity) for code, activity in wanted.items()]
        return
    existing = {location.country_code: location for location in record.locations}
    for code, location in existing.items():
        if code not in wanted:
            record.locations.remove(location)
        else:
            location.activity = wanted[code]
    for code, activity in wanted.items():
        if code not in existing:
            record.locations.append(EngagementLocation(country_code=code, activity=activity))


# --- instruments and BCR ----------------------------------------------------------------------

SCC_DECISIONS = ("2021/914", "2010/87/EU", "2004/915/EC", "2001/497/EC")


def _validate_instrument(sess: Session, record: Optional[TransferInstrument], values: dict, errors: Errors) -> None:
    kind = values.get("kind")
    if kind == InstrumentKind.EU_SCC:
        if values.get("scc_decision") not in SCC_DECISIONS:
            _add(errors, "scc_decision", f"Choose the SCC decision: {', '.join(SCC_DECISIONS)}.")
        modules = values.get("scc_modules") or ""
        parts = [part.strip() for part in modules.split(",") if part.strip()]
        if values.get("scc_decision") == "2021/914" and (not parts or any(part not in {"1", "2", "3", "4"} for part in parts)):
            _add(errors, "scc_modules", "Give the modules used, from 1 to 4 (e.g. 2,3).")
    elif values.get("has_swiss_adaptation"):
        _add(errors, "has_swiss_adaptation", "Only EU SCCs take a Swiss adaptation.")
    if kind == InstrumentKind.UK_ADDENDUM and not values.get("uk_addendum_version"):
        _add(errors, "uk_addendum_version", "Give the Addendum's version.")
    if kind == InstrumentKind.BCR:
        approval_id = values.get("bcr_approval_id")
        if approval_id is None:
            _add(errors, "bcr_approval_id", "Choose the BCR approval relied on.")
        elif _get(sess, BcrApproval, approval_id) is None:
            _add(errors, "bcr_approval_id", f"No BCR approval with id {approval_id}.")
    if kind == InstrumentKind.DEROGATION:
        if values.get("derogation_ground") is None:
            _add(errors, "derogation_ground", "Choose the Art. 49 ground.")
        if not values.get("derogation_justification"):
            _add(errors, "derogation_justification", "Document why the derogation applies (Art. 49, EDPB Guidelines 2/2018).")
    if kind in (InstrumentKind.CODE_OF_CONDUCT, InstrumentKind.CERTIFICATION) and not values.get("scheme_name"):
        _add(errors, "scheme_name", "Name the code of conduct or certification scheme.")
    _ordered(errors, values, "signed_on", "terminated_on", "The termination cannot be before the signature.")
    if not _is_list(errors, values, "signatories"):
        return
    for item in values.get("signatories") or []:
        try:
            party_id = whole_number(item["party_id"])
            InstrumentSide(item["side"])
        except (KeyError, TypeError, ValueError):
            _add(errors, "signatories", "Each signatory needs a party_id and a side (exporter or importer).")
            continue
        if _get(sess, Party, party_id) is None:
            _add(errors, "signatories", f"No party with id {party_id}.")


def _read_signatories(record: TransferInstrument) -> list:
    return sorted(f"{item.side.value}:{item.party_id}" for item in record.signatories)


def _wanted_signatories(value: list) -> set[tuple[int, InstrumentSide]]:
    return {(int(item["party_id"]), InstrumentSide(item["side"])) for item in value or []}


def _recorded_signatories(value: list) -> list:
    return sorted(f"{side.value}:{party_id}" for party_id, side in _wanted_signatories(value))


def _write_signatories(sess: Session, record: TransferInstrument, value: list) -> None:
    wanted = _wanted_signatories(value)
    for item in list(record.signatories):
        if (item.party_id, item.side) not in wanted:
            record.signatories.remove(item)
    have = {(item.party_id, item.side) for item in record.signatories}
    for party_id, side in sorted(wanted - have):
        record.signatories.append(InstrumentParty(party_id=party_id, side=side))


def _validate_bcr(sess: Session, record: Optional[BcrApproval], values: dict, errors: Errors) -> None:
    _ordered(errors, values, "approved_on", "withdrawn_on", "The withdrawal cannot be before the approval.")
    if not _is_list(errors, values, "memberships"):
        return
    for item in values.get("memberships") or []:
        try:
            entity_id = whole_number(item["group_entity_id"])
            bound_from = _coerce(BcrMembership.__table__.c.bound_from, item["bound_from"])
            bound_to = _coerce(BcrMembership.__table__.c.bound_to, item.get("bound_to"))
        except (KeyError, TypeError, ValueError):
            _add(errors, "memberships", "Each member needs a group_entity_id and a bound_from date.")
            continue
        entity = _get(sess, Party, entity_id)
        if entity is None or entity.kind != PartyKind.GROUP_ENTITY:
            _add(errors, "memberships", f"Only group entities can be bound by BCR (id {entity_id}).")
        if bound_from is None or (bound_to is not None and bound_to < bound_from):
            _add(errors, "memberships", "A membership's end cannot be before its start.")


def _read_memberships(record: BcrApproval) -> list:
    return [
        f"{item.group_entity_id}:{item.bound_from.isoformat()}:{item.bound_to.isoformat() if item.bound_to else ''}"
        for item in sorted(record.memberships, key=lambda m: (m.group_entity_id, m.bound_from))
    ]


def _wanted_memberships(value: list) -> dict[tuple[int, date], Optional[date]]:
    """(group entity, bound from) -> bound to, for each membership asked for."""
    wanted = {}
    for item in value or []:
        bound_from = _coerce(BcrMembership.__table__.c.bound_from, item["bound_from"])
        wanted[(int(item["group_entity_id"]), bound_from)] = _coerce(
            BcrMembership.__table__.c.bound_to, item.get("bound_to")
        )
    return wanted


def _recorded_memberships(value: list) -> list:
    return [f"{entity_id}:{bound_from.isoformat()}:{bound_to.isoformat() if bound_to else ''}"
            for (entity_id, bound_from), bound_to in sorted(_wanted_memberships(value).items())]


def _write_memberships(sess: Session, record: BcrApproval, value: list) -> None:
    wanted = _wanted_memberships(value)
    for item in list(record.memberships):
        key = (item.group_entity_id, item.bound_from)
        if key not in wanted:
            record.memberships.remove(item)
        else:
            item.bound_to = wanted.pop(key)
    for (entity_id, bound_from), bound_to in sorted(wanted.items()):
        record.memberships.append(BcrMembership(group_entity_id=entity_id, bound_from=bound_from, bound_to=bound_to))


# --- routes -----------------------------------------------------------------------------------

ROUTE_PARTY_KINDS = (PartyKind.GROUP_ENTITY, PartyKind.THIRD_PARTY, PartyKind.CLIENT, PartyKind.INTERNATIONAL_ORGANISATION)


def _validate_route(sess: Session, record: Optional[TransferRoute], values: dict, errors: Errors) -> None:
    exporter = _party(sess, errors, values, "exporter_id", ROUTE_PARTY_KINDS)
    importer = _party(sess, errors, values, "importer_id", ROUTE_PARTY_KINDS)
    if exporter is not None and importer is not None and exporter.id == importer.id:
        _add(errors, "importer_id", "The importer must differ from the exporter.")
    has_country = values.get("destination_country") is not None
    has_organisation = values.get("destination_organisation_id") is not None
    if has_country and has_organisation:
        _add(errors, "destination_country", "Give one destination: a country or an international organisation, not both.")
    elif not has_country and not has_organisation:
        _add(errors, "destination_country", "Give the destination: the country the data goes to, or the international "
                                            "organisation that receives it.")
    elif has_country:
        _country(errors, values, "destination_country")
    else:
        _party(sess, errors, values, "destination_organisation_id", (PartyKind.INTERNATIONAL_ORGANISATION,))
    source_id = values.get("source_route_id")
    if source_id is not None:
        if record is not None and source_id == record.id:
            _add(errors, "source_route_id", "A route cannot be its own source.")
        elif not _exists(sess, TransferRoute, source_id):
            _add(errors, "source_route_id", f"No route with id {source_id}.")
    engagement_id = values.get("engagement_id")
    if engagement_id is not None and not _exists(sess, Engagement, engagement_id):
        _add(errors, "engagement_id", f"No engagement with id {engagement_id}.")
    if values.get("special_category_basis") and not values.get("has_special_category_data"):
        _add(errors, "special_category_basis", "Only routes carrying special-category data take a basis.")
    _ordered(errors, values, "starts_on", "ends_on", "The end date cannot be before the start date.")
    ids = values.get("instrument_ids") or []
    try:
        if not isinstance(ids, list):
            raise ValueError
        wanted = {whole_number(item) for item in ids}
    except (TypeError, ValueError):
        _add(errors, "instrument_ids", "Instruments are given as a list of their ids.")
        return
    if wanted:
        if _bulk(sess) is not None:
            found = {instrument_id for instrument_id in wanted if _get(sess, TransferInstrument, instrument_id) is not None}
        else:
            found = set(sess.scalars(select(TransferInstrument.id).where(TransferInstrument.id.in_(wanted))))
        for missing in sorted(wanted - found):
            _add(errors, "instrument_ids", f"No instrument with id {missing}.")


def _read_instrument_ids(record: TransferRoute) -> list:
    return sorted(instrument.id for instrument in record.instruments)


def _write_instrument_ids(sess: Session, record: TransferRoute, value: list) -> None:
    wanted = {int(item) for item in value or []}
    if _as_row(sess, record):
        # a bulk unit inserts the route and its links as rows (flush_pending): a plain list, as its other values
        record.__dict__["instruments"] = [_get(sess, TransferInstrument, instrument_id) for instrument_id in sorted(wanted)]
        return
    record.instruments = list(sess.scalars(select(TransferInstrument).where(TransferInstrument.id.in_(wanted)))) if wanted else []


# What a route is unless it says otherwise. One function for every write path: the route form
# pre-fills from it (records.lookup_route_defaults), and a create (API, import) fills in from it what
# the caller leaves out; an update lets a field left out follow its inputs when it held their default.

ROUTE_REGIME_FIELDS = ("carries_eu_data", "carries_uk_data", "carries_ch_data")
ROUTE_DESTINATION_FIELDS = ("destination_country", "destination_organisation_id")
_FLAG_OF_REGIME = dict(zip(("EU", "UK", "CH"), ROUTE_REGIME_FIELDS))
_PAIRED = object()  # route_defaults: the route runs under the engagement linking its parties, if any


class EngagementFacts(NamedTuple):
    """What a route's defaults read of an engagement."""

    id: int
    engager_id: int
    engaged_id: int
    relationship_type: Relationship
    purpose: Optional[str]
    service: Optional[str]
    status: Optional[Lifecycle]

    COLUMNS = (Engagement.id, Engagement.engager_id, Engagement.engaged_id, Engagement.relationship_type,
               Engagement.purpose, Engagement.service, Engagement.status)

    @classmethod
    def of(cls, record: Engagement) -> "EngagementFacts":
        return cls(record.id, record.engager_id, record.engaged_id, record.relationship_type, record.purpose,
                   record.service, record.status or Lifecycle.ACTIVE)  # (the column's default, not yet set in a bulk unit)


def _regime_flags(record: Any) -> tuple[bool, bool, bool]:
    return tuple(bool(getattr(record, name)) for name in ROUTE_REGIME_FIELDS)


def route_defaults(sess: Session, exporter_id: Optional[int], importer_id: Optional[int],
                   source_route_id: Optional[int] = None, engagement_id: Any = _PAIRED) -> dict[str, Derived]:
    """A route's defaults from its parties, each with its reason: the destination (the importer's
    country, or the international organisation it is), the regimes of its data (rules.regimes_of_data:
    the source route's for an onward transfer, else the exporter's establishment), the engagement of
    the importer by the exporter (the one live, or the one active among several), and from the
    route's engagement (`engagement_id`, or that one) the roles and the purpose. In a bulk unit every fact
    is read from its memory (no query per row)."""
    found = {**destination_default(sess, importer_id), **_regimes_default(sess, exporter_id, source_route_id)}
    paired = _paired_engagement(sess, exporter_id, importer_id)
    if paired is not None:
        found["engagement_id"] = paired[1]
    if engagement_id is _PAIRED:
        engagement = paired[0] if paired is not None else None
    else:
        engagement = _engagement_facts(sess, engagement_id) if engagement_id is not None else None
    found.update(_engagement_defaults(engagement))
    return found


def destination_default(sess: Session, importer_id: Optional[int]) -> dict[str, Derived]:
    importer = _get(sess, Party, importer_id) if importer_id is not None else None
    if importer is None:
        return {}
    if importer.kind == PartyKind.INTERNATIONAL_ORGANISATION:
        return {"destination_organisation_id": Derived(importer.id, f"The importer is an international organisation "
                                                                    f"({importer.organisation_code}): the destination.")}
    if importer.country_code is None:
        return {}
    return {"destination_country": Derived(importer.country_code, f"The importer, {importer.legal_name}, is established in "
                                                                  f"{importer.country_code}: the data goes there.")}


def _destination_of(values: Any) -> tuple:
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return tuple(get(name) for name in ROUTE_DESTINATION_FIELDS)


def _regimes_default(sess: Session, exporter_id: Optional[int], source_route_id: Optional[int]) -> dict[str, Derived]:
    source = None
    if source_route_id is not None:
        bulk = _bulk(sess)
        if bulk is not None:
            flags = bulk.route_regimes(source_route_id)
        else:
            record = sess.get(TransferRoute, source_route_id)
            flags = _regime_flags(record) if record is not None else None
        if flags is None:
            return {}
        source = (source_route_id, [regime for regime, carried in zip(_FLAG_OF_REGIME, flags) if carried])
    else:
        exporter = _get(sess, Party, exporter_id) if exporter_id is not None else None
        if exporter is None:
            return {}
    country = None if source is not None else exporter.country_code
    return {_FLAG_OF_REGIME[item.regime]: Derived(item.carried, item.reason)
            for item in rules.regimes_of_data(country, countries.current(), source) if item.regime in _FLAG_OF_REGIME}


def _engagement_facts(sess: Session, engagement_id: int) -> Optional[EngagementFacts]:
    bulk = _bulk(sess)
    if bulk is not None:
        return bulk.engagement(engagement_id)
    record = sess.get(Engagement, engagement_id)
    return EngagementFacts.of(record) if record is not None else None


def _paired_engagement(sess: Session, exporter_id: Optional[int], importer_id: Optional[int]) -> Optional[tuple[EngagementFacts, Derived]]:
    """The engagement of the importer by the exporter a route between them runs under, with the reason:
    the one live (not retired) engagement, or among several the one active (None: none, or no one)."""
    if exporter_id is None or importer_id is None:
        return None
    bulk = _bulk(sess)
    if bulk is not None:
        live = bulk.live_engagements(exporter_id, importer_id)
    else:
        live = [EngagementFacts(*row) for row in sess.execute(
            select(*EngagementFacts.COLUMNS).where(Engagement.engager_id == exporter_id, Engagement.engaged_id == importer_id,
                                                   Engagement.status != Lifecycle.RETIRED).order_by(Engagement.id).limit(20))]
    if len(live) == 1:
        which = "The one live engagement"
    else:
        live = [engagement for engagement in live if engagement.status == Lifecycle.ACTIVE]
        which = "The one active engagement"
        if len(live) != 1:
            return None
    engagement = live[0]
    return engagement, Derived(engagement.id, f"{which} of the importer by the exporter: #{engagement.id} ({engagement.service}).")


def _engagement_defaults(engagement: Optional[EngagementFacts]) -> dict[str, Derived]:
    if engagement is None or engagement.relationship_type is None:
        return {}
    exporter_role, importer_role, why = rules.roles_for(Relationship(engagement.relationship_type).value)
    reason = f"Engagement #{engagement.id}: {why[0].lower()}{why[1:]}"
    found = {"exporter_role": Derived(PartyRole(exporter_role), reason),
             "importer_role": Derived(PartyRole(importer_role), reason)}
    if engagement.purpose or engagement.service:
        found["purpose"] = Derived(engagement.purpose or engagement.service,
                                   f"The {'purpose' if engagement.purpose else 'service'} of engagement #{engagement.id}.")
    return found


# The fields a route derives when a write leaves them out, as the API documents them.
ROUTE_DERIVABLE = {
    **{name: "Left out (all three regimes): the source route's regimes for an onward transfer, else those of the "
             "exporter's establishment." for name in ROUTE_REGIME_FIELDS},
    **{name: "Left out (both destination fields): the importer's country, or the international organisation it is."
       for name in ROUTE_DESTINATION_FIELDS},
    "engagement_id": "Left out: the engagement of the importer by the exporter, if there is one live (or one active) engagement.",
    "exporter_role": "Left out: the role the route's engagement gives the exporter.",
    "importer_role": "Left out: the role the route's engagement gives the importer.",
    "purpose": "Left out: the purpose (else the service) of the route's engagement.",
}


def _complete_route(sess: Session, record: Optional[TransferRoute], values: dict, given: frozenset[str]) -> dict[str, Derived]:
    """A new route takes the defaults (route_defaults) of what it leaves out: the regimes only when all
    three are left out, the destination when both fields are (an explicit false or null is kept). On
    a change, a field left out follows new inputs when it held the default of the old ones."""
    if record is not None:
        return _followed_route_defaults(sess, record, values, given)
    regimes, destination = not given & set(ROUTE_REGIME_FIELDS), not given & set(ROUTE_DESTINATION_FIELDS)
    others = {name for name in ("engagement_id", "exporter_role", "importer_role", "purpose") if name not in given}
    if not (regimes or destination or others):
        return {}
    wanted = others | (set(ROUTE_REGIME_FIELDS) if regimes else set()) | (set(ROUTE_DESTINATION_FIELDS) if destination else set())
    found = route_defaults(sess, values.get("exporter_id"), values.get("importer_id"), values.get("source_route_id"),
                           values["engagement_id"] if "engagement_id" in given else _PAIRED)
    return {name: item for name, item in found.items() if name in wanted}


def _followed_route_defaults(sess: Session, record: TransferRoute, values: dict, given: frozenset[str]) -> dict[str, Derived]:
    moved = {name for name in ("exporter_id", "importer_id", "source_route_id", "engagement_id")
             if name in given and values.get(name) != getattr(record, name)}
    if not moved:
        return {}
    found: dict[str, Derived] = {}
    if "importer_id" in moved and not given & set(ROUTE_DESTINATION_FIELDS):
        before = destination_default(sess, record.importer_id)
        after = destination_default(sess, values.get("importer_id"))
        if after and _destination_of(record) == _destination_of({name: item.value for name, item in before.items()}):
            (reason,) = {item.reason for item in after.values()}
            found.update({name: after.get(name, Derived(None, reason)) for name in ROUTE_DESTINATION_FIELDS})
    if moved & {"exporter_id", "source_route_id"} and not given & set(ROUTE_REGIME_FIELDS):
        before = _regimes_default(sess, record.exporter_id, record.source_route_id)
        if before and _regime_flags(record) == tuple(before[name].value for name in ROUTE_REGIME_FIELDS):
            found.update(_regimes_default(sess, values.get("exporter_id"), values.get("source_route_id")))
    engagement_id = values.get("engagement_id")
    if moved & {"exporter_id", "importer_id"} and "engagement_id" not in given and record.engagement_id is not None:
        before = _paired_engagement(sess, record.exporter_id, record.importer_id)
        if before is not None and before[0].id == record.engagement_id:
            after = _paired_engagement(sess, values.get("exporter_id"), values.get("importer_id"))
            found["engagement_id"] = after[1] if after is not None else Derived(
                None, f"Engagement #{record.engagement_id} does not link the new parties, and no one live engagement does.")
            engagement_id = found["engagement_id"].value
    if engagement_id != record.engagement_id:
        old = _engagement_defaults(_engagement_facts(sess, record.engagement_id) if record.engagement_id else None)
        new = _engagement_defaults(_engagement_facts(sess, engagement_id) if engagement_id is not None else None)
        for name in ("exporter_role", "importer_role", "purpose"):
            if name not in given and name in old and name in new and getattr(record, name) == old[name].value:
                found[name] = new[name]
    return found


# --- sub-processor change notices ---------------------------------------------------------------


def _complete_notice(sess: Session, record: Optional[ChangeNotice], values: dict, given: frozenset[str]) -> dict:
    """A new notice is about the engagement's sub-processor of the moment; the objection deadline
    defaults to the sending day plus the client's notice period, and follows a corrected sending day
    when it was the derived one."""
    derived: dict = {}
    if record is None and values.get("sub_processor_id") is None and values.get("engagement_id") is not None:
        engagement = sess.get(Engagement, values["engagement_id"])
        if engagement is not None:
            derived["sub_processor_id"] = Derived(engagement.engaged_id, "The sub-processor the engagement names now.")
    client = sess.get(Party, values["client_id"]) if values.get("client_id") is not None else None
    if values.get("sent_on") is None or client is None or client.notice_period_days is None:
        return derived
    from .rules import objection_deadline

    deadline = values.get("objection_deadline")
    moved = record is not None and record.sent_on is not None and record.sent_on != values["sent_on"] and (
        deadline == objection_deadline(record.sent_on, client.notice_period_days))
    if deadline is None or moved:
        derived["objection_deadline"] = Derived(
            objection_deadline(values["sent_on"], client.notice_period_days),
            f"The sending day plus {client.legal_name}'s notice period ({client.notice_period_days} days).")
    return derived


def _validate_notice(sess: Session, record: Optional[ChangeNotice], values: dict, errors: Errors) -> None:
    lock_engagement_graph(sess)
    client = _party(sess, errors, values, "client_id", (PartyKind.CLIENT,))
    engagement = sess.get(Engagement, values["engagement_id"]) if values.get("engagement_id") is not None else None
    if values.get("engagement_id") is not None and engagement is None:
        _add(errors, "engagement_id", f"No engagement with id {values['engagement_id']}.")
    elif engagement is not None and engagement.relationship_type != Relationship.SUB_PROCESSOR:
        _add(errors, "engagement_id", "Clients are told of sub-processor engagements: this engagement is not one.")
    elif engagement is not None and client is not None and client.kind == PartyKind.CLIENT:
        from .notices import clients_served

        if client.id not in clients_served(sess, engagement.engager_id, engagement.relationship_type):
            _add(errors, "client_id", f"{engagement.engaged.legal_name} would not process {client.legal_name}'s data: "
                                      f"no chain of processing for it leads to {engagement.engager.legal_name}.")
    if values.get("sent_on") is not None and values.get("objection_deadline") is None and client is not None:
        _add(errors, "objection_deadline", f"Give the deadline, or record {client.legal_name}'s notice period.")
    _ordered(errors, values, "sent_on", "objection_deadline", "The deadline cannot be before the notice was sent.")
    if values.get("objection_received_on") is not None:
        if values.get("sent_on") is None:
            _add(errors, "objection_received_on", "An objection answers a notice: record when the notice was sent.")
        elif values["objection_received_on"] > date.today():
            _add(errors, "objection_received_on", "An objection cannot be received in the future.")
        _ordered(errors, values, "sent_on", "objection_received_on", "The objection cannot come before the notice.")
    outcome = values.get("outcome")
    if outcome in (NoticeOutcome.OBJECTION_RESOLVED, NoticeOutcome.OBJECTION_UPHELD) and values.get("objection_received_on") is None:
        _add(errors, "outcome", "Record when the objection was received.")
    if outcome == NoticeOutcome.NO_OBJECTION and values.get("objection_received_on") is not None:
        _add(errors, "outcome", "An objection was received: record whether it was resolved or upheld.")


# --- vetting records --------------------------------------------------------------------------


def _validate_owned_by_third_party(key: str) -> Callable[[Session, Any, dict, Errors], None]:
    def validate(sess: Session, record: Any, values: dict, errors: Errors) -> None:
        _party(sess, errors, values, key, (PartyKind.THIRD_PARTY,))
        _ordered(errors, values, "issued_on", "expires_on", "The expiry cannot be before the issue date.")

    return validate


def _validate_scope_fact(sess: Session, record: Any, values: dict, errors: Errors) -> None:
    _party(sess, errors, values, "party_id", (PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY, PartyKind.CLIENT))
    if values.get("fact_key") and not countries.is_scope_fact(values["fact_key"]):
        _add(errors, "fact_key", f"Unknown scope condition {values['fact_key']!r} (see data/countries.yaml).")


def _validate_tia(sess: Session, record: Any, values: dict, errors: Errors) -> None:
    if values.get("route_id") is not None and not _exists(sess, TransferRoute, values["route_id"]):
        _add(errors, "route_id", f"No route with id {values['route_id']}.")
    _ordered(errors, values, "assessed_on", "next_review_on", "The next review cannot be before the assessment.")


def _validate_token(sess: Session, record: Any, values: dict, errors: Errors) -> None:
    if values.get("user_id") is not None and sess.get(User, values["user_id"]) is None:
        _add(errors, "user_id", f"No user with id {values['user_id']}.")


def _validate_user(sess: Session, record: Optional[User], values: dict, errors: Errors) -> None:
    email = values.get("email")
    if email:
        if not EMAIL.match(email):
            _add(errors, "email", "Not a valid email address.")
        else:
            query = select(User.id).where(func.lower(User.email) == email.lower())
            if record is not None:
                query = query.where(User.id != record.id)
            if sess.scalar(query) is not None:
                _add(errors, "email", "A user with this email already exists.")


SPECS.update(
    {
        GroupEntity: _party_spec(GroupEntity, PartyKind.GROUP_ENTITY),
        ThirdParty: _party_spec(ThirdParty, PartyKind.THIRD_PARTY),
        Client: _party_spec(Client, PartyKind.CLIENT),
        InternationalOrganisation: _party_spec(InternationalOrganisation, PartyKind.INTERNATIONAL_ORGANISATION),
        Certificate: Spec(
            Certificate,
            validate=_validate_owned_by_third_party("third_party_id"),
            required=("third_party_id", "edition", "certificate_number", "certification_body", "issued_on", "expires_on"),
        ),
        DpfCertification: Spec(
            DpfCertification,
            validate=_validate_owned_by_third_party("third_party_id"),
            required=("third_party_id", "framework", "certified_entity_name"),
        ),
        ScopeFact: Spec(ScopeFact, validate=_validate_scope_fact, required=("party_id", "fact_key", "answer")),
        Engagement: Spec(
            Engagement,
            collections={"locations": (_read_locations, _write_locations)},
            recorded={"locations": _recorded_locations},
            validate=_validate_engagement,
            required=("engager_id", "engaged_id", "service", "relationship_type"),
        ),
        TransferInstrument: Spec(
            TransferInstrument,
            collections={"signatories": (_read_signatories, _write_signatories)},
            recorded={"signatories": _recorded_signatories},
            validate=_validate_instrument,
            required=("kind", "title"),
        ),
        BcrApproval: Spec(
            BcrApproval,
            collections={"memberships": (_read_memberships, _write_memberships)},
            recorded={"memberships": _recorded_memberships},
            validate=_validate_bcr,
            required=("name", "regime", "bcr_type", "authority", "approved_on"),
        ),
        TransferRoute: Spec(
            TransferRoute,
            collections={"instrument_ids": (_read_instrument_ids, _write_instrument_ids)},
            recorded={"instrument_ids": lambda value: sorted({whole_number(item) for item in value or []})},
            validate=_validate_route,
            required=("exporter_id", "importer_id", "exporter_role", "importer_role"),
            complete=_complete_route,
            derivable=ROUTE_DERIVABLE,
        ),
        ChangeNotice: Spec(ChangeNotice, validate=_validate_notice, complete=_complete_notice,
                           required=("client_id", "engagement_id", "outcome"), fixed=frozenset({"sub_processor_id"}),
                           derivable={"objection_deadline": "Left out: the sending day plus the client's notice period."}),
        TransferImpactAssessment: Spec(
            TransferImpactAssessment,
            validate=_validate_tia,
            required=("route_id", "assessed_on", "outcome"),
        ),
        ApiToken: Spec(ApiToken, validate=_validate_token, required=("user_id", "name", "token_hash", "prefix")),
        Setting: Spec(Setting, required=("key",)),
        User: Spec(
            User,
            validate=_validate_user,
            required=("email", "name", "role", "password_hash"),
        ),
    }
)

__all__ = ["Actor", "ConflictError", "Derived", "DomainError", "create", "retire", "route_defaults", "update", "write_unit"]
