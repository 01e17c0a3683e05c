"""Real sub-processor lists, entered as legal teams enter them: one vendor's several services to one
country, a sub-processor used only under a condition, the categories of data each processes, and
countries typed the way people type them ("UK")."""

import csv
import io
from pathlib import Path

import pytest
from helpers import post_form
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from register import services
from register.api import make_token
from register.audit import Actor
from register.extensions import db
from register.imports.formats import ENGAGEMENTS, FORMATS, GROUP_ENTITIES, ROUTES, THIRD_PARTIES
from register.imports.plan import run_import
from register.imports.template import INSTRUCTIONS, write_template
from register.models import AuditSource, Engagement, GroupEntity, Party, Role, ThirdParty, TransferRoute

IMPORT = Actor(AuditSource.IMPORT, label="test import")
GOOGLE_SERVICES = ("Google Cloud", "Google Workspace", "Google Analytics")
AI_CONDITION = "only if you use the AI features"


@pytest.fixture
def google(writer):
    """A French controller engaging Google LLC (US) for three services, and a conditional AI vendor."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Google LLC", "country_code": "US", "is_in_subject_list": True})
        engagements = {service: services.create(Engagement, {
            "engager_id": hq.id, "engaged_id": vendor.id, "service": service, "relationship_type": "processor",
            "locations": ["US"], "data_categories": categories})
            for service, categories in zip(GOOGLE_SERVICES, ("Customer case files", "Staff email", "Website usage data"))}
        ai = services.create(ThirdParty, {"legal_name": "Lumen AI, Inc.", "country_code": "US", "is_in_subject_list": True})
        assistant = services.create(Engagement, {
            "engager_id": hq.id, "engaged_id": ai.id, "service": "Writing assistant", "relationship_type": "processor",
            "locations": ["US"], "data_categories": "Prompts and the text they quote", "condition": AI_CONDITION})
        return {"hq": hq.id, "google": vendor.id, "ai": ai.id, "assistant": assistant.id,
                "engagements": {service: engagement.id for service, engagement in engagements.items()}}

    return writer(build)


@pytest.fixture
def api(make_user, writer):
    user, _password = make_user(Role.EDITOR)
    secret, _token = writer(lambda: make_token(user, "tests"))
    return {"Authorization": f"Bearer {secret}"}


def route_body(google: dict, service: str) -> dict:
    return {"exporter_id": google["hq"], "importer_id": google["google"], "destination_country": "US",
            "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor",
            "engagement_id": google["engagements"][service]}


# --- several services of one vendor to one country -------------------------------------------


def test_one_vendors_three_services_to_the_us_are_three_routes_and_the_same_service_twice_is_refused(client, api, google):
    for service in GOOGLE_SERVICES:
        assert client.post("/api/v1/routes", headers=api, json=route_body(google, service)).status_code == 201
    again = client.post("/api/v1/routes", headers=api, json=route_body(google, "Google Cloud"))
    assert again.status_code == 422
    message = " ".join(again.get_json()["error"]["fields"]["engagement_id"])
    assert "for the same service (Google Cloud)" in message
    assert db.session.query(TransferRoute).count() == 3


def test_the_route_form_refuses_the_same_service_twice_and_the_list_shows_each_routes_service(logged_in, writer, google):
    writer(lambda: services.create(TransferRoute, route_body(google, "Google Cloud")))
    client = logged_in(Role.EDITOR)
    form = {"exporter_id": "Meridian Assist SA", "importer_id": "Google LLC", "destination": "US", "carries_eu_data": "y",
            "exporter_role": "controller", "importer_role": "processor", "status": "active"}
    refused = post_form(client, "/routes/new", {**form, "engagement_id": str(google["engagements"]["Google Cloud"])})
    assert refused.status_code == 400
    assert "for the same service (Google Cloud)" in refused.get_data(as_text=True)
    made = post_form(client, "/routes/new", {**form, "engagement_id": str(google["engagements"]["Google Analytics"])})
    assert made.status_code == 302
    listed = client.get("/routes/?status=live").get_data(as_text=True)
    assert "<th" in listed and "Service" in listed and "Google Cloud" in listed and "Google Analytics" in listed


def sheet(sheet_format, rows: list[dict]) -> list[list]:
    headers = list(sheet_format.columns)
    return [headers] + [[row.get(header) for header in headers] for row in rows]


def write_book(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        target = book.create_sheet(name)
        for row in rows:
            target.append(row)
    book.save(path)
    return path


def do_import(path: Path):
    outcome = run_import(path, path.name, IMPORT, dry_run=False)
    db.session.rollback()
    return outcome


def google_list(path: Path, services_of_routes: tuple[str, ...], country: str = "US") -> Path:
    """A list as a legal team enters it: names, not IDs; one engagement and one route per service."""
    return write_book(path, {
        GROUP_ENTITIES.name: sheet(GROUP_ENTITIES, [{"Legal name": "Meridian Assist SA", "Country code": "FR",
                                                     "Controller": "Yes", "Status": "active"}]),
        THIRD_PARTIES.name: sheet(THIRD_PARTIES, [{"Legal name": "Google LLC", "Country code": country, "Status": "active",
                                                   "Notes": "From Google's public sub-processor list"}]),
        ENGAGEMENTS.name: sheet(ENGAGEMENTS, [{"Engaged by": "Meridian Assist SA", "Engages": "Google LLC", "Service": service,
                                               "Relationship": "processor", "Status": "active", "Processing locations": "US",
                                               "Data categories": f"{service} data"} for service in GOOGLE_SERVICES]),
        ROUTES.name: sheet(ROUTES, [{"Exporter": "Meridian Assist SA", "Importer": "Google LLC", "Destination": "USA",
                                     "Service": service, "Notes": f"Route for {service}"} for service in services_of_routes]),
    })


def test_an_import_without_ids_records_one_route_per_service_and_matches_them_on_the_next_import(app, tmp_path):
    path = google_list(tmp_path / "google.xlsx", GOOGLE_SERVICES)
    first = do_import(path)
    assert first.applied, [(row.sheet, row.row, row.errors) for row in first.errors]
    routes = db.session.scalars(select(TransferRoute).order_by(TransferRoute.id)).all()
    assert [route.engagement.service for route in routes] == list(GOOGLE_SERVICES)
    assert [route.notes for route in routes] == [f"Route for {service}" for service in GOOGLE_SERVICES]
    again = do_import(path)
    assert again.ok and {row.action for row in again.rows} == {"unchanged"}
    assert db.session.query(TransferRoute).count() == 3


def test_an_import_refuses_two_rows_for_the_same_service_as_the_api_does(app, tmp_path):
    outcome = do_import(google_list(tmp_path / "twice.xlsx", ("Google Cloud", "Google Analytics", "Google Cloud")))
    assert not outcome.applied
    [refused] = outcome.errors
    assert refused.sheet == ROUTES.name and refused.row == 4
    assert "exporter, importer, destination and service" in " ".join(message for _column, message in refused.errors)
    assert db.session.query(TransferRoute).count() == 0


def test_a_service_the_importer_has_no_engagement_for_is_a_field_error(app, tmp_path):
    outcome = do_import(google_list(tmp_path / "unknown.xlsx", ("Google Maps",)))
    assert not outcome.applied
    assert [column for row in outcome.errors for column, _message in row.errors] == ["Service"]


# --- what the list tells people --------------------------------------------------------------


def test_the_processor_list_gives_each_services_data_categories_and_says_when_a_processor_is_conditional(
        app, logged_in, writer, google):
    for service in GOOGLE_SERVICES:
        writer(lambda service=service: services.create(TransferRoute, route_body(google, service)))
    writer(lambda: services.create(TransferRoute, {**route_body(google, "Google Cloud"), "importer_id": google["ai"],
                                                   "engagement_id": google["assistant"]}))
    client = logged_in(Role.ADMIN)
    rows = {row["Processor"]: row for row in csv.DictReader(io.StringIO(client.get("/exports/processors.csv").get_data(as_text=True)))}
    assert rows["Google LLC"]["What it does for us"] == "Google Cloud; Google Workspace; Google Analytics"
    assert rows["Google LLC"]["Categories of personal data"].splitlines() == [
        "Google Cloud: Customer case files", "Google Workspace: Staff email", "Google Analytics: Website usage data"]
    assert rows["Lumen AI, Inc."]["What it does for us"] == f"Writing assistant ({AI_CONDITION})"
    assert rows["Lumen AI, Inc."]["Categories of personal data"] == "Prompts and the text they quote"
    book = load_workbook(io.BytesIO(client.get("/exports/processors.xlsx").data))
    cells = [[cell.value for cell in row] for row in book["Our processors"].iter_rows()]
    assert cells[0][3] == "Categories of personal data"
    assert [f"Writing assistant ({AI_CONDITION})", "Prompts and the text they quote"] in [row[2:4] for row in cells]
    page = client.get("/processors").get_data(as_text=True)
    assert AI_CONDITION in page and "Prompts and the text they quote" in page
    post_form(client, "/admin/settings", {"publish_processor_list": "y"})
    public = app.test_client().get("/public/processors").get_data(as_text=True)
    assert f"Writing assistant ({AI_CONDITION})" in public and "Website usage data" in public


def test_the_engagement_form_records_the_condition_and_the_categories(logged_in, google):
    client = logged_in(Role.EDITOR)
    response = post_form(client, "/engagements/new", {
        "engager_id": "Meridian Assist SA", "engaged_id": "Lumen AI, Inc.", "service": "Meeting notes",
        "relationship_type": "processor", "locations": ["US"], "status": "active",
        "data_categories": "Meeting audio", "condition": AI_CONDITION})
    assert response.status_code == 302, response.get_data(as_text=True)
    engagement = db.session.scalar(select(Engagement).where(Engagement.service == "Meeting notes"))
    assert (engagement.data_categories, engagement.condition) == ("Meeting audio", AI_CONDITION)
    assert AI_CONDITION in client.get(f"/engagements/{engagement.id}").get_data(as_text=True)


# --- "UK" on every path ----------------------------------------------------------------------


def test_uk_is_gb_through_the_api_and_the_form(client, api, logged_in, google):
    made = client.post("/api/v1/third-parties", headers=api, json={"legal_name": "Thames Hosting Ltd", "country_code": "UK"})
    assert made.status_code == 201 and made.get_json()["data"]["country_code"] == "GB"
    route = client.post("/api/v1/routes", headers=api, json={
        "exporter_id": google["hq"], "importer_id": made.get_json()["data"]["id"], "destination_country": "uk",
        "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor"})
    assert route.status_code == 201 and route.get_json()["data"]["destination_country"] == "GB"
    greek = client.post("/api/v1/engagements", headers=api, json={
        "engager_id": google["hq"], "engaged_id": google["google"], "service": "Athens support", "relationship_type": "processor",
        "locations": ["EL"]})
    assert greek.status_code == 201 and [item["country_code"] for item in greek.get_json()["data"]["locations"]] == ["GR"]
    unknown = client.post("/api/v1/third-parties", headers=api, json={"legal_name": "Nowhere Ltd", "country_code": "XX"})
    assert unknown.status_code == 422
    assert "UK and EL are taken as GB and GR" in " ".join(unknown.get_json()["error"]["fields"]["country_code"])

    editor = logged_in(Role.EDITOR)
    form = post_form(editor, "/group-entities/new", {"legal_name": "Meridian Assist UK Ltd", "country_code": "UK", "status": "active"})
    assert form.status_code == 302
    assert db.session.scalar(select(Party.country_code).where(Party.legal_name == "Meridian Assist UK Ltd")) == "GB"
    # and a list filtered by UK lists the GB records
    listed = client.get("/api/v1/routes?country=UK", headers=api).get_json()["data"]
    assert [item["destination_country"] for item in listed] == ["GB"]


def test_uk_is_gb_through_the_import_too(app, tmp_path):
    outcome = do_import(google_list(tmp_path / "uk.xlsx", (), country="UK"))
    assert outcome.applied, [(row.sheet, row.row, row.errors) for row in outcome.errors]
    assert db.session.scalar(select(Party.country_code).where(Party.legal_name == "Google LLC")) == "GB"


# --- notes in the import template ------------------------------------------------------------


def test_every_sheet_whose_records_have_notes_carries_a_notes_column_and_the_instructions_say_so(app, tmp_path):
    target = tmp_path / "template.xlsx"
    with open(target, "wb") as handle:
        write_template(handle)
    book = load_workbook(target, read_only=True)
    for sheet_format in FORMATS:
        if "notes" in sheet_format.model.__table__.columns:
            headers = [cell.value for cell in next(book[sheet_format.name].iter_rows(max_row=1))]
            assert "Notes" in headers and sheet_format.fields["Notes"] == "notes", sheet_format.name
    assert any(line.startswith("Notes:") for line in INSTRUCTIONS)
    assert any("Data categories" in line and "Condition" in line for line in INSTRUCTIONS)
