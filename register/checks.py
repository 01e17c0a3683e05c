"""The check: which live routes have a gap or need attention today, with the rules' reasons (the
`flask check` command, and the daily job whose findings the dashboard shows)."""

from datetime import date

from sqlalchemy import select

from .assessments import assess
from .extensions import db
from .models import Lifecycle, TransferRoute

KEPT_ROUTES = 500  # the findings a job keeps (the command prints them all)


def live_findings(on: date) -> tuple[dict[str, int], list[dict]]:
    """Counts per status of every live route, and each route with a gap or needing attention."""
    live = {route.id: route for route in db.session.scalars(select(TransferRoute).where(TransferRoute.status != Lifecycle.RETIRED))}
    results = assess(db.session(), on, list(live))
    counts: dict[str, int] = {}
    found = []
    for route_id in sorted(results):
        assessment = results[route_id]
        counts[assessment.status] = counts.get(assessment.status, 0) + 1
        if assessment.status not in ("gap", "attention"):
            continue
        route = live[route_id]
        found.append({
            "route_id": route_id, "status": assessment.status, "exporter": route.exporter.legal_name,
            "importer": route.importer.legal_name, "destination": route.destination_code,
            "reasons": [{"regime": regime.regime, "text": reason.text, "reference": reason.reference}
                        for regime in assessment.regimes for reason in regime.reasons
                        if reason.severity in ("gap", "attention")]})
    return counts, found


def findings(on: date) -> dict:
    """What the daily check job keeps: the day, the counts, the first KEPT_ROUTES findings."""
    counts, found = live_findings(on)
    return {"on": on.isoformat(), "counts": counts, "routes": found[:KEPT_ROUTES], "more": max(0, len(found) - KEPT_ROUTES)}
