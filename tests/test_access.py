"""The role matrix over every page and action that exists, and user management by admins."""

import pytest
from helpers import csrf_token, login, post_form

from register.extensions import db
from register.models import Role, User

ROLES = ["anonymous", Role.AUDITOR, Role.EDITOR, Role.ADMIN]
# (method, path, roles allowed); {user} is another user's id.
MATRIX = [
    ("GET", "/", {Role.AUDITOR, Role.EDITOR, Role.ADMIN}),
    ("GET", "/account/password", {Role.AUDITOR, Role.EDITOR, Role.ADMIN}),
    ("GET", "/account", {Role.AUDITOR, Role.EDITOR, Role.ADMIN}),
    ("POST", "/account/sessions/end-all", {Role.AUDITOR, Role.EDITOR, Role.ADMIN}),
    ("GET", "/admin/users/", {Role.ADMIN}),
    ("GET", "/admin/users/new", {Role.ADMIN}),
    ("POST", "/admin/users/new", {Role.ADMIN}),
    ("GET", "/admin/users/{user}/edit", {Role.ADMIN}),
    ("POST", "/admin/users/{user}/edit", {Role.ADMIN}),
    ("POST", "/admin/users/{user}/reset-password", {Role.ADMIN}),
    # Data subjects' requests: editors and admins act; auditors read the log and download it.
    ("GET", "/requests/", {Role.AUDITOR, Role.EDITOR, Role.ADMIN}),
    ("GET", "/requests/log.xlsx", {Role.AUDITOR, Role.EDITOR, Role.ADMIN}),
    ("GET", "/requests/{request}", {Role.AUDITOR, Role.EDITOR, Role.ADMIN}),
    ("GET", "/requests/new", {Role.EDITOR, Role.ADMIN}),
    ("POST", "/requests/new", {Role.EDITOR, Role.ADMIN}),
    ("GET", "/requests/{request}/edit", {Role.EDITOR, Role.ADMIN}),
    ("POST", "/requests/{request}/edit", {Role.EDITOR, Role.ADMIN}),
    *(("POST", f"/requests/{{request}}/{step}", {Role.EDITOR, Role.ADMIN})
      for step in ("acknowledge", "verify", "ask_controller", "controller_answer", "extend", "answer", "refuse")),
]


@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize(("method", "path", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_role_matrix(client, make_user, logged_in, writer, role, method, path, allowed):
    other, _ = make_user(Role.AUDITOR)
    if role != "anonymous":
        logged_in(role)
    request_id = None
    if "{request}" in path:
        from datetime import date

        from register.requests.operations import create_request

        request_id = writer(lambda: create_request({"request_type": "processor_list", "channel": "email", "received_on": date.today(),
                                                    "requester": {"name": "A Person", "contact": "a@person.example"}})).id
    url = path.format(user=other.id, request=request_id)
    if method == "GET":
        response = client.get(url)
    else:
        token = csrf_token(client, "/login") if role == "anonymous" else csrf_token(client, "/account/password")
        response = client.post(url, data={"csrf_token": token})
    if role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    elif role in allowed:
        assert response.status_code in (200, 302, 303, 400), response.status_code
    else:
        assert response.status_code == 403
        assert "Your role does not allow this." in response.get_data(as_text=True)


def test_an_admin_creates_a_user_who_can_then_log_in(app, logged_in):
    admin = logged_in(Role.ADMIN)
    response = post_form(admin, "/admin/users/new", {"email": "New.Editor@Example.org", "name": "New Editor", "role": "editor", "is_active": "y"})
    assert response.status_code == 200
    password = response.get_data(as_text=True).split("<code>")[1].split("</code>")[0]
    user = db.session.scalar(db.select(User).where(User.email == "new.editor@example.org"))
    assert user.role == Role.EDITOR
    assert login(app.test_client(), "new.editor@example.org", password).status_code == 302


def test_a_duplicate_email_is_a_field_error_with_the_input_kept(logged_in, make_user):
    existing, _ = make_user(Role.AUDITOR)
    admin = logged_in(Role.ADMIN)
    response = post_form(admin, "/admin/users/new", {"email": existing.email, "name": "Someone Else", "role": "editor"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "A user with this email already exists." in page and 'value="Someone Else"' in page


def test_an_admin_changes_a_role_and_a_stale_form_gets_409(logged_in, make_user):
    target, _ = make_user(Role.AUDITOR)
    admin = logged_in(Role.ADMIN)
    form = {"email": target.email, "name": "Promoted", "role": "editor", "is_active": "y", "version": str(target.version)}
    assert post_form(admin, f"/admin/users/{target.id}/edit", form).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).role == Role.EDITOR
    stale = post_form(admin, f"/admin/users/{target.id}/edit", {**form, "name": "Stale", "role": "auditor"})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    # The name changed on both sides is asked about; the role, left as the stale form found it, is not.
    assert 'id="merge-name"' in page and 'id="merge-role"' not in page
    db.session.expire_all()
    assert db.session.get(User, target.id).name == "Promoted"


def test_an_admin_cannot_lock_themself_out(logged_in):
    admin = logged_in(Role.ADMIN)
    me = admin.user
    response = post_form(admin, f"/admin/users/{me.id}/edit", {"email": me.email, "name": me.name, "role": "auditor", "is_active": "y", "version": str(me.version)})
    assert "You cannot remove your own admin role" in response.get_data(as_text=True)


def test_deactivating_a_user_ends_their_session(app, logged_in, make_user):
    target, password = make_user(Role.EDITOR)
    theirs = app.test_client()
    login(theirs, target.email, password)
    admin = logged_in(Role.ADMIN)
    post_form(admin, f"/admin/users/{target.id}/edit", {"email": target.email, "name": target.name, "role": "editor", "version": str(target.version)})
    assert theirs.get("/").status_code == 302


def test_a_password_reset_replaces_the_old_password(app, logged_in, make_user):
    target, password = make_user(Role.EDITOR)
    admin = logged_in(Role.ADMIN)
    response = admin.post(f"/admin/users/{target.id}/reset-password", data={"csrf_token": csrf_token(admin, "/admin/users/")})
    new_password = response.get_data(as_text=True).split("<code>")[1].split("</code>")[0]
    assert login(app.test_client(), target.email, password).status_code == 401
    assert login(app.test_client(), target.email, new_password).status_code == 302


def test_unknown_ids_are_404_in_the_site_look(logged_in):
    admin = logged_in(Role.ADMIN)
    response = admin.get("/admin/users/99999/edit")
    assert response.status_code == 404 and "Back to the register" in response.get_data(as_text=True)


# Pages anyone may open: logging in, the health check, static files, the public processor list (when
# an admin publishes it), the API (which answers 401 in JSON, not a login page), and a client's answer
# to an Art. 28(2) notice (a link signed with the register's secret: test_client_notices.py).
PUBLIC = ("/login", "/healthz", "/readyz", "/static/", "/public/", "/api/", "/notice/")


def _sample_path(rule) -> str:
    """A concrete URL for a rule: ids 1, the first choice of an `any` converter."""
    from werkzeug.routing import AnyConverter, IntegerConverter

    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = 1
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = "x"
    return rule.build(values, append_unknown=False)[1]


def test_every_page_of_the_app_needs_a_login_except_the_public_ones(app, client):
    """A page added later without @login_required fails here: anonymous users reach only PUBLIC."""
    checked = 0
    for rule in app.url_map.iter_rules():
        path = _sample_path(rule)
        if path.startswith(PUBLIC):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(path)
            else:
                response = client.open(path, method=method, data={"csrf_token": csrf_token(client, "/login")})
            assert response.status_code == 302 and "/login" in response.headers["Location"], f"{method} {path}: {response.status_code}"
            checked += 1
    assert checked > 60
