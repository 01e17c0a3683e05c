"""Faults answer clearly: input beyond what the register holds is a 400/422 (never a 500), storage that
is full or read-only is a 503 "the register cannot save right now" while reading goes on, /readyz says
whether the register can save, and no scratch copy is left behind (a stopped import job: test_jobs.py)."""

import html
import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import IsolatedClient, csrf_token, login
from sqlalchemy import event, func, select

from register import create_app, services
from register.api import make_token
from register.api.resources import RESOURCES
from register.audit import Actor
from register.extensions import db
from register.models import AuditSource, LoginThrottle, Role, ThirdParty
from register.record_types import ALL_PAGES
from register.users import create_user

HUGE = "99999999999999999999"
EDITOR, PASSWORD = "editor@example.org", "correct horse battery"
VENDOR = {"legal_name": "Kaveri Data Services", "country_code": "IN", "vetting_status": "pending", "status": "active"}


def editor_with_token() -> str:
    with services.write_unit(Actor(AuditSource.CLI, label="test")):
        secret, _token = make_token(create_user(EDITOR, "Editor", Role.EDITOR, PASSWORD), "tests")
    return secret


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response, status: int) -> dict:
    """The one JSON error shape, with this status."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["status"] == status and error["title"] and set(error) == {"status", "title", "detail", "fields"}
    return error


# --- bounded numbers, dates and bodies ----------------------------------------------------------


def test_a_huge_page_number_shows_the_last_page_of_every_list(logged_in):
    client = logged_in(Role.EDITOR)
    with client.application.test_request_context():
        lists = [pages.url("index") for pages in ALL_PAGES] + ["/history"]
    # Every record type the registry knows (a new one joins by itself); the core ones named.
    assert {"/third-parties/", "/routes/", "/vendor-statements/", "/history"} <= set(lists)
    for url in lists:
        page = client.get(f"{url}?page={HUGE}")
        assert page.status_code == 200, (url, page.status_code)
        assert client.get(f"{url}?page=-{HUGE}").status_code == 200, url


def test_a_huge_page_number_in_the_api_is_a_field_error_on_every_list(client):
    secret = editor_with_token()
    assert {"third-parties", "routes", "vendor-statements"} <= {resource.name for resource in RESOURCES}
    for resource in RESOURCES:
        for name in ("page", "per_page"):
            error = assert_problem(client.get(f"/api/v1/{resource.name}?{name}={HUGE}", headers=bearer(secret)), 422)
            assert name in error["fields"], resource.name


def test_ids_in_query_strings_beyond_any_record_are_refused_or_match_nothing(logged_in):
    client = logged_in(Role.EDITOR)
    assert client.get(f"/history?user={HUGE}").status_code == 400
    assert client.get(f"/history?record_id={HUGE}").status_code == 400
    assert client.get("/history?record_id=²").status_code == 400  # a digit to str.isdigit, not to int()
    assert client.get(f"/lookup/route-defaults?exporter_id={HUGE}&importer_id={HUGE}").status_code == 200
    assert client.get(f"/processors?entity={HUGE}").status_code == 404


OUT_OF_RANGE_DATES = ["/dashboard?on=9999-12-31", "/dashboard?on=1899-12-31", "/history?since=9999-12-31",
                      "/history?until=9999-12-31", "/history/as-of?at=9999-12-31", "/history/compare?from=0001-01-01",
                      "/exports/register.xlsx?on=9999-12-31"]


def test_a_date_outside_1900_to_2999_is_a_clear_400(logged_in):
    client = logged_in(Role.EDITOR)
    for url in OUT_OF_RANGE_DATES:
        page = client.get(url)
        assert page.status_code == 400, (url, page.status_code)
        assert "Something went wrong" not in page.get_data(as_text=True), url


def test_the_last_day_the_register_accepts_is_computed_with(logged_in):
    client = logged_in(Role.EDITOR)
    page = client.get("/dashboard?on=2999-12-31")
    assert page.status_code == 200 and "2999-12-31" in page.get_data(as_text=True)


def test_api_dates_outside_the_range_are_field_errors(client):
    secret = editor_with_token()
    assert "on" in assert_problem(client.get("/api/v1/routes?on=9999-12-31", headers=bearer(secret)), 422)["fields"]
    created = client.post("/api/v1/third-parties", headers=bearer(secret),
                          json={"legal_name": "Kaveri", "country_code": "IN", "vetting_next_review_on": "9999-12-31"})
    assert "vetting_next_review_on" in assert_problem(created, 422)["fields"]
    vendor = client.post("/api/v1/third-parties", headers=bearer(secret), json={"legal_name": "Kaveri", "country_code": "IN"})
    retire = client.post(f"/api/v1/third-parties/{vendor.get_json()['data']['id']}/retire", headers=bearer(secret),
                         json={"ends_on": "9999-12-31"})
    assert "ends_on" in assert_problem(retire, 422)["fields"]


def test_a_form_date_outside_the_range_is_shown_on_its_field(logged_in):
    client = logged_in(Role.EDITOR)
    form = {"csrf_token": csrf_token(client, "/third-parties/new"), **VENDOR, "vetting_next_review_on": "9999-12-31"}
    page = client.post("/third-parties/new", data=form)
    assert page.status_code == 400 and "A date from 1900-01-01 to 2999-12-31." in page.get_data(as_text=True)
    assert "9999-12-31" in page.get_data(as_text=True)  # the user's input is shown again


def test_json_nested_deeper_than_32_levels_is_refused_before_it_is_parsed(client):
    secret = editor_with_token()
    deep = '{"legal_name": "Kaveri", "country_code": "IN", "notes": ' + "[" * 5000 + "]" * 5000 + "}"
    error = assert_problem(client.post("/api/v1/third-parties", headers=bearer(secret), data=deep,
                                       content_type="application/json"), 400)
    assert "32 levels" in error["detail"]
    brackets_in_text = {"legal_name": "[" * 5000, "country_code": "IN"}  # inside a string: not nesting
    assert client.post("/api/v1/third-parties", headers=bearer(secret), json=brackets_in_text).status_code != 400


def test_a_body_larger_than_the_api_limit_is_413(client):
    secret = editor_with_token()
    body = json.dumps({"legal_name": "Kaveri", "country_code": "IN", "notes": "x" * (300 * 1024)})
    assert_problem(client.post("/api/v1/third-parties", headers=bearer(secret), data=body,
                               content_type="application/json"), 413)


# --- storage that cannot save -------------------------------------------------------------------


@pytest.fixture
def read_only_app(app, database, tmp_path):
    """Opens the same register read-only (after the test has written what it reads): SQLite through a
    ?mode=ro URI, PostgreSQL with default_transaction_read_only on every connection. The refusals are
    the databases' own."""
    opened = []

    def open_read_only():
        if database.backend == "sqlite":
            path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
            config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///file:{path}?mode=ro&uri=true"}
        else:
            config = database.config(tmp_path)
            options = config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
            config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": options + " -c default_transaction_read_only=on"}}
        db.session.commit()
        read_only = create_app({**config, "TESTING": True, "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024,
                                "SECRET_KEY": app.config["SECRET_KEY"]})
        read_only.test_client_class = IsolatedClient
        opened.append(read_only)
        return read_only

    yield open_read_only
    for read_only in opened:
        with read_only.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_read_only_database_is_read_by_open_sessions_but_refuses_writes_with_a_503(app, client, read_only_app, writer):
    secret = editor_with_token()
    writer(lambda: services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US"}))
    assert login(client, EDITOR, PASSWORD).status_code == 302  # a session opened while the register could save
    cookie = client.get_cookie("session").value
    read_only = read_only_app()
    with read_only.app_context():
        client = read_only.test_client()
        client.set_cookie("session", cookie)
        for url in ("/", "/third-parties/", "/dashboard", "/history", "/api/v1/third-parties"):
            assert client.get(url).status_code == 200, url
        assert "Cloudy Inc" in client.get("/third-parties/").get_data(as_text=True)
        form = {"csrf_token": csrf_token(client, "/third-parties/new"), **VENDOR}
        page = client.post("/third-parties/new", data=form)
        assert page.status_code == 503 and "The register cannot save right now" in page.get_data(as_text=True)
        api = read_only.test_client().post("/api/v1/third-parties", headers=bearer(secret),
                                           json={"legal_name": "Kaveri", "country_code": "IN"})
        assert "cannot save" in assert_problem(api, 503)["title"]
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "read-only" in " ".join(ready.get_json()["problems"])
    assert db.session.scalar(select(func.count()).select_from(ThirdParty)) == 1


def test_a_login_whose_throttle_cannot_be_written_still_decides_by_the_password(client, read_only_app):
    editor_with_token()
    assert login(client, EDITOR, "wrong password here").status_code == 401  # a throttle row to clear
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) > 0
    read_only = read_only_app()
    with read_only.app_context():
        again = read_only.test_client()
        assert login(again, EDITOR, "another wrong one").status_code == 401
        # The right password: no session row can be written (logout could not end it), and it says why.
        refused = login(again, EDITOR, PASSWORD)
        assert refused.status_code == 503 and "Your password is right, but you cannot log in right now" in \
            html.unescape(refused.get_data(as_text=True))
        assert again.get("/").status_code == 302  # not logged in


def test_a_full_disk_refuses_the_write_with_a_503_and_keeps_the_register(app, client):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's max_page_count gives a real 'database or disk is full'")
    secret = editor_with_token()
    db.session.remove()
    db.engine.dispose()

    @event.listens_for(db.engine, "connect")
    def full(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")  # not one page more
        cursor.close()

    notes = "A long note on what the vendor processes. " * 300  # more than the free room of any page
    api = client.post("/api/v1/third-parties", headers=bearer(secret),
                      json={"legal_name": "Kaveri", "country_code": "IN", "notes": notes[:10000]})
    assert_problem(api, 503)
    assert api.headers["Retry-After"]
    assert db.session.scalar(select(func.count()).select_from(ThirdParty)) == 0


# --- readiness ----------------------------------------------------------------------------------


def test_readiness_says_ready_when_the_database_answers_and_can_save(client):
    assert client.get("/readyz").get_json() == {"status": "ready", "checks": {"database": {"status": "ok"}}}
    assert client.get("/healthz").get_json() == {"status": "ok"}


# --- scratch copies -----------------------------------------------------------------------------


def _scratch_copies() -> set[Path]:
    from register.timeline import SCRATCH_PREFIX

    return set(Path(tempfile.gettempdir()).glob(SCRATCH_PREFIX + "*"))


def test_an_as_of_scratch_copy_is_removed_when_the_work_on_it_fails(app):
    from register.timeline import as_of_session

    before = _scratch_copies()
    with pytest.raises(RuntimeError):
        with as_of_session(datetime.now(timezone.utc)):
            assert _scratch_copies() - before  # the copy exists while it is read
            raise RuntimeError("the export failed")
    assert _scratch_copies() - before == set()


def test_scratch_copies_a_killed_process_left_are_swept_at_start_up(app, database, tmp_path):
    from register.timeline import SCRATCH_PREFIX

    old = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    (old / "register.sqlite").write_bytes(b"left by a crash")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    recent = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))  # another process's copy, in use
    try:
        (tmp_path / "again").mkdir()
        create_app({**database.config(tmp_path / "again"), "TESTING": True})
        assert not old.exists() and recent.exists()
    finally:
        for folder in (old, recent):
            if folder.exists():
                for child in folder.iterdir():
                    child.unlink()
                folder.rmdir()
