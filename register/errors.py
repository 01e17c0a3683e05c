"""The register's one error shape: {"error": {"status", "title", "detail", "fields"}} for API clients,
the site's error page for people.

It lives below the API, the pages, auth and the import views, which all answer errors in it.
"""

from typing import Optional

from flask import Response, jsonify, render_template, request


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
