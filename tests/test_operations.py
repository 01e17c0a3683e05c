"""Operations: readiness says what fails, every request has an id and one log line that carries no
secret, a backup restores the register, its trail and its verdicts identical (on the other backend
too), and the production server (gunicorn, as `make run` starts it) serves a logged-in page.
"""

import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text

from helpers import FAST_HASHING, PG_SCHEMA
from helpers import pg_url as _pg_url
from helpers import IsolatedClient, csrf_token, login
from register import backup, create_app, request_log
from register.extensions import db
from register.models import AuditEvent, Party, Role, RouteVerdict, TransferRoute
from register.request_log import JsonFormatter

PROJECT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- readiness -----------------------------------------------------------------------------------


def test_readiness_reports_each_check(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": {"status": "ok"}}}


def test_readiness_fails_when_the_sqlite_database_is_gone(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(tmp_path / "instance"))
    folder = tmp_path / "data"
    folder.mkdir()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'register.sqlite'}", "TESTING": True})
    with app.app_context():
        assert app.test_client().get("/readyz").status_code == 200
        db.session.remove()
        db.engine.dispose()
        shutil.rmtree(folder)  # the volume holding the database went away
        gone = app.test_client().get("/readyz")
        db.engine.dispose()
    assert gone.status_code == 503 and gone.headers["Retry-After"]
    body = gone.get_json()
    assert body["status"] == "not ready" and body["checks"]["database"]["status"] == "failed"
    assert "does not answer" in body["checks"]["database"]["problems"][0]
    assert app.test_client().get("/healthz").status_code == 200  # alive all the same


def test_readiness_fails_when_the_postgresql_database_does_not_exist(tmp_path, monkeypatch):
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs TEST_DATABASE_URL")
    monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(tmp_path / "instance"))
    missing = _pg_url().rsplit("/", 1)[0] + f"/register_missing_{uuid.uuid4().hex[:8]}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": missing, "TESTING": True})
    with app.app_context():
        gone = app.test_client().get("/readyz")
        db.engine.dispose()
    assert gone.status_code == 503
    assert gone.get_json()["checks"]["database"] == {
        "status": "failed", "problems": ["the database does not answer: OperationalError"]}


def test_readiness_checks_redis_when_the_register_uses_it(tmp_path, monkeypatch):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(tmp_path / "instance"))

    def readiness(redis_url: str):
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'register.sqlite'}", "TESTING": True,
                          "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url})
        with app.app_context():
            answer = app.test_client().get("/readyz")
            db.engine.dispose()
        return answer

    up = readiness(REDIS_URL)
    assert up.status_code == 200 and up.get_json()["checks"] == {"database": {"status": "ok"}, "redis": {"status": "ok"}}
    down = readiness(f"redis://127.0.0.1:{_closed_port()}/0")
    assert down.status_code == 503
    assert down.get_json()["checks"]["redis"] == {"status": "failed", "problems": ["Redis does not answer: ConnectionError"]}
    assert down.get_json()["checks"]["database"] == {"status": "ok"}


# --- request ids and the request log ------------------------------------------------------------


@pytest.fixture
def request_lines(caplog, monkeypatch):
    """The request log's records of this test, as the JSON lines the server writes."""
    caplog.set_level(logging.INFO, logger="register.requests")
    # The migrations' logging.config.fileConfig() disables the loggers that exist when it runs.
    monkeypatch.setattr(request_log.logger, "disabled", False)

    def lines() -> list[dict]:
        formatter = JsonFormatter()
        return [json.loads(formatter.format(record)) for record in caplog.records if record.name == "register.requests"]

    return lines


def test_a_request_id_comes_back_and_names_the_request_in_the_log(app, logged_in, request_lines):
    client = logged_in(Role.EDITOR)
    given = client.get("/third-parties/?q=Quentin+Example&page=2", headers={"X-Request-ID": "nginx-4f2a9c"})
    assert given.status_code == 200 and given.headers["X-Request-ID"] == "nginx-4f2a9c"
    odd = client.get("/", headers={"X-Request-ID": "two words <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-ID"])
    first, second = request_lines()[-2:]
    assert first == {**first, "event": "request", "method": "GET", "path": "/third-parties/", "route": "/third-parties/",
                     "status": 200, "user_id": client.user.id, "request_id": "nginx-4f2a9c", "level": "info"}
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] > 0
    assert "Quentin" not in json.dumps(first)  # no query string: searches and tokens stay out of the log
    assert second["request_id"] == odd.headers["X-Request-ID"] and second["path"] == "/"


def test_the_log_holds_no_password_and_no_capability_in_a_path(app, client, make_user, request_lines):
    user, password = make_user(Role.EDITOR)
    assert login(client, user.email, password).status_code == 302
    assert client.get("/imports/0123456789abcdef0123456789abcdef").status_code == 404
    lines = request_lines()
    assert any(line["method"] == "POST" and line["path"] == "/login" and line["status"] == 302 for line in lines)
    logged = "\n".join(json.dumps(line) for line in lines)
    assert password not in logged and "0123456789abcdef" not in logged
    assert lines[-1]["path"] == "/imports/<token>" and lines[-1]["user_id"] == user.id


def test_an_error_page_shows_the_request_id_the_log_has(app, client, request_lines):
    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/boom", "boom", boom)
    page = client.get("/boom", headers={"Accept": "text/html"})
    assert page.status_code == 500
    request_id = page.headers["X-Request-ID"]
    assert f"<code>{request_id}</code>" in page.get_data(as_text=True)
    assert request_lines()[-1]["status"] == 500 and request_lines()[-1]["request_id"] == request_id
    missing = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert f"<code>{missing.headers['X-Request-ID']}</code>" in missing.get_data(as_text=True)


# --- backup and restore --------------------------------------------------------------------------


def _rows(connection) -> dict[str, list[tuple]]:
    """Every table's rows as the register reads them (typed values), in primary-key order."""
    return {table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables}


@pytest.fixture
def other_register(database, tmp_path: Path, monkeypatch):
    """A new, empty database (no schema) on the other backend when there is one (SQLite -> PostgreSQL
    proves the format portable), else another SQLite file; yields a function making its app."""
    target = "postgresql" if database.backend == "sqlite" and os.environ.get("TEST_DATABASE_URL") else "sqlite"
    made: list[Flask] = []
    schema = f"{PG_SCHEMA}_restore"
    if target == "postgresql":
        admin = create_engine(_pg_url())
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        config = {"SQLALCHEMY_DATABASE_URI": _pg_url(),
                  "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-c search_path={schema}"}}}
    else:
        config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'restored.sqlite'}"}

    def make() -> Flask:
        monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(tmp_path / "restored-instance"))
        made.append(create_app({**config, "TESTING": True, **FAST_HASHING}))
        made[-1].test_client_class = IsolatedClient
        return made[-1]

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if target == "postgresql":
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def test_a_backup_restores_the_register_its_trail_and_its_verdicts_identical(app, demo_register, tmp_path, other_register):
    file = tmp_path / "register-backup.zip"
    made = app.test_cli_runner().invoke(args=["backup", str(file)])
    assert made.exit_code == 0, made.output
    assert oct(file.stat().st_mode & 0o777) == "0o600"  # password hashes and requesters' details
    with zipfile.ZipFile(file) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    with db.engine.connect() as connection:
        before = _rows(connection)
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert manifest["format"] == "transfer-register-backup" and manifest["alembic_revision"] == revision
    assert len(before["audit_events"]) > 100 and before["route_verdicts"] and before["users"]

    restored_app = other_register()
    with restored_app.app_context():
        restored = restored_app.test_cli_runner().invoke(args=["restore", str(file)])
        assert restored.exit_code == 0, restored.output
        assert f"migrating it to the backup's schema {revision}" in restored.output
        with db.engine.connect() as connection:
            after = _rows(connection)
        for name, rows in before.items():
            assert after[name] == rows, name  # every table, row by row: records, users, sessions, the trail
        # The stored verdicts are the rules' verdicts on the restored register.
        from register.assessments import assess

        stored = {verdict.route_id: verdict for verdict in db.session.scalars(select(RouteVerdict))}
        day = next(iter(stored.values())).assessed_on
        fresh = assess(db.session(), day, list(stored))
        assert {route_id: result.status for route_id, result in fresh.items()} == \
            {route_id: verdict.status for route_id, verdict in stored.items()}
        # The register works on: a demo user logs in, a new record gets an id no record ever had.
        _role, email, password = demo_register[0]
        client = restored_app.test_client()
        assert login(client, email, password).status_code == 302
        largest = max(row[0] for row in before["parties"])
        largest = max(largest, *(event.record_id for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.record_type == "parties"))))
        created = client.post("/api/v1/third-parties", json={"legal_name": "Restored Vendor Oy", "country_code": "FI"},
                              headers={"X-CSRFToken": csrf_token(client, "/third-parties/new")})
        assert created.status_code == 201, created.get_data(as_text=True)
        assert created.get_json()["data"]["id"] > largest


def test_a_restore_into_a_register_holding_records_is_refused_and_writes_nothing(app, demo_register, tmp_path):
    file = tmp_path / "register-backup.zip"
    backup.backup(file)
    counts = {model: db.session.scalar(select(func.count()).select_from(model)) for model in (Party, TransferRoute, AuditEvent)}
    refused = app.test_cli_runner().invoke(args=["restore", str(file)])
    assert refused.exit_code == 1
    assert "The register is not empty (" in refused.output and "Nothing was written" in refused.output
    db.session.rollback()
    assert {model: db.session.scalar(select(func.count()).select_from(model)) for model in counts} == counts


def test_a_damaged_backup_is_refused_whole(app, demo_register, tmp_path, other_register):
    file, damaged = tmp_path / "good.zip", tmp_path / "damaged.zip"
    backup.backup(file)
    with zipfile.ZipFile(file) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "tables/transfer_routes.jsonl":
                content = content.replace(b'"status":"active"', b'"status":"retired"', 1)
            target.writestr(item, content)
    restored_app = other_register()
    with restored_app.app_context():
        upgrade()  # `flask db upgrade` alone leaves a register empty: restore goes on, to the damaged table
        refused = restored_app.test_cli_runner().invoke(args=["restore", str(damaged)])
        assert refused.exit_code == 1 and "transfer_routes is damaged" in refused.output, refused.output
        assert db.session.scalar(select(func.count()).select_from(Party)) == 0  # the parties went in before: rolled back


# --- the production server -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_production_server_serves_a_logged_in_page_and_logs_it(tmp_path):
    """gunicorn started as `make run` starts it (gunicorn.conf.py), on SQLite in a folder of its own."""
    requests = pytest.importorskip("requests")
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'register.sqlite'}",
           "REGISTER_INSTANCE_PATH": str(tmp_path / "instance"), "FLASK_APP": "app", "WEB_WORKERS": "2", "WEB_THREADS": "2"}
    env.pop("LOG_FORMAT", None)
    env.pop("REDIS_URL", None)
    for command in (["db", "upgrade"], ["create-user", "ops@example.org", "--role", "editor", "--password", "correct horse battery staple"]):
        subprocess.run([str(bin_dir / "flask"), *command], cwd=PROJECT, env=env, check=True, capture_output=True, timeout=120)
    log = tmp_path / "server.log"
    with open(log, "wb") as stderr:
        server = subprocess.Popen([str(bin_dir / "gunicorn"), "--config", "gunicorn.conf.py"], cwd=PROJECT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or its workers still booting
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        browser = requests.Session()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(f"{base}/login", timeout=30).text).group(1)
        logged = browser.post(f"{base}/login", data={"csrf_token": token, "email": "ops@example.org",
                                                     "password": "correct horse battery staple"}, allow_redirects=False, timeout=30)
        assert logged.status_code == 302, logged.text
        page = browser.get(f"{base}/third-parties/", timeout=30)
        assert page.status_code == 200 and "Third parties" in page.text
        request_id = page.headers["X-Request-ID"]
        assert page.headers["Server"].startswith("gunicorn")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            assert server.wait(timeout=30) == 0  # a clean stop: workers finish and exit
        finally:
            if server.poll() is None:
                server.kill()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    [served] = [line for line in lines if line.get("request_id") == request_id]
    user_id = next(line["user_id"] for line in lines if line.get("path") == "/login" and line.get("method") == "POST")
    assert served == {**served, "event": "request", "method": "GET", "path": "/third-parties/", "status": 200,
                      "user_id": user_id} and user_id is not None
    assert "correct horse battery staple" not in log.read_text()
