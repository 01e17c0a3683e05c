"""Extension objects, created unbound and initialised in create_app()."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# Ids are PostgreSQL INTEGERs: a larger number in a URL is simply no record (not a database error).
MAX_ID = 2**31 - 1


def id_or_none(text: object) -> "int | None":
    """An id from a query string (ASCII digits), or None when it is not one an id column can hold."""
    if not (isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def get_or_404(model: type, record_id: int):
    """The record with this id, or 404 (also for ids no database column can hold)."""
    from flask import abort

    if not 0 < record_id <= MAX_ID:
        abort(404)
    return db.get_or_404(model, record_id)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()

# Set by services.write_unit(): the next SQLite transaction begins with BEGIN IMMEDIATE, so a
# read-modify-write takes the write lock before it reads and cannot race another writer.
_begin_immediate: ContextVar[bool] = ContextVar("begin_immediate", default=False)


@contextmanager
def short_write(session) -> Iterator[None]:
    """A write outside a write unit (a login's session row, a throttle): the read transaction the
    request may have open is ended first, and on SQLite the write begins with BEGIN IMMEDIATE, so it
    waits its turn (the busy timeout) instead of failing at once because another process (the job
    worker) committed since that read began (SQLite cannot upgrade such a read to a write)."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()
    token = _begin_immediate.set(True)
    try:
        yield
    finally:
        _begin_immediate.reset(token)


def write_now(session, statement):
    """One statement written and committed at once (a claim, a state change), as `short_write` says."""
    with short_write(session):
        result = session.execute(statement)
        session.commit()
    return result


def configure_sqlite(engine: Engine, busy_timeout_ms: int = 15000) -> None:
    """WAL, foreign keys, a busy timeout and explicit BEGIN (SQLAlchemy's SQLite recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except Exception as error:  # noqa: BLE001 - sqlite3 is not imported here; re-raised unless read-only
            # A read-only file (or directory, or ?mode=ro) cannot switch its journal: read it as it is,
            # and let writes be refused (503) instead of every connection failing.
            if "readonly" not in str(error):
                raise
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten with zeros, not left in free pages: an erased requester's
        # details must not survive in the file (register/requests).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _begin_immediate.get() else "BEGIN")
