"""A record type's list: the query from a list's parameters (search, filters, sort) and one page of it
with a capped count, as the list pages and the API read it."""

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Optional

from sqlalchemy import Select, Text, func, or_, select, text
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AssessmentRun, AuditEvent
from ..services.codes import country_code
from .base import RecordType

PER_PAGE = 50
# The deepest page asked for is clamped here (then to the last page): a page number from a URL is
# multiplied into an OFFSET, and one past the database's 64-bit integers fails (OverflowError).
MAX_PAGE = 10_000


def like_literal(text: str) -> str:
    """Text matched as typed inside a LIKE pattern: `%` and `_` are not wildcards (escaped with `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_query(pages: RecordType, args: dict) -> tuple[Select, dict]:
    """The list's query from the query string: search, filters, sort (unknown values ignored)."""
    query = pages.query()
    state: dict[str, Any] = {"q": _searchable(args.get("q") or "")}
    sortable = {column.key: column for column in pages.columns if column.sort is not None}
    sort_key = args.get("sort") if args.get("sort") in sortable else pages.default_sort
    if pages.joins and (state["q"] or sort_key in pages.join_sorts):
        query = pages.joins(query)
    if state["q"]:
        pattern = f"%{like_literal(state['q'].lower())}%"
        query = query.where(or_(*(func.lower(column).like(pattern, escape="\\") for column in pages.search)))
    for list_filter in pages.filters:
        value = (args.get(list_filter.name) or "").strip()
        if list_filter.name == "country":
            value = country_code(value)  # ?country=UK lists GB, as a write takes UK for GB
        if value and value in {choice for choice, _label in list_filter.choices()}:
            query = list_filter.apply(query, value)
            state[list_filter.name] = value
    descending = args.get("dir") == "desc"
    state["sort"], state["dir"] = sort_key, "desc" if descending else "asc"
    if sort_key:
        expression = sortable[sort_key].sort
        query = query.order_by(expression.desc() if descending else expression.asc(), pages.model.id)
    else:
        query = query.order_by(pages.model.id.desc())
    return query, state


COUNT_CAP = 1_000


class CappedPagination:
    """One page of a list, with a count that looks only COUNT_CAP rows past the page ("1,000+").

    An exact count of a filtered 100,000-route register costs more than the page itself and grows with
    the register; nobody pages through thousands of routes, they filter. Deeper pages still work: the
    count then looks COUNT_CAP rows past them. With a `count_key` (what the query was built from), the
    count is kept until the register changes (`kept_count`).
    """

    def __init__(self, query: Select, page: int, per_page: int = PER_PAGE,
                 fetch_rows: Callable[[list[int]], dict[int, Any]] | None = None, count_key: Optional[tuple] = None):
        self.per_page = per_page
        self.page = min(max(page, 1), MAX_PAGE)
        offset = (self.page - 1) * per_page
        ids = query.with_only_columns(query.column_descriptions[0]["entity"].id, maintain_column_froms=True)
        horizon = offset + COUNT_CAP
        counted = kept_count(
            lambda: db.session.scalar(select(func.count()).select_from(ids.order_by(None).limit(horizon + 1).subquery())),
            None if count_key is None else (*count_key, horizon))
        self.is_capped = counted > horizon
        self.total = min(counted, horizon)
        self.pages = max(1, -(-self.total // per_page))
        if self.page > self.pages:  # past the end: show the last page
            self.page = self.pages
            offset = (self.page - 1) * per_page
        if fetch_rows is None:
            self.items = db.session.scalars(query.limit(per_page).offset(offset)).unique().all()
        else:
            page_ids = list(db.session.scalars(ids.limit(per_page).offset(offset)))
            rows = fetch_rows(page_ids)
            self.items = [rows[record_id] for record_id in page_ids]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages or self.is_capped
        self.prev_num, self.next_num = self.page - 1, self.page + 1


# --- counts kept until the register changes -----------------------------------------------------
#
# A list's capped count is its dearest query (on the large register, SQLite visits up to 1,000 rows).
# It changes only when the register does: every write to a register record adds an audit event in the
# same transaction (audit.py refuses unaudited writes), and the stored verdicts that the coverage,
# mechanism and ISO 27001 filters read change either in such a write or in a whole-register
# reassessment, which adds an assessment run. So the newest audit event and assessment run, read in
# one indexed query, say whether a kept count is still right. SQLite runs one writer at a time, so its
# ids become visible in order. On PostgreSQL a transaction can commit an event with a lower id after
# another committed a higher one. Such a transaction had written its event before the higher one was
# written, so it was holding its lock on the audit table when the state was read: the state names the
# transactions holding a write lock on those two tables, and one of them finishing changes it. (The
# count is taken after the state: a transaction that finishes in between is in the count.) Writes to
# other tables, other schemas and other databases of the same server leave the state alone.

COUNTS_KEPT = 512
_STATE = select(select(func.max(AuditEvent.id)).scalar_subquery(), select(func.max(AssessmentRun.id)).scalar_subquery())
_WRITERS = text(
    "SELECT string_agg(virtualtransaction, ',' ORDER BY virtualtransaction) AS writers FROM pg_locks"
    " WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted"
    f" AND relation IN ('{AuditEvent.__tablename__}'::regclass, '{AssessmentRun.__tablename__}'::regclass)")
_STATE_POSTGRESQL = _STATE.add_columns(select(_WRITERS.columns(writers=Text).subquery().c.writers).scalar_subquery())
_kept_counts: "weakref.WeakKeyDictionary[Any, OrderedDict]" = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def register_state(sess: Session) -> Optional[tuple]:
    """What the register's content is, cheaply: it differs after any committed write. None where that
    cannot be told (a write in progress in this session, another database)."""
    if sess.new or sess.dirty or sess.deleted or sess.info.get("actor") is not None:
        return None  # inside a write unit: what it wrote is not committed and may be rolled back
    dialect = sess.get_bind().dialect.name
    if dialect == "sqlite":
        return tuple(sess.execute(_STATE).one())
    if dialect == "postgresql":
        return tuple(sess.execute(_STATE_POSTGRESQL).one())
    return None


def kept_count(count: Callable[[], Any], key: Optional[tuple]) -> Any:
    """`count()`, or the figure it gave for the same `key` while the register was as it is now (any
    value its caller will not change: a count, the dashboard's summary)."""
    if key is None:
        return count()
    sess = db.session()
    state = register_state(sess)
    if state is None:
        return count()
    engine = sess.get_bind()
    with _kept_lock:
        kept = _kept_counts.setdefault(engine, OrderedDict())
        found = kept.get(key)
        if found is not None and found[0] == state:
            kept.move_to_end(key)
            return found[1]
    counted = count()
    with _kept_lock:
        kept[key] = (state, counted)
        kept.move_to_end(key)
        while len(kept) > COUNTS_KEPT:
            kept.popitem(last=False)
    return counted


def _searchable(text: str) -> str:
    """Search text as typed, without what no database column can hold (NUL, broken Unicode)."""
    text = text.replace("\x00", "").strip()[:200]
    return text.encode("utf-8", "ignore").decode("utf-8")
