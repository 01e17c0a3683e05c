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
    """Readiness: the database answers and can save. 503 with the reasons otherwise (a load balancer
    stops sending traffic; people see the reason). Cheap: one query and a few file checks."""
    try:
        db.session.execute(text("SELECT 1"))
        problems = _storage_problems()
    except DBAPIError as error:
        db.session.rollback()
        problems = [f"the database does not answer: {type(error.orig).__name__}"]
    finally:
        db.session.rollback()
    if problems:
        current_app.logger.warning("not ready: %s", "; ".join(problems))
        return retry_after(make_response({"status": "not ready", "problems": problems}, 503), 30)
    return {"status": "ready"}


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
