"""Helpers for tests that drive the app like a browser does."""

import contextvars
import email
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from email import policy
from html.parser import HTMLParser
from pathlib import Path

import flask_migrate
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from bench.generate import LoadReport, Scale, load_register
from register import create_app
from register.extensions import db

# A schema of its own per checkout when several suites share one server (TEST_PG_SCHEMA), and per
# pytest-xdist worker (gw0, gw1 ...) within one suite.
PG_SCHEMA = os.environ.get("TEST_PG_SCHEMA", "register_test") + (
    f"_{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else "")
FAST_HASHING = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024}


def pg_url() -> str:
    from register.config import database_url

    return database_url(os.environ["TEST_DATABASE_URL"])


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


class _Forms(HTMLParser):
    """The values each form of a page would submit as it stands (what a browser sends unchanged)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, list[str]]] = []
        self.select: dict | None = None
        self.textarea: tuple[str, list[str]] | None = None

    def add(self, name: str, value: str) -> None:
        if self.forms:
            self.forms[-1].setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "form":
            self.forms.append({})
        elif tag == "input" and name and attributes.get("type", "text") not in ("submit", "button", "file", "reset"):
            if attributes.get("type") in ("checkbox", "radio"):
                if "checked" in attributes:
                    self.add(name, attributes.get("value") or "on")
            else:
                self.add(name, attributes.get("value") or "")
        elif tag == "select" and name:
            self.select = {"name": name, "multiple": "multiple" in attributes, "first": None, "chosen": False}
        elif tag == "option" and self.select is not None:
            value = attributes.get("value") or ""
            if self.select["first"] is None:
                self.select["first"] = value
            if "selected" in attributes:
                self.add(self.select["name"], value)
                self.select["chosen"] = True
        elif tag == "textarea" and name:
            self.textarea = (name, [])

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "select" and self.select is not None:
            if not self.select["chosen"] and not self.select["multiple"] and self.select["first"] is not None:
                self.add(self.select["name"], self.select["first"])
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.textarea[1])
            # A browser drops the line break that opens a textarea (WTForms writes one).
            self.add(self.textarea[0], text.removeprefix("\r\n") if text.startswith("\r\n") else text.removeprefix("\n"))
            self.textarea = None


def form_values(html: str) -> dict[str, list[str]]:
    """What the page's record form (the one carrying a version) would submit as it stands."""
    reader = _Forms()
    reader.feed(html)
    forms = [form for form in reader.forms if "version" in form]
    assert forms, "no form with a version on the page"
    return forms[0]


def open_form(client: FlaskClient, path: str) -> dict[str, list[str]]:
    """Open an edit page as a person does: the form's values as shown."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return form_values(page.get_data(as_text=True))


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


# --- a real SMTP server on 127.0.0.1 (aiosmtpd) for the mail tests ---------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the SMTP server accepted; `refuse` makes it answer RCPT with a permanent 550."""

    def __init__(self):
        self.received: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.received.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
