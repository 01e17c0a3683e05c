"""What the register tells people (the processor list, the public page, an Art. 15 answer, the feed) is
exactly what its verdicts say: no safeguard a verdict does not hold, nothing planned as "now"."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
from helpers import CSRF_INPUT, post_form
from sqlalchemy import select

from register import rules, services, vocabulary
from register.extensions import db
from register.models import (
    Engagement,
    GroupEntity,
    RequestStatus,
    Role,
    SubjectRequest,
    ThirdParty,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    VendorStatement,
)
from register.requests import operations as request_services

TODAY = date.today()
PLANNED = TODAY + timedelta(days=60)
SCC_WORDS = "standard contractual clauses adopted by the European Commission"


# --- the words --------------------------------------------------------------------------------


VERDICTS = [(regime, mechanism, status, audience) for regime in rules.REGIMES for mechanism in rules.MECHANISMS
            for status in ("covered", "attention", "gap") for audience in (vocabulary.SUBJECT, vocabulary.CLIENT)]


def test_no_sentence_states_a_safeguard_the_verdict_does_not_hold():
    """GDPR Art. 15(2), 13(1)(f): a person is told the safeguard, or that there is none (every verdict the
    rules can give, for both audiences)."""
    for regime, mechanism, status, audience in VERDICTS:
        words = vocabulary.safeguard(regime, mechanism, status, audience, adequacy_reference="Decision X")
        assert words
        if mechanism == "none_needed":
            assert "no transfer safeguard is needed" in words  # Art. 44: not a restricted transfer
        elif mechanism == "none" and status == "attention":
            # Only a vendor's unverified statement: neither a safeguard nor its absence is asserted.
            assert words.startswith(vocabulary.SAFEGUARD_UNDER_REVIEW) and vocabulary.NO_SAFEGUARD not in words, words
        elif status == "gap" or mechanism == "none":
            assert words.startswith(vocabulary.NO_SAFEGUARD), words
            assert "clauses" not in words and "adequacy" not in words and "binding" not in words
        elif mechanism == "derogation":  # Art. 49(1): "in the absence of" safeguards; EDPB Guidelines 2/2018
            assert words.startswith("no appropriate safeguard") and "exception" in words
            assert "being reviewed" not in words
        else:
            assert vocabulary.NO_SAFEGUARD not in words
            assert words.endswith(", being reviewed") == (status == "attention"), words
        if mechanism == "adequacy" and status != "gap":
            assert "(Decision X)" in words  # Art. 13(1)(f): the adequacy decision is named


def test_a_client_is_given_the_legal_reference_of_each_safeguard():
    assert "Decision (EU) 2021/914" in vocabulary.safeguard("EU", "scc", "covered", vocabulary.CLIENT)
    assert "2021/914" not in vocabulary.safeguard("EU", "scc", "covered", vocabulary.SUBJECT)
    assert vocabulary.safeguard("UK", "uk_idta", "covered", vocabulary.AUDITOR) == "UK IDTA (Covered)"


def test_regimes_that_say_different_things_are_told_apart_and_the_same_thing_once():
    assert vocabulary.combined([("EU", "a"), ("UK", "a")]) == "a"
    assert vocabulary.combined([("EU", "a"), ("UK", "b")]) == "for data from the EEA, a; for data from the UK, b"
    assert vocabulary.combined([("EU", "a"), ("EU", "b"), ("CH", "a")]) == (
        "for data from the EEA, depending on the transfer, a or b; for data from Switzerland, a")
    assert vocabulary.combined([]) == vocabulary.NOT_RECORDED


# --- a register ---------------------------------------------------------------------------------


@pytest.fixture
def register(writer):
    """A French entity (and its German sister, trading under the same name) with: a US vendor engaged for
    three services and processing in Germany, Iceland and the US (SCCs and a TIA: covered); a sub-processor
    of it; a UAE vendor with no transfer tool (a gap); a planned US vendor."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "trading_name": "Meridian Assist",
                                           "country_code": "FR", "is_controller": True})
        sister = services.create(GroupEntity, {"legal_name": "Meridian Assist Deutschland GmbH",
                                               "trading_name": "Meridian Assist", "country_code": "DE"})
        cloud = services.create(ThirdParty, {"legal_name": "Cloudy Services, Inc.", "trading_name": "Cloudy",
                                             "country_code": "US"})
        backup = services.create(ThirdParty, {"legal_name": "Vault Backup ehf.", "country_code": "IS"})
        gulf = services.create(ThirdParty, {"legal_name": "Gulf Data FZ-LLC", "country_code": "AE"})
        future = services.create(ThirdParty, {"legal_name": "Future Triage AI, Inc.", "country_code": "US"})
        hosting = services.create(Engagement, {"engager_id": hq.id, "engaged_id": cloud.id, "service": "Cloud hosting",
                                               "relationship_type": "processor", "locations": ["DE", "IS", "US"]})
        for service in ("Office suite", "Web analytics"):
            services.create(Engagement, {"engager_id": hq.id, "engaged_id": cloud.id, "service": service,
                                         "relationship_type": "processor", "locations": ["US"]})
        services.create(Engagement, {"engager_id": cloud.id, "engaged_id": backup.id, "service": "Backups",
                                     "relationship_type": "sub_processor", "locations": ["IS"]})
        support = services.create(Engagement, {"engager_id": hq.id, "engaged_id": gulf.id, "service": "Night support",
                                               "relationship_type": "processor", "locations": ["AE"]})
        triage = services.create(Engagement, {"engager_id": hq.id, "engaged_id": future.id, "service": "Symptom triage",
                                              "relationship_type": "processor", "status": "proposed",
                                              "planned_start_on": PLANNED.isoformat(), "locations": ["US"]})
        scc = services.create(TransferInstrument, {"kind": "eu_scc", "title": "SCC Meridian-Cloudy", "scc_decision": "2021/914",
                                                   "scc_modules": "2", "signed_on": "2024-01-01", "signatories": [
                                                       {"party_id": hq.id, "side": "exporter"}, {"party_id": cloud.id, "side": "importer"}]})
        first_hop = {"exporter_id": hq.id, "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor"}
        to_cloud = services.create(TransferRoute, {**first_hop, "importer_id": cloud.id, "destination_country": "US",
                                                   "engagement_id": hosting.id, "instrument_ids": [scc.id]})
        services.create(TransferImpactAssessment, {"route_id": to_cloud.id, "assessed_on": "2024-01-01", "outcome": "can_comply"})
        to_gulf = services.create(TransferRoute, {**first_hop, "importer_id": gulf.id, "destination_country": "AE",
                                                  "engagement_id": support.id})
        services.create(TransferRoute, {**first_hop, "importer_id": future.id, "destination_country": "US",
                                        "engagement_id": triage.id, "status": "proposed"})
        services.create(TransferRoute, {**first_hop, "importer_id": sister.id, "destination_country": "DE",
                                        "importer_role": "controller", "purpose": "Case coordination"})
        return {"hq": hq.id, "sister": sister.id, "cloud": cloud.id, "to_cloud": to_cloud.id, "to_gulf": to_gulf.id}

    return writer(build)


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_processor_list_has_one_row_per_processor_with_each_places_own_safeguard(logged_in, register):
    client = logged_in(Role.AUDITOR)
    rows = csv_rows(client.get("/exports/processors.csv").get_data(as_text=True))
    by_name = {row["Processor"]: row for row in rows}
    assert len(rows) == len(by_name) == 4  # one row per processor, the planned one included as upcoming
    cloud = by_name["Cloudy Services, Inc."]
    assert cloud["Role"] == "Processor" and cloud["Planned start"] == ""
    assert cloud["What it does for us"] == "Cloud hosting; Office suite; Web analytics"
    assert cloud["Where it processes data"] == "United States, Germany, Iceland"
    lines = cloud["How transfers are safeguarded"].splitlines()
    assert lines == [f"United States: {SCC_WORDS}", "Germany, Iceland: within the EEA, no transfer safeguard is needed"]
    assert by_name["Vault Backup ehf."]["Role"] == "Sub-processor (engaged by Cloudy Services, Inc.)"
    # A gap is said as a gap, never "see our privacy notice" or another place's words.
    assert by_name["Gulf Data FZ-LLC"]["How transfers are safeguarded"] == (
        f"United Arab Emirates: {vocabulary.NO_SAFEGUARD}")
    # A planned processor is an upcoming change, with its date: never receiving data now.
    future = by_name["Future Triage AI, Inc."]
    assert future["Planned start"] == PLANNED.isoformat()
    assert rows[-1] is future  # upcoming changes come after the current list
    page = client.get("/processors").get_data(as_text=True)
    current, upcoming = page[page.index("<table"):].split('<section id="upcoming">')
    assert "Future Triage AI" not in current and "Future Triage AI" in upcoming and PLANNED.isoformat() in upcoming


def test_staff_see_what_to_fix_before_sending_and_the_public_never_does(app, logged_in, register, writer):
    client = logged_in(Role.ADMIN)
    page = client.get("/processors").get_data(as_text=True)
    assert "Before you send this list" in page
    assert f'href="/routes/{register["to_gulf"]}"' in page  # the gap, with a link to fix it
    assert "no transfer tool recorded for EU GDPR data to AE" in page
    post_form(client, "/admin/settings", {"publish_processor_list": "y"})
    public = app.test_client().get("/public/processors").get_data(as_text=True)
    assert "Before you send" not in public and "/routes/" not in public
    assert vocabulary.NO_SAFEGUARD in public and "Upcoming changes" in public
    # Fixed (SCCs signed, a TIA), the list says so: the words follow the verdict.
    def fix():
        route = db.session.get(TransferRoute, register["to_gulf"])
        scc = services.create(TransferInstrument, {"kind": "eu_scc", "title": "SCC Meridian-Gulf", "scc_decision": "2021/914",
                                                   "scc_modules": "2", "signed_on": "2024-01-01", "signatories": [
                                                       {"party_id": route.exporter_id, "side": "exporter"},
                                                       {"party_id": route.importer_id, "side": "importer"}]})
        services.update(route, {"instrument_ids": [scc.id]}, expected_version=route.version)
        services.create(TransferImpactAssessment, {"route_id": route.id, "assessed_on": "2024-01-01", "outcome": "can_comply"})

    writer(fix)
    rows = {row["Processor"]: row for row in csv_rows(app.test_client().get("/public/processors.csv").get_data(as_text=True))}
    assert rows["Gulf Data FZ-LLC"]["How transfers are safeguarded"] == f"United Arab Emirates: {SCC_WORDS}"


def test_a_mechanism_only_the_vendor_states_is_said_as_being_reviewed_never_as_in_place(app, logged_in, register, writer):
    """GDPR Art. 13(1)(f), 15(2): a vendor's list saying "SCCs" is not clauses the register holds."""
    gulf_id = db.session.get(TransferRoute, register["to_gulf"]).importer_id
    writer(lambda: services.create(VendorStatement, {"party_id": gulf_id, "mechanism": "scc", "source": "vendor's sub-processor list",
                                                     "stated_on": "2024-08-19"}))
    client = logged_in(Role.ADMIN)
    rows = {row["Processor"]: row for row in csv_rows(client.get("/exports/processors.csv").get_data(as_text=True))}
    assert rows["Gulf Data FZ-LLC"]["How transfers are safeguarded"] == f"United Arab Emirates: {SCC_WORDS}, being reviewed"
    # Staff are told what to verify, with the source and its date.
    page = client.get("/processors").get_data(as_text=True)
    assert "EU SCCs stated by the vendor (vendor&#39;s sub-processor list, 2024-08-19), not verified" in page
    route_page = client.get(f"/routes/{register['to_gulf']}").get_data(as_text=True)
    assert "What the vendor states (not verified)" in route_page and "2024-08-19" in route_page


def draft_page(client, record_id: int) -> str:
    return client.get(f"/requests/{record_id}?draft=1").get_data(as_text=True)


def send(client, record_id: int, shown: str, send_anyway: bool):
    record = db.session.get(SubjectRequest, record_id)
    digest = re.search(r'name="answer-draft_sha256" type="hidden" value="([0-9a-f]{64})"', shown).group(1)
    data = {"answer-csrf_token": CSRF_INPUT.search(shown).group(1), "answer-on": TODAY.isoformat(),
            "answer-version": str(record.version), "answer-draft_sha256": digest}
    if send_anyway:
        data["answer-send_anyway"] = "y"
    return client.post(f"/requests/{record_id}/answer", data=data)


def test_an_access_answer_is_sent_only_as_reviewed_and_says_where_no_safeguard_is_in_place(logged_in, writer, register):
    record_id = writer(lambda: request_services.create_request({
        "request_type": "recipients", "channel": "email", "received_on": TODAY, "identity_verified_on": TODAY,
        "scope_entity_ids": str(register["hq"]), "requester": {"name": "Ingrid Q", "contact": "ingrid@mail.example"}})).id
    editor = logged_in(Role.EDITOR)
    shown = draft_page(editor, record_id)
    assert "Before you send it: " in shown and f'href="/routes/{register["to_gulf"]}"' in shown
    # Points to check and no decision to send as it is: refused, nothing written.
    refused = send(editor, record_id, shown, send_anyway=False)
    assert refused.status_code == 400 and "tick this to send it as it is" in refused.get_data(as_text=True)
    assert db.session.get(SubjectRequest, record_id).answer is None
    # The register changes after the draft was built: the reviewed draft is not what would be sent.
    writer(lambda: services.create(ThirdParty, {"legal_name": "Late Vendor Ltd", "country_code": "GB"}) and services.create(
        Engagement, {"engager_id": register["hq"], "engaged_id": db.session.scalar(
            select(ThirdParty.id).where(ThirdParty.legal_name == "Late Vendor Ltd")), "service": "Printing",
                     "relationship_type": "processor", "locations": ["GB"]}))
    stale = send(editor, record_id, shown, send_anyway=True)
    assert stale.status_code == 400 and "The register changed since the draft was built" in stale.get_data(as_text=True)
    assert "Late Vendor Ltd" in stale.get_data(as_text=True)  # the new draft is shown
    assert send(editor, record_id, stale.get_data(as_text=True), send_anyway=True).status_code == 302
    db.session.expire_all()
    record = db.session.get(SubjectRequest, record_id)
    assert record.status == RequestStatus.ANSWERED
    rows = {row["Recipient"]: row for row in csv_rows(record.answer.content)}
    assert rows["Gulf Data FZ-LLC"]["How transfers are safeguarded"] == f"United Arab Emirates: {vocabulary.NO_SAFEGUARD}"
    assert rows["Future Triage AI, Inc."]["Receives data"] == f"planned from {PLANNED.isoformat()}"
    # Group companies by their legal names, told apart though they trade under one name.
    assert rows["Meridian Assist Deutschland GmbH"]["Relationship"] == "Group company"
    assert rows["Meridian Assist Deutschland GmbH"]["How transfers are safeguarded"] == (
        "Germany: within the EEA, no transfer safeguard is needed")
    assert "Ingrid" not in record.answer.content


def test_the_change_feed_names_what_the_list_names(logged_in, writer, register):
    def build():
        # A party kept off the subject list is kept off its feed too.
        hidden = services.create(ThirdParty, {"legal_name": "Internal Tooling Ltd", "country_code": "GB",
                                              "is_in_subject_list": False})
        services.create(Engagement, {"engager_id": register["hq"], "engaged_id": hidden.id, "service": "Support",
                                     "relationship_type": "processor"})
        # Active, but starting later: the list shows it as upcoming, the feed as an intended addition.
        later = services.create(ThirdParty, {"legal_name": "Starts Later SARL", "country_code": "FR"})
        services.create(Engagement, {"engager_id": register["hq"], "engaged_id": later.id, "service": "Archiving",
                                     "relationship_type": "processor", "starts_on": PLANNED.isoformat()})

    writer(build)
    client = logged_in(Role.AUDITOR)
    feed = client.get("/processors/changes").get_data(as_text=True)
    assert "Internal Tooling" not in feed
    assert re.search(r"Intended addition.*Starts Later SARL|Starts Later SARL.*intended addition", feed, re.S | re.I)
    assert f"planned to start on {PLANNED.isoformat()}" in feed
    rows = {row["Processor"]: row for row in csv_rows(client.get("/exports/processors.csv").get_data(as_text=True))}
    assert rows["Starts Later SARL"]["Planned start"] == PLANNED.isoformat()
