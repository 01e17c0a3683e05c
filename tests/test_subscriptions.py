"""Subscribers to the public processor list (register/subscriptions.py), through a real SMTP server:
nothing but the confirmation is sent before the address is confirmed; each change reaches a
subscriber once (or one digest a day); unsubscribing erases the address and its mail; nobody can
learn who subscribed; a forged link is refused; no subscriber address appears in any export."""

import io
import re
from datetime import date, timedelta
from urllib.parse import urlparse

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from helpers import post_form
from register import services
from register.extensions import db
from register.models import Engagement, GroupEntity, ListSubscriber, OutboxMessage, Role, ThirdParty
from register.subscriptions import send_updates

ADDRESS = "reader@example.org"


@pytest.fixture
def app_config(mail_config) -> dict:
    return mail_config


@pytest.fixture
def published(app, logged_in, writer):
    admin = logged_in(Role.ADMIN)
    hq = writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"}))
    post_form(admin, "/admin/settings", {"publish_processor_list": "y"})
    return {"admin": admin, "hq": hq}


def new_processor(writer, hq, name: str):
    def build():
        vendor = services.create(ThirdParty, {"legal_name": name, "country_code": "IN"})
        services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Claims handling",
                                     "relationship_type": "processor"})
    writer(build)


def _visitor(app):
    return app.test_client()


def subscribe(app, frequency="each", address=ADDRESS):
    visitor = _visitor(app)
    page = post_form(visitor, "/public/processors/subscribe", {"email": address, "frequency": frequency},
                     form_path="/public/processors")
    return visitor, page


def _link(smtp, pattern: str) -> str:
    for message in reversed(smtp.inbox.received):
        found = re.search(rf"https://register\.meridian\.example(/public/subscription/\S+{pattern})", message.get_body(("plain",)).get_content())
        if found:
            return found.group(1)
    raise AssertionError(f"no link {pattern!r} in {[m['Subject'] for m in smtp.inbox.received]}")


def test_nothing_but_the_confirmation_is_sent_before_the_address_is_confirmed(app, smtp, writer, published):
    visitor, page = subscribe(app)
    assert page.status_code == 200 and "a message with a link to confirm is on its way" in page.get_data(as_text=True)
    [confirmation] = smtp.inbox.received
    assert confirmation["To"] == ADDRESS and "Confirm your subscription" in confirmation["Subject"]
    new_processor(writer, published["hq"], "Kaveri Data Services")
    send_updates()
    assert len(smtp.inbox.received) == 1  # not confirmed: no change sent
    link = _link(smtp, "")
    assert "Confirm my subscription" in visitor.get(link).get_data(as_text=True)  # opening the link confirms nothing
    db.session.rollback()
    assert db.session.scalar(select(ListSubscriber.confirmed_at)) is None
    assert post_form(visitor, link, {}).status_code == 302
    send_updates()
    assert len(smtp.inbox.received) == 1  # the list's history before the confirmation is not sent


def test_each_change_reaches_a_subscriber_once_with_its_unsubscribe_link(app, smtp, writer, published):
    visitor, _page = subscribe(app)
    post_form(visitor, _link(smtp, ""), {})
    new_processor(writer, published["hq"], "Kaveri Data Services")
    new_processor(writer, published["hq"], "Ganga Claims Pvt Ltd")
    assert send_updates() == 2
    assert send_updates() == 0  # sent up to there: nothing twice
    changes = smtp.inbox.received[1:]
    assert sorted(message["Subject"] for message in changes) == [
        "Our processor list: addition (Ganga Claims Pvt Ltd)", "Our processor list: addition (Kaveri Data Services)"]
    assert all("/unsubscribe" in message.get_body(("plain",)).get_content() for message in changes)


def test_a_digest_is_sent_once_a_day(app, smtp, writer, published):
    visitor, _page = subscribe(app, frequency="daily")
    post_form(visitor, _link(smtp, ""), {})
    new_processor(writer, published["hq"], "Kaveri Data Services")
    new_processor(writer, published["hq"], "Ganga Claims Pvt Ltd")
    today = date.today()
    assert send_updates(today) == 1
    new_processor(writer, published["hq"], "Narmada Analytics")
    assert send_updates(today) == 0  # one digest a day
    assert send_updates(today + timedelta(days=1)) == 1
    digests = smtp.inbox.received[1:]
    assert "Kaveri Data Services" in digests[0].get_body(("plain",)).get_content()
    assert "Narmada Analytics" in digests[1].get_body(("plain",)).get_content()
    assert "Kaveri" not in digests[1].get_body(("plain",)).get_content()


def test_unsubscribing_erases_the_address_and_its_mail(app, smtp, writer, published):
    visitor, _page = subscribe(app)
    post_form(visitor, _link(smtp, ""), {})
    new_processor(writer, published["hq"], "Kaveri Data Services")
    send_updates()
    unsubscribe = _link(smtp, "/unsubscribe")
    assert "Unsubscribe and erase my address" in visitor.get(unsubscribe).get_data(as_text=True)
    assert "erased" in post_form(visitor, unsubscribe, {}).get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(ListSubscriber)) is None
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == ADDRESS)) is None
    assert visitor.get(unsubscribe).status_code == 404  # the link names nobody now


def test_nobody_learns_who_subscribed_and_a_forged_link_is_refused(app, smtp, published):
    visitor, _page = subscribe(app)
    post_form(visitor, _link(smtp, ""), {})
    _other, again = subscribe(app)  # a confirmed address, asked again
    assert again.status_code == 200 and "a message with a link to confirm is on its way" in again.get_data(as_text=True)
    assert len(smtp.inbox.received) == 1  # and nothing sent to it
    token = urlparse(_link(smtp, "")).path.rsplit("/", 1)[1]
    assert _visitor(app).get(f"/public/subscription/{token[:-3]}abc").status_code == 404
    bad = post_form(_visitor(app), "/public/processors/subscribe", {"email": "not an address"}, form_path="/public/processors")
    assert bad.status_code == 400 and "That is not an email address." in bad.get_data(as_text=True)


def test_subscribing_is_limited_per_client_address(app, smtp, published):
    visitor = _visitor(app)
    answers = [post_form(visitor, "/public/processors/subscribe", {"email": f"r{n}@example.org"},
                         form_path="/public/processors").status_code for n in range(12)]
    assert answers[:10] == [200] * 10 and answers[10:] == [429, 429]


def test_no_subscriber_address_is_in_any_export(app, smtp, writer, published):
    visitor, _page = subscribe(app)
    post_form(visitor, _link(smtp, ""), {})
    new_processor(writer, published["hq"], "Kaveri Data Services")
    send_updates()
    admin = published["admin"]
    for path in ("/exports/register.xlsx", "/history.xlsx", "/exports/processors.xlsx"):
        book = load_workbook(io.BytesIO(admin.get(path).data), read_only=True)
        cells = " ".join(str(value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for value in row)
        assert ADDRESS not in cells, path
    for path in ("/exports/processors.csv", "/public/processors.csv", "/history", "/processors/changes.atom"):
        assert ADDRESS not in admin.get(path).get_data(as_text=True), path
