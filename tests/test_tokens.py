"""API tokens: a scope never above the role, an expiry, a last use, revoked with the password."""

import hashlib
from datetime import timedelta

import pytest
from helpers import csrf_token, login, post_form
from sqlalchemy import func, select, update

from register import services
from register.api import make_token
from register.audit import Actor
from register.extensions import db
from register.models import ApiToken, AuditEvent, AuditSource, Role, ThirdParty, TokenScope, User, utcnow


@pytest.fixture
def vendor(writer):
    return writer(lambda: services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US"}))


def new_token(user, scope=None, days=None) -> dict:
    with services.write_unit(Actor(AuditSource.CLI, label="test")):
        secret, _record = make_token(user, "tests", scope, days)
    return {"Authorization": f"Bearer {secret}"}


def events() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def token_of(headers: dict) -> ApiToken:
    db.session.rollback()
    digest = hashlib.sha256(headers["Authorization"][7:].encode()).hexdigest()
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))


# --- the role matrix, by scope ---------------------------------------------------------------------

# (role, scope, may write): a token never does more than its user's role, nor more than its scope.
PAIRS = [
    (Role.AUDITOR, TokenScope.READ, False),
    (Role.EDITOR, TokenScope.READ, False),
    (Role.EDITOR, TokenScope.READ_WRITE, True),
    (Role.ADMIN, TokenScope.READ, False),
    (Role.ADMIN, TokenScope.READ_WRITE, True),
]


@pytest.mark.parametrize(("role", "scope", "may_write"), PAIRS, ids=lambda value: str(value))
def test_role_and_scope_matrix_over_read_and_write_endpoints(client, make_user, vendor, role, scope, may_write):
    user, _ = make_user(role)
    headers = new_token(user, scope.value)
    reads = [("GET", "/api/v1/third-parties", None), ("GET", f"/api/v1/third-parties/{vendor.id}", None)]
    writes = [("POST", "/api/v1/third-parties", {"legal_name": f"New {role} {scope}", "country_code": "GB"}),
              ("PATCH", f"/api/v1/third-parties/{vendor.id}", {"trading_name": f"Cloudy {role} {scope}", "version": 1}),
              ("POST", f"/api/v1/third-parties/{vendor.id}/retire", {"version": 2})]
    for method, path, body in reads:
        assert client.open(path, method=method, headers=headers).status_code == 200, (method, path)
    before = events()
    for method, path, body in writes:
        response = client.open(path, method=method, headers=headers, json=body)
        if may_write:
            assert response.status_code in (200, 201), (method, path, response.get_json())
        else:
            assert response.status_code == 403, (method, path)
            error = response.get_json()["error"]
            assert error["status"] == 403 and set(error) == {"status", "title", "detail", "fields"}
    assert (events() > before) == may_write


def test_an_auditors_token_can_only_read(make_user):
    auditor, _ = make_user(Role.AUDITOR)
    with pytest.raises(services.DomainError) as refused:
        new_token(auditor, "read_write")
    assert refused.value.errors == {"scope": ["The auditor role allows only a read token."]}
    assert token_of(new_token(auditor)).scope == TokenScope.READ  # the default is what the role allows


def test_an_editors_token_defaults_to_read_and_write(make_user):
    editor, _ = make_user(Role.EDITOR)
    assert token_of(new_token(editor)).scope == TokenScope.READ_WRITE


def test_a_token_writes_no_more_once_its_user_is_made_an_auditor(client, make_user, writer):
    editor, _ = make_user(Role.EDITOR)
    headers = new_token(editor, "read_write")
    writer(lambda: services.update(db.session.get(User, editor.id), {"role": Role.AUDITOR}, expected_version=editor.version))
    response = client.post("/api/v1/third-parties", headers=headers, json={"legal_name": "Late Ltd", "country_code": "GB"})
    assert response.status_code == 403
    assert client.get("/api/v1/third-parties", headers=headers).status_code == 200


def test_a_token_opens_the_api_but_not_the_pages(client, make_user):
    editor, _ = make_user(Role.EDITOR)
    headers = new_token(editor)
    assert client.get("/api/v1/third-parties", headers=headers).status_code == 200
    page = client.get("/third-parties/new", headers=headers)
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


# --- expiry and last use ------------------------------------------------------------------------------


def test_a_token_expires_after_the_default_days_unless_told_otherwise(app, make_user):
    editor, _ = make_user(Role.EDITOR)
    default = token_of(new_token(editor)).expires_at - utcnow()
    assert timedelta(days=app.config["API_TOKEN_DAYS"]) - default < timedelta(minutes=1)
    week = token_of(new_token(editor, days=7)).expires_at - utcnow()
    assert timedelta(days=7) - week < timedelta(minutes=1)


@pytest.mark.parametrize("days", [0, -1, 366, 10_000])
def test_a_token_cannot_outlast_the_maximum(make_user, days):
    editor, _ = make_user(Role.EDITOR)
    with pytest.raises(services.DomainError) as refused:
        new_token(editor, days=days)
    assert refused.value.errors == {"expires_in_days": ["A whole number of days from 1 to 365."]}


def test_an_expired_token_is_refused_with_401(client, make_user):
    editor, _ = make_user(Role.EDITOR)
    headers = new_token(editor, days=1)
    assert client.get("/api/v1/third-parties", headers=headers).status_code == 200
    with db.engine.begin() as connection:
        connection.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.get("/api/v1/third-parties", headers=headers)
    assert response.status_code == 401 and "expired" in response.get_json()["error"]["detail"]
    assert client.post("/api/v1/third-parties", headers=headers, json={"legal_name": "X", "country_code": "GB"}).status_code == 401


def test_a_tokens_last_use_is_noted_without_an_audit_event_or_a_new_version(client, make_user):
    editor, _ = make_user(Role.EDITOR)
    headers = new_token(editor)
    assert token_of(headers).last_used_at is None
    before, version = events(), token_of(headers).version
    client.get("/api/v1/third-parties", headers=headers)
    used = token_of(headers)
    assert used.last_used_at is not None and utcnow() - used.last_used_at < timedelta(minutes=1)
    assert (events(), used.version) == (before, version)


def test_the_token_page_shows_scope_expiry_and_last_use(app, client, make_user):
    editor, password = make_user(Role.EDITOR)
    login(client, editor.email, password)
    created = post_form(client, "/account/tokens/", {"name": "nightly sync", "scope": "read", "expires_in_days": "30"})
    assert created.status_code == 200
    secret = created.get_data(as_text=True).split('<p class="secret"><code>')[1].split("</code>")[0]
    record = token_of({"Authorization": f"Bearer {secret}"})
    assert record.scope == TokenScope.READ and timedelta(days=30) - (record.expires_at - utcnow()) < timedelta(minutes=1)
    page = client.get("/account/tokens/").get_data(as_text=True)
    assert "Read</td>" in page and record.expires_at.strftime("%Y-%m-%d %H:%M") in page and "never" in page
    app.test_client().get("/api/v1/third-parties", headers={"Authorization": f"Bearer {secret}"})
    assert "never" not in client.get("/account/tokens/").get_data(as_text=True)


def test_the_token_form_refuses_a_scope_above_the_role_and_too_many_days(client, make_user):
    auditor, password = make_user(Role.AUDITOR)
    login(client, auditor.email, password)
    form = client.get("/account/tokens/").get_data(as_text=True)
    assert 'value="read"' in form and 'value="read_write"' not in form
    above = post_form(client, "/account/tokens/", {"name": "sneaky", "scope": "read_write", "expires_in_days": "30"})
    assert above.status_code == 400 and "Not a valid choice" in above.get_data(as_text=True)
    longer = post_form(client, "/account/tokens/", {"name": "forever", "scope": "read", "expires_in_days": "5000"})
    page = longer.get_data(as_text=True)
    assert longer.status_code == 400 and "A whole number of days from 1 to 365." in page and 'value="forever"' in page
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_the_cli_makes_a_token_with_a_scope_and_an_expiry(runner, make_user):
    editor, _ = make_user(Role.EDITOR)
    result = runner.invoke(args=["create-token", editor.email, "--scope", "read", "--expires-in-days", "7"])
    assert result.exit_code == 0, result.output
    record = token_of({"Authorization": "Bearer " + result.output.strip().splitlines()[-1]})
    assert record.scope == TokenScope.READ and timedelta(days=7) - (record.expires_at - utcnow()) < timedelta(minutes=1)
    auditor, _ = make_user(Role.AUDITOR)
    refused = runner.invoke(args=["create-token", auditor.email, "--scope", "read_write"])
    assert refused.exit_code != 0 and "allows only a read token" in refused.output
    assert runner.invoke(args=["create-token", editor.email, "--expires-in-days", "400"]).exit_code != 0


# --- revoked with the password, never revived ------------------------------------------------------


def test_changing_ones_password_revokes_ones_tokens(app, client, make_user):
    editor, password = make_user(Role.EDITOR)
    headers = new_token(editor)
    login(client, editor.email, password)
    new_password = "a much longer passphrase"
    post_form(client, "/account/password", {"current_password": password, "new_password": new_password, "confirm": new_password})
    api = app.test_client()
    assert api.get("/api/v1/third-parties", headers=headers).status_code == 401
    assert token_of(headers).revoked_at is not None


def test_an_admins_reset_revokes_the_users_tokens(app, logged_in, make_user):
    target, _ = make_user(Role.EDITOR)
    headers = new_token(target)
    admin = logged_in(Role.ADMIN)
    admin.post(f"/admin/users/{target.id}/reset-password", data={"csrf_token": csrf_token(admin, "/admin/users/")})
    assert app.test_client().get("/api/v1/third-parties", headers=headers).status_code == 401


def test_reactivating_a_user_revives_none_of_their_old_tokens(app, logged_in, make_user):
    target, _ = make_user(Role.EDITOR)
    headers = new_token(target)
    admin = logged_in(Role.ADMIN)
    fields = {"email": target.email, "name": target.name, "role": "editor"}
    post_form(admin, f"/admin/users/{target.id}/edit", {**fields, "version": str(target.version)})
    db.session.expire_all()
    post_form(admin, f"/admin/users/{target.id}/edit", {**fields, "is_active": "y", "version": str(db.session.get(User, target.id).version)})
    db.session.expire_all()
    assert db.session.get(User, target.id).is_active
    assert app.test_client().get("/api/v1/third-parties", headers=headers).status_code == 401
    assert token_of(headers).revoked_at is not None


def test_revocations_are_in_the_audit_trail(app, client, make_user):
    editor, password = make_user(Role.EDITOR)
    token = token_of(new_token(editor))
    login(client, editor.email, password)
    new_password = "a much longer passphrase"
    post_form(client, "/account/password", {"current_password": password, "new_password": new_password, "confirm": new_password})
    db.session.rollback()
    changes = db.session.scalars(select(AuditEvent.changes).where(AuditEvent.record_type == "api_tokens",
                                                                  AuditEvent.record_id == token.id)).all()
    assert any("revoked_at" in change for change in changes)


# --- the migration ----------------------------------------------------------------------------------


def test_the_migration_gives_existing_tokens_their_roles_scope_and_the_default_expiry(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    downgrade(revision="0007")
    with db.engine.begin() as connection:
        for user_id, role in ((1, "auditor"), (2, "editor")):
            connection.execute(text("INSERT INTO users (id, email, name, role, password_hash, is_active, session_nonce, created_at, "
                                    "updated_at, version) VALUES (:id, :email, 'U', :role, 'x', true, 'n', '2026-01-01', '2026-01-01', 1)"),
                               {"id": user_id, "email": f"{role}@example.org", "role": role})
            connection.execute(text("INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, updated_at, version) "
                                    "VALUES (:id, 'old', :hash, 'trk_', '2026-01-01', '2026-01-01', 1)"),
                               {"id": user_id, "hash": f"{user_id:064d}"})
    upgrade()
    db.session.rollback()
    tokens = {token.user_id: token for token in db.session.scalars(select(ApiToken))}
    assert (tokens[1].scope, tokens[2].scope) == (TokenScope.READ, TokenScope.READ_WRITE)
    for token in tokens.values():
        assert timedelta(days=app.config["API_TOKEN_DAYS"]) - (token.expires_at - utcnow()) < timedelta(minutes=5)
