"""The mail page (admins): every message the register sent or will send, its deliveries, a resend,
and a test message to check the mail settings."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from . import mail
from .auth import admin_required
from .extensions import db, short_write
from .models import OutboxMessage

bp = Blueprint("outbox", __name__)
SHOWN = 200
STATES = ("pending", "sending", "sent", "failed", "unknown")


class ActionForm(FlaskForm):
    pass


@bp.route("/admin/mail")
@admin_required
def index():
    state = request.args.get("state") or ""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(SHOWN)
    if state in STATES:
        query = query.where(OutboxMessage.state == state)
    counts = dict(db.session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
    config = current_app.config
    transport = (f"SMTP {config['MAIL_HOST']}:{config['MAIL_PORT']} ({config['MAIL_SECURITY']})" if config.get("MAIL_HOST")
                 else f"no SMTP server set: each message is written to {config['MAILBOX_FOLDER']}")
    return render_template("outbox/index.html", messages=db.session.scalars(query).all(), counts=counts, states=STATES,
                           state=state, transport=transport, form=ActionForm())


@bp.route("/admin/mail/<int:message_id>")
@admin_required
def show(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404, description="No such message.")
    return render_template("outbox/show.html", message=message, form=ActionForm())


@bp.route("/admin/mail/<int:message_id>/resend", methods=["POST"])
@admin_required
def resend(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404, description="No such message.")
    if not ActionForm().validate_on_submit():
        abort(400, description="The form expired: reload the page and try again.")
    if message.state not in ("failed", "unknown", "sent"):
        abort(400, description="This message is still being sent.")
    with short_write(db.session()):
        copy = mail.resend(db.session.get(OutboxMessage, message_id))
        db.session.commit()
    flash(f"Queued again as message #{copy.id}.", "success")
    return redirect(url_for("outbox.show", message_id=copy.id))


@bp.route("/admin/mail/test", methods=["POST"])
@admin_required
def test_message():
    if not ActionForm().validate_on_submit():
        abort(400, description="The form expired: reload the page and try again.")
    with short_write(db.session()):
        message = mail.compose("test", current_user.email, "Transfer register: a test message", "test", user=current_user)
        db.session.commit()
    flash(f"A test message to {current_user.email} is queued (#{message.id}); this page shows how it went.", "success")
    return redirect(url_for("outbox.show", message_id=message.id))
