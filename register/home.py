"""The home page: the register at a glance."""

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask_login import login_required
from sqlalchemy import func, select

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
    """A trivial endpoint: liveness, and the baseline of the latency benchmarks."""
    return {"status": "ok"}
