"""The pages legal staff keep the register with: good input saves, bad input explains, nothing is lost."""

from datetime import date, timedelta

import pytest
from helpers import csrf_token, open_form, post_form

from register import services
from register.extensions import db
from register.models import (
    AuditEvent,
    AuditSource,
    ChangeNotice,
    Client,
    Engagement,
    GroupEntity,
    InternationalOrganisation,
    Lifecycle,
    Role,
    ThirdParty,
    TransferInstrument,
    TransferRoute,
)
from register.records import ALL_PAGES


@pytest.fixture
def register(writer):
    """A small register: a French HQ, a US vendor engaged as processor, an SCC, the EPO."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US", "vetting_status": "approved"})
        engagement = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "CRM hosting",
                                                  "relationship_type": "processor", "locations": ["US", "IE"]})
        scc = services.create(TransferInstrument, {"kind": "eu_scc", "title": "SCC Meridian-Cloudy", "scc_decision": "2021/914",
                                                   "scc_modules": "2", "signatories": [{"party_id": hq.id, "side": "exporter"},
                                                                                       {"party_id": vendor.id, "side": "importer"}]})
        epo = services.create(InternationalOrganisation, {"legal_name": "European Patent Organisation", "organisation_code": "EPO"})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                                "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor",
                                                "engagement_id": engagement.id, "instrument_ids": [scc.id]})
        # A client the HQ serves as processor, told of a proposed sub-processor (Art. 28(2)).
        client = services.create(Client, {"legal_name": "Assurances Voyageurs Mutuelles", "country_code": "FR", "notice_period_days": 30})
        services.create(Engagement, {"engager_id": client.id, "engaged_id": hq.id, "service": "Assistance", "relationship_type": "processor",
                                     "authorisation": "general"})
        proposed = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Claims scanning",
                                                "relationship_type": "sub_processor", "status": "proposed",
                                                "planned_start_on": date.today() + timedelta(days=40), "locations": ["US"]})
        notice = services.create(ChangeNotice, {"client_id": client.id, "engagement_id": proposed.id,
                                                "sent_on": date.today() - timedelta(days=10), "outcome": "pending"})
        return {"hq": hq, "vendor": vendor, "engagement": engagement, "scc": scc, "epo": epo, "route": route, "client": client,
                "proposed": proposed, "notice": notice}

    return writer(build)


def url(pages, action: str, **kwargs) -> str:
    from flask import current_app

    with current_app.test_request_context():
        return pages.url(action, **kwargs)


def page_text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("pages", ALL_PAGES, ids=lambda p: p.name)
def test_every_list_and_record_page_opens_for_an_auditor_without_edit_controls(logged_in, register, pages):
    client = logged_in(Role.AUDITOR)
    listing = client.get(url(pages, "index"))
    assert listing.status_code == 200
    assert f"New {pages.singular}" not in page_text(listing)
    first = db.session.scalar(db.select(pages.model).limit(1))
    if first is not None:
        view = client.get(url(pages, "view", record_id=first.id))
        assert view.status_code == 200 and ">Edit<" not in page_text(view)
    assert client.get(url(pages, "new")).status_code == 403


@pytest.mark.parametrize("pages", ALL_PAGES, ids=lambda p: p.name)
def test_an_editor_opens_every_form(logged_in, register, pages):
    client = logged_in(Role.EDITOR)
    assert client.get(url(pages, "new")).status_code == 200
    first = db.session.scalar(db.select(pages.model).limit(1))
    if first is not None:
        assert client.get(url(pages, "edit", record_id=first.id)).status_code == 200


def test_an_editor_creates_a_third_party_and_the_write_is_audited(logged_in):
    client = logged_in(Role.EDITOR)
    response = post_form(client, "/third-parties/new", {"legal_name": "Talkline Ltd", "country_code": "IN", "status": "active",
                                                        "vetting_status": "pending", "contact_email": "dpo@talkline.example",
                                                        "is_in_subject_list": "y"})
    assert response.status_code == 302
    created = db.session.scalar(db.select(ThirdParty).where(ThirdParty.legal_name == "Talkline Ltd"))
    assert response.headers["Location"].endswith(f"/third-parties/{created.id}")
    assert created.country_code == "IN" and created.is_in_subject_list
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.record_id == created.id, AuditEvent.record_type == "parties"))
    assert event.source == AuditSource.WEB and event.user_id == client.user.id
    assert "Talkline Ltd" in page_text(client.get(response.headers["Location"]))


def test_bad_input_redisplays_with_field_errors_and_the_input_kept(logged_in, register):
    client = logged_in(Role.EDITOR)
    response = post_form(client, "/third-parties/new", {"legal_name": "", "country_code": "", "website": "https://kept.example",
                                                        "vetting_next_review_on": "2026-02-30"})
    text = page_text(response)
    assert response.status_code == 400
    assert "This field is required." in text and "Choose a country." in text and "Not a valid date value." in text
    assert 'value="https://kept.example"' in text


def test_a_duplicate_legal_name_in_a_country_is_a_field_error(logged_in, register):
    client = logged_in(Role.EDITOR)
    response = post_form(client, "/third-parties/new", {"legal_name": "  cloudy   INC ", "country_code": "US", "status": "active"})
    assert response.status_code == 400
    assert "A record with this legal name already exists in this country." in page_text(response)
    assert db.session.query(ThirdParty).count() == 1


def test_an_unknown_country_code_is_refused(logged_in):
    client = logged_in(Role.EDITOR)
    response = post_form(client, "/group-entities/new", {"legal_name": "Meridian Kosovo", "country_code": "XK", "status": "active"})
    assert response.status_code == 400 and "Choose a country from the list." in page_text(response)


def test_retiring_keeps_the_record_with_its_end_date(logged_in, register):
    client = logged_in(Role.EDITOR)
    vendor = register["vendor"]
    response = post_form(client, f"/third-parties/{vendor.id}/retire", {"ends_on": "2026-10-31", "version": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    retired = db.session.get(ThirdParty, vendor.id)
    assert retired.status == Lifecycle.RETIRED and retired.ends_on.isoformat() == "2026-10-31"


def test_an_editor_creates_a_route_by_party_names_with_an_inline_instrument(logged_in, register):
    client = logged_in(Role.EDITOR)
    response = post_form(client, "/routes/new", {
        "exporter_id": "Meridian Assist SA", "importer_id": f"Cloudy Inc (US) #{register['vendor'].id}",
        "destination": "US", "carries_eu_data": "y", "exporter_role": "controller", "importer_role": "processor",
        "purpose": "Assistance case files", "status": "active",
        "new_instrument_kind": "uk_idta", "new_instrument_title": "IDTA Meridian-Cloudy"})
    assert response.status_code == 302, page_text(response)
    route = db.session.scalar(db.select(TransferRoute).where(TransferRoute.purpose == "Assistance case files"))
    assert route.exporter_id == register["hq"].id and route.importer_id == register["vendor"].id
    assert [instrument.title for instrument in route.instruments] == ["IDTA Meridian-Cloudy"]
    assert {(s.party_id, s.side.value) for s in route.instruments[0].signatories} == {
        (register["hq"].id, "exporter"), (register["vendor"].id, "importer")}


def test_a_route_to_an_international_organisation(logged_in, register):
    client = logged_in(Role.EDITOR)
    epo = register["epo"]
    response = post_form(client, "/routes/new", {
        "exporter_id": "Meridian Assist SA", "importer_id": f"European Patent Organisation (EPO) #{epo.id}",
        "destination": f"io:{epo.id}", "carries_eu_data": "y", "exporter_role": "controller", "importer_role": "controller",
        "status": "active"})
    assert response.status_code == 302, page_text(response)
    route = db.session.scalar(db.select(TransferRoute).where(TransferRoute.destination_organisation_id == epo.id))
    assert route.destination_country is None


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"importer_id": "Meridian Assist SA"}, "The importer must differ from the exporter."),
        ({"importer_id": "Nobody Ltd"}, "No group entity or third party or client or international organisation named"),
        ({"destination": ""}, "Choose the destination."),
        ({"starts_on": "2026-05-01", "ends_on": "2026-01-01"}, "The end date cannot be before the start date."),
        ({"new_instrument_kind": "eu_scc", "new_instrument_title": "SCC", "new_instrument_scc_modules": "7"}, "modules"),
    ],
)
def test_a_bad_route_is_refused_whole(logged_in, register, changes, field_message):
    client = logged_in(Role.EDITOR)
    before_routes, before_instruments = db.session.query(TransferRoute).count(), db.session.query(TransferInstrument).count()
    form = {"exporter_id": "Meridian Assist SA", "importer_id": "Cloudy Inc", "destination": "US", "carries_eu_data": "y",
            "exporter_role": "controller", "importer_role": "processor", "status": "active", **changes}
    response = post_form(client, "/routes/new", form)
    assert response.status_code == 400
    assert field_message in page_text(response)
    assert db.session.query(TransferRoute).count() == before_routes
    assert db.session.query(TransferInstrument).count() == before_instruments


def test_an_engagement_cycle_is_a_form_error(logged_in, register):
    client = logged_in(Role.EDITOR)
    response = post_form(client, "/engagements/new", {"engager_id": "Cloudy Inc", "engaged_id": "Meridian Assist SA",
                                                      "service": "Reverse", "relationship_type": "processor", "status": "active"})
    assert response.status_code == 400
    assert "A third party cannot engage a group entity" in page_text(response)


def test_lists_search_filter_sort_and_paginate(logged_in, writer, register):
    def many():
        for number in range(60):
            services.create(ThirdParty, {"legal_name": f"Vendor {number:02d}", "country_code": "DE" if number % 2 else "IN",
                                         "vetting_status": "rejected" if number == 7 else None})

    writer(many)
    client = logged_in(Role.AUDITOR)
    first_page = page_text(client.get("/third-parties/?sort=name"))
    assert "61 third parties" in first_page and "Page 1 of 2" in first_page
    assert page_text(client.get("/third-parties/?q=vendor 0")).count("Vendor 0") == 10
    rejected = page_text(client.get("/third-parties/?vetting=rejected"))
    assert "1 third party" in rejected and "Vendor 07" in rejected
    germany = page_text(client.get("/third-parties/?country=DE&sort=name&dir=desc"))
    assert "30 third parties" in germany and germany.index("Vendor 59") < germany.index("Vendor 57")
    assert client.get("/third-parties/?sort=drop+table&dir=sideways&country=ZZ&page=999").status_code == 200


def test_a_third_party_page_shows_its_chain_routes_and_vetting(logged_in, writer, register):
    sub = writer(lambda: services.create(ThirdParty, {"legal_name": "Backup GmbH", "country_code": "DE"}))
    writer(lambda: services.create(Engagement, {"engager_id": register["vendor"].id, "engaged_id": sub.id, "service": "Backups",
                                                "relationship_type": "sub_processor", "locations": ["DE"], "status": "proposed",
                                                "planned_start_on": "2027-02-01"}))
    client = logged_in(Role.AUDITOR)
    text = page_text(client.get(f"/third-parties/{register['vendor'].id}"))
    assert "Meridian Assist SA" in text and "CRM hosting" in text  # up the chain
    assert "Backup GmbH" in text and "Backups" in text  # down the chain
    assert f"/routes/{register['route'].id}" in text
    assert "ISO/IEC 27001 certificates" in text and "Data Privacy Framework" in text


def test_unknown_ids_are_404(logged_in):
    client = logged_in(Role.EDITOR)
    assert client.get("/routes/424242").status_code == 404
    assert client.get("/routes/424242/edit").status_code == 404


def test_forms_without_csrf_are_refused_and_write_nothing(logged_in):
    client = logged_in(Role.EDITOR)
    response = client.post("/group-entities/new", data={"legal_name": "Forged SA", "country_code": "FR", "status": "active"})
    assert response.status_code == 400
    assert db.session.query(GroupEntity).count() == 0


def test_route_defaults_follow_the_parties_and_their_engagement(logged_in, register):
    client = logged_in(Role.EDITOR)
    defaults = client.get(f"/lookup/route-defaults?exporter_id={register['hq'].id}&importer_id={register['vendor'].id}").get_json()
    assert defaults["destination"] == "US" and defaults["regimes"] == ["EU"]
    assert defaults["engagement_id"] == register["engagement"].id
    assert (defaults["exporter_role"], defaults["importer_role"]) == ("controller", "processor")
    suggestions = client.get("/lookup/parties?q=clou").get_json()
    assert [s["id"] for s in suggestions] == [register["vendor"].id]


ACTIONS = [("GET", "index"), ("GET", "view"), ("GET", "new"), ("POST", "new"), ("GET", "edit"), ("POST", "edit"),
           ("GET", "retire"), ("POST", "retire"), ("GET", "delete"), ("POST", "delete")]
READ_ACTIONS = {"index", "view"}


@pytest.mark.parametrize("role", ["anonymous", Role.AUDITOR, Role.EDITOR, Role.ADMIN], ids=str)
@pytest.mark.parametrize("pages", ALL_PAGES, ids=lambda p: p.name)
def test_role_matrix_over_every_record_page_and_action(client, logged_in, register, pages, role):
    """Anonymous: login; auditors read only; editors and admins may write. Nothing is written by a refused request."""
    if role != "anonymous":
        logged_in(role)
    record = db.session.scalar(db.select(pages.model).limit(1))
    before = db.session.query(AuditEvent).count()
    for method, action in ACTIONS:
        if action in ("view", "edit", "retire", "delete") and record is None:
            continue
        if action == "retire" and not pages.can_retire:
            continue
        kwargs = {"record_id": record.id} if action in ("view", "edit", "retire", "delete") else {}
        path = url(pages, action, **kwargs)
        if method == "GET":
            response = client.get(path)
        else:
            token = csrf_token(client, "/login" if role == "anonymous" else "/account/password")
            response = client.post(path, data={"csrf_token": token})
        where = f"{method} {path} as {role}"
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], where
        elif role == Role.AUDITOR and action not in READ_ACTIONS:
            assert response.status_code == 403, where
        else:
            assert response.status_code in (200, 400), where  # an empty POST is a form error, never a 500
    if role in ("anonymous", Role.AUDITOR):
        assert db.session.query(AuditEvent).count() == before


def test_an_edit_without_the_version_it_was_built_on_is_refused(logged_in, register):
    client = logged_in(Role.EDITOR)
    vendor = register["vendor"]
    response = post_form(client, f"/third-parties/{vendor.id}/edit", {"legal_name": "Cloudy Inc", "country_code": "US", "status": "active"})
    assert response.status_code == 400
    assert "The version this change is based on is required." in page_text(response)
    db.session.expire_all()
    assert db.session.get(ThirdParty, vendor.id).version == 1


def test_each_page_write_adds_exactly_one_audit_event(logged_in, register):
    client = logged_in(Role.EDITOR)

    def events() -> int:
        return db.session.query(AuditEvent).count()

    start = events()
    post_form(client, "/group-entities/new", {"legal_name": "Meridian GmbH", "country_code": "DE", "status": "active"})
    assert events() == start + 1
    entity = db.session.scalar(db.select(GroupEntity).where(GroupEntity.legal_name == "Meridian GmbH"))
    post_form(client, f"/group-entities/{entity.id}/edit", {"legal_name": "Meridian GmbH", "country_code": "DE",
                                                            "status": "active", "registration_number": "HRB 1", "version": "1"})
    assert events() == start + 2
    post_form(client, f"/group-entities/{entity.id}/retire", {"version": "2"})
    assert events() == start + 3
    kinds = [e.action.value for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()[-3:]]
    assert kinds == ["create", "update", "retire"]


def test_routes_filter_by_importer_role_and_vetting(logged_in, writer, register):
    rejected = writer(lambda: services.create(ThirdParty, {"legal_name": "Shady Ltd", "country_code": "IN", "vetting_status": "rejected"}))
    writer(lambda: services.create(TransferRoute, {"exporter_id": register["hq"].id, "importer_id": rejected.id, "destination_country": "IN",
                                                   "carries_eu_data": True, "exporter_role": "controller", "importer_role": "controller",
                                                   "purpose": "Claims review"}))
    client = logged_in(Role.AUDITOR)
    by_vetting = page_text(client.get("/routes/?vetting=rejected"))
    assert "1 transfer route" in by_vetting and "Shady Ltd" in by_vetting
    by_role = page_text(client.get("/routes/?role=processor"))
    assert "1 transfer route" in by_role and "Cloudy Inc" in by_role and "Shady Ltd" not in by_role


def test_an_unexpected_error_shows_the_500_page_and_saves_nothing(app, logged_in):
    def broken():
        services.session().add(GroupEntity(legal_name="Half-written", country_code="FR"))
        raise RuntimeError("boom")

    app.add_url_rule("/test-broken", "test_broken", broken)
    client = logged_in(Role.EDITOR)
    response = client.get("/test-broken")
    assert response.status_code == 500 and "Something went wrong" in page_text(response)
    assert "boom" not in page_text(response)
    api_style = client.get("/test-broken", headers={"Accept": "application/json"})
    assert api_style.status_code == 500 and api_style.get_json()["error"]["status"] == 500
    assert db.session.query(GroupEntity).count() == 0  # the half-written row was rolled back


def test_ids_beyond_the_database_range_are_404_not_errors(logged_in):
    client = logged_in(Role.EDITOR)
    assert client.get(f"/routes/{2**40}").status_code == 404
    assert client.get(f"/third-parties/{2**40}/edit").status_code == 404
    assert client.get("/lookup/parties?q=ab%00cd").status_code == 200
    assert client.get("/third-parties/?q=%00").status_code == 200


def test_saving_an_engagement_through_its_form_keeps_what_each_location_does(logged_in, writer, register):
    # The form picks countries only: an activity the API or the import recorded survives a save that
    # changes something else, and a country added through the form is stored and accessed there.
    engagement = register["engagement"]
    writer(lambda: services.update(db.session.get(Engagement, engagement.id),
                                   {"locations": [{"country_code": "US", "activity": "access"},
                                                  {"country_code": "IE", "activity": "storage"}]},
                                   expected_version=engagement.version))
    client = logged_in(Role.EDITOR)
    path = f"/engagements/{engagement.id}/edit"
    shown = open_form(client, path)
    shown["service"] = ["CRM hosting and support"]
    shown["locations"] = ["US", "IE", "DE"]
    response = client.post(path, data=shown)
    assert response.status_code == 302, page_text(response)
    db.session.expire_all()
    saved = db.session.get(Engagement, engagement.id)
    assert saved.service == "CRM hosting and support"
    assert {location.country_code: location.activity.value for location in saved.locations} == {
        "US": "access", "IE": "storage", "DE": "storage_and_access"}
