"""Mail (register/mail.py) against a real SMTP server the suite starts (aiosmtpd on 127.0.0.1): a message
is committed with its cause and sent once; a rollback sends nothing; an outage is retried with
backoff and then delivered once; a permanent refusal is not retried; a message whose sender vanished
mid-conversation is never sent again by itself; without SMTP, messages are .eml files a reader opens;
the mail page is for admins and sends a test message."""

import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpers import post_form
from register import mail
from register.extensions import db
from register.models import OutboxMessage, Role, utcnow


@pytest.fixture
def app_config(mail_config) -> dict:
    return mail_config


def test_a_message_is_committed_with_its_cause_and_sent_once(app, smtp, make_user):
    user = make_user(Role.ADMIN)[0]
    mail.compose("test", user.email, "A test", "test", user=user, dedup_key="test:1")
    mail.compose("test", user.email, "A test", "test", user=user, dedup_key="test:1")  # the same cause: one message
    db.session.commit()  # the worker is asked to send (here, at once)
    assert mail.send_due(utcnow() + timedelta(hours=1)) == {"sent": 0, "retry": 0, "failed": 0, "unknown": 0}
    [received] = smtp.inbox.received
    assert smtp.inbox.envelopes == [("register@meridian.example", [user.email])]
    assert received["Subject"] == "A test" and received["Auto-Submitted"] == "auto-generated"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "https://register.meridian.example/admin/mail" in text and 'href="https://register.meridian.example/admin/mail"' in html
    message = db.session.scalar(select(OutboxMessage))
    assert message.state == "sent" and [d.outcome for d in message.deliveries] == ["sent"]


def test_a_change_rolled_back_sends_nothing(app, smtp, make_user):
    user = make_user(Role.ADMIN)[0]
    mail.compose("test", user.email, "Never", "test", user=user)
    db.session.rollback()
    assert mail.send_due() == {"sent": 0, "retry": 0, "failed": 0, "unknown": 0}
    assert smtp.inbox.received == [] and db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_an_outage_is_retried_with_backoff_then_delivered_once(app, smtp, make_user):
    user = make_user(Role.ADMIN)[0]
    smtp.stop()
    mail.compose("test", user.email, "Through the outage", "test", user=user)
    db.session.commit()  # the first attempt fails: nothing listens
    message = db.session.scalar(select(OutboxMessage))
    assert message.state == "pending" and message.attempts == 1 and message.deliveries[0].outcome == "failed"
    assert "ConnectionRefusedError" in message.deliveries[0].detail
    first_retry = message.next_attempt_at
    assert timedelta(seconds=50) < first_retry - message.deliveries[0].attempted_at <= timedelta(minutes=1)
    assert mail.send_due(first_retry - timedelta(seconds=1))["retry"] == 0  # not due yet: not tried
    assert mail.send_due(first_retry)["retry"] == 1  # still down: the next wait is longer
    db.session.refresh(message)
    assert message.next_attempt_at - first_retry == timedelta(minutes=2)
    smtp.start()
    assert mail.send_due(message.next_attempt_at)["sent"] == 1
    assert mail.send_due(message.next_attempt_at + timedelta(hours=1))["sent"] == 0
    db.session.refresh(message)
    assert message.state == "sent" and [d.outcome for d in message.deliveries] == ["failed", "failed", "sent"]
    assert [m["Subject"] for m in smtp.inbox.received] == ["Through the outage"]


def test_a_permanent_refusal_is_not_retried(app, smtp, make_user):
    user = make_user(Role.ADMIN)[0]
    smtp.inbox.refuse = True
    mail.compose("test", "nobody@meridian.example", "Refused", "test", user=user)
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage))
    assert message.state == "failed" and message.attempts == 1 and "550" in message.last_error
    assert mail.send_due(utcnow() + timedelta(days=1))["retry"] == 0


def test_a_message_whose_sender_vanished_mid_send_is_not_sent_again(app, smtp, make_user):
    user = make_user(Role.ADMIN)[0]
    smtp.stop()  # the message is composed while the server is away, then "claimed" by a sender that dies
    mail.compose("test", user.email, "Cut off", "test", user=user)
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage))
    message.state, message.next_attempt_at = "sending", utcnow() - timedelta(minutes=11)
    db.session.commit()
    smtp.start()
    assert mail.send_due()["unknown"] == 1
    db.session.refresh(message)
    assert message.state == "unknown" and smtp.inbox.received == []
    assert "may or may not have arrived" in message.deliveries[-1].detail


@pytest.mark.parametrize("app_config", [{"BASE_URL": "https://register.meridian.example/"}])
def test_without_smtp_each_message_is_an_eml_file_a_mail_reader_opens(app, app_config, make_user):
    user = make_user(Role.ADMIN)[0]
    mail.compose("test", user.email, "In the mailbox", "test", user=user)
    db.session.commit()
    [path] = Path(app.config["MAILBOX_FOLDER"]).glob("*.eml")
    opened = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert opened["Subject"] == "In the mailbox" and opened["To"] == user.email
    assert "https://register.meridian.example/admin/mail" in opened.get_body(("plain",)).get_content()
    assert db.session.scalar(select(OutboxMessage.state)) == "sent"


def test_the_mail_page_is_for_admins_and_sends_a_test_message(app, logged_in, make_user, smtp):
    from helpers import login

    auditor = app.test_client()
    user, password = make_user(Role.AUDITOR)
    login(auditor, user.email, password)
    assert auditor.get("/admin/mail").status_code == 403
    admin = logged_in(Role.ADMIN)
    page = admin.get("/admin/mail").get_data(as_text=True)
    assert f"SMTP 127.0.0.1:{smtp.port} (none)" in page
    sent = post_form(admin, "/admin/mail/test", {}, form_path="/admin/mail")
    assert sent.status_code == 302
    shown = admin.get(sent.headers["Location"]).get_data(as_text=True)
    assert "accepted by 127.0.0.1" in shown and "sent" in shown
    [received] = smtp.inbox.received
    assert received["To"] == admin.user.email
