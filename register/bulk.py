"""The bulk engine: a write unit of many thousand records (an import), and rows inserted in bulk.

It lies below the write path (register/services/) and the stored verdicts (register/assessments.py),
which both insert rows with `insert_rows`, and imports neither. `Bulk` keeps at hand what the checks
of later rows read, so it also holds the few facts it indexes records by: a party's `name_key`, what
a route's defaults read of an engagement (`EngagementFacts`), a route's regime flags.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from .audit import created, event_values
from .extensions import db
from .models import (
    AuditAction,
    AuditEvent,
    BcrApproval,
    Certificate,
    DpfCertification,
    Engagement,
    EngagementLocation,
    Lifecycle,
    Party,
    PartyKind,
    Relationship,
    ScopeFact,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    route_instruments,
)


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


# --- what the unit indexes records by ----------------------------------------------------------


def name_key(legal_name: str) -> str:
    """The key two legal names are the same under (spacing and case aside)."""
    return " ".join(legal_name.split()).casefold()


# The data a route carries of each regime (EU, UK, Switzerland).
ROUTE_REGIME_FIELDS = ("carries_eu_data", "carries_uk_data", "carries_ch_data")


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


def regime_flags(record: Any) -> tuple[bool, bool, bool]:
    return tuple(bool(getattr(record, name)) for name in ROUTE_REGIME_FIELDS)


# --- the unit ---------------------------------------------------------------------------------


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
        self.pending: list[tuple[Any, Any]] = []  # records created, not yet written (with their Spec)
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
            self._route_regimes[record.id] = regime_flags(record)
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
                self._route_regimes[record.id] = regime_flags(record)
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
    def engaged_by(self, ignore_id: Optional[int]) -> Callable[[int], Iterable[int]]:
        """The parties a party engages, engagement `ignore_id` left out (the cycle check walks them)."""
        if self._edges is None:
            self._edges = {}
            for engagement_id, source, target in self.sess.execute(
                    select(Engagement.id, Engagement.engager_id, Engagement.engaged_id).where(Engagement.status != Lifecycle.RETIRED)):
                self._add_edge(engagement_id, source, target)
            for record in self._pending_rows(Engagement):  # not in the database yet
                self.noted(record)
        ignored = self._edges.get(ignore_id) if ignore_id is not None else None
        return lambda node: (
            target for target, count in self._graph.get(node, {}).items() if count > (1 if ignored == (node, target) else 0))

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


def bulk_of(sess: Session) -> Optional[Bulk]:
    """The bulk unit in progress, if the unit writes in batches."""
    return sess.info.get("bulk")


def bulk_unit(sess: Session) -> bool:
    """Whether the unit in progress writes in batches (`write_unit(..., bulk=True)`)."""
    return bulk_of(sess) is not None


def flush_pending(sess: Optional[Session] = None) -> None:
    """In a bulk unit: write the records created so far, record their creation events, and let the
    session forget what later rows do not read (so memory stays flat however large the import)."""
    sess = sess or db.session()
    bulk = bulk_of(sess)
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


def as_row(sess: Session, record: Any) -> bool:
    """Whether a bulk unit inserts this new record as a row (`BULK_ROWS`): it never enters the session,
    so its values are plain attributes, with no change tracking to pay for."""
    return type(record) in BULK_ROWS and bulk_of(sess) is not None and inspect(record).transient


def largest_id_used(sess: Session, table: Any) -> int:
    """The largest id a record of this table ever had, deleted records included. SQLite (without
    AUTOINCREMENT) gives a new row the largest id present + 1: after the newest record was deleted, its
    id again, and the trail would hold two records under one id. The trail knows every id used (its
    (record type, record id) index makes this one seek). PostgreSQL's sequences never go back."""
    present = sess.scalar(select(func.max(table.c.id))) or 0
    used = sess.scalar(select(func.max(AuditEvent.record_id)).where(AuditEvent.record_type == table.name)) or 0
    return max(present, used)


def get_record(sess: Session, model: type, record_id: int) -> Any:
    """A record the checks read (from memory in a bulk unit)."""
    bulk = bulk_of(sess)
    return bulk.get(model, record_id) if bulk is not None else sess.get(model, record_id)


def record_exists(sess: Session, model: type, record_id: int) -> bool:
    bulk = bulk_of(sess)
    return bulk.exists(model, record_id) if bulk is not None else sess.get(model, record_id) is not None
