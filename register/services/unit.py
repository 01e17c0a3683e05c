"""The write unit: one audited transaction, its version checks, and what runs before it commits.

`write_unit(actor)` opens the transaction every write runs in (with SQLite's write lock taken up
front), commits it at the end or rolls it back on any error, and turns a stale version into a
`ConflictError`. It imports nothing that keeps derived data (the stored verdicts): what must be
brought up to date in the same transaction registers itself with `before_commit`.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..audit import Actor
from ..bulk import Bulk, flush_pending
from ..collector import rare_full_collections
from ..extensions import _begin_immediate, db
from .coerce import whole_number
from .spec import DomainError


class ConflictError(Exception):
    """The record changed since the caller read it; nothing was written."""

    def __init__(self, record: Any, expected_version: Optional[int]):
        super().__init__(f"{record.label} changed meanwhile (version {record.version}, not {expected_version})")
        self.record = record
        self.expected_version = expected_version


# What a unit does last, before it commits, with the records it touched ((record type, id) pairs,
# audit.touched_by): register/assessments.py keeps the rules' verdicts in step in the same
# transaction. The application factory registers it (create_app), so every process that writes has
# it; a hook list rather than an import, so that the write path never imports what reads it.
BEFORE_COMMIT: list[Callable[[Session, set[tuple[str, int]]], Any]] = []


def before_commit(hook: Callable[[Session, set[tuple[str, int]]], Any]) -> Callable[[Session, set[tuple[str, int]]], Any]:
    """Run `hook(session, touched)` at the end of every unit that touched records, before it commits (once however often registered)."""
    if hook not in BEFORE_COMMIT:
        BEFORE_COMMIT.append(hook)
    return hook


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
            for hook in BEFORE_COMMIT:  # the rules' verdicts, kept in step in this transaction
                hook(sess, touched)
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
