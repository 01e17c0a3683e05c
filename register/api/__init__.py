"""The JSON API under /api/v1: every register record, read and written through the audited services.

Clients authenticate with `Authorization: Bearer <token>` (tokens act with their user's role, limited
to reading by a read-only scope, until they expire or are revoked) or, from
the browser, with the session cookie plus the `X-CSRFToken` header for writes. Every error has one
shape: {"error": {"status", "title", "detail", "fields"}}.
"""

import hashlib
import re
import secrets
from datetime import date, datetime, timedelta
from typing import Any, Optional

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request, url_for
from flask_limiter import Limiter
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import BadRequest

from .. import merge, services
from ..audit import Actor
from ..errors import bookkeeping_may_wait, problem
from ..extensions import MAX_ID, csrf, db, login_manager
from ..models import ApiToken, AuditSource, Role, TokenScope, User, token_scopes_for, utcnow
from . import openapi, resources

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

TOKEN_PREFIX = "trk_"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_PER_PAGE = 200
MAX_PAGE = 10_000
MAX_SEARCH = 200


# --- tokens -----------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_token(user: User, name: str, scope: Optional[str] = None, expires_in_days: Optional[int] = None) -> tuple[str, ApiToken]:
    """A new token for a user (inside a write_unit): the secret is returned once, only its hash kept.

    The scope defaults to the most the user's role allows and may not exceed it; the token expires
    after API_TOKEN_DAYS unless told otherwise, never after more than API_TOKEN_MAX_DAYS.
    """
    allowed = token_scopes_for(user.role)
    errors: dict[str, list[str]] = {}
    chosen = allowed[-1]
    if scope is not None:
        try:
            chosen = TokenScope(scope)
        except ValueError:
            errors["scope"] = [f"Choose one of: {', '.join(choice.value for choice in TokenScope)}."]
        else:
            if chosen not in allowed:
                errors["scope"] = [f"The {user.role.label.lower()} role allows only a read token."]
    longest = current_app.config["API_TOKEN_MAX_DAYS"]
    days = current_app.config["API_TOKEN_DAYS"] if expires_in_days is None else expires_in_days
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= longest:
        errors["expires_in_days"] = [f"A whole number of days from 1 to {longest}."]
    if errors:
        raise services.DomainError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = services.create(ApiToken, {"user_id": user.id, "name": name, "token_hash": hash_token(secret),
                                        "prefix": secret[:10], "scope": chosen,
                                        "expires_at": utcnow() + timedelta(days=days)})
    return secret, record


def revoke_token(record: ApiToken) -> None:
    """Revoke a token (inside a write_unit); it stops working at once."""
    services.update(record, {"revoked_at": utcnow()}, expected_version=record.version)


# How often a token's last use is written down: often enough to tell, seldom enough not to write on
# every call (a write per API call would queue behind an import's lock on SQLite).
LAST_USED_EVERY = timedelta(minutes=1)


def _note_use(record: ApiToken, now: datetime) -> None:
    if record.last_used_at is not None and now - record.last_used_at < LAST_USED_EVERY:
        return
    try:
        # Not through the services: when a token was last used is not an edit of it (no version, no
        # audit event, updated_at kept).
        db.session.execute(update(ApiToken).where(ApiToken.id == record.id)
                           .values(last_used_at=now, updated_at=ApiToken.updated_at)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    except DBAPIError as error:
        db.session.rollback()
        # Busy, or storage that cannot save: the last use is noted next time; the token still reads.
        if not bookkeeping_may_wait(error):
            raise


@login_manager.request_loader
def load_user_from_token(req) -> Optional[User]:
    """The user of a valid bearer token: unrevoked, unexpired, its user active (Flask-Login asks when
    there is no session). Tokens open the API only, not the pages."""
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer ") or not req.path.startswith(bp.url_prefix + "/"):
        return None
    g.token_presented = True
    token = header[7:].strip()
    record = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token))) if token else None
    now = utcnow()
    if record is not None and record.is_expired(now):
        g.token_refused = "The bearer token has expired: make a new one under API tokens."
        return None
    if record is None or record.is_revoked or not record.user.is_active:
        return None
    _note_use(record, now)
    g.api_token = record
    return record.user


PUBLIC_ENDPOINTS = frozenset({"api.openapi_document", "api.docs"})


@bp.before_request
def limit_body():
    """API bodies are small JSON records: a larger one is refused (413) before it is read."""
    request.max_content_length = current_app.config["API_MAX_BODY_KB"] * 1024


@bp.before_request
def authenticate():
    """401 without a valid login; CSRF for cookie-authenticated writes (a token is not a cookie)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        if g.get("token_presented"):
            detail = g.get("token_refused") or "The bearer token is unknown or revoked."
        else:
            detail = "Authenticate with 'Authorization: Bearer <token>'."
        return problem(401, "Unauthorized", detail)
    token = g.get("api_token")
    if request.method in WRITE_METHODS:
        if token is None:
            csrf.protect()
        elif not token.can_write:
            detail = "This token may only read: make a read-and-write token to write." if current_user.can_edit else \
                "Your role does not allow this."
            return problem(403, "Forbidden", detail)
    return None


RATE_LIMITED = ("Too many requests: this token (or, without one, this address) may send {rate}. Wait the seconds "
                "given in Retry-After, then send the request again.")


def rate_limit_key() -> str:
    """Whom the API's rate limit counts: the bearer token, else the logged-in user, else the address."""
    if current_user.is_authenticated:
        token = g.get("api_token")
        return f"token:{token.id}" if token is not None else f"user:{current_user.id}"
    return "address:" + (request.remote_addr or "unknown")


def limit_requests(limiter: Limiter) -> None:
    """Count every API request against API_RATE_LIMIT (create_app passes the app's limiter)."""
    limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=rate_limit_key,
                  error_message=lambda: RATE_LIMITED.format(rate=current_app.config["API_RATE_LIMIT"]))(bp)


def require_editor() -> None:
    if current_user.role not in (Role.ADMIN, Role.EDITOR):
        abort(403, description="Your role does not allow this.")


def api_actor() -> Actor:
    return Actor(AuditSource.API, user=current_user._get_current_object())


# --- request helpers --------------------------------------------------------------------------


def json_body() -> dict:
    if not request.is_json:
        raise BadRequest("Send a JSON object with Content-Type: application/json.")
    raw = request.get_data(cache=True)  # beyond API_MAX_BODY_KB: 413, before anything is parsed
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise BadRequest(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep; no record needs that.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


MAX_JSON_DEPTH = 32
_JSON_SIGNIFICANT = re.compile(rb'["\\\[\]{}]')


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, read from its bytes in one pass without
    parsing it (json.loads recurses once per level and fails past Python's recursion limit)."""
    depth = deepest = 0
    in_string, escaped_until = False, -1
    for match in _JSON_SIGNIFICANT.finditer(raw):
        position, char = match.start(), raw[match.start()]
        if position < escaped_until:
            continue
        if in_string:
            if char == 0x5C:  # a backslash: the next character is part of the string
                escaped_until = position + 2
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in b"]}":
            depth -= 1
    return deepest


def expected_version(body: dict) -> Any:
    """The version a write is based on: If-Match ("3", W/"3") or a "version" field."""
    header = request.headers.get("If-Match")
    if header:
        match = re.fullmatch(r'\s*(?:W/)?"?(\d+)"?\s*', header)
        if not match:
            raise BadRequest("If-Match must be the ETag of the record, e.g. \"3\".")
        return int(match.group(1))
    return body.pop("version", None)


def whole_number(name: str, default: int, lowest: int, highest: int) -> int:
    """A whole-number query parameter within bounds, or a field error."""
    text = request.args.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"\d{1,9}", text) or not lowest <= int(text) <= highest:
        raise services.DomainError({name: [f"A whole number from {lowest} to {highest}."]})
    return int(text)


def assessed_on() -> Optional[date]:
    text = request.args.get("on")
    if text is None:
        return None
    try:
        return services.parse_day(text)
    except ValueError as error:
        raise services.DomainError({"on": [str(error)]}) from None


def with_etag(payload: dict, record: Any, status: int = 200, location: Optional[str] = None) -> Response:
    response = jsonify(payload)
    response.status_code = status
    response.headers["ETag"] = f'"{record.version}"'
    if location:
        response.headers["Location"] = location
    return response


# --- errors -----------------------------------------------------------------------------------


@bp.errorhandler(services.DomainError)
def domain_error(error: services.DomainError):
    return problem(422, "Unprocessable content", "The record was not written: see the fields.", error.errors)


@bp.errorhandler(services.ConflictError)
def conflict(error: services.ConflictError):
    current = getattr(error.record, "version", None)
    headers = {"ETag": f'"{current}"'} if current else None
    if isinstance(error, merge.FieldsChanged):
        return problem(409, "Conflict", f"Fields you sent were changed meanwhile (the record is now at version {current}); "
                       "nothing was written. Read it again and decide on these fields.", error.messages(), headers=headers)
    return problem(409, "Conflict", f"The record changed meanwhile (it is now at version {current}); nothing was "
                   "written. Read it again and apply your change to the current version.", headers=headers)


# --- the resources ----------------------------------------------------------------------------


def _resource(name: str) -> resources.Resource:
    resource = resources.BY_NAME.get(name)
    if resource is None:
        abort(404, description=f"No resource {name!r}.")
    return resource


def _record(resource: resources.Resource, record_id: int) -> Any:
    record = db.session.get(resource.model, record_id) if 0 < record_id <= MAX_ID else None
    if record is None or not isinstance(record, resource.model):
        abort(404, description=f"No {resource.singular} with id {record_id}.")
    return record


@bp.get("/<name>")
def list_records(name: str):
    resource = _resource(name)
    on = assessed_on()
    per_page = whole_number("per_page", 50, 1, MAX_PER_PAGE)
    page = whole_number("page", 1, 1, MAX_PAGE)
    search = request.args.get("q", "")
    if len(search) > MAX_SEARCH:
        raise services.DomainError({"q": [f"At most {MAX_SEARCH} characters."]})
    try:
        services.check_text(search)
    except ValueError as error:
        raise services.DomainError({"q": [str(error)]}) from None
    records, meta = resources.list_records(resource, request.args, page, per_page)
    return jsonify({"data": resources.serialize_many(resource, records, on), "meta": meta})


@bp.get("/<name>/<int:record_id>")
def get_record(name: str, record_id: int):
    resource = _resource(name)
    record = _record(resource, record_id)
    return with_etag({"data": resources.serialize_many(resource, [record], assessed_on())[0]}, record)


@bp.post("/<name>")
def create_record(name: str):
    require_editor()
    resource = _resource(name)
    body = json_body()
    body.pop("version", None)
    derived: dict = {}
    with services.write_unit(api_actor()):
        record = services.create(resource.model, resources.incoming(resource, body), derived=derived)
    db.session.refresh(record)
    location = url_for("api.get_record", name=name, record_id=record.id)
    return with_etag({"data": resources.serialize_many(resource, [record], None)[0], "derived": resources.derived(derived)},
                     record, 201, location)


@bp.patch("/<name>/<int:record_id>")
def update_record(name: str, record_id: int):
    require_editor()
    resource = _resource(name)
    body = json_body()
    version = expected_version(body)
    derived: dict = {}
    with services.write_unit(api_actor()):
        record = _record(resource, record_id)
        values = resources.incoming(resource, body)
        # Only the fields sent change: on an older version too, unless one of them changed meanwhile.
        services.update(record, values, expected_version=merge.rebase(record, version, values), derived=derived)
    record = _record(resource, record_id)
    return with_etag({"data": resources.serialize_many(resource, [record], None)[0], "derived": resources.derived(derived)},
                     record)


@bp.post("/<name>/<int:record_id>/retire")
def retire_record(name: str, record_id: int):
    require_editor()
    resource = _resource(name)
    if not resource.can_retire:
        abort(404, description=f"{resource.singular.capitalize()} records are not retired: edit them instead.")
    body = json_body() if request.content_length else {}
    version = expected_version(body)
    unknown = set(body) - {"ends_on"}
    if unknown:
        raise services.DomainError({key: ["Unknown field."] for key in sorted(unknown)})
    ends_on = None
    if body.get("ends_on") is not None:
        try:
            ends_on = services.parse_day(str(body["ends_on"]))
        except ValueError as error:
            raise services.DomainError({"ends_on": [str(error)]}) from None
    with services.write_unit(api_actor()):
        record = _record(resource, record_id)
        services.retire(record, expected_version=version, ends_on=ends_on)
    record = _record(resource, record_id)
    return with_etag({"data": resources.serialize_many(resource, [record], None)[0]}, record)


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document())


@bp.get("/docs")
def docs():
    """The document as a page people can read (no script, no CDN)."""
    return render_template("api/docs.html", doc=openapi.document())
