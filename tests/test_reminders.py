"""Reminders to staff (register/reminders.py): they fire on the right days (dates passed in), each once
per threshold; each user gets the kinds they chose, mailed at once or as one daily digest (through a
real SMTP server), and reads them in the register."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from helpers import post_form
from register import reminders, services
from register.extensions import db
from register.models import (Certificate, DpfCertification, GroupEntity, Notification, Role, SubjectRequest, ThirdParty,
                             TransferImpactAssessment, TransferRoute)

DAY = date.today()


@pytest.fixture
def app_config(mail_config) -> dict:
    return mail_config


@pytest.fixture
def register(writer):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
        vendor = services.create(ThirdParty, {"legal_name": "Kaveri Data Services", "country_code": "IN"})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "IN",
                                                "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor"})
        certificate = services.create(Certificate, {"third_party_id": vendor.id, "edition": "2022", "certificate_number": "IN-1",
                                                    "certification_body": "BSI",
                                                    "issued_on": DAY - timedelta(days=900), "expires_on": DAY + timedelta(days=90),
                                                    "last_verified_on": DAY - timedelta(days=10)})
        tia = services.create(TransferImpactAssessment, {"route_id": route.id, "assessed_on": DAY - timedelta(days=300),
                                                          "outcome": "can_comply", "next_review_on": DAY + timedelta(days=20)})
        dpf = services.create(ThirdParty, {"legal_name": "Relata Inc", "country_code": "US"})
        entry = services.create(DpfCertification, {"third_party_id": dpf.id, "framework": "eu_us", "certified_entity_name": "Relata Inc",
                                                   "verified_on": DAY - timedelta(days=340)})
        return {"route": route, "certificate": certificate, "tia": tia, "entry": entry}

    return writer(build)


def keys(on: date, kind: str) -> list[str]:
    return [reminder.key for reminder in reminders.due(on) if reminder.kind == kind]


def test_a_certificate_is_reminded_at_90_60_and_30_days_each_once(app, register):
    expires = register["certificate"].expires_on
    assert keys(expires - timedelta(days=91), "certificate") == []
    at_90 = keys(expires - timedelta(days=90), "certificate")
    assert len(at_90) == 1 and at_90[0].endswith(":90")
    assert keys(expires - timedelta(days=61), "certificate") == at_90  # the same reminder: not given again
    assert keys(expires - timedelta(days=60), "certificate")[0].endswith(":60")
    assert keys(expires - timedelta(days=30), "certificate")[0].endswith(":30")
    assert keys(expires + timedelta(days=1), "certificate") == []  # ended: the vetting verdicts say so
    [text] = [r.text for r in reminders.due(expires - timedelta(days=30)) if r.kind == "certificate"]
    assert f"ends on {expires} (within 30 days); 1 live route(s) send data to Kaveri Data Services" in text


def test_tia_reviews_dpf_reverification_and_request_deadlines_fire_on_their_days(app, register, writer):
    review = register["tia"].next_review_on
    assert keys(review - timedelta(days=31), "tia") == []
    assert keys(review - timedelta(days=30), "tia")[0].endswith(":due")
    assert keys(review + timedelta(days=1), "tia")[0].endswith(":overdue")
    verified = register["entry"].verified_on
    assert keys(date(verified.year + 1, verified.month, verified.day) - timedelta(days=31), "dpf") == []
    assert len(keys(date(verified.year + 1, verified.month, verified.day) - timedelta(days=30), "dpf")) == 1
    from register.requests import operations

    record = writer(lambda: operations.create_request({"request_type": "processor_list", "channel": "email", "received_on": DAY,
                                                       "requester": {"name": "Ana Ruiz", "contact": "ana@example.org"}}))
    due_on = operations.clocks(db.session.get(SubjectRequest, record.id), DAY).next_deadline.due_on
    early = [key for key in keys(DAY, "request") if key.startswith(f"request:{record.id}:")]
    assert early == []  # 5 working days away: not yet
    near = [key for key in keys(due_on - timedelta(days=1), "request") if key.startswith(f"request:{record.id}:")]
    assert len(near) == 1 and near[0].endswith(":due")
    late = [key for key in keys(due_on + timedelta(days=1), "request") if key.startswith(f"request:{record.id}:")]
    assert late and late[0].endswith(":overdue")


def test_each_user_gets_the_kinds_they_chose_once_mailed_as_they_chose(app, logged_in, make_user, smtp, register):
    editor = logged_in(Role.EDITOR)
    # The editor wants certificates only, each mailed; another editor keeps the default (all, one daily mail).
    chose = post_form(editor, "/notifications/settings", {"kinds": ["certificate"], "frequency": "immediate"})
    assert chose.status_code == 302
    other, _password = make_user(Role.EDITOR)
    auditor, _password = make_user(Role.AUDITOR)  # auditors get none by default
    on = register["certificate"].expires_on - timedelta(days=30)
    first = reminders.run(on)
    again = reminders.run(on)
    assert again == {"notifications": 0, "mails": 0}  # the same day again: nothing twice
    mine = db.session.scalars(select(Notification).where(Notification.user_id == editor.user.id)).all()
    assert [n.kind for n in mine] == ["certificate"]
    theirs = {n.kind for n in db.session.scalars(select(Notification).where(Notification.user_id == other.id))}
    assert {"certificate", "tia", "dpf"} <= theirs
    assert db.session.scalar(select(Notification).where(Notification.user_id == auditor.id)) is None
    received = {message["To"]: message for message in smtp.inbox.received}
    assert sorted(received) == sorted([editor.user.email, other.email]) and first["mails"] == 2
    assert "Kaveri Data Services" in received[editor.user.email]["Subject"]
    digest = received[other.email].get_body(("plain",)).get_content()
    assert "reminder(s) for" in received[other.email]["Subject"] and "TIA of route" in digest
    assert "(Meridian Assist SA \u2192 Kaveri Data Services (IN)) has a gap" in digest
    page = editor.get("/notifications").get_data(as_text=True)
    assert "Kaveri Data Services" in page and "Mark all as read" in page
    assert "Your reminders (1)" in editor.get("/").get_data(as_text=True)
    post_form(editor, "/notifications", {})
    assert "Your reminders (1)" not in editor.get("/").get_data(as_text=True)
