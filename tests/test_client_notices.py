"""Art. 28(2) notices by mail (register/client_notices.py), through a real SMTP server: an intended
sub-processor reaches each concerned client exactly once with its own deadline; the client objects
through the signed link without an account and the objection blocks activation; a forged link is
refused, an expired one takes no answer; clients that cannot be told are named, not skipped silently."""

import re
from datetime import date, timedelta
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from helpers import post_form
from register import services
from register.extensions import db
from register.models import AuditEvent, ChangeNotice, Client, Engagement, GroupEntity, OutboxMessage, Role, ThirdParty


@pytest.fixture
def app_config(mail_config) -> dict:
    return mail_config


@pytest.fixture
def chain(writer):
    """Two clients of the HQ (general authorisation with 30 and 14 days' notice, one of them without a
    contact address), one with specific authorisation, and a proposed sub-processor for the HQ's work."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_processor": True})
        avm = services.create(Client, {"legal_name": "Assurances Voyageurs Mutuelles", "country_code": "FR",
                                       "notice_period_days": 30, "contact_email": "dpo@avm.example", "contact_name": "Claire Morel"})
        hanse = services.create(Client, {"legal_name": "Hanseatische Reise AG", "country_code": "DE", "notice_period_days": 14,
                                         "contact_email": "datenschutz@hanse.example"})
        quiet = services.create(Client, {"legal_name": "Silent Travel BV", "country_code": "NL", "notice_period_days": 30})
        lumen = services.create(Client, {"legal_name": "Lumen Assurance SA", "country_code": "BE", "notice_period_days": 21,
                                         "contact_email": "privacy@lumen.example"})
        for client, authorisation in ((avm, "general"), (hanse, "general"), (quiet, "general"), (lumen, "specific")):
            services.create(Engagement, {"engager_id": client.id, "engaged_id": hq.id, "service": "Assistance",
                                         "relationship_type": "processor", "authorisation": authorisation})
        vendor = services.create(ThirdParty, {"legal_name": "Archivum NV", "country_code": "BE"})
        proposed = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Claims scanning",
                                                "relationship_type": "sub_processor", "status": "proposed",
                                                "planned_start_on": date.today() + timedelta(days=45)})
        return {"hq": hq, "avm": avm, "hanse": hanse, "quiet": quiet, "lumen": lumen, "vendor": vendor, "proposed": proposed}

    return writer(build)


def _send(client, chain):
    path = f"/engagements/{chain['proposed'].id}"
    sent = post_form(client, f"{path}/send-notices", {}, form_path=path)
    assert sent.status_code == 302, sent.get_data(as_text=True)[:300]
    return client.get(sent.headers["Location"]).get_data(as_text=True)


def _links(smtp) -> dict[str, str]:
    """The answer link each recipient got, by address."""
    found = {}
    for message in smtp.inbox.received:
        text = message.get_body(("plain",)).get_content()
        found[message["To"]] = re.search(r"https://register\.meridian\.example(/notice/\S+)", text).group(1)
    return found


def test_each_concerned_client_is_told_once_with_its_own_deadline(logged_in, smtp, chain):
    editor = logged_in(Role.EDITOR)
    page = _send(editor, chain)
    assert "Notice sent to 3 client(s)" in page and "Silent Travel BV: no contact address recorded" in page
    today = date.today()
    received = {message["To"]: message for message in smtp.inbox.received}
    assert sorted(received) == ["datenschutz@hanse.example", "dpo@avm.example", "privacy@lumen.example"]
    avm_text = received["dpo@avm.example"].get_body(("plain",)).get_content()
    assert f"You may object until {today + timedelta(days=30)} (30 days" in avm_text
    assert "Archivum NV (Belgium)" in avm_text and "Claims scanning" in avm_text
    assert f"Planned start:  {today + timedelta(days=45)}" in avm_text
    assert "Archivum NV (Belgium)\r\nService:" in avm_text  # one fact a line (SMTP lines end in CRLF)
    assert f"You may object until {today + timedelta(days=14)}" in received["datenschutz@hanse.example"].get_body(("plain",)).get_content()
    assert "prior specific authorisation" in received["privacy@lumen.example"].get_body(("plain",)).get_content()
    notices = {notice.client.legal_name: notice for notice in db.session.scalars(select(ChangeNotice))}
    assert notices["Assurances Voyageurs Mutuelles"].sent_on == today
    assert notices["Assurances Voyageurs Mutuelles"].objection_deadline == today + timedelta(days=30)
    assert notices["Assurances Voyageurs Mutuelles"].sent_to == "dpo@avm.example"
    # Again: nobody is told twice.
    again = _send(editor, chain)
    assert "Notice sent to" not in again and "Not sent: Silent Travel BV: no contact address recorded" in again
    assert len(smtp.inbox.received) == 3
    assert db.session.query(OutboxMessage).count() == 3


def test_an_objection_through_the_link_is_recorded_and_blocks_activation(app, logged_in, smtp, chain):
    editor = logged_in(Role.EDITOR)
    _send(editor, chain)
    link = _links(smtp)["dpo@avm.example"]
    visitor = app.test_client()  # no account
    page = visitor.get(link).get_data(as_text=True)
    assert "Archivum NV" in page and "We object" in page and "We authorise" not in page
    refused = post_form(visitor, link, {"answer": "object", "details": ""})
    assert refused.status_code == 400 and "Give the reasons" in refused.get_data(as_text=True)
    answered = post_form(visitor, link, {"answer": "object", "details": "Archiving outside France needs our DPO's review."})
    assert answered.status_code == 302
    done = visitor.get(answered.headers["Location"]).get_data(as_text=True)
    assert "Your objection of" in done
    db.session.rollback()
    notice = db.session.scalar(select(ChangeNotice).where(ChangeNotice.client_id == chain["avm"].id))
    assert notice.objection_received_on == date.today() and "DPO's review" in notice.objection_details
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "change_notices", AuditEvent.record_id == notice.id)
                              .order_by(AuditEvent.id.desc()).limit(1))
    assert event.actor_label == "Assurances Voyageurs Mutuelles (notice link)"
    engagement_page = editor.get(f"/engagements/{chain['proposed'].id}").get_data(as_text=True)
    assert f"Assurances Voyageurs Mutuelles objected on {date.today()}" in engagement_page
    # Answered: the link takes no second answer.
    still_open = _links(smtp)["datenschutz@hanse.example"]  # a page with a form, for the session's CSRF token
    assert post_form(visitor, link, {"answer": "no_objection"}, form_path=still_open).status_code == 409


def test_a_client_with_specific_authorisation_authorises_through_the_link(app, logged_in, smtp, chain):
    _send(logged_in(Role.EDITOR), chain)
    link = _links(smtp)["privacy@lumen.example"]
    visitor = app.test_client()
    page = visitor.get(link).get_data(as_text=True)
    assert "We authorise this sub-processor" in page and "We do not object" not in page  # silence authorises nothing
    assert post_form(visitor, link, {"answer": "authorise"}).status_code == 302
    db.session.rollback()
    notice = db.session.scalar(select(ChangeNotice).where(ChangeNotice.client_id == chain["lumen"].id))
    assert notice.outcome.value == "authorised"
    # A general authorisation's client cannot "authorise" by changing the form.
    other = _links(smtp)["dpo@avm.example"]
    assert post_form(visitor, other, {"answer": "authorise"}).status_code == 400


def test_a_notice_whose_mail_was_refused_does_not_count_as_told(logged_in, smtp, chain):
    smtp.inbox.refuse = True  # every recipient refused for good (550)
    editor = logged_in(Role.EDITOR)
    _send(editor, chain)
    assert db.session.scalar(select(OutboxMessage.state).limit(1)) == "failed"
    page = editor.get(f"/engagements/{chain['proposed'].id}").get_data(as_text=True)
    assert "the notice mailed to Assurances Voyageurs Mutuelles was not delivered (failed)" in page
    assert "by mail: failed" in page
    # Sent again once the client's server takes it: the notice counts as told again.
    notice = db.session.scalar(select(ChangeNotice).where(ChangeNotice.client_id == chain["avm"].id))
    smtp.inbox.refuse = False
    shown = editor.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "Sent by mail" in shown and "550" in shown
    assert post_form(editor, f"/notices/{notice.id}/mail-again", {}, form_path=f"/notices/{notice.id}").status_code == 302
    assert [m["To"] for m in smtp.inbox.received].count("dpo@avm.example") == 1
    page = editor.get(f"/engagements/{chain['proposed'].id}").get_data(as_text=True)
    assert "the notice mailed to Assurances Voyageurs Mutuelles was not delivered" not in page


def test_a_forged_or_changed_link_is_refused_and_an_expired_one_takes_no_answer(app, logged_in, smtp, chain, writer):
    _send(logged_in(Role.EDITOR), chain)
    link = _links(smtp)["dpo@avm.example"]
    visitor = app.test_client()
    token = urlparse(link).path.rsplit("/", 1)[1]
    assert visitor.get(f"/notice/{token[:-2]}xy").status_code == 404
    assert visitor.get("/notice/eyJuIjoxLCJjIjoyLCJzIjo3fQ.forged").status_code == 404
    notice = db.session.scalar(select(ChangeNotice).where(ChangeNotice.client_id == chain["avm"].id))
    writer(lambda: services.update(notice, {"sent_on": date.today() - timedelta(days=40),
                                            "objection_deadline": date.today() - timedelta(days=10)},
                                   expected_version=notice.version))
    page = visitor.get(link).get_data(as_text=True)
    assert f"ended on {date.today() - timedelta(days=10)}" in page
    still_open = _links(smtp)["datenschutz@hanse.example"]  # a page with a form, for the session's CSRF token
    assert post_form(visitor, link, {"answer": "object", "details": "late"}, form_path=still_open).status_code == 410
