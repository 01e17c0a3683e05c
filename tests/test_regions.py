"""Regions as processing locations and destinations: "Worldwide" (WORLD), the law's EEA and EU, and the
register's own ("APAC"), on every path; a route to a region is assessed as its worst country."""

import csv
import io

import pytest
from test_real_lists import IMPORT, do_import, sheet, write_book

from register import services
from register.api import make_token
from register.extensions import db
from register.imports.formats import ENGAGEMENTS, GROUP_ENTITIES, REGIONS, ROUTES, THIRD_PARTIES
from register.models import Engagement, GroupEntity, Region, Role, RouteRegimeVerdict, ThirdParty, TransferRoute

APAC_NAME = "Asia-Pacific"


@pytest.fixture
def parties(writer):
    """A French controller, a CDN vendor (US) and a support vendor (SG), each with an engagement."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        cdn = services.create(ThirdParty, {"legal_name": "Cloudflare, Inc.", "country_code": "US"})
        support = services.create(ThirdParty, {"legal_name": "Helpdesk Pte Ltd", "country_code": "SG"})
        return {"hq": hq.id, "cdn": cdn.id, "support": support.id}

    return writer(build)


@pytest.fixture
def api(make_user, writer):
    user, _password = make_user(Role.EDITOR)
    secret, _token = writer(lambda: make_token(user, "tests"))
    return {"Authorization": f"Bearer {secret}"}


def regime_verdict(route_id: int) -> RouteRegimeVerdict:
    db.session.rollback()
    return db.session.scalar(db.select(RouteRegimeVerdict).where(RouteRegimeVerdict.route_id == route_id))


def route_body(parties: dict, importer: str, engagement_id: int, destination: str) -> dict:
    return {"exporter_id": parties["hq"], "importer_id": parties[importer], "destination_country": destination,
            "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor", "engagement_id": engagement_id}


def test_worldwide_and_a_users_region_through_the_api_and_the_subject_list(app, client, api, parties, logged_in):
    made = client.post("/api/v1/regions", json={"code": "APAC", "name": APAC_NAME, "country_codes": "nz, au"}, headers=api)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["data"]["country_codes"] == "AU,NZ"
    cdn = client.post("/api/v1/engagements", headers=api, json={
        "engager_id": parties["hq"], "engaged_id": parties["cdn"], "service": "CDN", "relationship_type": "processor",
        "locations": [{"country_code": "Worldwide", "activity": "storage_and_access"}]})
    assert cdn.status_code == 201, cdn.get_json()
    assert cdn.get_json()["data"]["locations"] == [{"country_code": "WORLD", "activity": "storage_and_access"}]
    support = client.post("/api/v1/engagements", headers=api, json={
        "engager_id": parties["hq"], "engaged_id": parties["support"], "service": "Support", "relationship_type": "processor",
        "locations": ["APAC"]})
    assert support.status_code == 201, support.get_json()
    to_world = client.post("/api/v1/routes", headers=api, json=route_body(parties, "cdn", cdn.get_json()["data"]["id"], "WORLD"))
    assert to_world.status_code == 201, to_world.get_json()
    world_id = to_world.get_json()["data"]["id"]
    to_apac = client.post("/api/v1/routes", headers=api, json=route_body(parties, "support", support.get_json()["data"]["id"], "APAC"))
    assert to_apac.status_code == 201, to_apac.get_json()
    apac_id = to_apac.get_json()["data"]["id"]

    shown = client.get(f"/api/v1/routes/{world_id}", headers=api).get_json()["data"]["assessment"]
    assert shown["destination_region"]["name"] == "Worldwide" and len(shown["destination_region"]["countries"]) > 240
    (eu,) = shown["regimes"]
    assert eu["deciding_country"] == "AE" and eu["status"] == "gap"
    assert eu["reasons"][0]["text"].startswith("Worldwide (region): the worst of its ")

    # AU decides APAC (no tool, no adequacy): a gap; with only NZ (adequate) left, adequacy covers it.
    assert (regime_verdict(apac_id).mechanism, regime_verdict(apac_id).status) == ("none", "gap")
    region = client.get("/api/v1/regions?q=APAC", headers=api).get_json()["data"][0]
    edited = client.patch(f"/api/v1/regions/{region['id']}", headers={**api, "If-Match": str(region["version"])},
                          json={"country_codes": "NZ"})
    assert edited.status_code == 200, edited.get_json()
    assert (regime_verdict(apac_id).mechanism, regime_verdict(apac_id).status) == ("adequacy", "covered")

    rows = {row["Processor"]: row for row in csv.DictReader(io.StringIO(
        logged_in(Role.ADMIN).get("/exports/processors.csv").get_data(as_text=True)))}
    assert rows["Cloudflare, Inc."]["Where it processes data"] == "Worldwide"
    assert rows["Helpdesk Pte Ltd"]["Where it processes data"] == APAC_NAME
    assert "United States" not in rows["Cloudflare, Inc."]["Where it processes data"]


@pytest.mark.parametrize("body, field", [
    ({"destination_country": "MARS"}, "destination_country"),
    ({"destination_country": "APAC"}, "destination_country"),  # not (yet) a region of the register
])
def test_an_unknown_place_is_a_422_naming_the_known_region_codes(client, api, parties, body, field):
    answer = client.post("/api/v1/routes", headers=api, json={**route_body(parties, "cdn", None, "US"), **body})
    assert answer.status_code == 422
    message = " ".join(answer.get_json()["error"]["fields"][field])
    assert "WORLD" in message and "EEA" in message and "At most" not in message


def test_a_region_in_use_cannot_be_deleted_nor_change_its_code_and_the_law_regions_are_not_writable(client, api, parties,
                                                                                                    writer):
    assert client.post("/api/v1/regions", headers=api, json={"code": "WORLD", "name": "Mine", "country_codes": "US"}).status_code == 422
    made = client.post("/api/v1/regions", headers=api, json={"code": "AMER", "name": "Americas", "country_codes": "US,CA"})
    region = made.get_json()["data"]
    route = client.post("/api/v1/routes", headers=api, json={**route_body(parties, "cdn", None, "AMER"), "engagement_id": None})
    assert route.status_code == 201, route.get_json()
    with pytest.raises(services.DomainError, match="in use"):
        writer(lambda: services.delete(db.session.get(Region, region["id"]), expected_version=region["version"]))
    renamed = client.patch(f"/api/v1/regions/{region['id']}", headers={**api, "If-Match": str(region["version"])},
                           json={"code": "AMERICAS"})
    assert renamed.status_code == 422 and "in use" in str(renamed.get_json())


def test_the_import_takes_regions_and_the_workbook_round_trip_keeps_them(app, tmp_path, logged_in):
    path = write_book(tmp_path / "regions.xlsx", {
        REGIONS.name: sheet(REGIONS, [{"Code": "APAC", "Name": APAC_NAME, "Countries": "AU, IN, JP, SG"}]),
        GROUP_ENTITIES.name: sheet(GROUP_ENTITIES, [{"Legal name": "Meridian Assist SA", "Country code": "FR",
                                                     "Controller": "Yes", "Status": "active"}]),
        THIRD_PARTIES.name: sheet(THIRD_PARTIES, [{"Legal name": "Cloudflare, Inc.", "Country code": "US", "Status": "active", "In subject list": "Yes"},
                                                  {"Legal name": "Helpdesk Pte Ltd", "Country code": "SG", "Status": "active", "In subject list": "Yes"}]),
        ENGAGEMENTS.name: sheet(ENGAGEMENTS, [
            {"Engaged by": "Meridian Assist SA", "Engages": "Cloudflare, Inc.", "Service": "CDN", "Relationship": "processor",
             "Status": "active", "Processing locations": "Global"},
            {"Engaged by": "Meridian Assist SA", "Engages": "Helpdesk Pte Ltd", "Service": "Support",
             "Relationship": "processor", "Status": "active", "Processing locations": "Asia-Pacific: Remote access"}]),
        ROUTES.name: sheet(ROUTES, [
            {"Exporter": "Meridian Assist SA", "Importer": "Cloudflare, Inc.", "Destination": "Worldwide", "Service": "CDN"},
            {"Exporter": "Meridian Assist SA", "Importer": "Helpdesk Pte Ltd", "Destination code": "APAC", "Service": "Support"}]),
    })
    outcome = do_import(path)
    assert outcome.ok, [(row.sheet, row.number, row.errors) for row in outcome.errors]
    assert sorted(db.session.scalars(db.select(TransferRoute.destination_country))) == ["APAC", "WORLD"]
    locations = {engagement.service: [location.country_code for location in engagement.locations]
                 for engagement in db.session.scalars(db.select(Engagement))}
    assert locations == {"CDN": ["WORLD"], "Support": ["APAC"]}
    assert db.session.scalar(db.select(Region.country_codes)) == "AU,IN,JP,SG"
    client = logged_in(Role.ADMIN)
    rows = {row["Processor"]: row for row in csv.DictReader(io.StringIO(client.get("/exports/processors.csv").get_data(as_text=True)))}
    assert (rows["Cloudflare, Inc."]["Where it processes data"], rows["Helpdesk Pte Ltd"]["Where it processes data"]) == ("Worldwide", APAC_NAME)
