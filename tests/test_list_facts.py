"""What the processor list says of itself: when it last changed (the change feed's latest change, not
the last write to any record), the notice customers get of a new sub-processor (GDPR Art. 28(2)), and
how to hear of changes; the same on the public page, the xlsx and the feed."""

import io
import re
from datetime import datetime, timezone
from xml.etree import ElementTree

import pytest
from helpers import _Forms, post_form
from openpyxl import load_workbook
from sqlalchemy import select

from register import audit, services
from register.exports.changes import ATOM
from register.exports.list_facts import NOTICE_DAYS, SUBSCRIBE
from register.extensions import db
from register.models import Engagement, GroupEntity, Role, Setting, ThirdParty


@pytest.fixture
def clock(monkeypatch):
    """The moment the audit trail records for the next writes (the trail is append-only: no backdating)."""
    now = {"at": datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)}
    original = audit.event_values
    monkeypatch.setattr(audit, "event_values", lambda *args: {**original(*args), "occurred_at": now["at"]})
    return now


def update(model: type, record_id: int, values: dict):
    record = db.session.get(model, record_id)
    return services.update(record, values, expected_version=record.version)


def settings_form(client) -> dict:
    """The settings form as the page shows it (what a browser submits unchanged)."""
    reader = _Forms()
    reader.feed(client.get("/admin/settings").get_data(as_text=True))
    return {name: values[0] for name, values in next(form for form in reader.forms if "shown" in form).items()}


def header_dates(app, admin) -> dict[str, str]:
    """The last-updated date each surface states: the public page, the xlsx's About sheet, the feed."""
    page = app.test_client().get("/public/processors").get_data(as_text=True)
    header = re.search(r'id="list-facts">(.*?)</dl>', page, re.DOTALL).group(1)
    on_page = re.search(r'<time datetime="([\d-]+)"', header)
    book = load_workbook(io.BytesIO(admin.get("/exports/processors.xlsx").data))
    lines = [row[0] for row in book["About this list"].iter_rows(values_only=True) if row[0]]
    [stated] = [line for line in lines if line.startswith("Last updated:")]
    in_xlsx = re.match(r"Last updated: (\d{4}-\d\d-\d\d)", stated)
    feed = ElementTree.fromstring(app.test_client().get("/public/processors/changes.atom").data)
    # A feed reader reads the feed's own updated; with no entry it claims no change to the list.
    in_feed = feed.find(f"{{{ATOM}}}updated").text[:10] if feed.findall(f"{{{ATOM}}}entry") else None
    return {"page": on_page and on_page.group(1), "xlsx": in_xlsx and in_xlsx.group(1), "feed": in_feed}


def test_last_updated_is_the_feeds_latest_change_on_page_xlsx_and_feed(app, logged_in, writer, clock):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Nimbus Hosting Inc.", "country_code": "US", "is_in_subject_list": True})
        hidden = services.create(ThirdParty, {"legal_name": "Quiet Tools Ltd", "country_code": "GB", "is_in_subject_list": False})
        return hq.id, vendor.id, hidden.id

    hq, vendor, hidden = writer(build)
    admin = logged_in(Role.ADMIN)
    post_form(admin, "/admin/settings", {"publish_processor_list": "y"})
    assert set(header_dates(app, admin).values()) == {None}  # no change to the list yet: no date claimed

    engagement = writer(lambda: services.create(Engagement, {
        "engager_id": hq, "engaged_id": vendor, "service": "Hosting", "relationship_type": "processor",
        "locations": ["US"]}).id)
    assert header_dates(app, admin) == dict.fromkeys(("page", "xlsx", "feed"), "2026-03-02")

    # Writes the list does not show: a note, a vendor the list does not name, a party's address.
    clock["at"] = datetime(2026, 3, 5, 10, 0, tzinfo=timezone.utc)
    writer(lambda: update(Engagement, engagement, {"notes": "Renewal in May"}))
    writer(lambda: services.create(Engagement, {"engager_id": hq, "engaged_id": hidden, "service": "Ticketing",
                                                "relationship_type": "processor", "locations": ["GB"]}))
    writer(lambda: update(ThirdParty, vendor, {"address": "1 Cloud Way"}))
    assert header_dates(app, admin) == dict.fromkeys(("page", "xlsx", "feed"), "2026-03-02")

    # A change it shows: the vendor now also processes data in Germany.
    clock["at"] = datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc)
    writer(lambda: update(Engagement, engagement, {"locations": ["US", "DE"]}))
    assert header_dates(app, admin) == dict.fromkeys(("page", "xlsx", "feed"), "2026-03-09")


def test_the_notice_period_and_how_to_subscribe_show_only_when_an_admin_sets_them(app, logged_in):
    admin = logged_in(Role.ADMIN)
    post_form(admin, "/admin/settings", {"publish_processor_list": "y"})
    anonymous = app.test_client()
    before = anonymous.get("/public/processors").get_data(as_text=True)
    assert "Notice of new sub-processors" not in before and "subscribe at" not in before
    assert "/public/processors/changes.atom" in before  # the feed is how to follow it, always

    refused = admin.post("/admin/settings", data={**settings_form(admin), "notice_days": "0", "subscribe": "call us"})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "from 1 to 365" in body and "Give a web address" in body and 'value="call us"' in body
    assert db.session.scalar(select(Setting).where(Setting.key.in_((NOTICE_DAYS, SUBSCRIBE)))) is None

    saved = admin.post("/admin/settings", data={**settings_form(admin), "notice_days": "30",
                                                "subscribe": "https://example.com/subprocessors"})
    assert saved.status_code == 302
    page = anonymous.get("/public/processors").get_data(as_text=True)
    assert "We tell customers 30 days before a new sub-processor starts" in page
    assert 'href="https://example.com/subprocessors"' in page
    book = load_workbook(io.BytesIO(admin.get("/exports/processors.xlsx").data))
    about = [row[0] for row in book["About this list"].iter_rows(values_only=True) if row[0]]
    assert "We tell customers 30 days before a new sub-processor starts processing their personal data." in about
    assert any("/public/processors/changes.atom" in line for line in about)
    assert "To be told of changes, subscribe at https://example.com/subprocessors." in about

    # An email address is a mailto link; blanking the notice period takes it off the list again.
    admin.post("/admin/settings", data={**settings_form(admin), "notice_days": "", "subscribe": "privacy@example.com"})
    page = anonymous.get("/public/processors").get_data(as_text=True)
    assert "We tell customers" not in page and 'href="mailto:privacy@example.com"' in page


def test_a_setting_left_as_shown_does_not_undo_another_admins_change(app, logged_in, make_user):
    from helpers import login

    first = logged_in(Role.ADMIN)
    as_shown = settings_form(first)
    user, password = make_user(Role.ADMIN)
    second = app.test_client()
    login(second, user.email, password)
    second.post("/admin/settings", data={**settings_form(second), "notice_days": "45"})

    first.post("/admin/settings", data={**as_shown, "subscribe": "dpo@example.com"})

    stored = dict(db.session.execute(select(Setting.key, Setting.value).where(Setting.key.in_((NOTICE_DAYS, SUBSCRIBE)))).all())
    assert stored == {NOTICE_DAYS: "45", SUBSCRIBE: "dpo@example.com"}


# --- one rule for country codes on every path (register/services/codes.py) ---------------------------

# What a typed code is stored as (None: refused), the same through the form, the API and the import:
# the ISO 3166-1 alpha-2 code in any case and spacing; UK and EL, the codes in common and EU use, as
# GB and GR. A name ("France") is not a code: only the import, whose columns offer names, reads names.
CODES = {"FR": "FR", "fr": "FR", " de ": "DE", "UK": "GB", "uk": "GB", "EL": "GR", "el": "GR", "GB": "GB", "XX": None}
PATHS = ("form", "api", "import")


def _form_writes(client, value: str, vendor: str) -> dict:
    party = post_form(client, "/third-parties/new", {"legal_name": f"Party {vendor}", "country_code": value, "status": "active"})
    engagement = post_form(client, "/engagements/new", {
        "engager_id": "Meridian Assist SA", "engaged_id": vendor, "service": "Hosting", "relationship_type": "processor",
        "locations": [value], "status": "active"})
    route = post_form(client, "/routes/new", {
        "exporter_id": "Meridian Assist SA", "importer_id": vendor, "destination": value, "carries_eu_data": "y",
        "exporter_role": "controller", "importer_role": "processor", "status": "active"})
    return {"party": party.status_code == 302, "location": engagement.status_code == 302, "destination": route.status_code == 302}


def _api_writes(client, headers: dict, value: str, vendor_id: int, vendor: str, hq: int) -> dict:
    party = client.post("/api/v1/third-parties", headers=headers, json={"legal_name": f"Party {vendor}", "country_code": value})
    engagement = client.post("/api/v1/engagements", headers=headers, json={
        "engager_id": hq, "engaged_id": vendor_id, "service": "Hosting", "relationship_type": "processor", "locations": [value]})
    route = client.post("/api/v1/routes", headers=headers, json={
        "exporter_id": hq, "importer_id": vendor_id, "destination_country": value, "carries_eu_data": True,
        "exporter_role": "controller", "importer_role": "processor"})
    return {"party": party.status_code == 201, "location": engagement.status_code == 201, "destination": route.status_code == 201}


def _import_writes(tmp_path, value: str, vendor: str) -> dict:
    from register.imports.formats import ENGAGEMENTS, ROUTES, THIRD_PARTIES
    from register.imports.plan import run_import
    from register.models import AuditSource
    from test_real_lists import sheet, write_book

    made = {}
    for part, rows in (
            ("party", {THIRD_PARTIES.name: sheet(THIRD_PARTIES, [{"Legal name": f"Party {vendor}", "Country code": value,
                                                                  "Status": "active"}])}),
            ("location", {ENGAGEMENTS.name: sheet(ENGAGEMENTS, [{"Engaged by": "Meridian Assist SA", "Engages": vendor,
                                                                 "Service": "Hosting", "Relationship": "processor",
                                                                 "Status": "active", "Processing locations": value}])}),
            ("destination", {ROUTES.name: sheet(ROUTES, [{"Exporter": "Meridian Assist SA", "Importer": vendor,
                                                          "Destination code": value, "Regimes": "EU", "Lifecycle": "active",
                                                          "Exporter role": "controller", "Importer role": "processor"}])})):
        path = write_book(tmp_path / f"{part}-{vendor}.xlsx", rows)
        made[part] = run_import(path, path.name, audit.Actor(AuditSource.IMPORT, label="test import"), dry_run=False).applied
        db.session.rollback()
    return made


def test_a_country_code_is_read_the_same_through_the_form_the_api_and_the_import(app, logged_in, writer, make_user, tmp_path):
    from register.api import make_token
    from register.models import Party, TransferRoute

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendors = {(path, value): services.create(ThirdParty, {"legal_name": f"Vendor {path} {index}", "country_code": "US"}).id
                   for path in PATHS for index, value in enumerate(CODES)}
        return hq.id, vendors

    hq, vendors = writer(build)
    user, _password = make_user(Role.EDITOR)
    secret, _token = writer(lambda: make_token(user, "tests"))
    form_client, api_client = logged_in(Role.EDITOR), app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    stored: dict[str, dict[str, tuple]] = {path: {} for path in PATHS}
    for path in PATHS:
        for index, value in enumerate(CODES):
            vendor = f"Vendor {path} {index}"
            if path == "form":
                accepted = _form_writes(form_client, value, vendor)
            elif path == "api":
                accepted = _api_writes(api_client, headers, value, vendors[path, value], vendor, hq)
            else:
                accepted = _import_writes(tmp_path, value, vendor)
            party = db.session.scalar(select(Party.country_code).where(Party.legal_name == f"Party {vendor}"))
            engagement = db.session.scalar(select(Engagement).where(Engagement.engaged_id == vendors[path, value]))
            route = db.session.scalar(select(TransferRoute.destination_country).where(TransferRoute.importer_id == vendors[path, value]))
            found = (party, engagement and [location.country_code for location in engagement.locations], route)
            # what the path answered agrees with what it stored: accepted and stored, or refused and nothing written
            assert [bool(item) for item in found] == [accepted["party"], accepted["location"], accepted["destination"]], (path, value)
            stored[path][value] = found
    expected = {value: (code, [code], code) if code else (None, None, None) for value, code in CODES.items()}
    assert stored == {path: expected for path in PATHS}


# --- conditional sub-processors and categories in an Art. 15 answer --------------------------------


def test_an_access_answer_gives_each_recipients_categories_and_reads_a_conditional_one_as_such(app, writer):
    from register.models import TransferRoute
    from register.requests.answers import RECIPIENT_COLUMNS, recipients

    condition = "only if you use the AI features"

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        for name, listed in (("Lumen AI, Inc.", True), ("Backroom Labs Inc.", False)):  # on the list, and not
            vendor = services.create(ThirdParty, {"legal_name": name, "country_code": "US", "is_in_subject_list": listed})
            engagement = services.create(Engagement, {
                "engager_id": hq.id, "engaged_id": vendor.id, "service": f"Assistant of {name}", "relationship_type": "processor",
                "locations": ["US"], "data_categories": f"Prompts sent to {name}", "condition": condition})
            services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                            "carries_eu_data": True, "exporter_role": "controller",
                                            "importer_role": "processor", "engagement_id": engagement.id})

    writer(build)
    rows, _concerns = recipients([], [])
    found = {row.name: dict(zip(RECIPIENT_COLUMNS, row.values())) for row in rows}
    for name in ("Lumen AI, Inc.", "Backroom Labs Inc."):
        assert found[name]["What for"] == f"Assistant of {name} ({condition})"
        assert found[name]["Categories of personal data"] == f"Prompts sent to {name}"


def test_the_list_is_built_again_after_any_write_and_the_same_list_serves_page_and_downloads(logged_in, writer):
    """The list is kept per scope and day until the register changes (register/exports/__init__.py)."""
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Nimbus Cloud, Inc.", "country_code": "US"})
        services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Hosting",
                                     "relationship_type": "processor"})
        return vendor.id

    vendor_id = writer(build)
    admin = logged_in(Role.ADMIN)
    assert "Nimbus Cloud, Inc." in admin.get("/processors").get_data(as_text=True)
    assert "Nimbus Cloud, Inc." in admin.get("/exports/processors.csv").get_data(as_text=True)
    writer(lambda: update(ThirdParty, vendor_id, {"legal_name": "Nimbus Cloud Services, Inc."}))
    for path in ("/processors", "/exports/processors.csv"):
        shown = admin.get(path).get_data(as_text=True)
        assert "Nimbus Cloud Services, Inc." in shown and "Nimbus Cloud, Inc." not in shown
    writer(lambda: update(ThirdParty, vendor_id, {"is_in_subject_list": False}))
    assert "Nimbus Cloud Services" not in admin.get("/processors").get_data(as_text=True)
