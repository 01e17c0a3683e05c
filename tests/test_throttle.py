"""Rate limits hold under concurrency: logins per account and per client address, API requests per
token; the client address comes from the trusted proxies only."""

import http.client
import os
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from helpers import csrf_token
from werkzeug.serving import make_server

from register.extensions import db
from register.models import LoginThrottle, Role

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMITS = {"LOGIN_MAX_FAILURES": 5, "LOGIN_WINDOW_MINUTES": 15, "LOGIN_ADDRESS_MAX_ATTEMPTS": 8}
PARALLEL = 30


@pytest.fixture
def app_config(request) -> dict:
    """The limits of these tests, the limiter's storage when a test asks for one, and what a test
    adds (indirect parametrization)."""
    chosen_storage = request.getfixturevalue("storage") if "storage" in request.fixturenames else {}
    return {**LIMITS, **chosen_storage, **getattr(request, "param", {})}


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the real Redis; its keys are deleted afterwards."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"register-test-{uuid.uuid4().hex}"
    try:
        yield prefix
        assert list(client.scan_iter(match=f"*{prefix}*")), "the limiter wrote nothing to Redis"
    finally:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> dict:
    """The limiter's counters in memory, then in the real Redis (under this test's own prefix)."""
    if request.param == "memory":
        return {"RATELIMIT_STORAGE_URI": "memory://"}
    return {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": request.getfixturevalue("redis_prefix")}


@pytest.fixture
def served(app) -> Iterator[tuple[str, int]]:
    """The app served by a threaded Werkzeug server on a free port (each request in its own thread)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _request(address: tuple[str, int], method: str, path: str, body: str | None = None,
             headers: dict | None = None) -> tuple[int, dict, str]:
    connection = http.client.HTTPConnection(*address, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def _login_form(address: tuple[str, int]) -> tuple[str, str]:
    """A session cookie and the CSRF token of its login form, as a browser holds them."""
    _status, headers, html = _request(address, "GET", "/login")
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    return cookie, re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _parallel_logins(address: tuple[str, int], emails: list[str], password: str) -> list[tuple[int, dict, str]]:
    """Send the login attempts all at once (released together by a barrier), one thread each."""
    cookie, token = _login_form(address)
    start = threading.Barrier(len(emails))
    answers: list = [None] * len(emails)

    def attempt(number: int) -> None:
        body = urlencode({"csrf_token": token, "email": emails[number], "password": password})
        start.wait()
        try:
            answers[number] = _request(address, "POST", "/login", body, {
                "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        except Exception as error:  # counted as an error below
            answers[number] = (repr(error), {}, "")

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(len(emails))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def _verdicts(answers) -> Counter:
    return Counter({401: "checked", 429: "throttled"}.get(status, f"error {status}") for status, _, _ in answers)


def _attempt(client, email: str, password: str, remote: str = "127.0.0.1", forwarded: str | None = None):
    """One login through the test client, from a socket address, perhaps through a proxy."""
    token = csrf_token(client, "/login")
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password},
                       headers=headers, environ_base={"REMOTE_ADDR": remote})


# --- logins per account -----------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"LOGIN_ADDRESS_MAX_ATTEMPTS": 1000}], indirect=True)
def test_thirty_parallel_wrong_passwords_for_one_account_get_exactly_the_allowed_checks(app, served, make_user):
    user, password = make_user(Role.EDITOR)
    answers = _parallel_logins(served, [user.email] * PARALLEL, "not the password at all")
    assert _verdicts(answers) == {"checked": 5, "throttled": PARALLEL - 5}
    throttled = [answer for answer in answers if answer[0] == 429]
    assert all(0 < int(headers["Retry-After"]) <= 15 * 60 for _, headers, _ in throttled)
    assert all("Too many failed attempts. Wait 15 minutes" in html for _, _, html in throttled)
    cookie, token = _login_form(served)
    right = _request(served, "POST", "/login", urlencode({"csrf_token": token, "email": user.email, "password": password}),
                     {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert right[0] == 429  # locked for the window, even with the right password


def test_the_lock_ends_with_its_window(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    for _ in range(5):
        assert _attempt(client, user.email, "not the password at all").status_code == 401
    locked = _attempt(client, user.email, password)
    assert locked.status_code == 429 and 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    row = db.session.scalars(db.select(LoginThrottle)).one()
    row.window_started_at -= timedelta(minutes=16)  # as if the window had begun 16 minutes ago
    db.session.commit()
    assert _attempt(client, user.email, password).status_code == 302


def test_an_account_limit_is_kept_by_its_email_hash_not_the_email(app, client, make_user):
    user, _ = make_user(Role.EDITOR)
    _attempt(client, user.email, "not the password at all")
    keys = db.session.scalars(db.select(LoginThrottle.key)).all()
    assert len(keys) == 1 and user.email not in keys[0] and keys[0].startswith("email:")


# --- logins per client address ----------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"LOGIN_MAX_FAILURES": 1000}], indirect=True)
def test_thirty_parallel_guesses_from_one_address_get_exactly_the_address_limit(app, storage, served):
    emails = [f"guess{number}@example.org" for number in range(PARALLEL)]
    answers = _parallel_logins(served, emails, "not the password at all")
    assert _verdicts(answers) == {"checked": 8, "throttled": PARALLEL - 8}
    assert all("Too many login attempts from your network" in html for status, _, html in answers if status == 429)


def test_random_emails_from_one_address_do_not_lock_out_another_address(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    for number in range(8):
        _attempt(client, f"guess{number}@example.org", "not the password at all", remote="192.0.2.10")
    assert _attempt(client, user.email, password, remote="192.0.2.10").status_code == 429
    assert _attempt(app.test_client(), user.email, password, remote="192.0.2.20").status_code == 302


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    for number in range(8):
        _attempt(client, f"guess{number}@example.org", "wrong password here", remote="10.0.0.1", forwarded=f"203.0.113.{number}")
    # A client cannot choose a fresh address by sending the header: its socket address is limited.
    assert _attempt(client, user.email, password, remote="10.0.0.1", forwarded="198.51.100.7").status_code == 429


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}], indirect=True)
def test_behind_a_trusted_proxy_each_client_is_limited_by_its_own_address(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    for number in range(8):
        _attempt(client, f"guess{number}@example.org", "wrong password here", remote="10.0.0.1", forwarded="203.0.113.9")
    # The guesser is limited, also when it puts a made-up address before the one the proxy appended ...
    assert _attempt(client, user.email, password, remote="10.0.0.1", forwarded="192.0.2.1, 203.0.113.9").status_code == 429
    # ... and the proxy's other clients still log in.
    assert _attempt(app.test_client(), user.email, password, remote="10.0.0.1", forwarded="198.51.100.7").status_code == 302


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"API_RATE_LIMIT": "3 per minute"}], indirect=True)
def test_the_api_answers_429_in_its_error_shape_once_a_token_has_used_its_rate(app, storage, make_user, writer):
    from register.api import make_token

    user, _ = make_user(Role.AUDITOR)
    first, second = (writer(lambda name=name: make_token(user, name)[0]) for name in ("sync", "report"))
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/engagements", headers={"Authorization": f"Bearer {first}"}).status_code == 200
    refused = client.get("/api/v1/engagements", headers={"Authorization": f"Bearer {first}"})
    assert refused.status_code == 429
    assert 0 <= int(refused.headers["Retry-After"]) <= 60
    error = refused.get_json()["error"]
    assert error["status"] == 429 and "3 per minute" in error["detail"] and error["fields"] == {}
    # The rate is per token: another token of the same user is counted on its own.
    assert client.get("/api/v1/engagements", headers={"Authorization": f"Bearer {second}"}).status_code == 200


@pytest.mark.parametrize("app_config", [{"API_RATE_LIMIT": "2 per minute"}], indirect=True)
def test_anonymous_api_requests_are_limited_per_address(app):
    client = app.test_client()
    here = {"environ_base": {"REMOTE_ADDR": "192.0.2.30"}}
    assert [client.get("/api/v1/engagements", **here).status_code for _ in range(3)] == [401, 401, 429]
    assert client.get("/api/v1/engagements", environ_base={"REMOTE_ADDR": "192.0.2.31"}).status_code == 401


def test_a_malformed_api_rate_stops_start_up(database, tmp_path, monkeypatch):
    from register import create_app

    monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(RuntimeError, match="API_RATE_LIMIT: 'lots' is not a rate"):
        create_app({**database.config(tmp_path), "API_RATE_LIMIT": "lots"})
