"""What a vendor states about its transfers is recorded as evidence (source and date), checked like any
record, audited, and read by the rules as attention: never covered, never a proven gap. A party's aliases
let a DPF entry under another of its names count as its own."""

import pytest
from sqlalchemy import func, select

from register import services
from register.audit import Actor
from register.extensions import db
from register.models import (
    AuditEvent,
    AuditSource,
    DpfCertification,
    Engagement,
    GroupEntity,
    Role,
    RouteVerdict,
    ThirdParty,
    TransferRoute,
    VendorStatement,
)
from register.api import make_token


@pytest.fixture
def register(writer):
    """A French controller sending case data to a US processor with nothing recorded but what the vendor says."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Amazon Web Services Inc (AWS)", "country_code": "US"})
        other = services.create(ThirdParty, {"legal_name": "Other Cloud LLC", "country_code": "US"})
        engagement = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Hosting",
                                                  "relationship_type": "processor", "locations": ["US"]})
        other_engagement = services.create(Engagement, {"engager_id": hq.id, "engaged_id": other.id, "service": "Mail",
                                                        "relationship_type": "processor", "locations": ["US"]})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                                "carries_eu_data": True, "carries_uk_data": True, "exporter_role": "controller",
                                                "importer_role": "processor", "engagement_id": engagement.id})
        return {"vendor": vendor.id, "engagement": engagement.id, "other_engagement": other_engagement.id, "route": route.id}

    return writer(build)


@pytest.fixture
def headers(make_user):
    user, _ = make_user(Role.EDITOR)
    with services.write_unit(Actor(AuditSource.CLI, label="test")):
        secret, _record = make_token(user, "tests")
    return {"Authorization": f"Bearer {secret}"}


def stored(route_id: int) -> RouteVerdict:
    db.session.rollback()
    return db.session.get(RouteVerdict, route_id)


def statement(register, **values) -> dict:
    return {"party_id": register["vendor"], "mechanism": "scc", "source": "vendor's sub-processor list",
            "stated_on": "2024-08-19", **values}


BAD = [
    pytest.param({"source_url": "javascript:alert(1)"}, "source_url", id="a source address that is not http(s)"),
    pytest.param({"mechanism": "other"}, "stated_text", id="an unknown mechanism without the vendor's words"),
    pytest.param({"dpf_framework": "eu_us"}, "dpf_framework", id="a DPF framework on an SCC statement"),
    pytest.param({"stated_on": "2999-01-01"}, "stated_on", id="a source dated in the future"),
    pytest.param({"source": ""}, "source", id="no source"),
    pytest.param({"mechanism": "sccs please"}, "mechanism", id="a mechanism the register does not know"),
]


@pytest.mark.parametrize("change, field", BAD)
def test_a_statement_the_register_cannot_read_is_refused_with_a_field_error(client, register, headers, change, field):
    response = client.post("/api/v1/vendor-statements", json=statement(register, **change), headers=headers)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_a_statement_about_an_engagement_must_be_one_of_the_vendors_own(client, register, headers):
    response = client.post("/api/v1/vendor-statements", json=statement(register, engagement_id=register["other_engagement"]),
                           headers=headers)
    assert response.status_code == 422 and "engagement_id" in response.get_json()["error"]["fields"]


def test_a_statement_makes_a_route_with_nothing_recorded_attention_and_is_shown_beside_its_verdict(client, register, headers):
    assert stored(register["route"]).status == "gap"
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    created = client.post("/api/v1/vendor-statements", json=statement(register, regime="EU", engagement_id=register["engagement"]),
                          headers=headers)
    assert created.status_code == 201, created.get_json()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1  # audited
    # EU data: stated, not verified -> attention; UK data: nothing stated about it -> still no tool recorded.
    assessment = client.get(f"/api/v1/routes/{register['route']}", headers=headers).get_json()["data"]["assessment"]
    by_regime = {item["regime"]: item for item in assessment["regimes"]}
    assert (by_regime["EU"]["mechanism"], by_regime["EU"]["status"]) == ("scc", "attention")
    assert any("not verified" in reason["text"] for reason in by_regime["EU"]["reasons"])
    assert by_regime["UK"]["status"] == "gap"
    assert any("no transfer tool recorded" in reason["text"] for reason in by_regime["UK"]["reasons"])
    assert [(item["source"], item["stated_on"]) for item in assessment["vendor_statements"]] == [
        ("vendor's sub-processor list", "2024-08-19")]
    # The stored verdict followed the write; deleting nothing, the route stays gap overall (its UK data).
    assert stored(register["route"]).status == "gap"
    statement_id = created.get_json()["data"]["id"]
    patched = client.patch(f"/api/v1/vendor-statements/{statement_id}", json={"regime": None},
                           headers={**headers, "If-Match": created.headers["ETag"]})
    assert patched.status_code == 200, patched.get_json()
    assert stored(register["route"]).status == "attention"  # now about every regime of the route


def test_a_dpf_entry_under_a_recorded_alias_is_the_partys_own(writer, register):
    def certify():
        services.create(DpfCertification, {"third_party_id": register["vendor"], "framework": "uk_extension",
                                            "certified_entity_name": "Amazon Web Services, Inc."})

    writer(certify)
    uk = lambda: next(item for item in db.session.get(RouteVerdict, register["route"]).regimes if item.regime == "UK")  # noqa: E731
    db.session.rollback()
    assert uk().status == "attention"  # another name: only the listed legal entity is covered

    def alias():
        vendor = db.session.get(ThirdParty, register["vendor"])
        services.update(vendor, {"aliases": "AWS\nAmazon Web Services Inc"}, expected_version=vendor.version)

    writer(alias)
    db.session.rollback()
    assert (uk().mechanism, uk().status) == ("adequacy", "covered")


def test_the_vendor_page_lists_its_statements_and_offers_to_add_one(logged_in, register, writer):
    writer(lambda: services.create(VendorStatement, statement(register, mechanism="dpf", dpf_framework="eu_us")))
    page = logged_in(Role.EDITOR).get(f"/third-parties/{register['vendor']}").get_data(as_text=True)
    assert "What the vendor states about its transfers" in page and "Data Privacy Framework certification" in page
