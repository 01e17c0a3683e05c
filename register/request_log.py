"""Request ids and the request log: one JSON line per request (method, path, status, duration, user id,
request id), and the app's own log lines in the same shape.

A WSGI middleware, outermost, so the id exists before any hook runs and the line is written when the
response has been sent in full (a streamed download counts until its last byte). What a line may
carry is listed here and nowhere else: never a body, a query string (a token, a search a requester
typed) or a header; a path whose URL holds an import's token is logged as its rule ("/imports/<token>").

The stdlib's logging with a small Formatter, not python-json-logger: the fields are fixed and few, and a
formatter that writes only them cannot leak what a caller passed in `extra`.
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from werkzeug.wsgi import ClosingIterator

REQUEST_ID_HEADER = "X-Request-ID"
# A request id a proxy (nginx's $request_id: 32 hex digits) or a client sent is kept when it is this
# plain; anything else is replaced, so it cannot break a log line or an error page.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# URL variables that are capabilities rather than names: the path is logged as its rule instead.
SECRET_URL_VARIABLES = frozenset({"token", "secret", "key", "nonce"})
MAX_PATH_LOGGED = 300

logger = logging.getLogger("register.requests")


def request_id() -> str:
    """This request's id (shown on error pages), or "" outside a request."""
    return request.environ.get("register.request_id", "") if has_request_context() else ""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request's fields or id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "request_fields", None)
        if fields:
            entry.update(fields)
        elif has_request_context():
            entry["request_id"] = request_id()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(app: Flask) -> None:
    """LOG_FORMAT=json (gunicorn.conf.py sets it) or text: the app's INFO lines, the request log among
    them, go to stderr. Unset (tests, the bench, `flask` commands): Flask's default, no request lines."""
    chosen = app.config.get("LOG_FORMAT") or ""
    if chosen not in ("", "json", "text"):
        raise RuntimeError(f"LOG_FORMAT must be json or text, not {chosen!r}")
    if not chosen:
        return
    app_logger = logging.getLogger("register")
    app_logger.removeHandler(default_handler)  # Flask's, if app.logger was read before: lines once, as chosen
    if not any(getattr(handler, "register_log", False) for handler in app_logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.register_log = True  # one per process, however many apps it creates
        handler.setFormatter(JsonFormatter() if chosen == "json" else
                             logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        app_logger.addHandler(handler)
    app_logger.setLevel(logging.INFO)
    # A logging.config call made before (Alembic's fileConfig in `flask db upgrade`) disables the
    # loggers that existed then.
    app_logger.disabled = logger.disabled = False
    app_logger.propagate = False  # not twice through a root handler a server may have set


def init_app(app: Flask) -> None:
    """Log requests: the middleware around the whole app, and what only Flask knows noted for it."""
    app.wsgi_app = RequestLog(app.wsgi_app)

    @app.teardown_request
    def note_for_the_log(_error) -> None:
        environ = request.environ
        # The user Flask-Login already loaded (a session or an API token); never loaded just for the log.
        user = g.get("_login_user")
        if user is not None and getattr(user, "is_authenticated", False):
            environ["register.user_id"] = user.id
        rule = request.url_rule
        if rule is not None:
            environ["register.route"] = rule.rule
            if SECRET_URL_VARIABLES & set(request.view_args or ()):
                environ["register.log_path"] = rule.rule


class RequestLog:
    """The WSGI middleware: a request id in, the X-Request-ID header out, one log line at the end."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        environ["register.request_id"] = rid
        sent = {}

        def start(status, headers, exc_info=None):
            sent["status"] = int(status.split(" ", 1)[0])
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, rid))
            return start_response(status, headers, exc_info)

        def done():
            if logger.isEnabledFor(logging.INFO):
                _log_request(environ, sent.get("status", 500), time.perf_counter() - started)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            sent.setdefault("status", 500)
            done()
            raise
        return ClosingIterator(body, done)


def _log_request(environ: dict, status: int, seconds: float) -> None:
    path = environ.get("register.log_path")
    if path is None:
        raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        path = raw.encode("latin-1", "replace").decode("utf-8", "replace")  # WSGI strings are latin-1
    path = path[:MAX_PATH_LOGGED]
    method = environ.get("REQUEST_METHOD", "")[:16]
    duration_ms = round(seconds * 1000, 1)
    fields = {
        "event": "request",
        "method": method,
        "path": path,
        "route": environ.get("register.route"),
        "status": status,
        "duration_ms": duration_ms,
        "user_id": environ.get("register.user_id"),
        "request_id": environ["register.request_id"],
    }
    logger.info("%s %s %s %.1f ms", method, path, status, duration_ms, extra={"request_fields": fields})
