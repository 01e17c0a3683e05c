"""Mail the register sends, reliably: an outbox written with what causes it, sent by the job worker.

- `compose()` renders a message from its templates (`templates/mail/NAME.txt` and `.html`, links made
  absolute with BASE_URL) and adds it to the caller's session: it is committed with the change that
  causes it, or not at all. A `dedup_key` names the cause: composing it again gives the same message.
- After a commit that added messages, the worker is asked to send them (a queue task); every minute
  it also sends what is due (retries). `send_due()` claims each message (pending -> sending, one
  UPDATE) before the SMTP conversation, so two workers never send one message twice; then records the
  delivery (sent, or failed with the server's answer). A failure is retried with backoff (1, 2, 4 ...
  minutes, at most MAIL_MAX_ATTEMPTS times); a permanent refusal (5xx) is not. A message whose sender
  vanished mid-conversation is marked unknown (it may have arrived) and never sent again by itself:
  staff see it on the mail page and may resend it.
- Transport: SMTP when MAIL_HOST is set (STARTTLS, SSL or plain; user and password if given); without
  it, each message is written as a `.eml` file to MAILBOX_FOLDER (default instance/mailbox), which any
  mail reader opens: nothing leaves the machine until SMTP is configured.
"""

import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from flask import current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from .extensions import db, short_write, write_now
from .models import MailDelivery, OutboxMessage, utcnow

SENDING_GIVES_UP_AFTER = timedelta(minutes=10)  # a message "sending" this long: its sender vanished


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for a message: the endpoint under BASE_URL (a mail is written and read outside any request)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def compose(kind: str, to: str, subject: str, template: str, *, dedup_key: Optional[str] = None,
            about: Optional[tuple[str, int]] = None, sess: Optional[Session] = None, **context: Any) -> OutboxMessage:
    """A message to `to`, from templates/mail/`template`.txt (and .html if there is one), in the outbox
    of `sess` (the caller's unit): sent once that commits."""
    sess = sess or db.session()
    if dedup_key:
        existing = sess.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key))
        if existing is None:
            existing = next((item for item in sess.new if isinstance(item, OutboxMessage) and item.dedup_key == dedup_key), None)
        if existing is not None:
            return existing
    context = {"base_url": current_app.config["BASE_URL"], "absolute_url": absolute_url, **context}
    text_body = render_template(f"mail/{template}.txt", **context)
    try:
        html_body = render_template(f"mail/{template}.html", **context)
    except TemplateNotFound:
        html_body = None
    message = OutboxMessage(kind=kind, to_address=to.strip(), subject=subject[:250], text_body=text_body, html_body=html_body,
                            dedup_key=dedup_key, state="pending", attempts=0, next_attempt_at=utcnow(),
                            about_type=about[0] if about else None, about_id=about[1] if about else None)
    sess.add(message)
    return message


def resend(message: OutboxMessage) -> OutboxMessage:
    """A new message with the same content (staff, after a failure or an unknown outcome)."""
    copy = OutboxMessage(kind=message.kind, to_address=message.to_address, subject=message.subject,
                         text_body=message.text_body, html_body=message.html_body, state="pending", attempts=0,
                         next_attempt_at=utcnow(), about_type=message.about_type, about_id=message.about_id)
    db.session.add(copy)
    return copy


# --- sending (in the worker) ----------------------------------------------------------------------


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


def _email(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    mail = EmailMessage()
    mail["From"] = config["MAIL_SENDER"]
    mail["To"] = message.to_address
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=config["MAIL_SENDER"].rpartition("@")[2].strip(">") or None)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text_body)
    if message.html_body:
        mail.add_alternative(message.html_body, subtype="html")
    return mail


def _deliver(mail: EmailMessage, message_id: int) -> str:
    """Send it; returns what to record. Raises PermanentFailure, or OSError/SMTPException to retry."""
    config = current_app.config
    if not config.get("MAIL_HOST"):
        folder = Path(config["MAILBOX_FOLDER"])
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{utcnow():%Y%m%dT%H%M%S}-{message_id}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(bytes(mail))
        temporary.replace(path)
        return f"written to {path}"
    host, port, timeout = config["MAIL_HOST"], config["MAIL_PORT"], config["MAIL_TIMEOUT_SECONDS"]
    security = config["MAIL_SECURITY"]
    context = ssl.create_default_context()
    try:
        if security == "ssl":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
        with server:
            if security == "starttls":
                server.starttls(context=context)
            if config.get("MAIL_USERNAME"):
                server.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            refused = server.send_message(mail)
    except smtplib.SMTPRecipientsRefused as error:
        # Permanent only if the server refused for good (5xx); 4xx (greylisting, a full mailbox) is retried.
        answers = "; ".join(f"{address}: {code} {_text(answer)}" for address, (code, answer) in error.recipients.items())
        if all(500 <= code < 600 for code, _answer in error.recipients.values()):
            raise PermanentFailure(answers[:500]) from None
        raise smtplib.SMTPException(answers[:500]) from None
    except smtplib.SMTPDataError as error:
        if 500 <= error.smtp_code < 600:  # the message itself refused
            raise PermanentFailure(_describe(error)) from None
        raise
    # Anything else (a refused login, STARTTLS, the sender address) is the settings' problem, not the
    # message's: retried, so that fixing the settings sends what waited.
    if refused:
        raise PermanentFailure(f"refused: {refused}")
    return f"accepted by {host}:{port}"


def _text(answer: Any) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        answer = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
        return f"{error.smtp_code} {answer}"[:500]
    return f"{type(error).__name__}: {error}"[:500]


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: 1, 2, 4 ... minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def send_due(now: Optional[datetime] = None, limit: int = 200) -> dict[str, int]:
    """Send the messages that are due (each once); returns how many were sent, retried, failed."""
    sess = db.session()
    given = now
    now = now or utcnow()
    tally = {"sent": 0, "retry": 0, "failed": 0, "unknown": 0}
    # Messages whose sender vanished during the SMTP conversation (claimed long ago, never finished):
    # not sent again. One UPDATE each, only while still "sending": a sender that is merely slow and
    # finishes meanwhile keeps its outcome.
    stale = sess.scalars(select(OutboxMessage.id).where(
        OutboxMessage.state == "sending", OutboxMessage.next_attempt_at < now - SENDING_GIVES_UP_AFTER)).all()
    for message_id in stale:
        with short_write(sess):
            moved = sess.execute(update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.state == "sending")
                                 .values(state="unknown"))
            if moved.rowcount:
                sess.add(MailDelivery(message_id=message_id, outcome="unknown", attempted_at=now, detail=(
                    "The sender stopped during the SMTP conversation: the message may or may not have arrived, and is "
                    "not sent again by itself (resend it from the mail page).")))
                tally["unknown"] += 1
            sess.commit()
    due = list(sess.scalars(select(OutboxMessage.id).where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
                            .order_by(OutboxMessage.id).limit(limit)))
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    for message_id in due:
        now = given or utcnow()  # each claim its own time: "sending since" is the moment it was claimed
        claimed = write_now(sess, update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.state == "pending")
                            .values(state="sending", attempts=OutboxMessage.attempts + 1, next_attempt_at=now))
        if claimed.rowcount != 1:
            continue  # another worker has it
        message = sess.get(OutboxMessage, message_id)
        attempts = message.attempts
        outcome: dict[str, Any]
        try:
            built = _email(message)
            sess.commit()  # no read held during the SMTP conversation (the outcome is written afresh below)
            detail = _deliver(built, message_id)
        except (ValueError, UnicodeError, TypeError) as broken:
            # The message cannot be built or encoded (an address or header the mail format refuses):
            # never sendable as it is.
            outcome = {"state": "failed", "last_error": f"the message cannot be sent as it is: {broken}"[:500]}
        except PermanentFailure as refused:
            outcome = {"state": "failed", "last_error": str(refused)}
        except (OSError, smtplib.SMTPException) as error:
            detail = _describe(error)
            outcome = ({"state": "failed", "last_error": detail} if attempts >= max_attempts else
                       {"state": "pending", "last_error": detail, "next_attempt_at": now + retry_delay(attempts)})
        else:
            outcome = {"state": "sent", "sent_at": now, "last_error": None}
        with short_write(sess):
            sess.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**outcome))
            sess.add(MailDelivery(message_id=message_id, attempted_at=now,
                                  outcome="sent" if outcome["state"] == "sent" else "failed",
                                  detail=detail if outcome["state"] == "sent" else outcome["last_error"]))
            sess.commit()
        tally["sent" if outcome["state"] == "sent" else "retry" if outcome["state"] == "pending" else "failed"] += 1
    return tally


# --- asking the worker to send after a commit -------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _note_new_mail(session: Session, _context) -> None:
    if any(isinstance(item, OutboxMessage) for item in session.new):
        session.info["mail_to_send"] = True


@event.listens_for(Session, "after_commit")
def _ask_worker_to_send(session: Session) -> None:
    if session.info.pop("mail_to_send", False):
        try:
            sender = current_app.extensions.get("mail.send")
        except RuntimeError:  # no app (a script's own session): the worker's minute finds it
            return
        if sender is not None:
            try:
                sender()
            except Exception:  # the change is committed: the worker's minute sends what the queue missed
                current_app.logger.exception("the mail just written could not be handed to the worker now")


@event.listens_for(Session, "after_rollback")
def _forget_mail(session: Session) -> None:
    session.info.pop("mail_to_send", None)
