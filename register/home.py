"""The home page: the register at a glance."""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, current_app, make_response, render_template
from flask_login import login_required
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from .errors import retry_after
from .extensions import db
from .models import AuditEvent, Engagement, Lifecycle, Party, PartyKind, TransferInstrument, TransferRoute

bp = Blueprint("home", __name__)


@dataclass(frozen=True)
class Tally:
    """One kind of record: how many are live (proposed or active) and how many retired, and its list."""

    label: str  # the list's title: "Transfer routes"
    singular: str
    live: int
    retired: int
    list_url: str


def register_counts() -> list[Tally]:
    """Live and retired records per kind (one query per table), each with the list that shows them."""
    from .record_types.parties import PAGES_BY_KIND
    from .record_types.transfers import ENGAGEMENT_PAGES, INSTRUMENT_PAGES, ROUTE_PAGES

    def split(rows) -> dict:
        found: dict = {}
        for key, status, count in rows:
            live, retired = found.get(key, (0, 0))
            found[key] = (live, retired + count) if status == Lifecycle.RETIRED else (live + count, retired)
        return found

    parties = split(db.session.execute(select(Party.kind, Party.status, func.count()).group_by(Party.kind, Party.status)))
    tallies = [(parties.get(kind, (0, 0)), PAGES_BY_KIND[kind]) for kind in PartyKind]
    for model, pages in ((Engagement, ENGAGEMENT_PAGES), (TransferInstrument, INSTRUMENT_PAGES), (TransferRoute, ROUTE_PAGES)):
        counts = split((None, status, count) for status, count in
                       db.session.execute(select(model.status, func.count()).group_by(model.status)))
        tallies.append((counts.get(None, (0, 0)), pages))
    return [Tally(pages.title, pages.singular[:1].upper() + pages.singular[1:], live, retired, pages.url("index"))
            for (live, retired), pages in tallies]


@bp.route("/")
@login_required
def index():
    from .records.crud import LIVE

    recent = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(10)).all()
    return render_template("home.html", counts=register_counts(), recent=recent, live=LIVE)


@bp.route("/healthz")
def health():
    """A trivial endpoint: liveness (the process answers), and the baseline of the latency benchmarks.
    Whether the register can read and save is /readyz."""
    return {"status": "ok"}


# Below this much free space where the database lives, the register is not ready to save.
MIN_FREE_BYTES = 64 * 1024 * 1024


@bp.route("/readyz")
def readiness():
    """Readiness: the database answers and can save, and Redis answers when the register uses one. 503
    with the failed checks and their reasons otherwise (a load balancer stops sending traffic; people
    see the reason). Cheap: one query, a few file checks, a PING."""
    checks = {"database": _database_problems()}
    for name, url in _redis_urls().items():
        checks[name] = _redis_problems(url)
    if not current_app.config.get("JOBS_IMMEDIATE") and not current_app.config.get("JOBS_REDIS_URL"):
        checks["job_queue"] = _queue_problems()  # its SQLite file (a Redis queue is checked above)
    problems = [problem for found in checks.values() for problem in found]
    body = {"status": "not ready" if problems else "ready",
            "checks": {name: {"status": "failed", "problems": found} if found else {"status": "ok"}
                       for name, found in checks.items()}}
    if problems:
        current_app.logger.warning("not ready: %s", "; ".join(problems))
        return retry_after(make_response({**body, "problems": problems}, 503), 30)
    return body


def _database_problems() -> list[str]:
    try:
        db.session.execute(text("SELECT 1"))
        return _storage_problems()
    except DBAPIError as error:
        return [f"the database does not answer: {type(error.orig).__name__}"]
    finally:
        db.session.rollback()


# Redis answers a PING in a millisecond; a readiness probe must not hang on one that does not.
REDIS_TIMEOUT_SECONDS = 2


def _redis_urls() -> dict[str, str]:
    """The Redis servers the register is configured to use, by check name (none: no check)."""
    config = current_app.config
    urls = {}
    if config.get("REDIS_URL"):
        urls["redis"] = config["REDIS_URL"]
    if config.get("JOBS_REDIS_URL") and not config.get("JOBS_IMMEDIATE") and config["JOBS_REDIS_URL"] not in urls.values():
        urls["job_queue"] = config["JOBS_REDIS_URL"]
    limits_url = config.get("RATELIMIT_STORAGE_URI") or ""
    if limits_url.startswith(("redis://", "rediss://")) and limits_url not in urls.values():
        urls["rate_limit_storage" if urls else "redis"] = limits_url
    return urls


def _redis_problems(url: str) -> list[str]:
    import redis

    clients = current_app.extensions.setdefault("register_readiness_redis", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                            socket_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        clients[url].ping()
    except redis.RedisError as error:
        return [f"Redis does not answer: {type(error).__name__}"]
    return []


def _queue_problems() -> list[str]:
    """The job queue's storage (its SQLite file, or its own Redis) answers."""
    from .jobs.queue import queue_reachable

    try:
        queue_reachable(current_app)
    except Exception as error:  # whatever the storage raises: the queue cannot take jobs
        return [f"the job queue does not answer: {type(error).__name__}"]
    return []


def _storage_problems() -> list[str]:
    """Why the database cannot save now (empty: it can)."""
    problems = []
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database.startswith("file:"):  # a URI (sqlite:///file:path?mode=ro&uri=true)
            database = database[5:]
            if url.query.get("mode") == "ro" or url.query.get("immutable") == "1":
                problems.append("the database is opened read-only (mode=ro)")
        path = Path(database)
        if database and database != ":memory:":
            if not os.access(path, os.W_OK):
                problems.append(f"the database file {path.name} is not writable")
            if not os.access(path.parent, os.W_OK):
                problems.append(f"the folder of {path.name} is not writable (SQLite writes its journal there)")
            if shutil.disk_usage(path.parent).free < MIN_FREE_BYTES:
                problems.append(f"less than {MIN_FREE_BYTES // 2**20} MB free where the database is")
        if db.session.execute(text("PRAGMA query_only")).scalar():
            problems.append("the database connection is read-only (query_only)")
    elif url.get_backend_name() == "postgresql":
        if db.session.execute(text("SHOW transaction_read_only")).scalar() == "on":
            problems.append("the database is read-only (a standby, or default_transaction_read_only)")
    return problems
