"""Text that cannot break anything: every write path refuses text the register cannot show or export,
and every export writes the text already stored, whatever it holds."""

import io
import re
from xml.etree import ElementTree
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask_migrate
import pytest
from helpers import post_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import Enum, String, func, select, text

from register import services
from register.api.resources import RESOURCES
from register.audit import Actor
from register.extensions import db
from register.imports.formats import THIRD_PARTIES
from register.imports.plan import run_import
from register.models import (
    AuditEvent,
    AuditSource,
    Client,
    Engagement,
    GroupEntity,
    Party,
    Role,
    ThirdParty,
    TransferInstrument,
    TransferRoute,
)
from register.tokens import make_token

BAD_NAME = "A\u0001\u0002\u001bB"
SHOWN = "A\\u0001\\u0002\\u001BB"  # how an export shows it: visible, nothing dropped
HOSTILE = {
    "control characters": BAD_NAME,
    "a bell from a form": "Bell\x07 GmbH",
    "a non-character": "Acme\uffff",
    "a non-character of another plane": "Acme\U0001fffe",
    "a lone surrogate": "Acme\ud800",
    "only zero-width characters": "\u200b\u200c\u200d\ufeff",
    "only invisible spaces and joiners": "\u00a0\u2060\u3000",
    "a line break in a one-line field": "Acme\nGmbH",
    "a tab in a one-line field": "Acme\tGmbH",
    "longer than a name may be": "N" * 301,
}
RESOURCE = {resource.name: resource for resource in RESOURCES}


@pytest.fixture
def register(writer):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US", "vetting_status": "approved"})
        engagement = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Hosting",
                                                  "relationship_type": "processor", "locations": ["US"]})
        scc = services.create(TransferInstrument, {"kind": "eu_scc", "title": "SCC", "scc_decision": "2021/914",
                                                   "scc_modules": "2", "signed_on": "2024-01-10"})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                                "carries_eu_data": True, "exporter_role": "controller",
                                                "importer_role": "processor", "engagement_id": engagement.id,
                                                "instrument_ids": [scc.id]})
        return {"hq": hq, "vendor": vendor, "engagement": engagement, "scc": scc, "route": route}

    return writer(build)


@pytest.fixture
def editor(make_user):
    user, _ = make_user(Role.EDITOR)
    with services.write_unit(Actor(AuditSource.CLI, label="test")):
        secret, _record = make_token(user, "tests")
    return {"Authorization": f"Bearer {secret}"}


def party_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Party))


# --- every write path refuses, with the field's error ------------------------------------------


def test_the_api_refuses_a_name_the_register_cannot_show_with_the_field_error(client, register, editor):
    before = party_count()
    for case, value in HOSTILE.items():  # one app for all the cases: the file stays fast
        response = client.post("/api/v1/third-parties", headers=editor, json={"legal_name": value, "country_code": "DE"})
        assert response.status_code == 422, (case, response.get_data(as_text=True))
        assert list(response.get_json()["error"]["fields"]) == ["legal_name"], case
    assert party_count() == before


def test_the_api_says_which_character_is_refused_and_where(client, register, editor):
    response = client.post("/api/v1/third-parties", headers=editor, json={"legal_name": BAD_NAME, "country_code": "DE"})
    assert response.get_json()["error"]["fields"]["legal_name"] == ["Text cannot contain control characters (U+0001 at position 2)."]
    invisible = client.post("/api/v1/third-parties", headers=editor, json={"legal_name": "\u200b", "country_code": "DE"})
    assert "visible characters" in invisible.get_json()["error"]["fields"]["legal_name"][0]


def test_multi_line_fields_keep_tabs_and_line_breaks_but_no_other_control_character(client, register, editor):
    path = f"/api/v1/third-parties/{register['vendor'].id}"
    kept = client.patch(path, headers=editor, json={"notes": "Line one\r\nLine two\n\tindented", "version": 1})
    assert kept.status_code == 200 and kept.get_json()["data"]["notes"] == "Line one\r\nLine two\n\tindented"
    refused = client.patch(path, headers=editor, json={"address": "Main St\x0b1", "version": 2})
    assert refused.status_code == 422 and "U+000B" in refused.get_json()["error"]["fields"]["address"][0]


def test_long_text_is_bounded_so_the_trail_keeps_no_megabytes(client, register, editor):
    path = f"/api/v1/third-parties/{register['vendor'].id}"
    assert client.patch(path, headers=editor, json={"notes": "n" * 20_000, "version": 1}).status_code == 200
    refused = client.patch(path, headers=editor, json={"notes": "n" * 20_001, "version": 2})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"]["notes"] == ["At most 20,000 characters (20,001 given)."]


WEBSITES = [
    ("javascript:alert(1)", 422), ("JaVaScRiPt:alert(1)", 422), ("data:text/html,<b>x</b>", 422), ("ftp://files.example", 422),
    ("cloudy.example", 422), ("https://", 422), ("https://cloudy.example/privacy?lang=en", 201), ("HTTP://cloudy.example", 201),
]


def test_a_website_is_an_http_or_https_address(client, register, editor):
    for number, (website, status) in enumerate(WEBSITES):
        response = client.post("/api/v1/third-parties", headers=editor,
                               json={"legal_name": f"Linky {number} Ltd", "country_code": "DE", "website": website})
        assert response.status_code == status, (website, response.get_data(as_text=True))
        if status == 422:
            assert "http://" in response.get_json()["error"]["fields"]["website"][0]


def test_the_web_form_refuses_a_bell_and_shows_the_input_again_with_the_error(logged_in, register):
    client = logged_in(Role.EDITOR)
    before = party_count()
    response = post_form(client, "/third-parties/new", {"legal_name": "Bell\x07 GmbH", "country_code": "DE", "status": "active",
                                                        "website": "https://kept.example"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Text cannot contain control characters (U+0007 at position 5)." in page
    assert 'value="https://kept.example"' in page
    assert party_count() == before


def test_an_import_refuses_the_row_with_the_field_error_and_writes_nothing(app, register, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Third parties"
    headers = list(THIRD_PARTIES.required)
    sheet.append(headers)
    for name in ("Fine Vendor GmbH", "\u200b\u200b"):
        row = {"Legal name": name, "Country code": "DE", "Status": "active"}
        sheet.append([row.get(header) for header in headers])
    path = tmp_path / "in.xlsx"
    book.save(path)
    before = party_count()
    outcome = run_import(path, path.name, Actor(AuditSource.IMPORT, label="test import"), dry_run=False)
    db.session.rollback()
    assert [(row.sheet, row.row) for row in outcome.errors] == [("Third parties", 3)]
    assert ("Legal name", "Must contain visible characters, not only spaces or invisible ones.") in outcome.errors[0].errors
    assert party_count() == before


def test_the_command_line_writes_through_the_same_checks(runner, app):
    result = runner.invoke(args=["create-user", "bell@example.org", "--role", "editor", "--password",
                                 "a long enough passphrase", "--name", "Bell\x07"])
    assert result.exit_code != 0 and "U+0007" in result.output


# --- searches take % and _ as typed ----------------------------------------------------------


SEARCHES = [("%", ["100% Cloud Ltd"]), ("_", ["Snake_Case Ltd"]), ("0%", ["100% Cloud Ltd"]), ("\\", ["Back\\slash Ltd"]),
            ("cloud", ["100% Cloud Ltd", "Cloudy Inc"])]


def test_list_searches_match_percent_and_underscore_as_typed(client, register, writer, editor):
    writer(lambda: [services.create(ThirdParty, {"legal_name": name, "country_code": "DE"})
                    for name in ("100% Cloud Ltd", "Snake_Case Ltd", "Back\\slash Ltd", "Plain Ltd")])
    for typed, found in SEARCHES:
        response = client.get("/api/v1/third-parties", headers=editor, query_string={"q": typed})
        assert sorted(item["legal_name"] for item in response.get_json()["data"]) == found, typed


def test_the_party_look_up_matches_percent_as_typed(logged_in, register, writer):
    client = logged_in(Role.EDITOR)
    writer(lambda: services.create(ThirdParty, {"legal_name": "100% Cloud Ltd", "country_code": "DE"}))
    found = client.get("/lookup/parties", query_string={"q": "0%"}).get_json()
    assert [item["label"].split(" (")[0] for item in found] == ["100% Cloud Ltd"]


# --- what is already stored always exports ---------------------------------------------------


def store_as_old_data(register) -> Party:
    """A control character in a name and its trail, written with SQL as a register before the checks kept it."""
    vendor = register["vendor"]
    db.session.execute(text("UPDATE parties SET legal_name = :name, notes = :notes WHERE id = :id"),
                       {"name": BAD_NAME, "notes": "=HYPERLINK(\"x\")\x01", "id": vendor.id})
    db.session.execute(AuditEvent.__table__.insert().values(
        occurred_at=datetime.now(timezone.utc), actor_label="old\x1b[31m", source="api",
        record_type="parties", record_id=vendor.id, record_uid=vendor.uid, record_label=BAD_NAME, record_version=1,
        action="update", changes={"legal_name": ["Cloudy Inc", BAD_NAME], "notes": [None, "=HYPERLINK(\"x\")\x01"]}))
    db.session.commit()
    return vendor


def cells(content: bytes) -> list:
    book = load_workbook(io.BytesIO(content))
    return [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def formulas(content: bytes) -> list:
    book = load_workbook(io.BytesIO(content))
    return [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]


def test_a_control_character_already_stored_is_shown_escaped_in_every_workbook(logged_in, register):
    store_as_old_data(register)
    client = logged_in(Role.AUDITOR)
    later = (datetime.now(timezone.utc) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    for path in ("/exports/register.xlsx", "/history.xlsx", f"/history/as-of/register.xlsx?at={later}",
                 "/exports/processors.xlsx", f"/history/as-of/processors.xlsx?at={later}"):
        response = client.get(path)
        assert response.status_code == 200, path
        values = cells(response.data)
        assert any(isinstance(value, str) and SHOWN in value for value in values), path
        assert formulas(response.data) == [], path  # the formula-injection guard still holds
    trail = [value for value in cells(client.get("/history.xlsx").data) if isinstance(value, str)]
    assert "old\\u001B[31m" in trail and any('=HYPERLINK("x")\\u0001' in value for value in trail)


def test_a_control_character_already_stored_is_shown_escaped_in_every_csv_and_feed(logged_in, register):
    store_as_old_data(register)
    client = logged_in(Role.AUDITOR)
    later = (datetime.now(timezone.utc) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    for path in ("/exports/processors.csv", f"/history/as-of/processors.csv?at={later}"):
        response = client.get(path)
        content = response.get_data(as_text=True)
        assert response.status_code == 200 and SHOWN in content and not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", content), path
    feed = client.get("/processors/changes.atom")
    assert feed.status_code == 200
    ElementTree.fromstring(feed.data)  # still well-formed XML


def test_the_export_command_writes_the_workbook_of_a_register_holding_old_text(runner, register, tmp_path):
    store_as_old_data(register)
    target = tmp_path / "register.xlsx"
    result = runner.invoke(args=["export", "register", str(target)])
    assert result.exit_code == 0, result.output
    assert any(isinstance(value, str) and SHOWN in value for value in cells(target.read_bytes()))


def test_text_beyond_an_excel_cell_is_cut_with_a_visible_note(logged_in, register):
    db.session.execute(text("UPDATE parties SET notes = :notes WHERE id = :id"), {"notes": "n" * 40_000, "id": register["vendor"].id})
    db.session.commit()
    content = logged_in(Role.AUDITOR).get("/exports/register.xlsx").data
    longest = max((value for value in cells(content) if isinstance(value, str)), key=len)
    assert len(longest) <= 32_767 and longest.endswith("more characters: an Excel cell holds at most 32,767]")


# --- the migration mends what is stored ------------------------------------------------------


def _this_migration() -> str:
    folder = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    source = next(folder.glob("*_text_that_cannot_break.py")).read_text()
    return re.search(r"^revision = '(\w+)'", source, re.M).group(1)


def test_the_migration_makes_stored_text_valid_and_audits_each_record_it_changed(app, register, writer):
    revision = _this_migration()
    vendor_id, engagement_id = register["vendor"].id, register["engagement"].id
    db.session.remove()
    flask_migrate.downgrade(revision=f"{revision}-1")
    db.session.execute(text("UPDATE parties SET legal_name = :name, address = :address WHERE id = :id"),
                       {"name": "Cloudy\nInc\x01", "address": "Main St\n1\x07", "id": vendor_id})
    db.session.execute(text("UPDATE engagements SET service = :service WHERE id = :id"), {"service": "\u200b", "id": engagement_id})
    db.session.commit()
    events_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    db.session.remove()
    flask_migrate.upgrade()
    party = db.session.get(Party, vendor_id)
    assert (party.legal_name, party.address, party.name_key) == ("Cloudy Inc\\u0001", "Main St\n1\\u0007", "cloudy inc\\u0001")
    assert party.version == 2 and db.session.get(Engagement, engagement_id).service == "\\u200B"
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(events_before)).all()
    assert [(event.record_type, event.record_id, event.actor_label, event.source) for event in events] == [
        ("parties", vendor_id, "text check (migration 0008)", AuditSource.SYSTEM),
        ("engagements", engagement_id, "text check (migration 0008)", AuditSource.SYSTEM)]
    assert events[0].changes == {"legal_name": ["Cloudy\nInc\x01", "Cloudy Inc\\u0001"],
                                 "address": ["Main St\n1\x07", "Main St\n1\\u0007"]}
    assert events[0].record_version == 2 and events[0].record_label == "Cloudy Inc\\u0001"
    # The record saves again as it now stands.
    writer(lambda: services.update(party, {"legal_name": party.legal_name, "address": party.address}, expected_version=2))


# --- arbitrary Unicode never breaks a write or an export -------------------------------------

TEXT = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.text(st.characters(categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn")), max_size=12),
    st.sampled_from(list(HOSTILE.values()) + ["=1+1", "@SUM(A1)", "-2", "\t=x", "x" * 20_001, "https://ok.example"]),
)


def text_fields(resource) -> list[str]:
    columns = services.spec_for(resource.model).columns
    return [name for name in resource.writable if name in columns
            and isinstance(columns[name].type, String) and not isinstance(columns[name].type, Enum)]


# What each resource needs besides the text under test, to be created.
def _base(name: str, register) -> dict:
    return {
        "third-parties": {"legal_name": "Base vendor", "country_code": "DE"},
        "group-entities": {"legal_name": "Base entity", "country_code": "FR"},
        "engagements": {"engager_id": register["hq"].id, "engaged_id": register["vendor"].id, "service": "Base",
                        "relationship_type": "processor", "locations": ["US"]},
        "instruments": {"kind": "eu_scc", "title": "Base SCC", "scc_decision": "2021/914", "scc_modules": "2",
                        "signed_on": "2024-01-10"},
        "routes": {"exporter_id": register["hq"].id, "importer_id": register["vendor"].id, "destination_country": "US",
                   "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor",
                   "engagement_id": register["engagement"].id},
    }[name]


OWN = {"third-parties": "vendor", "group-entities": "hq", "engagements": "engagement", "instruments": "scc", "routes": "route"}


def test_arbitrary_unicode_in_any_text_field_is_written_or_refused_and_every_export_still_opens(logged_in, register, editor):
    """Never a 500: every answer is 201/200 or 422 with the field named, and then every export opens."""
    client = logged_in(Role.AUDITOR)
    api = client.application.test_client()  # a client with no session: the API as a program calls it
    cases = [(name, field) for name in OWN for field in text_fields(RESOURCE[name])]
    answers = []

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=st.sampled_from(cases), value=TEXT, patch=st.booleans())
    def write(case, value, patch):
        name, field = case
        if patch:
            record = register[OWN[name]]
            db.session.rollback()
            version = db.session.scalar(select(RESOURCE[name].model.version).where(RESOURCE[name].model.id == record.id))
            response = api.patch(f"/api/v1/{name}/{record.id}", headers=editor, json={field: value, "version": version})
        else:
            response = api.post(f"/api/v1/{name}", headers=editor, json={**_base(name, register), field: value})
        assert response.status_code in (200, 201, 422), (name, field, value, response.get_data(as_text=True))
        if response.status_code == 422:
            assert response.get_json()["error"]["fields"], (name, field, value)
        answers.append(response.status_code)

    write()
    assert 422 in answers and ({200, 201} & set(answers))
    later = (datetime.now(timezone.utc) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    for path in ("/exports/register.xlsx", "/history.xlsx", f"/history/as-of/register.xlsx?at={later}", "/exports/processors.xlsx"):
        response = client.get(path)
        assert response.status_code == 200, path
        cells(response.data)
    for path in ("/exports/processors.csv", "/history", "/api/v1/third-parties"):
        assert (api if path.startswith("/api") else client).get(path, headers=editor).status_code == 200, path


def test_a_name_that_grows_when_compared_without_case_still_fits_its_key(client, register, editor):
    response = client.post("/api/v1/third-parties", headers=editor, json={"legal_name": "ß" * 300, "country_code": "DE"})
    assert response.status_code == 422
    assert "compared without case" in response.get_json()["error"]["fields"]["legal_name"][0]
