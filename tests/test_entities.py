"""Who the data reaches, as legal entities: a vendor's local affiliates (Microsoft's in Japan) are asked the
law's questions themselves, and the group's own companies are named on the lists when an engagement makes
them processors or sub-processors, for the group or for a client (issue 18)."""

import csv
import io
from datetime import date, timedelta

import pytest
from test_imports import empty_register, export_workbook, register_content
from test_real_lists import do_import, sheet, write_book
from test_rules import EXPORTERS, TODAY, expect, party, route, texts, verdict

from register import rules, services
from register.api import make_token
from register.exports.changes import list_changes
from register.exports.processors import processor_list
from register.extensions import db
from register.imports.formats import CHANGE_NOTICES, CLIENTS, ENGAGEMENTS, GROUP_ENTITIES, ROUTES, SCOPE_FACTS, THIRD_PARTIES
from register.models import (
    ChangeNotice,
    Client,
    Engagement,
    GroupEntity,
    Lifecycle,
    Party,
    Role,
    RouteRegimeVerdict,
    ScopeFact,
    ThirdParty,
)

MICROSOFT = "Microsoft Corporation"
MICROSOFT_JP = "Microsoft Japan Co., Ltd."
AFFILIATE_ROW = f"{MICROSOFT_JP} (affiliate of {MICROSOFT})"
DAY = date.today()


@pytest.fixture
def api(make_user, writer):
    user, _password = make_user(Role.EDITOR)
    secret, _token = writer(lambda: make_token(user, "tests"))
    return {"Authorization": f"Bearer {secret}"}


def regime_verdict(route_id: int) -> tuple[str, str]:
    db.session.rollback()
    row = db.session.scalar(db.select(RouteRegimeVerdict).where(RouteRegimeVerdict.route_id == route_id))
    return row.mechanism, row.status


def subject_rows(client, query: str = "") -> list[dict]:
    return list(csv.DictReader(io.StringIO(client.get(f"/exports/processors.csv{query}").get_data(as_text=True))))


# --- the rules: an affiliate answers for itself -------------------------------------------------


def affiliate(country="JP", name=MICROSOFT_JP, **kwargs):
    facts = party(country, "third_party", name=name, **kwargs)
    return type(facts)(**{**{field: getattr(facts, field) for field in facts.__dataclass_fields__}, "parent_name": MICROSOFT})


# (destination, the affiliate's own scope answers, the names it is DPF-listed under, mechanism, status,
# whether a reason asks the affiliate, by name, for a fact)
AFFILIATES = [
    pytest.param("JP", {"jp_appi_private_sector": "yes"}, (), "adequacy", "covered", False,
                 id="EU->JP affiliate, its own APPI answer yes: Decision 2019/419 covers it"),
    pytest.param("JP", {}, (), "adequacy", "attention", True,
                 id="EU->JP affiliate never answered (its vendor's answer is not its own): confirm"),
    pytest.param("JP", {"jp_appi_private_sector": "no"}, (), "none", "gap", True,
                 id="EU->JP affiliate outside the APPI's private sector: no adequacy"),
    pytest.param("US", {}, (), "none", "gap", True,
                 id="EU->US affiliate without a DPF entry of its own: the vendor's entry covers only the vendor"),
    pytest.param("US", {}, ("Microsoft Online, Inc.",), "adequacy", "attention", False,
                 id="EU->US affiliate listed on the DPF under its own name: adequacy (at risk, as for any US importer)"),
]


@pytest.mark.parametrize("country, scope, certified, mechanism, status, named", AFFILIATES)
def test_the_rules_ask_a_route_to_an_affiliate_of_the_affiliate_itself(country, scope, certified, mechanism, status, named):
    from test_rules import dpf

    name = MICROSOFT_JP if country == "JP" else "Microsoft Online, Inc."
    importer = affiliate(country, name, scope=scope, dpf=[dpf(entity=entity) for entity in certified])
    found = verdict(route(country, "EU", exporter=EXPORTERS["EU"], importer=importer), TODAY, "EU")
    expect(found, mechanism, status)
    # The reason names the entity asked, and whose it is: staff know where to get the answer.
    assert (f"the importer ({name}, an affiliate of {MICROSOFT})" in texts(found)) == named, texts(found)


def test_one_batch_keeps_a_vendors_and_its_affiliates_reasons_apart():
    """A batch shares verdicts between importers with the same facts: an affiliate's reasons name it, so
    its vendor's (same answers, same country) are never given its words, nor it theirs."""
    from test_rules import LAW

    batch = rules.Batch(TODAY, LAW)
    found = [rules.assess_route(route("JP", "EU", exporter=EXPORTERS["EU"], importer=importer), TODAY, LAW, batch).regime("EU")
             for importer in (party("JP", "third_party", name=MICROSOFT), affiliate(), party("JP", "third_party", name="Other KK"))]
    assert [item.status for item in found] == ["attention"] * 3
    assert "affiliate" not in texts(found[0]) + texts(found[2])
    assert f"an affiliate of {MICROSOFT}" in texts(found[1])


# --- affiliates through the API and the subject list --------------------------------------------


@pytest.fixture
def microsoft(writer):
    """A French controller and Microsoft Corporation (US), which answered Japan's APPI question 'yes' itself."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": MICROSOFT, "country_code": "US"})
        services.create(ScopeFact, {"party_id": vendor.id, "fact_key": "jp_appi_private_sector", "answer": "yes"})
        return {"hq": hq.id, "microsoft": vendor.id}

    return writer(build)


def test_a_route_to_the_japanese_affiliate_asks_japans_question_of_the_japanese_entity(client, api, microsoft, logged_in):
    made = client.post("/api/v1/third-parties", headers=api, json={
        "legal_name": MICROSOFT_JP, "country_code": "JP", "parent_id": microsoft["microsoft"]})
    assert made.status_code == 201, made.get_json()
    local = made.get_json()["data"]
    assert local["parent_id"] == microsoft["microsoft"]
    engagement = client.post("/api/v1/engagements", headers=api, json={
        "engager_id": microsoft["hq"], "engaged_id": local["id"], "service": "Microsoft 365 (Japan region)",
        "relationship_type": "processor", "locations": ["JP"]})
    assert engagement.status_code == 201, engagement.get_json()
    sent = client.post("/api/v1/routes", headers=api, json={
        "exporter_id": microsoft["hq"], "importer_id": local["id"], "destination_country": "JP", "carries_eu_data": True,
        "exporter_role": "controller", "importer_role": "processor", "engagement_id": engagement.get_json()["data"]["id"]})
    assert sent.status_code == 201, sent.get_json()
    route_id = sent.get_json()["data"]["id"]

    # The vendor's own "yes" does not answer for its Japanese entity: confirm it, naming the entity.
    assert regime_verdict(route_id) == ("adequacy", "attention")
    (eu,) = client.get(f"/api/v1/routes/{route_id}", headers=api).get_json()["data"]["assessment"]["regimes"]
    assert any(f"unknown for the importer ({MICROSOFT_JP}, an affiliate of {MICROSOFT})" in reason["text"]
               for reason in eu["reasons"])
    answered = client.post("/api/v1/scope-facts", headers=api, json={
        "party_id": local["id"], "fact_key": "jp_appi_private_sector", "answer": "yes"})
    assert answered.status_code == 201, answered.get_json()
    assert regime_verdict(route_id) == ("adequacy", "covered")

    # One row per legal entity that receives the data; the affiliate names its vendor.
    staff = logged_in(Role.ADMIN)
    rows = subject_rows(staff)
    assert [(row["Processor"], row["Where it processes data"]) for row in rows] == [(AFFILIATE_ROW, "Japan")]
    assert "adequacy decision" in rows[0]["How transfers are safeguarded"]
    page = staff.get(f"/third-parties/{microsoft['microsoft']}").get_data(as_text=True)
    assert "Affiliates" in page and MICROSOFT_JP in page


@pytest.mark.parametrize("case, message", [
    ("itself", "cannot be its own parent"),
    ("group entity", "an affiliate's parent is a third party"),
    ("affiliate", "is itself an affiliate"),
    ("retired", "is retired"),
    ("has affiliates", "has affiliates of its own"),
    ("unknown", "No party with id"),
])
def test_an_affiliates_parent_is_a_live_third_party_that_is_no_affiliate_itself(client, api, microsoft, writer, case, message):
    def build():
        local = services.create(ThirdParty, {"legal_name": MICROSOFT_JP, "country_code": "JP", "parent_id": microsoft["microsoft"]})
        other = services.create(ThirdParty, {"legal_name": "Contoso Ltd", "country_code": "GB"})
        gone = services.create(ThirdParty, {"legal_name": "Fabrikam Inc.", "country_code": "US", "status": "retired"})
        return {"local": local.id, "other": other.id, "gone": gone.id}

    made = writer(build)
    record, parent = {
        "itself": ("other", made["other"]), "group entity": ("other", microsoft["hq"]), "affiliate": ("other", made["local"]),
        "retired": ("other", made["gone"]), "has affiliates": ("microsoft", made["other"]), "unknown": ("other", 999_999),
    }[case]
    record_id = {**made, **microsoft}[record]
    version = client.get(f"/api/v1/third-parties/{record_id}", headers=api).get_json()["data"]["version"]
    answer = client.patch(f"/api/v1/third-parties/{record_id}", headers={**api, "If-Match": str(version)},
                          json={"parent_id": parent})
    assert answer.status_code == 422, answer.get_json()
    assert message in " ".join(answer.get_json()["error"]["fields"]["parent_id"])
    assert db.session.get(Party, record_id).parent_id == (microsoft["microsoft"] if record == "local" else None)


def test_only_a_third_party_has_a_parent(client, api, microsoft):
    answer = client.post("/api/v1/group-entities", headers=api, json={
        "legal_name": "Meridian Assist Japan KK", "country_code": "JP", "parent_id": microsoft["hq"]})
    assert answer.status_code == 422 and "parent_id" in answer.get_json()["error"]["fields"]


def test_the_third_party_form_takes_the_vendor_by_name(logged_in, microsoft):
    from helpers import post_form

    editor = logged_in(Role.EDITOR)
    answer = post_form(editor, "/third-parties/new", {"legal_name": MICROSOFT_JP, "country_code": "JP", "parent_id": MICROSOFT,
                                                       "status": "active", "is_in_subject_list": "y"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    local = db.session.scalar(db.select(ThirdParty).where(ThirdParty.legal_name == MICROSOFT_JP))
    assert local.parent.legal_name == MICROSOFT
    refused = post_form(editor, "/third-parties/new", {"legal_name": "Microsoft Brasil Ltda", "country_code": "BR",
                                                        "parent_id": MICROSOFT_JP, "status": "active"})
    assert refused.status_code == 400 and "is itself an affiliate" in refused.get_data(as_text=True)


def affiliate_book(path, parent_cell: dict, affiliate_first: bool = False) -> object:
    vendors = [{"Legal name": MICROSOFT, "Country code": "US", "Status": "active", "In subject list": "Yes"},
               {"Legal name": MICROSOFT_JP, "Country code": "JP", "Status": "active", "In subject list": "Yes", **parent_cell}]
    return write_book(path, {
        GROUP_ENTITIES.name: sheet(GROUP_ENTITIES, [{"Legal name": "Meridian Assist SA", "Country code": "FR",
                                                     "Controller": "Yes", "Status": "active"}]),
        THIRD_PARTIES.name: sheet(THIRD_PARTIES, vendors[::-1] if affiliate_first else vendors),
        SCOPE_FACTS.name: sheet(SCOPE_FACTS, [{"Party": MICROSOFT, "Question": "jp_appi_private_sector", "Answer": "yes"}]),
        ENGAGEMENTS.name: sheet(ENGAGEMENTS, [
            {"Engaged by": "Meridian Assist SA", "Engages": MICROSOFT, "Service": "Microsoft 365", "Relationship": "processor",
             "Status": "active", "Processing locations": "US"},
            {"Engaged by": "Meridian Assist SA", "Engages": MICROSOFT_JP, "Service": "Microsoft 365 (Japan region)",
             "Relationship": "processor", "Status": "active", "Processing locations": "JP"}]),
        ROUTES.name: sheet(ROUTES, [
            {"Exporter": "Meridian Assist SA", "Importer": MICROSOFT_JP, "Destination code": "JP",
             "Service": "Microsoft 365 (Japan region)", "Regimes": "EU"}]),
    })


@pytest.mark.parametrize("affiliate_first", [False, True], ids=["vendor first", "affiliate first"])
def test_the_import_takes_an_affiliates_vendor_by_name_and_the_list_groups_it_under_the_vendor(app, tmp_path, logged_in,
                                                                                               affiliate_first):
    # A legal team's sheet may name the vendor below its affiliate: it is looked up once the sheet is read.
    outcome = do_import(affiliate_book(tmp_path / "microsoft.xlsx", {"Affiliate of": MICROSOFT}, affiliate_first))
    assert outcome.ok, [(row.sheet, row.row, row.errors) for row in outcome.errors]
    local = db.session.scalar(db.select(ThirdParty).where(ThirdParty.legal_name == MICROSOFT_JP))
    assert local.parent.legal_name == MICROSOFT
    route_id = db.session.scalar(db.select(RouteRegimeVerdict.route_id))
    assert regime_verdict(route_id) == ("adequacy", "attention")  # the vendor's answer is not the affiliate's
    rows = subject_rows(logged_in(Role.ADMIN))
    # The subject list against the source rows: the vendor, then its Japanese entity, each where it processes.
    assert [(row["Processor"], row["What it does for us"], row["Where it processes data"]) for row in rows] == [
        (MICROSOFT, "Microsoft 365", "United States"),
        (AFFILIATE_ROW, "Microsoft 365 (Japan region)", "Japan")]


@pytest.mark.parametrize("cell, column, message", [
    ({"Affiliate of": "Nobody Inc."}, "Affiliate of", "No party named"),
    ({"Affiliate of": "Meridian Assist SA"}, "Affiliate of ID", "an affiliate's parent is a third party"),
])
def test_the_import_refuses_an_affiliate_of_no_vendor(app, tmp_path, cell, column, message):
    outcome = do_import(affiliate_book(tmp_path / "wrong.xlsx", cell))
    assert not outcome.applied
    errors = [(error.sheet, column_name, text) for error in outcome.errors for column_name, text in error.errors]
    assert any(sheet_name == THIRD_PARTIES.name and column_name == column and message in text
               for sheet_name, column_name, text in errors), errors


def test_the_workbook_round_trip_keeps_each_affiliates_vendor(app, database, tmp_path, writer, microsoft):
    writer(lambda: services.create(ThirdParty, {"legal_name": "Microsoft Brasil Ltda", "country_code": "BR",
                                                "parent_id": microsoft["microsoft"]}))
    # Named before its vendor in the register's order: the workbook still lists the vendor first.
    writer(lambda: services.create(ThirdParty, {"legal_name": "Azure Japan KK", "country_code": "JP",
                                                "parent_id": microsoft["microsoft"]}))
    workbook = export_workbook(tmp_path / "register.xlsx")
    before = register_content()
    with empty_register(database, app, tmp_path):
        outcome = do_import(workbook)
        assert outcome.ok and outcome.applied, [(row.sheet, row.row, row.errors) for row in outcome.errors]
        assert register_content() == before
        parents = {party.legal_name: party.parent.legal_name for party in db.session.scalars(
            db.select(ThirdParty).where(ThirdParty.parent_id.is_not(None)))}
        assert parents == {"Microsoft Brasil Ltda": MICROSOFT, "Azure Japan KK": MICROSOFT}


# --- group companies processing for others: the client's list, the group's list, their feeds ------------


# (processor, role, service, where) as the register's facts give them: the rows of each list, by name.
CLIENT_LIST = [
    ("Meridian Assist India Private Limited", "Sub-processor (engaged by Meridian Assist SA)", "Claims processing", "India"),
    ("Meridian Assist SA", "Processor", "Assistance for the client's employees", "France"),
    ("Scanfast Ltd", "Sub-processor (engaged by Meridian Assist India Private Limited)", "Scanning of claim files", "India"),
]
GROUP_LIST = [
    ("Groupware Inc.", "Processor", "Group e-mail", "United States"),
    ("Meridian Assist India Private Limited", "Sub-processor (engaged by Meridian Assist SA)", "Claims processing", "India"),
    ("Scanfast Ltd", "Sub-processor (engaged by Meridian Assist India Private Limited)", "Scanning of claim files", "India"),
]


def chain_through_the_api(client, api) -> dict:
    """A client employer engages our French company as processor, which engages our Indian company as
    sub-processor for it, which engages a scanning vendor; the French company's own e-mail vendor carries
    the group's data. Each sub-processor is told to the client first (Art. 28(2))."""

    def post(resource: str, body: dict) -> dict:
        answer = client.post(f"/api/v1/{resource}", headers=api, json=body)
        assert answer.status_code == 201, (resource, answer.get_json())
        return answer.get_json()["data"]

    ids = {"employer": post("clients", {"legal_name": "Acme Employer GmbH", "country_code": "DE", "notice_period_days": 30})["id"],
           "fr": post("group-entities", {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True,
                                         "is_processor": True})["id"],
           "in": post("group-entities", {"legal_name": "Meridian Assist India Private Limited", "country_code": "IN"})["id"],
           "scan": post("third-parties", {"legal_name": "Scanfast Ltd", "country_code": "IN"})["id"],
           "mail": post("third-parties", {"legal_name": "Groupware Inc.", "country_code": "US"})["id"]}
    post("engagements", {"engager_id": ids["employer"], "engaged_id": ids["fr"], "service": "Assistance for the client's employees",
                         "relationship_type": "processor", "authorisation": "general", "locations": ["FR"]})
    post("engagements", {"engager_id": ids["fr"], "engaged_id": ids["mail"], "service": "Group e-mail",
                         "relationship_type": "processor", "locations": ["US"]})
    for engager, engaged, service in (("fr", "in", "Claims processing"), ("in", "scan", "Scanning of claim files")):
        made = post("engagements", {"engager_id": ids[engager], "engaged_id": ids[engaged], "service": service,
                                    "relationship_type": "sub_processor", "status": "proposed", "locations": ["IN"],
                                    "planned_start_on": (DAY - timedelta(days=20)).isoformat()})
        post("change-notices", {"client_id": ids["employer"], "engagement_id": made["id"],
                                "sent_on": (DAY - timedelta(days=60)).isoformat(), "outcome": "no_objection"})
        activated = client.patch(f"/api/v1/engagements/{made['id']}", headers={**api, "If-Match": str(made["version"])},
                                 json={"status": "active", "starts_on": (DAY - timedelta(days=20)).isoformat()})
        assert activated.status_code == 200, activated.get_json()
    return ids


def rows_of(found) -> list[tuple]:
    return [(row.name, row.role, row.service, row.locations) for row in found.rows]


def check_the_lists_and_their_feeds(employer_id: int) -> None:
    assert rows_of(processor_list(client_id=employer_id)) == CLIENT_LIST
    assert rows_of(processor_list()) == GROUP_LIST
    # Each feed names what its list names, by the same rule: the client's engagement of our French company
    # is on the client's list and feed, never on the group's.
    assert {change.processor for change in list_changes(client_id=employer_id)} == {row[0] for row in CLIENT_LIST}
    assert {change.processor for change in list_changes()} == {row[0] for row in GROUP_LIST}


def test_group_companies_processing_for_a_client_through_the_api_are_on_its_list_and_its_feed(client, api, logged_in):
    ids = chain_through_the_api(client, api)
    check_the_lists_and_their_feeds(ids["employer"])
    staff = logged_in(Role.ADMIN)
    rows = subject_rows(staff, f"?client={ids['employer']}")
    assert [(row["Processor"], row["Role"]) for row in rows] == [(name, role) for name, role, _service, _where in CLIENT_LIST]
    page = staff.get(f"/processors?client={ids['employer']}").get_data(as_text=True)
    assert "Processors of Acme Employer GmbH&#39;s personal data" in page and "Groupware" not in page
    feed = staff.get(f"/processors/changes.atom?client={ids['employer']}").get_data(as_text=True)
    assert "Meridian Assist India Private Limited" in feed and "Groupware" not in feed
    # A client's list is for staff to give it: never on the public pages, and only a client has one.
    assert client.get(f"/public/processors?client={ids['employer']}").status_code == 404
    assert staff.get(f"/processors?client={ids['fr']}").status_code == 404


def test_group_companies_processing_for_a_client_through_the_import(app, tmp_path):
    claims, scanning = "6a1f1e1e-0000-4000-8000-00000000e001", "6a1f1e1e-0000-4000-8000-00000000e002"
    sent = (DAY - timedelta(days=60)).isoformat()
    path = write_book(tmp_path / "chain.xlsx", {
        GROUP_ENTITIES.name: sheet(GROUP_ENTITIES, [
            {"Legal name": "Meridian Assist SA", "Country code": "FR", "Controller": "Yes", "Processor for clients": "Yes",
             "Status": "active"},
            {"Legal name": "Meridian Assist India Private Limited", "Country code": "IN", "Status": "active"}]),
        THIRD_PARTIES.name: sheet(THIRD_PARTIES, [
            {"Legal name": "Scanfast Ltd", "Country code": "IN", "Status": "active", "In subject list": "Yes"},
            {"Legal name": "Groupware Inc.", "Country code": "US", "Status": "active", "In subject list": "Yes"}]),
        CLIENTS.name: sheet(CLIENTS, [{"Legal name": "Acme Employer GmbH", "Country code": "DE", "Notice period (days)": 30,
                                       "Status": "active"}]),
        ENGAGEMENTS.name: sheet(ENGAGEMENTS, [
            {"Engaged by": "Acme Employer GmbH", "Engages": "Meridian Assist SA", "Service": "Assistance for the client's employees",
             "Relationship": "processor", "Authorisation": "general", "Status": "active", "Processing locations": "FR"},
            {"Engaged by": "Meridian Assist SA", "Engages": "Groupware Inc.", "Service": "Group e-mail",
             "Relationship": "processor", "Status": "active", "Processing locations": "US"},
            {"ID": claims, "Engaged by": "Meridian Assist SA", "Engages": "Meridian Assist India Private Limited",
             "Service": "Claims processing", "Relationship": "sub_processor", "Status": "active",
             "Started": (DAY - timedelta(days=20)).isoformat(), "Processing locations": "IN"},
            {"ID": scanning, "Engaged by": "Meridian Assist India Private Limited", "Engages": "Scanfast Ltd",
             "Service": "Scanning of claim files", "Relationship": "sub_processor", "Status": "active",
             "Started": (DAY - timedelta(days=20)).isoformat(), "Processing locations": "IN"}]),
        CHANGE_NOTICES.name: sheet(CHANGE_NOTICES, [
            {"Client": "Acme Employer GmbH", "Engagement ID": engagement, "Sent": sent, "Outcome": "no_objection"}
            for engagement in (claims, scanning)]),
    })
    outcome = do_import(path)
    assert outcome.ok and outcome.applied, [(row.sheet, row.row, row.errors) for row in outcome.errors]
    employer = db.session.scalar(db.select(Client.id))
    assert db.session.scalar(db.select(db.func.count()).select_from(ChangeNotice)) == 2
    assert all(engagement.status == Lifecycle.ACTIVE for engagement in db.session.scalars(db.select(Engagement)))
    check_the_lists_and_their_feeds(employer)

