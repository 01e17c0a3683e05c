"""The register's health at a glance: today's stored verdicts, or any what-if date computed on the fly."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Optional

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import func, select, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload

from . import assessments, charts, countries, rules, services, vocabulary
from .errors import is_storage_fault
from .extensions import db
from .record_types.lists import kept_count
from .models import Certificate, IsoEdition, Job, Lifecycle, Party, RouteRegimeVerdict, RouteVerdict, TransferRoute

bp = Blueprint("coverage", __name__)

STATUSES = ("gap", "attention", "covered", "out_of_scope")
# The words are the vocabulary's: no page keeps its own table.
STATUS_LABELS = vocabulary.STATUS_LABELS
EXPIRY_WINDOWS = (30, 60, 90)
LISTED = 25


@dataclass
class Summary:
    """What the dashboard shows, whether read from stored verdicts or computed for a what-if date."""

    on: date
    stored: bool
    routes: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_mechanism: dict[str, int] = field(default_factory=dict)
    by_regime: dict[str, dict[str, int]] = field(default_factory=dict)
    by_destination: list[tuple[str, int]] = field(default_factory=list)
    breaks_promise: int = 0
    gap_routes: list[int] = field(default_factory=list)
    attention_routes: list[int] = field(default_factory=list)
    by_decision: dict[str, int] = field(default_factory=dict)


def parse_day(text: Optional[str]) -> Optional[date]:
    """A what-if date from the query string; None when absent, not a date or out of the register's range
    (1900-01-01 to 2999-12-31: the dashboard adds days to it)."""
    try:
        return services.parse_day(text) if text else None
    except ValueError:
        return None


def live_routes():
    return TransferRoute.status != Lifecycle.RETIRED


def stored_summary(today: date) -> Summary:
    """Today's figures from the stored verdicts: aggregates over covering indexes, no join to routes."""
    summary = Summary(on=today, stored=True)
    live = RouteVerdict.live == true()
    for status, breaks, count in db.session.execute(
            select(RouteVerdict.status, RouteVerdict.breaks_notice_promise, func.count()).where(live)
            .group_by(RouteVerdict.status, RouteVerdict.breaks_notice_promise)):
        summary.by_status[status] = summary.by_status.get(status, 0) + count
        summary.breaks_promise += count if breaks else 0
    summary.routes = sum(summary.by_status.values())
    mechanisms, decisions = Counter(), Counter()
    for regime, mechanism, status, adequacy_id, count in db.session.execute(
            select(RouteRegimeVerdict.regime, RouteRegimeVerdict.mechanism, RouteRegimeVerdict.status,
                   RouteRegimeVerdict.adequacy_id, func.count()).where(RouteRegimeVerdict.live == true())
            .group_by(RouteRegimeVerdict.regime, RouteRegimeVerdict.mechanism, RouteRegimeVerdict.status, RouteRegimeVerdict.adequacy_id)):
        mechanisms[mechanism] += count
        summary.by_regime.setdefault(regime, Counter())[status] += count
        if adequacy_id:
            decisions[adequacy_id] += count
    summary.by_mechanism, summary.by_decision = dict(mechanisms), dict(decisions)
    summary.by_destination = db.session.execute(
        select(RouteVerdict.destination, func.count()).where(live).group_by(RouteVerdict.destination)
        .order_by(func.count().desc()).limit(12)).all()
    for status, target in (("gap", summary.gap_routes), ("attention", summary.attention_routes)):
        target += db.session.scalars(select(RouteVerdict.route_id).where(live, RouteVerdict.status == status)
                                     .order_by(RouteVerdict.route_id).limit(LISTED))
    return summary


def what_if_summary(on: date) -> Summary:
    """Every live route assessed on `on` (nothing stored)."""
    summary = Summary(on=on, stored=False)
    live = set(db.session.scalars(select(TransferRoute.id).where(live_routes())))
    results = assessments.assess(db.session(), on)
    destinations, statuses, mechanisms, decisions = Counter(), Counter(), Counter(), Counter()
    destination_of = dict(db.session.execute(select(TransferRoute.id, TransferRoute.destination_country)
                                             .where(TransferRoute.destination_country.is_not(None))).all())
    for route_id, assessment in sorted(results.items()):
        if route_id not in live:
            continue
        statuses[assessment.status] += 1
        if destination_of.get(route_id):
            destinations[destination_of[route_id]] += 1
        summary.breaks_promise += bool(assessment.breaks_notice_promise)
        for regime in assessment.regimes:
            mechanisms[regime.mechanism] += 1
            summary.by_regime.setdefault(regime.regime, Counter())[regime.status] += 1
            if regime.adequacy_id:
                decisions[regime.adequacy_id] += 1
        if assessment.status == "gap" and len(summary.gap_routes) < LISTED:
            summary.gap_routes.append(route_id)
        if assessment.status == "attention" and len(summary.attention_routes) < LISTED:
            summary.attention_routes.append(route_id)
    summary.by_status, summary.by_mechanism, summary.by_decision = dict(statuses), dict(mechanisms), dict(decisions)
    summary.by_destination = destinations.most_common(12)
    summary.routes = sum(statuses.values())
    return summary


def decisions_to_watch(on: date, by_decision: dict[str, int]) -> list[dict]:
    """Adequacy decisions at risk or ending within a year of `on` (as the rules judge it), with the routes relying on each."""
    watched = [{"id": item.id, "regime": item.regime, "reference": item.legal_reference, "at_risk": item.at_risk,
                "until": item.coverage_ends_on, "routes": by_decision.get(item.id, 0)}
               for item in rules.decisions_to_watch(countries.current(), on)]
    return sorted(watched, key=lambda item: -item["routes"])


def expiring_certificates(on: date) -> dict[int, list]:
    """ISO 27001 certificates of live third parties ending within 30, 60 and 90 days."""
    rows = db.session.execute(
        select(Certificate, Party.legal_name).join(Party, Party.id == Certificate.third_party_id)
        .where(Party.status != Lifecycle.RETIRED, Certificate.withdrawn_on.is_(None), Certificate.edition == IsoEdition.E2022,
               Certificate.expires_on >= on, Certificate.expires_on <= on + timedelta(days=max(EXPIRY_WINDOWS))))
    windows: dict[int, list] = {days: [] for days in EXPIRY_WINDOWS}
    for certificate, name in rows:
        for days in EXPIRY_WINDOWS:
            if certificate.expires_on <= on + timedelta(days=days):
                windows[days].append((certificate, name))
                break
    return windows


def requests_due(today: date) -> dict[str, int]:
    """Open data subjects' requests: how many, overdue, due within a week (register/requests)."""
    from .requests import due_counts

    return due_counts(today)


@bp.route("/dashboard")
@login_required
def dashboard():
    today = date.today()
    on = parse_day(request.args.get("on"))
    bad_date = request.args.get("on") and on is None
    run = None
    if on is None or on == today:
        try:
            # Today's verdicts are the worker's (just after midnight); if it has not made them, it is
            # asked to, and the page says whose figures it shows meanwhile.
            run = assessments.ensure_fresh(today, wait=False)
            if run is None:
                summary = what_if_summary(today)  # never assessed: computed here, as for another date
            else:
                # The aggregates over every stored verdict change only when the register does: kept until then.
                summary = kept_count(lambda: stored_summary(today), ("dashboard", today, run.id))
        except DBAPIError as error:
            # Today's verdicts could not be stored (the storage is full or read-only): computed, as
            # for a what-if date, so the dashboard is still there to read.
            db.session.rollback()
            if not is_storage_fault(error):
                raise
            current_app.logger.error("dashboard: today's verdicts not stored, the storage refused (%s)", error.orig)
            summary = what_if_summary(today)
    else:
        summary = what_if_summary(on)
    route_list = url_for("records.routes_index")

    def status_link(label: str) -> str:
        status = next((key for key, value in STATUS_LABELS.items() if value == label), "")
        return f"{route_list}?coverage={status}" if summary.stored else ""

    status_chart = charts.bar_chart("Routes by coverage status",
                                    [(STATUS_LABELS[s], summary.by_status.get(s, 0), s) for s in STATUSES], status_link)
    mechanism_chart = charts.bar_chart("Regime verdicts by mechanism", sorted(
        ((vocabulary.mechanism_label(m), n, "mechanism") for m, n in summary.by_mechanism.items()), key=lambda bar: -bar[1]))
    destination_chart = charts.bar_chart("Routes by destination", [
        (countries.country_name(code), n, "destination") for code, n in summary.by_destination])
    listed = {route.id: route for route in db.session.scalars(
        select(TransferRoute).where(TransferRoute.id.in_(summary.gap_routes + summary.attention_routes))
        .options(joinedload(TransferRoute.exporter), joinedload(TransferRoute.importer),
                 joinedload(TransferRoute.destination_organisation)))}
    return render_template(
        "coverage/dashboard.html", summary=summary, today=today, bad_date=bad_date, status_chart=status_chart,
        mechanism_chart=mechanism_chart, destination_chart=destination_chart, listed=listed, status_labels=STATUS_LABELS,
        statuses=STATUSES, decisions=decisions_to_watch(summary.on, summary.by_decision),
        certificates=expiring_certificates(summary.on), law=countries.current(), run=run,
        requests_due=requests_due(today), stale_run=run is not None and not assessments.is_fresh(today, run),
        check=last_check(),
    ), 400 if bad_date else 200


def last_check() -> Optional[Job]:
    """The daily check's last findings (register/jobs), if it has run."""
    return db.session.scalar(select(Job).where(Job.kind == "check", Job.state == "done")
                             .order_by(Job.finished_at.desc()).limit(1))
