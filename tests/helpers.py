"""Helpers for tests that drive the app like a browser does."""

import re

from flask.testing import FlaskClient

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form served at `path`, read as a browser would."""
    page = client.get(path)
    match = CSRF_INPUT.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict, form_path: str | None = None, **kwargs):
    """Submit a form the way a browser does: with the token from the page that shows it."""
    token = csrf_token(client, form_path or path)
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def login(client: FlaskClient, email: str, password: str):
    return post_form(client, "/login", {"email": email, "password": password})
