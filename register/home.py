"""The home page: the register at a glance."""

from flask import Blueprint, render_template
from flask_login import login_required
from sqlalchemy import func, select

from .extensions import db
from .models import AuditEvent, Engagement, Lifecycle, Party, PartyKind, TransferInstrument, TransferRoute

bp = Blueprint("home", __name__)


def register_counts() -> dict[str, int]:
    """Live records per kind (one query per table)."""
    party_counts = dict(
        db.session.execute(
            select(Party.kind, func.count()).where(Party.status != Lifecycle.RETIRED).group_by(Party.kind)
        ).all()
    )
    counts = {kind.label: party_counts.get(kind, 0) for kind in PartyKind}
    for label, model in (("Engagement", Engagement), ("Instrument", TransferInstrument), ("Transfer route", TransferRoute)):
        counts[label] = db.session.scalar(select(func.count()).select_from(model).where(model.status != Lifecycle.RETIRED))
    return counts


@bp.route("/")
@login_required
def index():
    recent = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(10)).all()
    return render_template("home.html", counts=register_counts(), recent=recent)


@bp.route("/healthz")
def health():
    """A trivial endpoint: liveness, and the baseline of the latency benchmarks."""
    return {"status": "ok"}
