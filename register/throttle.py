"""Rate limits: login attempts per account (in the database) and per client address, API requests per
token (Flask-Limiter, its counters in Redis when configured, else in the process's memory).

Each limit is counted and decided in one atomic step before the work it guards, so parallel requests
cannot all slip past a check that has not yet seen the others: of 30 simultaneous wrong passwords for
one account, exactly LOGIN_MAX_FAILURES are checked and the rest are refused.
"""

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, RateLimitItemPerMinute, parse
from sqlalchemy import case, delete, literal
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import _begin_immediate, db, short_write
from .models import LoginThrottle, UTCDateTime, utcnow

ACCOUNT_LOCKED = "Too many failed attempts. Wait {minutes} minutes and try again."
ADDRESS_LOCKED = "Too many login attempts from your network. Wait {minutes} minutes and try again."


def init_app(app: Flask) -> Limiter:
    """Trust the configured number of proxies for the client address; start the app's limiter."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies < 0:
        raise RuntimeError(f"TRUSTED_PROXIES must be 0 or more, not {proxies}")
    if proxies:
        # Each trusted proxy appends the address it saw to X-Forwarded-For: take the one the
        # outermost trusted proxy received (Werkzeug ignores entries a client put before it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    for name in ("API_RATE_LIMIT",):
        try:
            parse(app.config[name])
        except ValueError:
            raise RuntimeError(f"{name}: {app.config[name]!r} is not a rate like '600 per minute'") from None
    # One limiter per app (its storage and settings live on the object), kept in app.extensions.
    limiter = Limiter(client_address, app=app)
    app.extensions["register_limiter"] = limiter
    return limiter


def client_address() -> str:
    """The client's address: the socket's, or the one the trusted proxies report (ProxyFix)."""
    return (request.remote_addr or "unknown")[:70]


@dataclass(frozen=True)
class Refusal:
    """Why a login attempt is not checked, and for how many seconds it stays refused."""

    message: str
    retry_after: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))

    def text(self) -> str:
        return self.message.format(minutes=self.minutes)


def login_attempt(email: str) -> Optional[Refusal]:
    """Count a login attempt for its address and account; a Refusal when either is over its limit."""
    refusal = _count_address()
    if refusal is None:
        refusal = _count_account(email)
    return refusal


def login_succeeded(email: str) -> None:
    """A successful login ends the account's count (not the address's: it limits attempts)."""
    with short_write(db.session()):
        db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == _account_key(email)))
        db.session.commit()


# --- per account, in the database -------------------------------------------------------------


def _account_key(email: str) -> str:
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _count_account(email: str) -> Optional[Refusal]:
    """One statement adds the attempt to the account's window (or starts a new window) and returns
    the count: concurrent attempts are serialised on the row by the database, none is lost."""
    config = current_app.config
    limit, window = config["LOGIN_MAX_FAILURES"], timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    now = utcnow()
    table = LoginThrottle.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    expired = table.c.window_started_at <= now - window
    statement = (
        insert(table)
        .values(key=_account_key(email), attempts=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "attempts": case((expired, 1), else_=table.c.attempts + 1),
                "window_started_at": case((expired, literal(now, UTCDateTime())), else_=table.c.window_started_at),
            },
        )
        .returning(table.c.attempts, table.c.window_started_at)
    )
    db.session.rollback()  # no read transaction of this request may be upgraded to a write (SQLite)
    token = _begin_immediate.set(True)
    try:
        attempts, started_at = db.session.execute(statement).one()
        db.session.commit()
    finally:
        _begin_immediate.reset(token)
    if attempts <= limit:
        return None
    # Measured from after the statement: another attempt may have started the window while this one
    # waited for the row, later than this one's `now`.
    remaining = (started_at + window - utcnow()).total_seconds()
    return Refusal(ACCOUNT_LOCKED, min(max(1, math.ceil(remaining)), int(window.total_seconds())))


# --- per address, in the limiter's storage -----------------------------------------------------


def _address_limit() -> RateLimitItem:
    config = current_app.config
    return RateLimitItemPerMinute(config["LOGIN_ADDRESS_MAX_ATTEMPTS"], config["LOGIN_WINDOW_MINUTES"])


def _count_address() -> Optional[Refusal]:
    """Count the attempt for the client address (an atomic increment in Redis or memory)."""
    limiter: Limiter = current_app.extensions["register_limiter"]
    if not limiter.enabled:
        return None
    item = _address_limit()
    identifiers = (current_app.config["RATELIMIT_KEY_PREFIX"], "login", client_address())
    try:
        if limiter.limiter.hit(item, *identifiers):
            return None
        reset_at = limiter.limiter.get_window_stats(item, *identifiers).reset_time
    except Exception:  # the storage is unreachable: the account limit (in the database) still holds
        current_app.logger.exception("login address limit not counted: rate limit storage failed")
        return None
    return Refusal(ADDRESS_LOCKED, max(1, math.ceil(reset_at - time.time())))
