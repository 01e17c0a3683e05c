"""The register's one error shape: {"error": {"status", "title", "detail", "fields"}} for API clients,
the site's error page for people.

It lives below the API, the pages, auth and the import views, which all answer errors in it.
"""

import errno
from typing import Optional

from flask import Response, current_app, g, jsonify, make_response, render_template, request
from sqlalchemy.exc import OperationalError


def error_body(status: int, title: str, detail: str, fields: Optional[dict] = None) -> dict:
    return {"error": {"status": status, "title": title, "detail": detail, "fields": fields or {}}}


def problem(status: int, title: str, detail: str, fields: Optional[dict] = None, headers: Optional[dict] = None) -> Response:
    """An API error response (a 401 names the bearer scheme it wants)."""
    response = jsonify(error_body(status, title, detail, fields))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="register"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, title: str, detail: str, errors: Optional[dict] = None):
    """The one error shape: JSON for API clients, the site's error page for people."""
    if wants_json():
        return jsonify(error_body(status, title, detail, errors)), status
    return render_template("error.html", status=status, title=title, detail=detail), status


# --- the storage refusing writes ------------------------------------------------------------------

STORAGE_RETRY_SECONDS = 300
# SQLite's words for a full disk (or max_page_count reached) and a read-only file, directory or URI.
STORAGE_MESSAGES = ("database or disk is full", "attempt to write a readonly database", "disk i/o error")
# PostgreSQL: disk full (53100), out of memory (53200), read-only transaction (25006, a standby or
# default_transaction_read_only).
STORAGE_SQLSTATES = frozenset({"53100", "53200", "25006"})
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def is_storage_fault(error: Exception) -> bool:
    """Whether the database refused to write because its storage cannot take it (full or read-only):
    not the request's fault, and not worth sending again at once."""
    if isinstance(error, OSError):  # a file the register writes (an upload, an import's status)
        return error.errno in STORAGE_ERRNOS
    original = getattr(error, "orig", error)
    if getattr(original, "sqlstate", None) in STORAGE_SQLSTATES:
        return True
    text = str(original).lower()
    return any(message in text for message in STORAGE_MESSAGES)


def bookkeeping_may_wait(error: Exception) -> bool:
    """Whether a write that only notes something (a session's or token's last use) may be skipped: the
    database is busy or cannot save now. The request it belongs to goes on."""
    return isinstance(error, OperationalError) or is_storage_fault(error)


def storage_fault_response(error: Exception):
    """503 "the register cannot save right now", logged for whoever looks after the server."""
    current_app.logger.error("storage refused a write: %s %s answered 503 (%s)", request.method, request.path,
                             getattr(error, "orig", error))
    response = make_response(error_response(
        503, "The register cannot save right now",
        "The register's storage is full or read-only, so nothing was saved. You can still read the register. "
        "Keep what you entered and send it again once the administrator has fixed the storage "
        "(/readyz tells when the register can save again)."))
    return retry_after(response, STORAGE_RETRY_SECONDS)


def retry_after(response: Response, seconds: int) -> Response:
    """Tell the client when to send again; kept through the rate limiter's headers (keep_retry_after)."""
    g.retry_after = str(seconds)
    response.headers["Retry-After"] = g.retry_after
    return response


def keep_retry_after(response: Response) -> Response:
    """Flask-Limiter writes its window's reset as Retry-After on every response it counts: only a refusal
    says when to come back (its own 429, or a 503 that set `retry_after`)."""
    if response.status_code != 429:
        wanted = g.get("retry_after")
        if wanted:
            response.headers["Retry-After"] = wanted
        else:
            response.headers.pop("Retry-After", None)
    return response
