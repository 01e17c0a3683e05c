"""What every measure needs: a migrated throwaway app, the loaded register, logged-in clients, timers.

`open_bench()` builds the app on a temporary SQLite file (or a dedicated schema of the PostgreSQL
database in BENCH_DATABASE_URL), migrates it with Alembic and removes everything on the way out.
"""

import csv
import os
import re
import resource
import secrets
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import flask_migrate
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from register import create_app, services
from register.audit import Actor
from register.config import database_url
from register.extensions import db
from register.models import AuditSource, Role

from .generate import DEFAULT_SEED, TABLES, LoadReport, Scale, load_register

# Statements that are transaction control, not queries (SQLite's explicit BEGIN goes through the cursor).
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Bench:
    """One benchmark run: the app on its own database, and the register once loaded."""

    app: Flask
    scale: Scale
    seed: int
    database: str
    workdir: Path
    _load: Optional[LoadReport] = None
    _clients: dict[Role, FlaskClient] = field(default_factory=dict)
    # (cold seconds, warm seconds, routes) of the what-if assessment, shared by its two measures.
    what_if: Optional[tuple[float, float, int]] = None
    # The csv baseline of the auditor workbook (its child's figures), shared by the workbook measures.
    csv_baseline: Optional[dict] = None
    # PostgreSQL: the bench's own schema, and the server (for the schemas of the registers measures build).
    schema: Optional[str] = None
    admin: Optional[Engine] = None
    extra_schemas: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The bench's database as a child process opens it (on PostgreSQL, with its schema as the search path)."""
        return self._in_schema(self.app.config["SQLALCHEMY_DATABASE_URI"], self.schema)

    def empty_database(self, name: str) -> str:
        """A new, empty database for a register a measure builds (an import's target): a SQLite file in the
        work folder, or a PostgreSQL schema of its own on the same server, dropped at the end."""
        if self.schema is None:
            return f"sqlite:///{self.workdir / f'{name}.sqlite'}"
        schema = f"{self.schema}_{re.sub(r'[^a-z0-9_]', '_', name.lower())}"
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        self.extra_schemas.append(schema)
        return self._in_schema(self.app.config["SQLALCHEMY_DATABASE_URI"], schema)

    @staticmethod
    def _in_schema(url: str, schema: Optional[str]) -> str:
        if schema is None:
            return url
        return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"

    @property
    def engine(self) -> Engine:
        with self.app.app_context():
            return db.engine

    def register(self) -> LoadReport:
        """Generate and load the register the first time a measure needs it; its timing after that."""
        if self._load is None:
            with self.app.app_context(), db.engine.begin() as connection:
                self._load = load_register(connection, self.scale, self.seed)
                if connection.dialect.name == "postgresql":
                    # Autovacuum would, soon after a real bulk import. Our tables only (search_path).
                    for table in TABLES:
                        connection.exec_driver_sql(f"ANALYZE {table.name}")
        return self._load

    def assessed_today(self) -> None:
        """Today's verdicts stored, as the job worker leaves them just after midnight (pages no longer
        reassess on the first visit of the day)."""
        from register import assessments

        with self.app.app_context():
            if not assessments.is_fresh():
                assessments.refresh_all(db.session())
                db.session.commit()
            db.session.remove()

    def logged_in(self, role: Role = Role.AUDITOR) -> tuple[Flask, FlaskClient]:
        """The app and a test client logged in (through the real login form) as a user with `role`."""
        if role not in self._clients:
            self._clients[role] = login(self.app, role)
        return self.app, self._clients[role]


def login(app: Flask, role: Role) -> FlaskClient:
    """Create a user with `role` through the audited service path and log a new client in as them."""
    email, password = f"bench-{role.value}@example.com", secrets.token_urlsafe(18)
    with app.app_context():
        from register.users import create_user

        with services.write_unit(Actor(AuditSource.CLI, label="bench")):
            create_user(email, f"Bench {role.label}", role, password)
    client = app.test_client()
    page = client.get("/login")
    token = CSRF_FIELD.search(page.get_data(as_text=True))
    if token is None:
        raise RuntimeError("no CSRF token in the login page")
    response = client.post("/login", data={"csrf_token": token.group(1), "email": email, "password": password})
    if response.status_code != 302:
        raise RuntimeError(f"bench login as {role.value} failed with status {response.status_code}")
    return client


# --- timing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    path: str
    requests: int
    median_ms: float
    p95_ms: float

    def __str__(self) -> str:
        return f"{self.path} median {self.median_ms:.2f} ms, p95 {self.p95_ms:.2f} ms (n={self.requests})"


def _latency(path: str, samples: list[float]) -> Latency:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Latency(path, len(samples), statistics.median(ordered) * 1000, p95 * 1000)


def _timed_get(client: FlaskClient, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: not timing an error page")
    return elapsed


def time_requests(client: FlaskClient, path: str, n: int, warmup: int = 3) -> Latency:
    """Median and 95th percentile of `n` GET requests (after a few untimed ones)."""
    for _ in range(warmup):
        _timed_get(client, path)
    return _latency(path, [_timed_get(client, path) for _ in range(n)])


def compare_latency(client: FlaskClient, path: str, n: int, baseline: str = "/healthz",
                    warmup: int = 3) -> tuple[Latency, Latency, float]:
    """Time `path` and a trivial `baseline` alternately (so noise hits both alike); ratio of medians."""
    for _ in range(warmup):
        _timed_get(client, path)
        _timed_get(client, baseline)
    measured, reference = [], []
    for _ in range(n):
        measured.append(_timed_get(client, path))
        reference.append(_timed_get(client, baseline))
    target, base = _latency(path, measured), _latency(baseline, reference)
    return target, base, target.median_ms / base.median_ms


class QueryCounter:
    """Counts the SQL statements an engine runs while active (transaction control excluded)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.statements: list[str] = []

    def _before(self, _conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if not TRANSACTION_CONTROL.match(statement):
            self.statements.append(statement)

    def __enter__(self) -> "QueryCounter":
        event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)

    @property
    def count(self) -> int:
        return len(self.statements)


def queries_per_request(bench: Bench, client: FlaskClient, path: str) -> QueryCounter:
    """The statements one GET of `path` runs."""
    client.get(path)  # warm: the first request of a client may load what later ones reuse
    with QueryCounter(bench.engine) as counter:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return counter


def csv_baseline_seconds(rows: int, directory: Path, columns: int = 12) -> float:
    """Writing `rows` rows of `columns` short values with the csv module: this machine's speed right now."""
    row = [f"value-{index}" for index in range(columns - 2)]
    path = directory / "baseline.csv"
    started = time.perf_counter()
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for number in range(rows):
            writer.writerow([number, *row, number * 7])
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def peak_rss_mib(pid: str = "self") -> float:
    """A process's peak resident memory so far, in MiB.

    Linux's VmHWM, the high-water mark of the process's own memory. Not getrusage's ru_maxrss: a
    process started by fork and exec keeps in ru_maxrss what its parent held when it forked (the
    bench process holds the whole register by then), so a child would report at least that much.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid == "self" else 0.0


class ChildPeaks:
    """The highest peak memory of this process's child processes (the import's cell reader), read
    every 0.1 s while they run: a child's own VmHWM dies with it, and ru_maxrss misleads (above).
    A child caught between its fork and its exec still shows the parent's memory: it is skipped."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "ChildPeaks":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        import os

        with open("/proc/self/cmdline", "rb") as own:
            ours = own.read()
        while not self._stop.wait(0.1):
            for task in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{task}/children") as children:
                        pids = children.read().split()
                except OSError:
                    continue
                for pid in pids:
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as command:
                            if command.read() == ours:
                                continue  # forked, not yet its own program: its memory is still ours
                    except OSError:
                        continue
                    self.peak = max(self.peak, peak_rss_mib(pid))


# --- the environment --------------------------------------------------------------------------


@contextmanager
def open_bench(scale: Scale, seed: int = DEFAULT_SEED) -> Iterator[Bench]:
    """A migrated app on a throwaway database; everything it made is removed on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="register-bench-"))
    url = os.environ.get("BENCH_DATABASE_URL")
    schema = None
    config = {"SECRET_KEY": secrets.token_hex(32)}
    admin: Optional[Engine] = None
    app: Optional[Flask] = None
    bench: Optional[Bench] = None
    try:
        if url:
            url = database_url(url)
            if url.startswith("postgresql"):
                # Our own schema, first and only on the search path: no other schema is read or written.
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                admin = create_engine(url)
                with admin.begin() as connection:
                    connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
                config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
        else:
            url = f"sqlite:///{workdir / 'register.sqlite'}"
        config["SQLALCHEMY_DATABASE_URI"] = url
        app = _create_app(workdir / "instance", config)
        with app.app_context():
            flask_migrate.upgrade()
            dialect = db.engine.dialect
            version = ".".join(str(part) for part in dialect.server_version_info or ())
            where = f"schema {schema}, dropped at the end" if schema else db.engine.url.database
        bench = Bench(app, scale, seed, f"{dialect.name} {version} ({where})", workdir, schema=schema, admin=admin)
        yield bench
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        if admin is not None:
            with admin.begin() as connection:
                for extra in bench.extra_schemas if bench is not None else ():
                    connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{extra}" CASCADE')
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def _create_app(instance_path: Path, config: dict) -> Flask:
    """create_app() reads its instance folder from the environment: point it at ours for the call."""
    previous = os.environ.get("REGISTER_INSTANCE_PATH")
    os.environ["REGISTER_INSTANCE_PATH"] = str(instance_path)
    try:
        return create_app(config)
    finally:
        if previous is None:
            del os.environ["REGISTER_INSTANCE_PATH"]
        else:
            os.environ["REGISTER_INSTANCE_PATH"] = previous
