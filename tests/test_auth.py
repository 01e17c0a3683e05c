"""Logging in: one message for every failure, throttling, sessions, cookies, CSRF, headers."""

import pytest
from helpers import csrf_token, login, post_form

from register.models import Role


def test_anonymous_visitors_see_only_the_login_page(client):
    assert client.get("/").status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")
    assert client.get("/admin/users/").status_code == 302
    page = client.get("/login")
    assert page.status_code == 200 and "Log in" in page.get_data(as_text=True)


def test_a_user_logs_in_and_sees_the_register(client, make_user):
    user, password = make_user(Role.AUDITOR)
    response = login(client, user.email.upper(), password)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "The register" in home and user.name in home


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(client, make_user):
    user, _ = make_user(Role.EDITOR)
    wrong = login(client, user.email, "not the password at all")
    unknown = login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Email or password is incorrect." in wrong.get_data(as_text=True)
    assert "Email or password is incorrect." in unknown.get_data(as_text=True)


@pytest.mark.parametrize("account_exists", [True, False])
def test_repeated_failures_lock_the_email_even_for_the_right_password(app, client, make_user, account_exists):
    user, password = make_user(Role.EDITOR)
    email = user.email if account_exists else "ghost@example.org"
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, email, "wrong password here").status_code == 401
    locked = login(client, email, password)
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in


def test_failures_from_one_address_are_limited_across_emails(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    limit = app.config["LOGIN_ADDRESS_MAX_ATTEMPTS"]
    for attempt in range(limit):
        login(client, f"guess{attempt}@example.org", "wrong password here")
    assert login(client, user.email, password).status_code == 429


def test_a_successful_login_clears_the_email_counter(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        login(client, user.email, "wrong password here")
    assert login(client, user.email, password).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        login(client, user.email, "wrong password here")
    assert login(client, user.email, password).status_code == 302


def test_a_deactivated_user_cannot_log_in(client, make_user, writer):
    from register import services
    from register.extensions import db
    from register.models import User

    user, password = make_user(Role.EDITOR)
    writer(lambda: services.update(db.session.get(User, user.id), {"is_active": False}, expected_version=user.version))
    assert login(client, user.email, password).status_code == 401


def test_forms_without_a_csrf_token_are_refused(client, make_user):
    user, password = make_user(Role.EDITOR)
    refused = client.post("/login", data={"email": user.email, "password": password})
    assert refused.status_code == 400 and "security token" in refused.get_data(as_text=True)
    login(client, user.email, password)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in: the forged logout did nothing


def test_the_login_page_refuses_to_redirect_elsewhere(client, make_user):
    user, password = make_user(Role.EDITOR)
    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example/x", data={"csrf_token": token, "email": user.email, "password": password})
    assert response.headers["Location"] == "/"


def test_session_cookies_are_httponly_and_samesite_lax(client, make_user):
    user, password = make_user(Role.EDITOR)
    response = login(client, user.email, password)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookies_are_secure_when_configured(database, tmp_path, monkeypatch):
    from register import create_app

    monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    app = create_app({**database.config(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    with app.test_client() as client:
        assert "Strict-Transport-Security" in client.get("/login").headers


def test_every_page_carries_the_security_headers(client):
    headers = client.get("/login").headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_load_nothing_from_the_internet(client):
    html = client.get("/login").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html


def test_changing_the_password_ends_other_sessions(app, make_user):
    user, password = make_user(Role.EDITOR)
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user.email, password)
    login(elsewhere, user.email, password)
    new_password = "a much longer passphrase"
    response = post_form(here, "/account/password", {"current_password": password, "new_password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert login(app.test_client(), user.email, password).status_code == 401
    assert login(app.test_client(), user.email, new_password).status_code == 302


@pytest.mark.parametrize(
    ("new_password", "message"),
    [("short", "at least 12 characters"), ("aaaaaaaaaaaaaaaa", "more different characters"), ("editor1-is-my-password", "email address")],
)
def test_weak_new_passwords_are_refused_with_the_reason(client, make_user, new_password, message):
    user, password = make_user(Role.EDITOR, email="editor1@example.org")
    login(client, user.email, password)
    response = post_form(client, "/account/password", {"current_password": password, "new_password": new_password, "confirm": new_password})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_the_current_password_is_required_to_change_it(client, make_user):
    user, password = make_user(Role.EDITOR)
    login(client, user.email, password)
    response = post_form(client, "/account/password", {"current_password": "guess guess guess", "new_password": "another long passphrase", "confirm": "another long passphrase"})
    assert "This is not your current password." in response.get_data(as_text=True)


def test_production_password_hashing_is_argon2id_at_rfc9106_parameters(app):
    from register.config import settings

    production = settings(app.instance_path and __import__("pathlib").Path(app.instance_path))
    assert production["PASSWORD_HASH_TIME_COST"] >= 3 and production["PASSWORD_HASH_MEMORY_KIB"] >= 65536


def test_the_secret_key_is_generated_once_and_kept_in_the_instance_folder(tmp_path, monkeypatch):
    from register.config import secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = secret_key(tmp_path)
    assert len(first) == 64 and secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert secret_key(tmp_path) == "from-the-environment"
