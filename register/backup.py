"""Backup and restore: the whole register in one portable file, restored only into an empty register.

A backup is a zip of one JSON-lines file per table (rows in primary-key order) and a manifest: the
format and its version, the schema's Alembic revision, each table's columns, row count and SHA-256.
Values are written as the tables' types read them (dates ISO, enums by their stored value, the trail's
changes as the JSON they are), so a backup made on SQLite restores on PostgreSQL and back; pg_dump and
SQLite's backup API would each give a file only its own engine reads.

Restore inserts the rows as they are, the audit trail included (its triggers refuse UPDATE and
DELETE, never INSERT: migration 0005), with no new audit event: the register comes back as it was, ids,
versions, timestamps and the trail identical. It writes in one transaction (all or nothing), checks
the register is empty inside it, and sets PostgreSQL's sequences past every id the trail has seen, so
no id of a deleted record is ever given again.
"""

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import click
from alembic.migration import MigrationContext
from sqlalchemy import JSON, Date, DateTime, Enum, Table, func, insert, inspect, select, text, update
from sqlalchemy.engine import Connection

from .bulk import largest_id_used
from .extensions import _begin_immediate, db

FORMAT = "transfer-register-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH_ROWS = 1000


class RestoreRefused(RuntimeError):
    """A restore that would not give back the register the backup holds: nothing was written."""


@dataclass(frozen=True)
class Summary:
    revision: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# --- values as JSON, by the column's type ----------------------------------------------------------

def _codec(column) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """(to JSON, from JSON) for one column's values as SQLAlchemy reads and binds them."""
    kind = column.type
    impl = getattr(kind, "impl", kind)  # a TypeDecorator (UTCDateTime) by what it stores
    if isinstance(kind, Enum):
        enum_class = kind.enum_class
        return (lambda value: value.value), (lambda value: enum_class(value)) if enum_class else (lambda value: value)
    if isinstance(impl, DateTime):
        return (lambda value: value.isoformat()), datetime.fromisoformat
    if isinstance(impl, Date):
        return (lambda value: value.isoformat()), date.fromisoformat
    if isinstance(kind, JSON):
        return (lambda value: value), (lambda value: value)
    return (lambda value: value), (lambda value: value)


def _codecs(table: Table, names: list[str], which: int) -> list[tuple[str, Callable]]:
    return [(name, _codec(table.c[name])[which]) for name in names]


# --- backup ----------------------------------------------------------------------------------------

def backup(path: Path) -> Summary:
    """Write the register to `path` (replaced only once complete; readable by its owner only: it
    holds password hashes and requesters' personal data)."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive, \
                _snapshot() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            if revision is None:
                raise RuntimeError("The database has no schema yet (run `flask db upgrade`): nothing to back up.")
            tables = []
            for table in db.metadata.sorted_tables:
                names = [column.name for column in table.columns]
                encoders = _codecs(table, names, 0)
                digest = hashlib.sha256()
                count = 0
                with archive.open(f"tables/{table.name}.jsonl", "w") as member:
                    rows = connection.execution_options(yield_per=BATCH_ROWS).execute(
                        select(table).order_by(*table.primary_key.columns))
                    for row in rows:
                        values = row._mapping
                        line = json.dumps({name: None if values[name] is None else encode(values[name])
                                           for name, encode in encoders},
                                          ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
                        digest.update(line)
                        member.write(line)
                        count += 1
                tables.append({"name": table.name, "columns": names, "rows": count, "sha256": digest.hexdigest()})
            manifest = {"format": FORMAT, "version": FORMAT_VERSION, "alembic_revision": revision,
                        "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "made_on": connection.dialect.name, "tables": tables}
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Summary(revision, {entry["name"]: entry["rows"] for entry in tables})


class _snapshot:
    """One read transaction over every table: a consistent register while others write (PostgreSQL:
    REPEATABLE READ; SQLite in WAL mode: the snapshot of the transaction's first read)."""

    def __enter__(self) -> Connection:
        db.session.remove()
        self.connection = db.engine.connect()
        if self.connection.dialect.name == "postgresql":
            self.connection = self.connection.execution_options(isolation_level="REPEATABLE READ")
        self.transaction = self.connection.begin()
        return self.connection

    def __exit__(self, *_exc) -> None:
        self.transaction.rollback()
        self.connection.close()


# --- restore ---------------------------------------------------------------------------------------

def read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise RestoreRefused("This is not a register backup (no manifest.json in it).") from None
    if manifest.get("format") != FORMAT:
        raise RestoreRefused("This is not a register backup (unknown format).")
    if manifest.get("version") != FORMAT_VERSION:
        raise RestoreRefused(f"This backup is in format version {manifest.get('version')}; this register reads "
                             f"version {FORMAT_VERSION}: restore it with the version of the register that made it.")
    return manifest


def restore(path: Path, migrate_empty: Callable[[str], None] | None = None) -> Summary:
    """Load a backup into this empty register. A database with no schema at all is first migrated to
    the backup's revision (`migrate_empty(revision)`); one at another revision, or holding any row,
    is refused with the reason and left untouched."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise RestoreRefused(f"{path} is not a register backup (not a zip file).") from None
    with archive:
        manifest = read_manifest(archive)
        revision = manifest["alembic_revision"]
        db.session.remove()
        with db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current is None and migrate_empty is not None and not inspect(db.engine).get_table_names():
            migrate_empty(revision)
            current = revision
        if current != revision:
            raise RestoreRefused(
                f"The backup is of schema revision {revision}; this database is at {current or 'no revision'}. "
                f"Restore into a new, empty database (restore migrates it to {revision}), then run `flask db upgrade`.")
        tables = _tables_of(manifest)
        token = _begin_immediate.set(True)  # SQLite: the write lock first, so the emptiness check holds
        try:
            with db.engine.begin() as connection:
                _refuse_unless_empty(connection)
                for entry, table in tables:
                    _load_table(connection, archive, entry, table)
                if connection.dialect.name == "postgresql":
                    _set_sequences(connection)
        finally:
            _begin_immediate.reset(token)
    return Summary(revision, {entry["name"]: entry["rows"] for entry, _table in tables})


def _tables_of(manifest: dict) -> list[tuple[dict, Table]]:
    """The backup's tables in the order rows can be inserted, each matched to this register's table."""
    known = {table.name: table for table in db.metadata.sorted_tables}
    entries = {entry["name"]: entry for entry in manifest["tables"]}
    if set(entries) != set(known):
        missing, unknown = sorted(set(known) - set(entries)), sorted(set(entries) - set(known))
        raise RestoreRefused(f"The backup's tables differ from this register's (missing: {', '.join(missing) or '-'}; "
                             f"unknown: {', '.join(unknown) or '-'}): restore it with the version of the register that made it.")
    for name, entry in entries.items():
        if entry["columns"] != [column.name for column in known[name].columns]:
            raise RestoreRefused(f"The backup's table {name} has other columns than this register's: "
                                 "restore it with the version of the register that made it.")
    return [(entries[table.name], table) for table in db.metadata.sorted_tables]


def _refuse_unless_empty(connection: Connection) -> None:
    held = {table.name: count for table in db.metadata.sorted_tables
            if (count := connection.scalar(select(func.count()).select_from(table)))}
    if held:
        listed = ", ".join(f"{name} {count:,}" for name, count in list(held.items())[:5]) + (", ..." if len(held) > 5 else "")
        raise RestoreRefused(f"The register is not empty ({listed}): a backup is restored only into an empty "
                             "register (a new database; `flask db upgrade` alone leaves it empty). Nothing was written.")


def _load_table(connection: Connection, archive: zipfile.ZipFile, entry: dict, table: Table) -> None:
    """Insert the table's rows in batches, checking them against the manifest's count and digest. A
    column that refers to its own table (a route copied from another) is set once every row is in."""
    decoders = _codecs(table, entry["columns"], 1)
    later = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    # Setting those columns must not touch the row's update time (its onupdate): it keeps the backup's.
    kept = [column.name for column in table.columns if column.onupdate is not None]
    digest = hashlib.sha256()
    count = 0
    deferred: list[dict] = []
    batch: list[dict] = []
    for line in _lines(archive, entry["name"]):
        digest.update(line)
        count += 1
        stored = json.loads(line)
        row = {name: None if stored[name] is None else decode(stored[name]) for name, decode in decoders}
        for name in later:
            if row[name] is not None:
                deferred.append((row[table.primary_key.columns[0].name], {name: row[name], **{kept_name: row[kept_name] for kept_name in kept}}))
                row[name] = None
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            connection.execute(insert(table), batch)
            batch = []
    if batch:
        connection.execute(insert(table), batch)
    if count != entry["rows"] or digest.hexdigest() != entry["sha256"]:
        raise RestoreRefused(f"The backup's table {entry['name']} is damaged (its rows do not match the manifest): "
                             "nothing was written.")
    key = table.primary_key.columns[0]
    for row_key, values in deferred:
        connection.execute(update(table).where(key == row_key).values(values))


def _lines(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    try:
        member = archive.open(f"tables/{name}.jsonl")
    except KeyError:
        raise RestoreRefused(f"The backup lacks the rows of table {name}: nothing was written.") from None
    with member:
        yield from member


def _set_sequences(connection: Connection) -> None:
    """Each id sequence past the largest id its table ever used (the trail's deleted records too)."""
    from sqlalchemy.orm import Session

    with Session(bind=connection) as sess:
        for table in db.metadata.sorted_tables:
            if "id" not in table.c or len(table.primary_key.columns) != 1 or not table.c.id.autoincrement:
                continue
            sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": f'"{table.name}"'})
            if sequence is not None:
                connection.execute(text("SELECT setval(:sequence, :next, false)"),
                                   {"sequence": sequence, "next": largest_id_used(sess, table) + 1})


# --- the commands ----------------------------------------------------------------------------------

@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup_command(path: Path) -> None:
    """Write the whole register (records, users, audit trail, stored verdicts) to a backup file."""
    summary = backup(path)
    click.echo(f"Backed up {summary.total:,} rows of {len(summary.rows)} tables (schema {summary.revision}) to {path}.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(path: Path) -> None:
    """Load a backup into an empty register (a new database is first migrated to the backup's schema)."""
    from flask_migrate import upgrade

    def migrate_empty(revision: str) -> None:
        click.echo(f"The database is new: migrating it to the backup's schema {revision}.")
        upgrade(revision=revision)

    try:
        summary = restore(path, migrate_empty)
    except RestoreRefused as refusal:
        raise click.ClickException(str(refusal)) from None
    click.echo(f"Restored {summary.total:,} rows of {len(summary.rows)} tables (schema {summary.revision}) from {path}. "
               "If this register's code is newer, run `flask db upgrade` now.")
