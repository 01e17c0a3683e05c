"""Sessions held by the server: logging out ends them wherever the cookie went; pages with personal
data or a secret are never cached."""

from datetime import date, timedelta

import pytest
from helpers import csrf_token, login, post_form
from sqlalchemy import select, update

from register.extensions import db
from register.models import Role, User, UserSession, utcnow


def copy_of_cookie(app, client):
    """Another browser holding a copy of this client's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def refused(client) -> bool:
    """Whether the client is treated as logged out (sent to the login page)."""
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_cookie_replayed_after_logout_opens_nothing(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    login(client, user.email, password)
    thief = copy_of_cookie(app, client)
    assert thief.get("/").status_code == 200  # the copy works while the session is open
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    assert refused(thief)
    form = thief.get("/third-parties/new")
    assert form.status_code == 302 and form.headers["Location"].startswith("/login")


def test_logging_out_ends_only_that_session(app, make_user):
    user, password = make_user(Role.EDITOR)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user.email, password)
    login(phone, user.email, password)
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop, "/")})
    assert refused(laptop) and not refused(phone)


def test_log_out_everywhere_ends_every_session_of_the_user_only(app, make_user):
    user, password = make_user(Role.AUDITOR)
    other, other_password = make_user(Role.AUDITOR)
    laptop, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    login(laptop, user.email, password)
    login(phone, user.email, password)
    login(colleague, other.email, other_password)
    stolen = copy_of_cookie(app, phone)
    response = laptop.post("/account/sessions/end-all", data={"csrf_token": csrf_token(laptop, "/account")})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert refused(laptop) and refused(phone) and refused(stolen)
    assert not refused(colleague)


def test_the_account_page_lists_open_sessions_and_ends_one(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = "PhoneBrowser/1.0"
    login(phone, user.email, password)
    client.environ_base["HTTP_USER_AGENT"] = "DeskBrowser/2.0"
    login(client, user.email, password)
    page = client.get("/account").get_data(as_text=True)
    assert "PhoneBrowser/1.0" in page and "DeskBrowser/2.0" in page
    assert page.count("this browser") == 1 and page.index("DeskBrowser/2.0") < page.index("this browser")
    phone_session = db.session.scalar(select(UserSession).where(UserSession.user_agent == "PhoneBrowser/1.0"))
    ended = client.post(f"/account/sessions/{phone_session.id}/end", data={"csrf_token": csrf_token(client, "/account")})
    assert ended.status_code == 302
    assert refused(phone) and not refused(client)
    assert "PhoneBrowser/1.0" not in client.get("/account").get_data(as_text=True)


def test_nobody_ends_another_users_session(app, client, make_user):
    victim, victim_password = make_user(Role.EDITOR)
    theirs = app.test_client()
    login(theirs, victim.email, victim_password)
    user, password = make_user(Role.EDITOR)
    login(client, user.email, password)
    their_session = db.session.scalar(select(UserSession).where(UserSession.user_id == victim.id))
    token = csrf_token(client, "/account")
    assert client.post(f"/account/sessions/{their_session.id}/end", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/account/sessions/{10**20}/end", data={"csrf_token": token}).status_code == 404
    assert not refused(theirs)


def test_the_session_id_is_kept_only_as_a_hash(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    login(client, user.email, password)
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    session_id = serializer.loads(client.get_cookie("session").value)["sid"]
    stored = db.session.scalar(select(UserSession.id_hash).where(UserSession.user_id == user.id))
    assert session_id not in stored
    import hashlib

    assert stored == hashlib.sha256(session_id.encode()).hexdigest()


def test_a_session_unused_for_longer_than_the_lifetime_is_refused(app, client, make_user):
    user, password = make_user(Role.EDITOR)
    login(client, user.email, password)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    with db.engine.begin() as connection:
        connection.execute(update(UserSession).values(last_seen_at=utcnow() - lifetime + timedelta(minutes=5)))
    assert not refused(client)  # still within the lifetime: the visit counts and renews it
    with db.engine.begin() as connection:
        connection.execute(update(UserSession).values(last_seen_at=utcnow() - lifetime - timedelta(minutes=1)))
    assert refused(client)


def test_a_password_reset_by_an_admin_ends_the_users_sessions(app, logged_in, make_user):
    target, password = make_user(Role.EDITOR)
    theirs = app.test_client()
    login(theirs, target.email, password)
    admin = logged_in(Role.ADMIN)
    admin.post(f"/admin/users/{target.id}/reset-password", data={"csrf_token": csrf_token(admin, "/admin/users/")})
    assert refused(theirs)
    assert not refused(admin)


def test_sessions_ended_by_deactivation_stay_ended_after_reactivation(app, logged_in, make_user):
    target, password = make_user(Role.EDITOR)
    theirs = app.test_client()
    login(theirs, target.email, password)
    admin = logged_in(Role.ADMIN)
    fields = {"email": target.email, "name": target.name, "role": "editor"}
    post_form(admin, f"/admin/users/{target.id}/edit", {**fields, "version": str(target.version)})
    version = db.session.get(User, target.id).version
    assert post_form(admin, f"/admin/users/{target.id}/edit", {**fields, "is_active": "y", "version": str(version)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).is_active
    assert refused(theirs)
    assert login(app.test_client(), target.email, password).status_code == 302  # logging in again works


# --- where the login page sends you --------------------------------------------------------------

# The query strings as sent (percent-encoded): each would lead elsewhere, or broke the page.
ELSEWHERE = ["%2F%09%2Fevil.example%2Fphish", "%2F%0A%2Fx", "//x", "%2F%2Fx", "/%5Cx", "%2F%5Cx", "https://x",
             "https:%2F%2Fx", "%2F%0D%0ASet-Cookie:x=1", "/%E3%80%80/x", "%09/x", "javascript:alert(1)"]


def test_the_login_page_sends_you_only_to_a_path_of_this_site(app, make_user):
    user, password = make_user(Role.EDITOR)
    for payload in ELSEWHERE:
        browser = app.test_client()
        response = login_at(browser, f"/login?next={payload}", user.email, password)
        assert (response.status_code, response.headers["Location"]) == (302, "/"), payload


@pytest.mark.parametrize("target", ["/third-parties/new", "/routes/?coverage=gap&regime=EU", "/%255Cx"])
def test_the_login_page_keeps_a_path_of_this_site(client, make_user, target):
    from urllib.parse import quote

    user, password = make_user(Role.EDITOR)
    token = csrf_token(client, "/login")
    response = client.post(f"/login?next={quote(target, safe='')}", data={"csrf_token": token, "email": user.email, "password": password})
    assert response.headers["Location"] == target


def test_a_visitor_sent_to_log_in_comes_back_to_the_page_asked_for(client, make_user):
    user, password = make_user(Role.EDITOR)
    to_login = client.get("/third-parties/new")
    response = login_at(client, to_login.headers["Location"], user.email, password)
    assert response.headers["Location"] == "/third-parties/new"


def login_at(client, login_path: str, email: str, password: str):
    return client.post(login_path, data={"csrf_token": csrf_token(client, login_path), "email": email, "password": password})


# --- pages never cached ---------------------------------------------------------------------------


@pytest.fixture
def subject_request(writer):
    from register.requests.operations import create_request

    return writer(lambda: create_request({"request_type": "processor_list", "channel": "email", "received_on": date.today(),
                                          "requester": {"name": "A Person", "contact": "a@person.example"}}))


NO_STORE_PAGES = ["/requests/", "/requests/{request}", "/requests/{request}/edit", "/requests/new", "/requests/log.xlsx",
                  "/admin/users/", "/admin/users/new", "/admin/users/{user}/edit", "/account/tokens/", "/account",
                  "/account/password"]


def test_pages_with_personal_data_or_secrets_are_never_cached(logged_in, make_user, subject_request):
    other, _ = make_user(Role.AUDITOR)
    admin = logged_in(Role.ADMIN)
    for path in NO_STORE_PAGES:
        response = admin.get(path.format(request=subject_request.id, user=other.id))
        assert response.status_code == 200, path
        assert response.headers.get("Cache-Control") == "no-store", path


def test_a_new_password_and_a_new_token_are_shown_with_no_store(logged_in, make_user):
    target, _ = make_user(Role.EDITOR)
    admin = logged_in(Role.ADMIN)
    reset = admin.post(f"/admin/users/{target.id}/reset-password", data={"csrf_token": csrf_token(admin, "/admin/users/")})
    created = post_form(admin, "/admin/users/new", {"email": "new@example.org", "name": "New", "role": "editor", "is_active": "y"})
    token = post_form(admin, "/account/tokens/", {"name": "sync"})
    for response in (reset, created, token):
        assert response.status_code == 200 and "<code>" in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
