"""Reminders to staff: what needs doing soon, so nobody has to remember to look.

`due(on)` reads the register on a day and says what is due then, each item with a key that names it
and its threshold (a certificate 90, 60 or 30 days before it ends is three reminders, each once). The
daily job (`run(on)`) gives each user, in the kinds they chose, the reminders they have not had yet:
kept as their notifications (the in-app list, `/notifications`) and mailed at once or as one daily
digest, as they chose. Dates are passed in, never read from the wall clock inside.

Kinds: ISO 27001 certificates ending within 90/60/30 days (with the routes that depend on them);
TIA reviews due within 30 days or overdue; instruments terminating within 30 days; DPF entries due
for re-verification; adequacy decisions ending within a year or at risk (with the routes relying on
them); request deadlines (acknowledgement or answer due within 3 working days, or overdue); routes
with a gap in today's stored verdicts.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload
from wtforms import RadioField, SelectChoice, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from . import countries, mail, rules
from .extensions import db, short_write, write_now
from .models import (DpfCertification, Lifecycle, Notification, Party, ReminderPreference, Role, RouteVerdict,
                     SubjectRequest, TransferImpactAssessment, TransferInstrument, TransferRoute, User, utcnow)

KINDS = {
    "certificate": "ISO 27001 certificates ending (90, 60, 30 days)",
    "tia": "TIA reviews due within 30 days or overdue",
    "instrument": "Instruments terminating within 30 days",
    "dpf": "DPF entries due for re-verification",
    "adequacy": "Adequacy decisions ending within a year or at risk",
    "request": "Request deadlines (within 3 working days, overdue)",
    "gap": "Routes with a gap",
}
SOON_DAYS = 30
REQUEST_WORKING_DAYS = 3
FREQUENCIES = [SelectChoice("immediate", "Mail each reminder"), SelectChoice("daily", "One mail a day with the day's reminders"),
               SelectChoice("none", "No mail: the list in the register only")]


@dataclass(frozen=True)
class Reminder:
    kind: str
    key: str
    text: str
    link: str  # the page to act on (a path)


def due(on: date) -> list[Reminder]:
    """Everything due on `on`, in kind order."""
    found: list[Reminder] = []
    sess = db.session()
    routes_to = dict(sess.execute(select(TransferRoute.importer_id, func.count()).where(TransferRoute.status != Lifecycle.RETIRED)
                                  .group_by(TransferRoute.importer_id)).all())
    from .coverage import expiring_certificates

    # The certificates the dashboard lists as ending, each in its window (30, 60, 90 days).
    for window, items in sorted(expiring_certificates(on).items()):
        for certificate, name in items:
            routes = routes_to.get(certificate.third_party_id, 0)
            found.append(Reminder("certificate", f"certificate:{certificate.id}:{certificate.expires_on}:{window}",
                                  f"The ISO 27001 certificate of {name} ends on {certificate.expires_on} (within {window} "
                                  f"days); {routes} live route(s) send data to {name}.", f"/certificates/{certificate.id}"))
    for tia, route in sess.execute(select(TransferImpactAssessment, TransferRoute).join(TransferRoute)
                                   .where(TransferRoute.status != Lifecycle.RETIRED, TransferImpactAssessment.next_review_on.is_not(None),
                                          TransferImpactAssessment.next_review_on <= on + timedelta(days=SOON_DAYS))):
        late = tia.next_review_on < on
        found.append(Reminder("tia", f"tia:{tia.id}:{tia.next_review_on}:{'overdue' if late else 'due'}",
                              f"The TIA of route #{route.id} ({route.label}) is {'overdue for' if late else 'due for'} review "
                              f"on {tia.next_review_on}.", f"/tias/{tia.id}"))
    for instrument in sess.scalars(select(TransferInstrument).where(
            TransferInstrument.terminated_on.is_not(None), TransferInstrument.terminated_on >= on,
            TransferInstrument.terminated_on <= on + timedelta(days=SOON_DAYS))):
        found.append(Reminder("instrument", f"instrument:{instrument.id}:{instrument.terminated_on}",
                              f"{instrument.title} terminates on {instrument.terminated_on}: the routes relying on it need "
                              "another safeguard.", f"/instruments/{instrument.id}"))
    for entry, name in sess.execute(select(DpfCertification, Party.legal_name).join(Party, Party.id == DpfCertification.third_party_id)
                                    .where(Party.status != Lifecycle.RETIRED, DpfCertification.is_active.is_(True))):
        due_on = rules.dpf_reverification_due(entry.verified_on)
        if due_on is None or due_on <= on + timedelta(days=SOON_DAYS):
            found.append(Reminder("dpf", f"dpf:{entry.id}:{entry.verified_on}",
                                  f"The DPF entry of {name} ({entry.certified_entity_name}) was "
                                  f"{'never verified' if entry.verified_on is None else 'last verified on ' + entry.verified_on.isoformat()}: "
                                  "check the DPF List (entries are re-certified every year).", f"/dpf-certifications/{entry.id}"))
    relying = _relying()
    for decision in rules.decisions_to_watch(countries.current(), on):
        routes = relying.get(decision.id, 0)
        what = "is at risk" if decision.at_risk else f"ends on {decision.coverage_ends_on}"
        found.append(Reminder("adequacy", f"adequacy:{decision.id}:{decision.coverage_ends_on}:{decision.at_risk}",
                              f"{decision.legal_reference} {what}; {routes} route(s) rely on it.", "/dashboard"))
    from .requests.operations import clocks

    for record in sess.scalars(select(SubjectRequest).where(SubjectRequest.status.not_in(_closed()))):
        deadline = clocks(record, on).next_deadline
        if deadline is None:
            continue
        late = deadline.due_on < on
        if late or deadline.due_on <= rules.add_working_days(on, REQUEST_WORKING_DAYS, _holidays()):
            found.append(Reminder("request", f"request:{record.id}:{deadline.label}:{deadline.due_on}:{'overdue' if late else 'due'}",
                                  f"Request #{record.id}: {deadline.label} {'was due' if late else 'is due'} on {deadline.due_on}.",
                                  f"/requests/{record.id}"))
    for route in sess.scalars(select(TransferRoute).join(RouteVerdict, RouteVerdict.route_id == TransferRoute.id)
                              .where(RouteVerdict.live.is_(True), RouteVerdict.status == "gap").order_by(TransferRoute.id)
                              .options(joinedload(TransferRoute.exporter), joinedload(TransferRoute.importer))):
        found.append(Reminder("gap", f"gap:{route.id}", f"Route #{route.id} ({route.label}) has a gap: no transfer tool covers it.",
                              f"/routes/{route.id}"))
    return found


def _relying() -> dict[str, int]:
    from .models import RouteRegimeVerdict

    return dict(db.session.execute(select(RouteRegimeVerdict.adequacy_id, func.count(func.distinct(RouteRegimeVerdict.route_id)))
                                   .where(RouteRegimeVerdict.live.is_(True), RouteRegimeVerdict.adequacy_id.is_not(None))
                                   .group_by(RouteRegimeVerdict.adequacy_id)).all())


def _closed():
    from .requests.operations import CLOSED

    return CLOSED


def _holidays() -> frozenset:
    from flask import current_app

    return current_app.config.get("PUBLIC_HOLIDAYS", frozenset())


# --- who gets what ------------------------------------------------------------------------------


def preference(user: User) -> tuple[set[str], str]:
    """(kinds, frequency): what the user chose; by default staff who edit get every kind, mailed daily,
    and auditors none (they read the dashboard)."""
    chosen = db.session.get(ReminderPreference, user.id)
    if chosen is not None:
        return set(chosen.kinds or []), chosen.frequency
    if user.role in (Role.ADMIN, Role.EDITOR):
        return set(KINDS), "daily"
    return set(), "none"


def run(on: date) -> dict[str, int]:
    """Give each active user the reminders of `on` they have not had; mail them as they chose."""
    reminders = due(on)
    tally = {"notifications": 0, "mails": 0}
    for user in db.session.scalars(select(User).where(User.is_active.is_(True))).all():
        kinds, frequency = preference(user)
        wanted = [reminder for reminder in reminders if reminder.kind in kinds]
        if not wanted:
            continue
        with short_write(db.session()):
            _tally_user(user, wanted, frequency, on, tally)
    return tally


def _tally_user(user: User, wanted: list[Reminder], frequency: str, on: date, tally: dict) -> None:
    """One user's new reminders of the day, kept and mailed (inside the caller's write)."""
    had = set(db.session.scalars(select(Notification.key).where(Notification.user_id == user.id,
                                                                Notification.key.in_([r.key for r in wanted]))))
    new = [reminder for reminder in wanted if reminder.key not in had]
    for reminder in new:
        db.session.add(Notification(user_id=user.id, kind=reminder.kind, key=reminder.key, text=reminder.text,
                                    link=reminder.link, created_on=on))
    tally["notifications"] += len(new)
    if new and frequency == "immediate":
        for reminder in new:
            mail.compose("reminder", user.email, f"Reminder: {reminder.text[:200]}", "reminder", dedup_key=f"reminder:{user.id}:{reminder.key}",
                         reminders=[reminder], user=user)
            tally["mails"] += 1
    elif new and frequency == "daily":
        mail.compose("reminder", user.email, f"Transfer register: {len(new)} reminder(s) for {on}", "reminder",
                     dedup_key=f"reminders:{user.id}:{on}", reminders=new, user=user)
        tally["mails"] += 1
    db.session.commit()


# --- pages ----------------------------------------------------------------------------------------

bp = Blueprint("reminders", __name__)


class PreferenceForm(FlaskForm):
    kinds = SelectMultipleField("Remind me of", choices=[SelectChoice(key, label) for key, label in KINDS.items()],
                                option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    frequency = RadioField("By mail", choices=FREQUENCIES)


class ReadForm(FlaskForm):
    pass


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def index():
    if request.method == "POST":
        if not ReadForm().validate_on_submit():
            abort(400, description="The form expired: reload the page and try again.")
        write_now(db.session(), update(Notification).where(Notification.user_id == current_user.id,
                                                           Notification.read_at.is_(None)).values(read_at=utcnow()))
        return redirect(url_for("reminders.index"))
    shown = db.session.scalars(select(Notification).where(Notification.user_id == current_user.id)
                               .order_by(Notification.id.desc()).limit(200)).all()
    kinds, frequency = preference(current_user)
    return render_template("reminders/index.html", notifications=shown, form=ReadForm(), kinds=kinds, frequency=frequency,
                           labels=KINDS)


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings():
    kinds, frequency = preference(current_user)
    form = PreferenceForm(data=None if request.method == "POST" else {"kinds": sorted(kinds), "frequency": frequency})
    if form.validate_on_submit():
        with short_write(db.session()):
            chosen = db.session.get(ReminderPreference, current_user.id) or ReminderPreference(user_id=current_user.id)
            chosen.kinds, chosen.frequency = sorted(form.kinds.data or []), form.frequency.data
            db.session.add(chosen)
            db.session.commit()
        flash("Your reminders are saved.", "success")
        return redirect(url_for("reminders.index"))
    return render_template("reminders/settings.html", form=form), 200 if request.method == "GET" else 400
