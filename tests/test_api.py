"""The JSON API: tokens and roles, one error shape, versions, and the register's rules on every write."""

import hashlib

import pytest
from helpers import csrf_token, login
from sqlalchemy import func, select

from register import services
from register.api import make_token, resources, revoke_token
from register.extensions import db
from register.models import (
    ApiToken,
    AuditEvent,
    AuditSource,
    Engagement,
    GroupEntity,
    InternationalOrganisation,
    Role,
    ThirdParty,
    TransferInstrument,
    TransferRoute,
)


@pytest.fixture
def register(writer):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US", "vetting_status": "approved"})
        engagement = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Hosting",
                                                  "relationship_type": "processor", "locations": ["US"]})
        scc = services.create(TransferInstrument, {"kind": "eu_scc", "title": "SCC", "scc_decision": "2021/914", "scc_modules": "2",
                                                   "signed_on": "2024-01-10"})
        services.create(InternationalOrganisation, {"legal_name": "European Patent Organisation", "organisation_code": "EPO"})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                                "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor",
                                                "engagement_id": engagement.id, "instrument_ids": [scc.id]})
        return {"hq": hq, "vendor": vendor, "engagement": engagement, "scc": scc, "route": route}

    return writer(build)


@pytest.fixture
def token_for(make_user):
    """A bearer token for a new user of the role."""

    def make(role: Role) -> dict:
        user, _ = make_user(role)
        from register.audit import Actor

        with services.write_unit(Actor(AuditSource.CLI, label="test")):
            secret, _record = make_token(user, "tests")
        return {"Authorization": f"Bearer {secret}"}

    return make


def events() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


# --- the role matrix ---------------------------------------------------------------------------

AUTH = ["none", "bad token", Role.AUDITOR, Role.EDITOR, Role.ADMIN]


def operations(resource: resources.Resource, record_id: int) -> list[tuple[str, str, bool]]:
    base = f"/api/v1/{resource.name}"
    found = [("GET", base, False), ("GET", f"{base}/{record_id}", False), ("POST", base, True),
             ("PATCH", f"{base}/{record_id}", True)]
    if resource.can_retire:
        found.append(("POST", f"{base}/{record_id}/retire", True))
    return found


@pytest.mark.parametrize("who", AUTH, ids=str)
@pytest.mark.parametrize("resource", resources.RESOURCES, ids=lambda r: r.name)
def test_role_matrix_over_every_endpoint(client, register, token_for, resource, who):
    if who == "none":
        headers = {}
    elif who == "bad token":
        headers = {"Authorization": "Bearer trk_not-a-real-token"}
    else:
        headers = token_for(who)
    record = db.session.scalar(select(resource.model).limit(1))
    before = events()
    for method, path, writes in operations(resource, record.id if record else 1):
        response = client.open(path, method=method, headers=headers, json={})
        body = response.get_json()
        assert set(body) <= {"data", "meta", "error"}, (method, path)
        where = f"{method} {path} as {who}"
        if who in ("none", "bad token"):
            assert response.status_code == 401 and body["error"]["status"] == 401, where
        elif writes and who == Role.AUDITOR:
            assert response.status_code == 403, where
        elif writes:
            assert response.status_code in (200, 201, 404, 409, 422), where  # an empty body is refused or harmless
        else:
            assert response.status_code in (200, 404), where
    if who in ("none", "bad token", Role.AUDITOR):
        assert events() == before


# --- reading -------------------------------------------------------------------------------------


def test_a_route_carries_its_assessment_per_regime_for_today_or_a_date(client, register, token_for):
    headers = token_for(Role.AUDITOR)
    route_id = register["route"].id
    today = client.get(f"/api/v1/routes/{route_id}", headers=headers)
    assert today.status_code == 200 and today.headers["ETag"] == '"1"'
    data = today.get_json()["data"]
    assert data["instrument_ids"] == [register["scc"].id] and data["destination_country"] == "US"
    eu = data["assessment"]["regimes"][0]
    assert (eu["regime"], eu["mechanism"]) == ("EU", "scc") and "2021/914" in eu["legal_reference"]
    assert eu["tia"]["required"] is True and eu["tia"]["done"] is False
    before = client.get(f"/api/v1/routes/{route_id}?on=2023-06-01", headers=headers).get_json()["data"]["assessment"]
    assert before["on"] == "2023-06-01" and before["regimes"][0]["mechanism"] != "scc"  # not yet signed then
    bad = client.get(f"/api/v1/routes/{route_id}?on=2019-02-30", headers=headers)
    assert bad.status_code == 422 and "on" in bad.get_json()["error"]["fields"]


def test_a_third_party_carries_its_vetting_and_chain(client, register, token_for):
    data = client.get(f"/api/v1/third-parties/{register['vendor'].id}", headers=token_for(Role.AUDITOR)).get_json()["data"]
    assert data["kind"] == "third_party" and data["vetting"]["state"] == "none"
    assert [link["legal_name"] for link in data["chain"]["engaged_by"]] == ["Meridian Assist SA"]
    assert "is_controller" not in data  # only the fields a third party has


def test_lists_use_the_pages_filters_and_refuse_unknown_values(client, register, token_for):
    headers = token_for(Role.AUDITOR)
    body = client.get("/api/v1/third-parties?country=US&per_page=10", headers=headers).get_json()
    assert [item["legal_name"] for item in body["data"]] == ["Cloudy Inc"]
    assert body["meta"] == {"page": 1, "per_page": 10, "total": 1, "total_is_capped": False, "has_next": False}
    refused = client.get("/api/v1/routes?coverage=splendid&sort=colour&per_page=0", headers=headers)
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {"per_page"} or set(refused.get_json()["error"]["fields"]) >= {"coverage", "sort"}


# --- writing -------------------------------------------------------------------------------------


def test_an_editor_creates_changes_and_retires_with_versions(client, register, token_for):
    headers = token_for(Role.EDITOR)
    created = client.post("/api/v1/third-parties", headers=headers,
                          json={"legal_name": "Kaveri Data Services", "country_code": "IN", "vetting_status": "pending"})
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    vendor_id = created.get_json()["data"]["id"]
    assert created.headers["Location"].endswith(f"/api/v1/third-parties/{vendor_id}")
    changed = client.patch(f"/api/v1/third-parties/{vendor_id}", headers={**headers, "If-Match": '"1"'},
                           json={"vetting_status": "approved"})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    stale = client.patch(f"/api/v1/third-parties/{vendor_id}", headers={**headers, "If-Match": '"1"'}, json={"vetting_status": "rejected"})
    assert stale.status_code == 409 and stale.headers["ETag"] == '"2"'
    retired = client.post(f"/api/v1/third-parties/{vendor_id}/retire", headers=headers, json={"version": 2, "ends_on": "2026-12-31"})
    assert retired.status_code == 200 and retired.get_json()["data"]["status"] == "retired"
    trail = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "parties", AuditEvent.record_id == vendor_id)
                               .order_by(AuditEvent.id)).all()
    assert [(e.action.value, e.source) for e in trail] == [("create", AuditSource.API), ("update", AuditSource.API),
                                                          ("retire", AuditSource.API)]


def test_a_patch_on_an_older_version_applies_unless_a_field_it_sends_changed_meanwhile(client, register, token_for):
    headers = token_for(Role.EDITOR)
    vendor = f"/api/v1/third-parties/{register['vendor'].id}"
    assert client.patch(vendor, headers={**headers, "If-Match": '"1"'}, json={"contact_name": "Dora Lindqvist"}).status_code == 200
    stale = {**headers, "If-Match": '"1"'}

    disjoint = client.patch(vendor, headers=stale, json={"website": "https://cloudy.example"})
    assert disjoint.status_code == 200 and disjoint.headers["ETag"] == '"3"'
    assert disjoint.get_json()["data"]["contact_name"] == "Dora Lindqvist"  # kept
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (last.action.value, last.changes) == ("update", {"website": [None, "https://cloudy.example"]})

    written = events()
    overlapping = client.patch(vendor, headers=stale, json={"contact_name": "Dora L.", "notes": "Checked"})
    assert overlapping.status_code == 409 and overlapping.headers["ETag"] == '"3"'
    error = overlapping.get_json()["error"]
    assert list(error["fields"]) == ["contact_name"] and '"Dora Lindqvist"' in error["fields"]["contact_name"][0]
    assert events() == written  # nothing written, not even the field nobody else changed
    assert client.get(vendor, headers=headers).get_json()["data"]["notes"] is None

    # Changed meanwhile to the very value sent: nothing to decide.
    assert client.patch(vendor, headers=stale, json={"contact_name": "  Dora Lindqvist "}).status_code == 200


def test_a_patch_on_an_older_version_compares_collections_as_what_they_hold(client, register, token_for):
    headers = token_for(Role.EDITOR)
    engagement = f"/api/v1/engagements/{register['engagement'].id}"
    assert client.patch(engagement, headers={**headers, "If-Match": '"1"'}, json={"locations": ["US", "IE"]}).headers["ETag"] == '"2"'
    stale = {**headers, "If-Match": '"1"'}

    same_places = client.patch(engagement, headers=stale, json={"locations": [{"country_code": "ie"}, "US"], "purpose": "Support"})
    assert same_places.status_code == 200
    other_places = client.patch(engagement, headers=stale, json={"locations": ["US"]})
    assert other_places.status_code == 409 and list(other_places.get_json()["error"]["fields"]) == ["locations"]
    assert sorted(place["country_code"] for place in client.get(engagement, headers=headers).get_json()["data"]["locations"]) == ["IE", "US"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/third-parties", {"legal_name": "X Ltd", "country_code": "XK"}, "country_code"),
        ("/api/v1/third-parties", {"legal_name": "X Ltd", "country_code": "IN", "colour": "red"}, "colour"),
        ("/api/v1/third-parties", {"legal_name": "X Ltd", "country_code": "IN", "is_controller": True}, "is_controller"),
        ("/api/v1/third-parties", {"legal_name": 42, "country_code": "IN"}, "legal_name"),
        ("/api/v1/third-parties", {"legal_name": "X Ltd", "country_code": "IN", "id": 7}, "id"),
        ("/api/v1/third-parties", {"country_code": "IN"}, "legal_name"),
        ("/api/v1/third-parties", {"legal_name": "X", "country_code": "IN", "vetting_next_review_on": "2026-13-01"}, "vetting_next_review_on"),
        ("/api/v1/routes", {"exporter_id": 1, "importer_id": 99999, "destination_country": "US", "exporter_role": "controller",
                            "importer_role": "processor"}, "importer_id"),
        ("/api/v1/routes", {"exporter_id": 1, "importer_id": 1, "destination_country": "US", "exporter_role": "controller",
                            "importer_role": "processor"}, "importer_id"),
        ("/api/v1/routes", {"exporter_id": 1, "importer_id": 2, "destination_country": "US", "exporter_role": "controller",
                            "importer_role": "processor", "instrument_ids": "all"}, "instrument_ids"),
        ("/api/v1/engagements", {"engager_id": 2, "engaged_id": 1, "service": "x", "relationship_type": "processor"}, "engaged_id"),
        ("/api/v1/instruments", {"kind": "derogation", "title": "Repatriation", "derogation_ground": "b"}, "derogation_justification"),
        ("/api/v1/international-organisations", {"legal_name": "WHO", "organisation_code": "DE"}, "organisation_code"),
        ("/api/v1/third-parties", {"legal_name": "Nul\u0000 Ltd", "country_code": "IN"}, "legal_name"),
        ("/api/v1/bcr-approvals", {"name": "BCR", "regime": "EU", "bcr_type": "bcr_c", "authority": "CNIL", "approved_on": "2020-01-01",
                                   "memberships": [{"group_entity_id": 2**40, "bound_from": "2020-01-01"}]}, "memberships"),
    ],
    ids=["unknown-country", "unknown-field", "field-of-another-kind", "wrong-type", "read-only-id", "missing-required",
         "invalid-date", "missing-reference", "exporter-is-importer", "instrument-ids-not-a-list", "third-party-engages-group",
         "derogation-without-justification", "organisation-with-a-country-code", "nul-character", "id-out-of-range"],
)
def test_bad_input_is_422_with_field_errors_and_writes_nothing(client, register, token_for, path, body, field):
    headers = token_for(Role.EDITOR)
    before = events()
    response = client.post(path, headers=headers, json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert events() == before


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [("{not json", "application/json", 400), ('["a", "list"]', "application/json", 400), ("legal_name=X", "text/plain", 400)],
)
def test_malformed_bodies_are_400(client, register, token_for, data, content_type, status):
    response = client.post("/api/v1/third-parties", headers=token_for(Role.EDITOR), data=data, content_type=content_type)
    assert response.status_code == status and response.get_json()["error"]["status"] == status


@pytest.mark.parametrize("version", [None, True, "one", 1.0, [1]], ids=["missing", "true", "text", "float", "list"])
def test_a_write_needs_a_whole_number_version(client, register, token_for, version):
    body = {"website": "x"} if version is None else {"website": "x", "version": version}
    response = client.patch(f"/api/v1/third-parties/{register['vendor'].id}", headers=token_for(Role.EDITOR), json=body)
    assert response.status_code == 422 and "version" in response.get_json()["error"]["fields"]
    retired = client.post(f"/api/v1/third-parties/{register['vendor'].id}/retire", headers=token_for(Role.EDITOR),
                          json={} if version is None else {"version": version})
    assert retired.status_code == 422


def test_unknown_ids_and_resources_are_404(client, register, token_for):
    headers = token_for(Role.AUDITOR)
    assert client.get("/api/v1/routes/424242", headers=headers).status_code == 404
    assert client.get(f"/api/v1/group-entities/{register['vendor'].id}", headers=headers).status_code == 404  # a third party
    assert client.get("/api/v1/unicorns", headers=headers).status_code == 404
    assert client.get(f"/api/v1/routes/{2**64}", headers=headers).status_code == 404


# --- what the register fills in ----------------------------------------------------------------


@pytest.fixture
def claims_chain(writer) -> dict:
    """A German group entity engaging an Indian vendor, which engages a Singapore sub-processor; no tools."""

    def build():
        gmbh = services.create(GroupEntity, {"legal_name": "Meridian Assist GmbH", "country_code": "DE"})
        kaveri = services.create(ThirdParty, {"legal_name": "Kaveri Data Services", "country_code": "IN"})
        backups = services.create(ThirdParty, {"legal_name": "Lion City Backups Pte. Ltd.", "country_code": "SG"})
        claims = services.create(Engagement, {"engager_id": gmbh.id, "engaged_id": kaveri.id, "service": "Claims processing",
                                              "relationship_type": "processor", "locations": ["IN"]})
        services.create(Engagement, {"engager_id": kaveri.id, "engaged_id": backups.id, "service": "Backups",
                                     "relationship_type": "sub_processor", "locations": ["SG"]})
        return {"gmbh": gmbh.id, "kaveri": kaveri.id, "backups": backups.id, "claims": claims.id}

    return writer(build)


def test_a_first_hop_sent_without_regimes_carries_its_exporters_and_gets_the_gap_it_deserves(client, claims_chain, token_for):
    response = client.post("/api/v1/routes", headers=token_for(Role.EDITOR),
                           json={"exporter_id": claims_chain["gmbh"], "importer_id": claims_chain["kaveri"]})
    assert response.status_code == 201, response.get_json()
    route, derived = response.get_json()["data"], response.get_json()["derived"]
    assert (route["carries_eu_data"], route["carries_uk_data"], route["carries_ch_data"]) == (True, False, False)
    assert (route["destination_country"], route["engagement_id"], route["exporter_role"], route["importer_role"], route["purpose"]) == (
        "IN", claims_chain["claims"], "controller", "processor", "Claims processing")
    assert route["assessment"]["status"] == "gap"  # EU data to India with no tool, not "out of scope"
    # The answer says what the register filled in, and why.
    assert set(derived) == {"carries_eu_data", "carries_uk_data", "carries_ch_data", "destination_country", "engagement_id",
                            "exporter_role", "importer_role", "purpose"}
    assert derived["carries_eu_data"] == {"value": True, "reason": "The exporter is established in the EEA (DE): its data is "
                                                                    "under the EU GDPR."}
    assert derived["carries_uk_data"]["value"] is False and derived["destination_country"]["value"] == "IN"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "transfer_routes"))
    assert event.changes["carries_eu_data"] == [None, True]  # the trail holds what was written


def test_an_onward_route_keeps_its_source_routes_regimes_and_follows_a_new_source(client, claims_chain, token_for, writer):
    headers = token_for(Role.EDITOR)
    first = client.post("/api/v1/routes", headers=headers,
                        json={"exporter_id": claims_chain["gmbh"], "importer_id": claims_chain["kaveri"]}).get_json()["data"]
    onward = client.post("/api/v1/routes", headers=headers, json={
        "exporter_id": claims_chain["kaveri"], "importer_id": claims_chain["backups"], "source_route_id": first["id"]})
    assert onward.status_code == 201, onward.get_json()
    data, derived = onward.get_json()["data"], onward.get_json()["derived"]
    assert data["carries_eu_data"] is True and data["assessment"]["status"] == "gap"  # Art. 44: EU data, even from India
    assert data["destination_country"] == "SG" and (data["exporter_role"], data["importer_role"]) == ("processor", "processor")
    assert f"route #{first['id']}" in derived["carries_eu_data"]["reason"]
    # Its source route changes to one carrying UK data only: the regimes it took from the source follow.
    uk = writer(lambda: services.create(TransferRoute, {
        "exporter_id": services.create(GroupEntity, {"legal_name": "Meridian UK Ltd", "country_code": "GB"}).id,
        "importer_id": claims_chain["kaveri"], "carries_uk_data": True, "exporter_role": "controller",
        "importer_role": "processor"}))
    moved = client.patch(f"/api/v1/routes/{data['id']}", headers={**headers, "If-Match": '"1"'}, json={"source_route_id": uk.id})
    assert moved.status_code == 200, moved.get_json()
    assert [moved.get_json()["data"][f"carries_{code}_data"] for code in ("eu", "uk", "ch")] == [False, True, False]
    assert set(moved.get_json()["derived"]) == {"carries_eu_data", "carries_uk_data", "carries_ch_data"}


def test_what_the_request_gives_is_kept_and_the_destination_error_says_what_to_give(client, claims_chain, token_for):
    headers = token_for(Role.EDITOR)
    said_no = client.post("/api/v1/routes", headers=headers, json={
        "exporter_id": claims_chain["gmbh"], "importer_id": claims_chain["kaveri"], "carries_eu_data": False,
        "destination_country": "US", "exporter_role": "processor", "importer_role": "processor"})
    assert said_no.status_code == 201, said_no.get_json()
    data, derived = said_no.get_json()["data"], said_no.get_json()["derived"]
    assert (data["carries_eu_data"], data["carries_uk_data"], data["carries_ch_data"]) == (False, False, False)
    assert (data["destination_country"], data["exporter_role"]) == ("US", "processor")
    assert data["assessment"]["status"] == "out_of_scope" and set(derived) == {"engagement_id", "purpose"}
    before = events()
    neither = client.post("/api/v1/routes", headers=headers, json={
        "exporter_id": claims_chain["gmbh"], "importer_id": claims_chain["kaveri"], "destination_country": None})
    assert neither.status_code == 422
    assert neither.get_json()["error"]["fields"]["destination_country"] == [
        "Give the destination: the country the data goes to, or the international organisation that receives it."]
    both = client.post("/api/v1/routes", headers=headers, json={
        "exporter_id": claims_chain["gmbh"], "importer_id": claims_chain["kaveri"], "destination_country": "IN",
        "destination_organisation_id": claims_chain["backups"]})
    assert both.status_code == 422 and "not both" in both.get_json()["error"]["fields"]["destination_country"][0]
    bad_date = client.post("/api/v1/routes", headers=headers, json={
        "exporter_id": claims_chain["gmbh"], "importer_id": claims_chain["kaveri"], "starts_on": "2026-13-01"})
    assert list(bad_date.get_json()["error"]["fields"]) == ["starts_on"]  # not the roles it would have derived
    assert events() == before


# --- tokens and cookies --------------------------------------------------------------------------


def test_tokens_are_stored_hashed_and_stop_working_when_revoked(client, register, make_user, writer):
    user, _ = make_user(Role.EDITOR)
    secret, record = writer(lambda: make_token(user, "sync"))
    stored = db.session.get(ApiToken, record.id)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored.prefix + stored.name
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/routes", headers=headers).status_code == 200
    writer(lambda: revoke_token(db.session.get(ApiToken, record.id)))
    assert client.get("/api/v1/routes", headers=headers).status_code == 401


def test_a_deactivated_users_token_stops_working(client, register, make_user, writer):
    from register.models import User

    user, _ = make_user(Role.EDITOR)
    secret, _record = writer(lambda: make_token(user, "sync"))
    writer(lambda: services.update(db.session.get(User, user.id), {"is_active": False}, expected_version=user.version))
    assert client.get("/api/v1/routes", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_the_cli_prints_a_token_once(runner, make_user):
    user, _ = make_user(Role.AUDITOR)
    result = runner.invoke(args=["create-token", user.email, "--name", "auditor script"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("trk_")
    assert db.session.scalar(select(ApiToken.name).where(ApiToken.token_hash == hashlib.sha256(secret.encode()).hexdigest())) == "auditor script"
    assert runner.invoke(args=["create-token", "nobody@example.org"]).exit_code != 0


def test_users_make_and_revoke_their_tokens_in_the_app(app, client, make_user):
    user, password = make_user(Role.AUDITOR)
    login(client, user.email, password)
    page = client.post("/account/tokens/", data={"csrf_token": csrf_token(client, "/account/tokens/"), "name": "my script"})
    secret = page.get_data(as_text=True).split('<p class="secret"><code>')[1].split("</code>")[0]
    assert page.headers["Cache-Control"] == "no-store"
    api = app.test_client()
    assert api.get("/api/v1/routes", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/account/tokens/")})
    assert api.get("/api/v1/routes", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_cookie_authenticated_api_writes_need_the_csrf_header(client, logged_in, register):
    browser = logged_in(Role.EDITOR)
    body = {"legal_name": "Browser Ltd", "country_code": "GB"}
    assert browser.post("/api/v1/third-parties", json=body).status_code == 400
    token = csrf_token(browser, "/account/password")
    assert browser.post("/api/v1/third-parties", json=body, headers={"X-CSRFToken": token}).status_code == 201
    assert browser.get("/api/v1/third-parties").status_code == 200  # reads need no header


# --- the document ------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_and_covers_every_operation(client):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.")
    for resource in resources.RESOURCES:
        assert {"get", "post"} <= set(document["paths"][f"/api/v1/{resource.name}"])
        assert {"get", "patch"} <= set(document["paths"][f"/api/v1/{resource.name}/{{record_id}}"])
        assert (f"/api/v1/{resource.name}/{{record_id}}/retire" in document["paths"]) == resource.can_retire
    assert "Create a route" in client.get("/api/v1/docs").get_data(as_text=True)


def test_responses_match_the_document(client, register, token_for):
    """Real answers validate against the schemas the document gives them."""
    import jsonschema

    document = client.get("/api/v1/openapi.json").get_json()
    headers = token_for(Role.EDITOR)

    def check(response, path: str, method: str) -> None:
        schema = document["paths"][path][method]["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
        resolver_schema = {**schema, "components": document["components"]}
        jsonschema.validate(response.get_json(), _nullable(resolver_schema))

    check(client.get("/api/v1/routes", headers=headers), "/api/v1/routes", "get")
    check(client.get(f"/api/v1/routes/{register['route'].id}", headers=headers), "/api/v1/routes/{record_id}", "get")
    check(client.get(f"/api/v1/third-parties/{register['vendor'].id}", headers=headers), "/api/v1/third-parties/{record_id}", "get")
    check(client.post("/api/v1/clients", headers=headers, json={"legal_name": "Insurer AG", "country_code": "DE"}),
          "/api/v1/clients", "post")
    check(client.post("/api/v1/clients", headers=headers, json={"legal_name": "Insurer AG"}), "/api/v1/clients", "post")
    check(client.post("/api/v1/routes", headers=headers, json={"exporter_id": register["hq"].id, "importer_id": register["vendor"].id}),
          "/api/v1/routes", "post")
    check(client.get("/api/v1/routes/999999", headers=headers), "/api/v1/routes/{record_id}", "get")


def _nullable(schema):
    """OpenAPI 3.0's `nullable` in JSON Schema terms, for the validator."""
    if isinstance(schema, dict):
        converted = {key: _nullable(value) for key, value in schema.items() if key != "nullable"}
        if schema.get("nullable") and "type" in converted:
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        if "$ref" in converted:
            converted["$ref"] = converted["$ref"].replace("#/components", "#/components")
        return converted
    if isinstance(schema, list):
        return [_nullable(item) for item in schema]
    return schema


def test_a_proposed_sub_processor_is_activated_through_the_api_only_after_the_notice_window(client, register, token_for, writer):
    """Art. 28(2) holds at every door: the API refuses the activation with the reasons, logs the notice, then activates."""
    from datetime import date, timedelta

    headers = token_for(Role.EDITOR)
    client_id = client.post("/api/v1/clients", headers=headers, json={
        "legal_name": "Assurances Voyageurs Mutuelles", "country_code": "FR", "notice_period_days": 30}).get_json()["data"]["id"]
    assert client.post("/api/v1/engagements", headers=headers, json={
        "engager_id": client_id, "engaged_id": register["hq"].id, "service": "Assistance", "relationship_type": "processor",
        "authorisation": "general"}).status_code == 201
    proposed = client.post("/api/v1/engagements", headers=headers, json={
        "engager_id": register["hq"].id, "engaged_id": register["vendor"].id, "service": "Claims scanning",
        "relationship_type": "sub_processor", "status": "proposed", "planned_start_on": "2027-03-01"}).get_json()["data"]
    refused = client.patch(f"/api/v1/engagements/{proposed['id']}", headers={**headers, "If-Match": '"1"'}, json={"status": "active"})
    assert refused.status_code == 422 and "has not been told" in " ".join(refused.get_json()["error"]["fields"]["status"])
    sent = (date.today() - timedelta(days=31)).isoformat()
    logged = client.post("/api/v1/change-notices", headers=headers, json={
        "client_id": client_id, "engagement_id": proposed["id"], "sent_on": sent, "outcome": "no_objection"})
    assert logged.status_code == 201
    assert logged.get_json()["data"]["objection_deadline"] == (date.today() - timedelta(days=1)).isoformat()
    activated = client.patch(f"/api/v1/engagements/{proposed['id']}", headers={**headers, "If-Match": '"1"'}, json={"status": "active"})
    assert activated.status_code == 200 and activated.get_json()["data"]["status"] == "active"
