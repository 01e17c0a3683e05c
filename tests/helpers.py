"""Helpers for tests that drive the app like a browser does."""

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.generate import LoadReport, Scale, load_register
from register import create_app
from register.extensions import db


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as in production.

    Flask reuses an app context that is already pushed, so without this the test's context (and its
    `g`: CSRF token, logged-in user) would leak from one request into the next. The test's own
    database session ends its transaction around each request, so it then reads what was committed.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # read and close file downloads, as a WSGI server does
        db.session.rollback()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.rollback()
        return response


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


@contextmanager
def generated_register(folder: Path, scale: Scale, today: date) -> Iterator[tuple[Flask, LoadReport]]:
    """An app on its own migrated SQLite file in `folder`, holding bench/'s generated register
    (seed 7), its context pushed."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("REGISTER_INSTANCE_PATH", str(folder / "instance"))
        monkeypatch.delenv("DATABASE_URL", raising=False)
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'register.sqlite'}", "TESTING": True,
                          "SECRET_KEY": "test"})
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            report = load_register(connection, scale, seed=7, today=today)
        try:
            yield app, report
        finally:
            db.session.remove()
            db.engine.dispose()
