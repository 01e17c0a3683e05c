"""Subscribers to the public processor list: anyone may ask, by mail, to hear of its changes.

- The public list's page has a form (an address, each change or a daily digest). The answer is the
  same whether the address is new, waiting or subscribed (nobody learns who subscribed); a new or
  waiting address is sent a confirmation link; nothing else is sent until it is confirmed (double
  opt-in). Attempts are limited per client address.
- Links (confirm, unsubscribe) are signed with the register's secret and name the subscriber and
  its address: nothing to guess, nothing stored. Every message carries the unsubscribe link; the
  pages ask for a click (a mail scanner opening links confirms or unsubscribes nobody).
- Unsubscribing erases the subscriber and the mail the register sent them. Unconfirmed addresses
  are erased after CONFIRM_DAYS (the daily purge). Subscribers are in no export and not in the trail.
- The worker sends (every minute): to each confirmed subscriber, one message per change of the
  public list since the last one it was sent, or one digest a day of the day's changes.
"""

import math
import time
from datetime import date, timedelta
from typing import Optional

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from limits import RateLimitItemPerHour
from sqlalchemy import delete, func, select
from wtforms import EmailField, RadioField, SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from . import mail
from .extensions import db, short_write
from .forms import EMAIL
from .models import AuditEvent, Engagement, ListSubscriber, OutboxMessage, utcnow

bp = Blueprint("subscriptions", __name__)
SALT = "list-subscription"
CONFIRM_DAYS = 7
SUBSCRIBE_PER_HOUR = 10  # per client address
KINDS = ("list_confirm", "list_change", "list_digest")
FREQUENCIES = [SelectChoice("each", "Each change, when it is recorded"), SelectChoice("daily", "A daily digest")]


class SubscribeForm(FlaskForm):
    email = EmailField("Your email address", validators=[DataRequired("Give an email address."), Length(max=254),
                                                         Regexp(EMAIL, message="That is not an email address.")])
    frequency = RadioField("How often", choices=FREQUENCIES, default="each")


class ClickForm(FlaskForm):
    pass


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_of(subscriber: ListSubscriber) -> str:
    return _signer().dumps({"s": subscriber.id, "e": subscriber.email})


def _subscriber(token: str) -> ListSubscriber:
    try:
        payload = _signer().loads(token)
    except BadSignature:
        abort(404, description="This link is not valid: it may have been changed or cut.")
    found = db.session.get(ListSubscriber, payload.get("s")) if isinstance(payload, dict) else None
    if found is None or found.email != payload.get("e"):
        abort(404, description="This subscription does not exist (any more): nothing is sent to this address.")
    return found


def _public_list_on() -> None:
    from .exports import public_list_enabled

    if not public_list_enabled():
        abort(404)


def _too_many() -> Optional[int]:
    """Seconds to wait when this client address asked too often (None: go on)."""
    from .throttle import client_address

    limiter = current_app.extensions["register_limiter"]
    if not limiter.enabled:
        return None
    item = RateLimitItemPerHour(SUBSCRIBE_PER_HOUR)
    identifiers = (current_app.config["RATELIMIT_KEY_PREFIX"], "subscribe", client_address())
    try:
        if limiter.limiter.hit(item, *identifiers):
            return None
        return max(1, math.ceil(limiter.limiter.get_window_stats(item, *identifiers).reset_time - time.time()))
    except Exception:  # the limiter's storage is unreachable: the confirmation still guards the address
        current_app.logger.exception("subscription limit not counted")
        return None


@bp.route("/public/processors/subscribe", methods=["POST"])
def subscribe():
    _public_list_on()
    form = SubscribeForm()
    if not form.validate_on_submit():
        return render_template("subscriptions/subscribe.html", form=form), 400
    wait = _too_many()
    if wait:
        response = current_app.make_response((render_template("subscriptions/subscribe.html", form=form, wait=wait), 429))
        response.headers["Retry-After"] = str(wait)
        return response
    email = form.email.data.strip().lower()
    with short_write(db.session()):
        subscriber = db.session.scalar(select(ListSubscriber).where(ListSubscriber.email == email))
        if subscriber is None:
            subscriber = ListSubscriber(email=email, frequency=form.frequency.data, sent_up_to=0)
            db.session.add(subscriber)
            db.session.flush()
        if subscriber.confirmed_at is None:
            subscriber.frequency = form.frequency.data
            mail.compose("list_confirm", email, "Confirm your subscription to our processor list", "list_confirm",
                         about=("list_subscribers", subscriber.id), subscriber=subscriber,
                         confirm=mail.absolute_url("subscriptions.confirm", token=token_of(subscriber)))
        db.session.commit()
    return render_template("subscriptions/asked.html", email=email)


@bp.route("/public/subscription/<token>", methods=["GET", "POST"])
def confirm(token: str):
    subscriber = _subscriber(token)
    form = ClickForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, description="The form expired: open the link again.")
        with short_write(db.session()):
            subscriber = _subscriber(token)
            if subscriber.confirmed_at is None:
                subscriber.confirmed_at = utcnow()
                subscriber.sent_up_to = _newest_change_id()  # from now on, not the list's history
            db.session.commit()
        flash("You are subscribed. Every message has a link to unsubscribe.", "success")
        return redirect(url_for("subscriptions.confirm", token=token))
    return render_template("subscriptions/confirm.html", subscriber=subscriber, form=form, token=token)


@bp.route("/public/subscription/<token>/unsubscribe", methods=["GET", "POST"])
def unsubscribe(token: str):
    subscriber = _subscriber(token)
    form = ClickForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, description="The form expired: open the link again.")
        with short_write(db.session()):
            erase(_subscriber(token))
            db.session.commit()
        return render_template("subscriptions/gone.html")
    return render_template("subscriptions/unsubscribe.html", subscriber=subscriber, form=form)


def erase(subscriber: ListSubscriber) -> None:
    """The subscriber and every mail the register sent or will send them about the list."""
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.to_address == subscriber.email,
                                                   OutboxMessage.kind.in_(KINDS)))
    db.session.delete(subscriber)


def purge_unconfirmed(today: date) -> int:
    with short_write(db.session()):
        stale = db.session.scalars(select(ListSubscriber).where(
            ListSubscriber.confirmed_at.is_(None), ListSubscriber.created_at < utcnow() - timedelta(days=CONFIRM_DAYS))).all()
        for subscriber in stale:
            erase(subscriber)
        db.session.commit()
    return len(stale)


# --- sending (the worker, every minute) --------------------------------------------------------------


def _newest_change_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.record_type == Engagement.__tablename__)) or 0


def send_updates(today: Optional[date] = None) -> int:
    """Compose what is due to each confirmed subscriber; returns how many messages."""
    from .exports import public_list_enabled
    from .exports.changes import list_changes

    if not public_list_enabled():
        return 0
    today = today or date.today()
    oldest = db.session.scalar(select(func.min(ListSubscriber.sent_up_to)).where(ListSubscriber.confirmed_at.is_not(None)))
    if oldest is None or oldest >= _newest_change_id():
        return 0
    with short_write(db.session()):  # what is read decides what is written: one transaction, the write lock first
        return _compose_updates(today, list_changes)


def _compose_updates(today: date, list_changes) -> int:
    subscribers = db.session.scalars(select(ListSubscriber).where(ListSubscriber.confirmed_at.is_not(None))).all()
    oldest = min((subscriber.sent_up_to for subscriber in subscribers), default=0)
    changes = sorted((change for change in list_changes(limit=None) if change.event_id > oldest), key=lambda change: change.event_id)
    composed = 0
    for subscriber in subscribers:
        new = [change for change in changes if change.event_id > subscriber.sent_up_to]
        if not new:
            continue
        unsubscribe_link = mail.absolute_url("subscriptions.unsubscribe", token=token_of(subscriber))
        page = mail.absolute_url("exports.public_changes")
        if subscriber.frequency == "daily":
            if subscriber.last_digest_on == today:
                continue
            mail.compose("list_digest", subscriber.email, f"Changes to our processor list ({len(new)})", "list_digest",
                         dedup_key=f"list_digest:{subscriber.id}:{today}", about=("list_subscribers", subscriber.id),
                         changes=new, unsubscribe=unsubscribe_link, page=page)
            subscriber.last_digest_on = today
            composed += 1
        else:
            for change in new:
                mail.compose("list_change", subscriber.email, f"Our processor list: {change.kind} ({change.processor})",
                             "list_change", dedup_key=f"list_change:{subscriber.id}:{change.event_id}",
                             about=("list_subscribers", subscriber.id), change=change, unsubscribe=unsubscribe_link, page=page)
                composed += 1
        subscriber.sent_up_to = new[-1].event_id
    db.session.commit()
    return composed
