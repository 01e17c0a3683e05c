"""Art. 28(2) notices sent by mail, and the client's answer through a signed link (no account).

On a proposed sub-processor engagement, *Send the notices* records a notice for each concerned client
that has none and has a contact address (sent today, its objection deadline from that client's
notice period) and, in the same write, the mail that tells it: who the sub-processor is, for which
service, where it will process the data, the safeguard in plain words, the planned start and the
deadline. The mail carries a signed link to a page where the client objects (with its reasons),
says it does not object, or, where it gave prior specific authorisation, authorises the change. The
answer is written to the notice through the audited services (the trail names the client and the
link), so an objection blocks activation as one logged by staff does. The link is signed with the
register's secret (a changed or forged link is refused) and ends with the objection deadline.
"""

from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Optional

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import Length

from . import mail, regions, services, vocabulary
from .audit import Actor
from .auth import editor_required
from .extensions import db
from .models import (AuditSource, ChangeNotice, Engagement, NoticeOutcome, Party, RouteRegimeVerdict, RouteVerdict,
                     TransferRoute)
from .notices import client_states

bp = Blueprint("client_notices", __name__)
SALT = "art-28-2-notice"
# Until the deadline; a notice without one (a prior specific authorisation is asked for) this many days.
OPEN_DAYS_WITHOUT_DEADLINE = 90


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def link_token(notice: ChangeNotice) -> str:
    return _signer().dumps({"n": notice.id, "c": notice.client_id, "s": notice.sub_processor_id})


def notice_of(token: str) -> ChangeNotice:
    """The notice a link names; 404 for a link that is not ours (changed, forged, or its notice gone)."""
    try:
        payload = _signer().loads(token)
    except BadSignature:
        abort(404, description="This link is not valid: it may have been changed or cut. Use the link in the notice "
                               "as it was sent, or write to us.")
    notice = db.session.get(ChangeNotice, payload.get("n")) if isinstance(payload, dict) else None
    if notice is None or notice.client_id != payload.get("c") or notice.sub_processor_id != payload.get("s"):
        abort(404, description="This notice no longer exists. Write to us if you want to object.")
    return notice


def link_open_until(notice: ChangeNotice) -> Optional[date]:
    if notice.objection_deadline is not None:
        return notice.objection_deadline
    if notice.sent_on is not None:
        from datetime import timedelta

        return notice.sent_on + timedelta(days=OPEN_DAYS_WITHOUT_DEADLINE)
    return None


# --- what the notice says -------------------------------------------------------------------------


def safeguard_words(engagement: Engagement) -> str:
    """How data reaching the sub-processor is safeguarded, in the client's words, from today's stored
    verdicts of the routes to it; said plainly when no route is recorded yet."""
    sess = db.session()
    verdicts = sess.execute(
        select(RouteRegimeVerdict.regime, RouteRegimeVerdict.mechanism, RouteRegimeVerdict.status)
        .join(RouteVerdict, RouteVerdict.route_id == RouteRegimeVerdict.route_id)
        .join(TransferRoute, TransferRoute.id == RouteRegimeVerdict.route_id)
        .where(TransferRoute.importer_id == engagement.engaged_id)).all()
    if not verdicts:
        return (f"No transfer to {engagement.engaged.legal_name} is recorded yet: the safeguard will be the one "
                "the law requires for the country of processing, and we will tell you which on request.")
    worst: dict[tuple[str, str], str] = defaultdict(lambda: "covered")
    from . import rules

    for regime, mechanism, status in verdicts:
        if regime and rules.rank(status) >= rules.rank(worst[(regime, mechanism)]):
            worst[(regime, mechanism)] = status
    return vocabulary.combined([(regime, vocabulary.safeguard(regime, mechanism, status, vocabulary.CLIENT))
                                for (regime, mechanism), status in sorted(worst.items())]) or vocabulary.OUT_OF_SCOPE


def places(engagement: Engagement) -> str:
    codes = [location.country_code for location in engagement.locations]
    if not codes:
        codes = [engagement.engaged.country_code] if engagement.engaged.country_code else []
    names = regions.place_names(db.session()) if any(len(code) > 2 for code in codes) else {}
    return ", ".join(regions.place_name(code, names) for code in codes) or "not stated"


# --- sending ------------------------------------------------------------------------------------


def send_notices(engagement: Engagement, actor: Actor, today: Optional[date] = None) -> tuple[list[str], list[str]]:
    """Record and mail a notice to each concerned client without one; returns (told, not told: why)."""
    today = today or date.today()
    told, left = [], []
    with services.write_unit(actor):
        states = client_states(db.session(), engagement.id, engagement.engager_id, engagement.engaged_id,
                               engagement.relationship_type, engagement.starts_on, today)
        for state in states:
            client = state.client
            if state.notice is not None:
                continue
            if not client.contact_email:
                left.append(f"{client.legal_name}: no contact address recorded")
                continue
            if state.authorisation not in ("general", "specific"):
                left.append(f"{client.legal_name}: no written authorisation recorded to engage sub-processors")
                continue
            if client.notice_period_days is None:
                left.append(f"{client.legal_name}: no notice period recorded (the objection deadline follows from it)")
                continue
            notice = services.create(ChangeNotice, {"client_id": client.id, "engagement_id": engagement.id,
                                                    "sent_on": today, "sent_to": client.contact_email[:300],
                                                    "outcome": "pending"})
            db.session.flush()
            _compose(notice, engagement, client, state.authorisation)
            told.append(client.legal_name)
    return told, left


def _compose(notice: ChangeNotice, engagement: Engagement, client: Party, authorisation: str, again: bool = False) -> None:
    sub = engagement.engaged
    start = engagement.planned_start_on or engagement.starts_on
    mail.compose(
        "change_notice", client.contact_email, f"Intended change of sub-processor: {sub.legal_name} ({engagement.service})",
        "change_notice", dedup_key=None if again else f"change_notice:{notice.id}", about=("change_notices", notice.id),
        notice=notice, client=client, sub_processor=sub, engagement=engagement, start=start,
        where=places(engagement), safeguard=safeguard_words(engagement), specific=authorisation == "specific",
        link=mail.absolute_url("client_notices.respond", token=link_token(notice)))


@bp.route("/engagements/<int:record_id>/send-notices", methods=["POST"])
@editor_required
def send(record_id: int):
    from flask_login import current_user

    engagement = db.session.get(Engagement, record_id) or abort(404, description="No such engagement.")
    if not FlaskForm().validate_on_submit():
        abort(400, description="The form expired: reload the page and try again.")
    try:
        told, left = send_notices(engagement, Actor(AuditSource.WEB, user=current_user))
    except services.DomainError as refused:
        flash(f"No notice was sent: {refused}", "error")
        return redirect(url_for("records.engagements_view", record_id=record_id))
    if told:
        flash(f"Notice sent to {len(told)} client(s): {', '.join(told)}.", "success")
    if left:
        flash("Not sent: " + "; ".join(left) + ".", "warning")
    if not told and not left:
        flash("Every concerned client already has a notice.", "info")
    return redirect(url_for("records.engagements_view", record_id=record_id))


@bp.route("/notices/<int:record_id>/mail-again", methods=["POST"])
@editor_required
def mail_again(record_id: int):
    """The notice's mail once more (after a failed or unknown delivery, or on the client's request): the
    same notice, the same deadline and link; a new message with its own deliveries."""
    from .extensions import short_write

    if not FlaskForm().validate_on_submit():
        abort(400, description="The form expired: reload the page and try again.")
    with short_write(db.session()):
        notice = db.session.get(ChangeNotice, record_id) or abort(404, description="No such notice.")
        engagement = notice.engagement
        if engagement.engaged_id != notice.sub_processor_id or not notice.client.contact_email:
            abort(409, description="This notice is about a sub-processor the engagement no longer names, or the client "
                                   "has no contact address: send the notices from the engagement's page.")
        authorisation = next((state.authorisation for state in client_states(
            db.session(), engagement.id, engagement.engager_id, engagement.engaged_id, engagement.relationship_type,
            engagement.starts_on, date.today()) if state.client.id == notice.client_id), None)
        _compose(notice, engagement, notice.client, authorisation or "general", again=True)
        db.session.commit()
    flash(f"The notice is sent again to {notice.sent_to or notice.client.contact_email}.", "success")
    return redirect(url_for("records.notices_view", record_id=record_id))


# --- the client's answer ---------------------------------------------------------------------------


class AnswerForm(FlaskForm):
    details = TextAreaField("Your reasons (for an objection)", validators=[Length(max=4000)])


ANSWERS = {"object": "We object", "no_objection": "We do not object", "authorise": "We authorise this sub-processor"}


@bp.route("/notice/<token>", methods=["GET", "POST"])
def respond(token: str):
    notice = notice_of(token)
    engagement = notice.engagement
    today = date.today()
    open_until = link_open_until(notice)
    # The link answers this notice only while it is about the change the client was told of.
    moved_on = (engagement.engaged_id != notice.sub_processor_id or engagement.status.value != "proposed")
    closed = open_until is None or today > open_until or moved_on
    answered = _answered(notice)
    form = AnswerForm()
    status = 200
    if request.method == "POST":
        answer = request.form.get("answer")
        if closed:
            abort(410, description=(f"The period to answer this notice ended on {open_until}." if not moved_on else
                                    "This notice is about a change that has since been decided or replaced.")
                  + " Write to us if you still want to object.")
        if answered:
            abort(409, description="This notice has been answered already; write to us to change the answer.")
        specific = _specific(notice)
        # Under prior specific authorisation the client authorises (or objects); otherwise it objects or not.
        allowed = ("object", "authorise") if specific else ("object", "no_objection")
        if answer not in allowed:
            form.details.errors = ["Choose one of the answers below."]
            status = 400
        elif answer == "object" and not (form.details.data or "").strip():
            form.details.errors = ["Give the reasons for the objection (they are kept with the notice)."]
            status = 400
        elif form.validate_on_submit():
            try:
                _record(notice.id, answer, (form.details.data or "").strip(), today)
            except AlreadyAnswered:
                abort(409, description="This notice has been answered already; write to us to change the answer.")
            except (services.DomainError, services.ConflictError):
                current_app.logger.warning("notice %s: the answer %r could not be recorded", notice.id, answer)
                abort(409, description="Your answer could not be recorded as it is: the notice changed meanwhile. "
                                       "Write to us, quoting notice #%d." % notice.id)
            flash("Thank you: your answer is recorded.", "success")
            return redirect(url_for("client_notices.respond", token=token))
        else:
            status = 400
    return render_template("client_notices/respond.html", notice=notice, engagement=engagement, form=form, closed=closed,
                           open_until=open_until, answered=answered, specific=_specific(notice), where=places(engagement),
                           moved_on=moved_on,
                           safeguard=safeguard_words(engagement),
                           answers=ANSWERS), status


def _specific(notice: ChangeNotice) -> bool:
    states = client_states(db.session(), notice.engagement_id, notice.engagement.engager_id, notice.engagement.engaged_id,
                           notice.engagement.relationship_type, notice.engagement.starts_on, date.today())
    return any(state.client.id == notice.client_id and state.authorisation == "specific" for state in states)


class AlreadyAnswered(Exception):
    pass


def _answered(notice: ChangeNotice) -> bool:
    return notice.objection_received_on is not None or notice.outcome != NoticeOutcome.PENDING


def _record(notice_id: int, answer: str, details: str, today: date) -> None:
    """The answer, written through the audited services. Inside the unit (SQLite's write lock, taken
    before reading) the notice is read again: two answers sent at once record one, the other is told."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = f"{ANSWERS[answer]}: answered through the notice link on {stamp}."
    label = db.session.get(ChangeNotice, notice_id).client.legal_name
    with services.write_unit(Actor(AuditSource.WEB, label=f"{label} (notice link)"[:254])):
        notice = db.session.get(ChangeNotice, notice_id, with_for_update=True)
        if _answered(notice):
            raise AlreadyAnswered()
        values: dict = {"notes": f"{notice.notes}\n{note}" if notice.notes else note}
        if answer == "object":
            values.update(objection_received_on=today, objection_details=details[:4000])
        elif answer == "no_objection":
            values["outcome"] = "no_objection"
        else:
            values["outcome"] = "authorised"
        services.update(notice, values, expected_version=notice.version)
