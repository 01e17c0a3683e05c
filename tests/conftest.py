"""Fixtures: a migrated database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).

The schema comes only from the Alembic migrations: it is built once per backend and session, then
each test starts from an empty copy (SQLite: a copy of the migrated file; PostgreSQL: a dedicated
schema whose tables are truncated).
"""

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

import helpers
from helpers import IsolatedClient
from register import create_app, services
from register.audit import Actor
from register.extensions import db
from register.models import AuditSource, Role

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
# In helpers, for test modules to import: under pytest-xdist, `conftest` may name tests/e2e/conftest.py.
PG_SCHEMA, FAST_HASHING, _pg_url = helpers.PG_SCHEMA, helpers.FAST_HASHING, helpers.pg_url


@dataclass
class Database:
    backend: str
    template: Path | None = None

    def config(self, tmp_path: Path) -> dict:
        if self.backend == "sqlite":
            target = tmp_path / "register.sqlite"
            shutil.copyfile(self.template, target)
            return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"}
        return {
            "SQLALCHEMY_DATABASE_URI": _pg_url(),
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-c search_path={PG_SCHEMA}"}},
        }

    def empty(self, app: Flask) -> None:
        if self.backend == "postgresql":
            tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
            with db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _build_schema(backend: str, directory: Path) -> Database:
    if backend == "sqlite":
        template = directory / "template.sqlite"
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{template}", "TESTING": True})
        with app.app_context():
            upgrade()
            db.session.remove()
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.engine.dispose()
        return Database("sqlite", template)
    engine = create_engine(_pg_url())
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    engine.dispose()
    database = Database("postgresql")
    app = create_app({**database.config(directory), "TESTING": True})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    return database


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory) -> Database:
    directory = tmp_path_factory.mktemp(f"db-{request.param}")
    os.environ["REGISTER_INSTANCE_PATH"] = str(directory / "instance")
    return _build_schema(request.param, directory)


@pytest.fixture
def app_config() -> dict:
    """Settings a test module adds to the app's: override this fixture in the module."""
    return {}


@pytest.fixture
def app(database: Database, tmp_path: Path, monkeypatch, app_config: dict) -> Iterator[Flask]:
    monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({**database.config(tmp_path), "TESTING": True, **FAST_HASHING, **app_config})
    app.test_client_class = IsolatedClient
    with app.app_context():
        database.empty(app)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


# --- helpers ----------------------------------------------------------------------------------

@pytest.fixture
def make_user(app: Flask) -> Callable[..., tuple]:
    """Create a user with a role; returns (user, password)."""
    from register.users import create_user

    counter = {"n": 0}

    def make(role: Role | str = Role.EDITOR, email: str | None = None, password: str = "correct horse battery") -> tuple:
        counter["n"] += 1
        email = email or f"{Role(role).value}{counter['n']}@example.org"
        with services.write_unit(Actor(AuditSource.CLI, label="test")):
            user = create_user(email, f"Test {Role(role).label}", Role(role), password)
        return user, password

    return make


@pytest.fixture
def logged_in(client: FlaskClient, make_user) -> Callable[[Role | str], FlaskClient]:
    """Log the test client in as a new user with the role."""

    def as_role(role: Role | str) -> FlaskClient:
        user, password = make_user(role)
        response = helpers.login(client, user.email, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        client.user = user
        return client

    return as_role


@pytest.fixture
def writer(app: Flask) -> Callable:
    """Run register writes through the audited services as a test actor: writer(lambda: ...)."""

    def write(action: Callable, source: AuditSource = AuditSource.CLI):
        with services.write_unit(Actor(source, label="test")):
            return action()

    return write


# --- the demo register, loaded once per backend -------------------------------------------------
#
# Loading the demo through the services takes 5-15 s; the tests that only need it loaded share one
# load per backend and worker: the first runs register.seed.load_demo() for real, the others get a copy
# of the rows it wrote (SQLite: the database file; PostgreSQL: every table copied from a schema of its
# own), sequences included. tests/test_seed.py still checks what the load itself does.

_DEMO: dict[str, tuple] = {}


def _pg_demo_schema() -> str:
    return f"{PG_SCHEMA}_demo"


def _keep_demo(database: Database, tmp_path: Path) -> Path | None:
    db.session.remove()
    if database.backend == "sqlite":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        kept = database.template.with_name("demo.sqlite")
        shutil.copyfile(tmp_path / "register.sqlite", kept)
        return kept
    demo = _pg_demo_schema()
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {demo} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {demo}"))
        for table in db.metadata.sorted_tables:
            connection.execute(text(f'CREATE TABLE {demo}."{table.name}" AS SELECT * FROM {PG_SCHEMA}."{table.name}"'))
    return None


def _restore_demo(database: Database, tmp_path: Path, kept: Path | None) -> None:
    db.session.remove()
    db.engine.dispose()
    if database.backend == "sqlite":
        target = tmp_path / "register.sqlite"
        for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(kept, target)
        return
    demo = _pg_demo_schema()
    with db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            columns = ", ".join(f'"{column.name}"' for column in table.columns)
            connection.execute(text(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM {demo}."{table.name}"'))
            if "id" in table.columns and table.columns["id"].autoincrement in (True, "auto") \
                    and len(table.primary_key.columns) == 1:
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false) "
                    f"WHERE pg_get_serial_sequence('\"{table.name}\"', 'id') IS NOT NULL"))


@pytest.fixture
def demo_register(app: Flask, database: Database, tmp_path: Path) -> list[tuple[str, str, str]]:
    """The demo register in the test's empty database; the logins it created (role, email, password)."""
    from register.seed import load_demo

    if database.backend not in _DEMO:
        logins = load_demo()
        _DEMO[database.backend] = (logins, _keep_demo(database, tmp_path))
        return logins
    logins, kept = _DEMO[database.backend]
    from register.models import Party, User

    written = [model.__name__ for model in (Party, User) if db.session.query(model.id).first() is not None]
    assert not written, f"demo_register copies the demo over an empty register: ask for it before {written} are written"
    _restore_demo(database, tmp_path, kept)
    return logins


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepts: smtp.inbox.received."""
    server = helpers.SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_config(smtp) -> dict:
    """Settings that send the app's mail to the suite's SMTP server, links under a fixed BASE_URL
    (a mail test module's app_config returns it)."""
    return {"MAIL_HOST": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_SECURITY": "none",
            "MAIL_SENDER": "Transfer register <register@meridian.example>", "BASE_URL": "https://register.meridian.example/"}
