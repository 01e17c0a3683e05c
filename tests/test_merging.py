"""Two people edit one record: what each saved survives, and a field both changed is decided by a person.

Each test has two editors open the same form, one save first, and the other save the form they
opened before (the older version): the promises of register/merge.py, kept by every form that
carries a version.
"""

from datetime import date, timedelta

import pytest
from helpers import csrf_token, form_values, login, open_form
from sqlalchemy import select

from register import services
from register.extensions import db
from register.models import (
    AuditEvent,
    Engagement,
    GroupEntity,
    Role,
    Setting,
    SubjectRequest,
    ThirdParty,
    TransferInstrument,
    TransferRoute,
)
from register.requests import operations as request_services


@pytest.fixture
def editors(app, make_user):
    """Alice and Bruno, two editors logged in on their own browsers."""

    def log_in(role: Role):
        user, password = make_user(role)
        client = app.test_client()
        assert login(client, user.email, password).status_code == 302
        client.user = user
        return client

    return log_in(Role.EDITOR), log_in(Role.EDITOR)


@pytest.fixture
def records(writer):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US", "vetting_status": "approved"})
        other = services.create(ThirdParty, {"legal_name": "Backup Vault LLC", "country_code": "US"})
        engagement = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "CRM hosting",
                                                  "relationship_type": "processor", "locations": ["US"]})
        scc = services.create(TransferInstrument, {"kind": "eu_scc", "title": "SCC Meridian-Cloudy", "scc_decision": "2021/914",
                                                   "scc_modules": "2", "signatories": [{"party_id": hq.id, "side": "exporter"},
                                                                                       {"party_id": vendor.id, "side": "importer"}]})
        idta = services.create(TransferInstrument, {"kind": "uk_idta", "title": "IDTA Meridian-Cloudy",
                                                    "signatories": [{"party_id": hq.id, "side": "exporter"},
                                                                    {"party_id": vendor.id, "side": "importer"}]})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                                "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor",
                                                "engagement_id": engagement.id, "instrument_ids": [scc.id]})
        return {name: record.id for name, record in locals().items() if hasattr(record, "version")}

    return writer(build)


def edited(form: dict, **changes) -> dict:
    """The form with some fields changed as a person types them."""
    return {**form, **{name: value if isinstance(value, list) else [value] for name, value in changes.items()}}


def trail(record_type: str, record_id: int) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == record_type, AuditEvent.record_id == record_id)
                                   .order_by(AuditEvent.id)))


def fresh(model, record_id):
    db.session.rollback()
    return db.session.get(model, record_id)


# --- the rules, on a third party's form --------------------------------------------------------


@pytest.mark.parametrize("theirs, mine, status, result, written", [
    pytest.param({"contact_name": "Bruno Ferrand"}, {"notes": "SOC 2 report read"}, 302,
                 {"contact_name": "Bruno Ferrand", "notes": "SOC 2 report read"}, {"notes"}, id="each changed another field: both kept"),
    pytest.param({"contact_name": "Bruno Ferrand"}, {}, 302, {"contact_name": "Bruno Ferrand"}, None,
                 id="only they changed it: kept"),
    pytest.param({"website": "https://cloudy.example"}, {"website": "https://cloudy.example", "notes": "Checked"}, 302,
                 {"website": "https://cloudy.example", "notes": "Checked"}, {"notes"}, id="both changed it alike: fine"),
    pytest.param({"website": "https://cloudy.example"}, {"website": "https://cloudy.example.com", "notes": "Checked"}, 409,
                 {"website": "https://cloudy.example", "notes": None}, None, id="both changed it differently: a conflict"),
])
def test_a_form_saved_on_an_older_version_keeps_what_the_other_editor_saved(editors, records, theirs, mine, status, result, written):
    alice, bruno = editors
    path = f"/third-parties/{records['vendor']}/edit"
    alices_form, brunos_form = open_form(alice, path), open_form(bruno, path)
    assert bruno.post(path, data=edited(brunos_form, **theirs)).status_code == 302

    response = alice.post(path, data=edited(alices_form, **mine))

    assert response.status_code == status
    vendor = fresh(ThirdParty, records["vendor"])
    assert {name: getattr(vendor, name) for name in result} == result
    events = trail("parties", vendor.id)
    if written is None:  # nothing written for Alice
        assert len(events) == 2 and events[-1].user_id == bruno.user.id
    else:  # one ordinary update, with only what her save changed
        assert events[-1].user_id == alice.user.id and set(events[-1].changes) == written
    if status == 302:
        assert f"Meanwhile {bruno.user.email} changed" in alice.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("choice, website", [("mine", "https://alice.example"), ("theirs", "https://bruno.example")])
def test_a_field_both_changed_is_shown_side_by_side_and_the_person_chooses(editors, records, choice, website):
    alice, bruno = editors
    path = f"/third-parties/{records['vendor']}/edit"
    alices_form, brunos_form = open_form(alice, path), open_form(bruno, path)
    assert bruno.post(path, data=edited(brunos_form, website="https://bruno.example", dpo_name="Dora Lindqvist")).status_code == 302

    conflict = alice.post(path, data=edited(alices_form, website="https://alice.example", notes="SOC 2 report read"))

    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    row = page[page.index('id="merge-website"'):page.index("</tr>", page.index('id="merge-website"'))]
    assert "https://bruno.example" in row and "https://alice.example" in row and bruno.user.email in row
    assert 'id="merge-dpo_name"' not in page  # only Bruno changed it: no question asked
    shown = form_values(page)
    assert shown["version"] == ["1"]  # still based on the version Alice opened
    assert shown["dpo_name"] == ["Dora Lindqvist"] and shown["notes"] == ["SOC 2 report read"]  # the record now, with her changes
    assert fresh(ThirdParty, records["vendor"]).notes is None  # nothing written yet

    assert alice.post(path, data=edited(shown, **{"resolve-website": choice})).status_code == 302
    vendor = fresh(ThirdParty, records["vendor"])
    assert (vendor.website, vendor.dpo_name, vendor.notes) == (website, "Dora Lindqvist", "SOC 2 report read")
    assert set(trail("parties", vendor.id)[-1].changes) == {"notes"} | ({"website"} if choice == "mine" else set())


def test_a_conflict_without_a_choice_is_asked_again(editors, records):
    alice, bruno = editors
    path = f"/third-parties/{records['vendor']}/edit"
    alices_form, brunos_form = open_form(alice, path), open_form(bruno, path)
    bruno.post(path, data=edited(brunos_form, website="https://bruno.example"))
    conflict = alice.post(path, data=edited(alices_form, website="https://alice.example"))

    again = alice.post(path, data=form_values(conflict.get_data(as_text=True)))

    assert again.status_code == 409 and "Choose which value to keep." in again.get_data(as_text=True)
    assert fresh(ThirdParty, records["vendor"]).website == "https://bruno.example"


def test_a_save_made_while_the_person_chooses_is_caught_and_only_its_fields_asked_again(editors, records):
    alice, bruno = editors
    path = f"/third-parties/{records['vendor']}/edit"
    alices_form, brunos_form = open_form(alice, path), open_form(bruno, path)
    bruno.post(path, data=edited(brunos_form, website="https://bruno.example"))
    conflict = alice.post(path, data=edited(alices_form, website="https://alice.example", notes="Checked"))
    chosen = edited(form_values(conflict.get_data(as_text=True)), **{"resolve-website": "mine"})
    # Bruno saves again while Alice decides: the website once more, and a field nobody else touched.
    assert bruno.post(path, data=edited(open_form(bruno, path), website="https://bruno.example/v2",
                                        trading_name="Cloudy")).status_code == 302

    again = alice.post(path, data=chosen)

    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "Saved again since you chose" in page and "https://bruno.example/v2" in page
    vendor = fresh(ThirdParty, records["vendor"])
    assert (vendor.website, vendor.notes) == ("https://bruno.example/v2", None)
    assert alice.post(path, data=edited(form_values(page), **{"resolve-website": "mine"})).status_code == 302
    vendor = fresh(ThirdParty, records["vendor"])
    assert (vendor.website, vendor.trading_name, vendor.notes) == ("https://alice.example", "Cloudy", "Checked")


# --- collections ------------------------------------------------------------------------------


def _instrument_ids(route_id: int) -> set[int]:
    return {instrument.id for instrument in fresh(TransferRoute, route_id).instruments}


COLLECTION_CASES = [
    pytest.param("routes", "route", lambda r: {"instrument_ids": [str(r["scc"]), str(r["idta"])]},
                 lambda r: {"purpose": "Claims handling"}, 302,
                 lambda r: _instrument_ids(r["route"]) == {r["scc"], r["idta"]}
                 and fresh(TransferRoute, r["route"]).purpose == "Claims handling",
                 id="instruments one added, purpose the other changed"),
    pytest.param("routes", "route", lambda r: {"instrument_ids": [str(r["scc"]), str(r["idta"])]},
                 lambda r: {"instrument_ids": [str(r["idta"]), str(r["scc"])], "purpose": "Claims handling"}, 302,
                 lambda r: _instrument_ids(r["route"]) == {r["scc"], r["idta"]},
                 id="instruments both added the same, listed in another order"),
    pytest.param("routes", "route", lambda r: {"instrument_ids": [str(r["scc"]), str(r["idta"])]},
                 lambda r: {"instrument_ids": []}, 409,
                 lambda r: _instrument_ids(r["route"]) == {r["scc"], r["idta"]},
                 id="instruments one added, the other removed them all"),
    pytest.param("engagements", "engagement", lambda r: {"locations": ["US", "IE", "DE"]},
                 lambda r: {"service": "CRM hosting and backups"}, 302,
                 lambda r: sorted(loc.country_code for loc in fresh(Engagement, r["engagement"]).locations) == ["DE", "IE", "US"]
                 and fresh(Engagement, r["engagement"]).service == "CRM hosting and backups",
                 id="locations one added, the service the other changed"),
    pytest.param("instruments", "scc", lambda r: {"importers-1-party_id": f"Backup Vault LLC (US) #{r['other']}"},
                 lambda r: {"title": "SCC Meridian-Cloudy 2024"}, 302,
                 lambda r: sorted(s.party_id for s in fresh(TransferInstrument, r["scc"]).signatories) == sorted(
                     [r["hq"], r["vendor"], r["other"]]) and fresh(TransferInstrument, r["scc"]).title == "SCC Meridian-Cloudy 2024",
                 id="signatories one added, the title the other changed"),
]


@pytest.mark.parametrize("pages, record, theirs, mine, status, holds", COLLECTION_CASES)
def test_collections_merge_as_what_they_hold(editors, records, pages, record, theirs, mine, status, holds):
    alice, bruno = editors
    path = f"/{pages}/{records[record]}/edit"
    alices_form, brunos_form = open_form(alice, path), open_form(bruno, path)
    assert bruno.post(path, data=edited(brunos_form, **theirs(records))).status_code == 302
    # A collection lives in rows of its own; changing it alone still gives the record a new version.
    assert trail(*{"routes": ("transfer_routes",), "engagements": ("engagements",),
                   "instruments": ("transfer_instruments",)}[pages], records[record])[-1].record_version == 2

    response = alice.post(path, data=edited(alices_form, **mine(records)))

    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert holds(records)


def test_a_route_preview_on_an_older_version_shows_the_merged_route(editors, records):
    alice, bruno = editors
    path = f"/routes/{records['route']}/edit"
    alices_form, brunos_form = open_form(alice, path), open_form(bruno, path)
    bruno.post(path, data=edited(brunos_form, instrument_ids=[str(records["scc"]), str(records["idta"])]))

    preview = alice.post(path, data=edited(alices_form, purpose="Claims handling", preview="1"))

    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert f"It includes what was saved meanwhile ({bruno.user.email} changed Instruments relied on)" in page
    assert sorted(form_values(page)["instrument_ids"]) == sorted([str(records["scc"]), str(records["idta"])])  # shown as saved
    assert _instrument_ids(records["route"]) == {records["scc"], records["idta"]}  # a preview writes nothing


# --- requests ---------------------------------------------------------------------------------


def _request(writer) -> int:
    return writer(lambda: request_services.create_request({
        "request_type": "processor_list", "channel": "email", "received_on": date.today() - timedelta(days=2),
        "requester": {"name": "Ingrid Quist", "contact": "ingrid@example.net"}})).id


def test_a_stale_request_form_keeps_the_other_editors_changes_and_asks_about_the_requester(editors, writer):
    alice, bruno = editors
    record_id = _request(writer)
    path = f"/requests/{record_id}/edit"
    alices_form, brunos_form = open_form(alice, path), open_form(bruno, path)
    assert bruno.post(path, data=edited(brunos_form, channel="phone")).status_code == 302
    assert alice.post(path, data=edited(alices_form, scope_purposes="claims")).status_code == 302
    record = fresh(SubjectRequest, record_id)
    assert (record.channel.value, record.scope_purposes) == ("phone", "claims")

    alices_form, brunos_form = open_form(alice, path), open_form(bruno, path)
    assert bruno.post(path, data=edited(brunos_form, requester_name="I. Quist")).status_code == 302
    conflict = alice.post(path, data=edited(alices_form, requester_name="Ingrid M. Quist"))

    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "(not kept in the audit trail)" in page and "I. Quist" in page and "Ingrid M. Quist" in page
    assert alice.post(path, data=edited(form_values(page), **{"resolve-requester": "theirs"})).status_code == 302
    assert fresh(SubjectRequest, record_id).personal.requester_name == "I. Quist"


def test_a_step_from_a_page_opened_before_another_step_applies_unless_the_same_step_was_recorded(editors, writer):
    alice, bruno = editors
    record_id = _request(writer)
    page = f"/requests/{record_id}"
    token = csrf_token(alice, page)  # Alice's page is built at version 1
    yesterday = (date.today() - timedelta(days=1)).isoformat()

    def alice_records(step: str):
        return alice.post(f"{page}/{step}", data={f"{step}-csrf_token": token, f"{step}-on": yesterday, f"{step}-text": "",
                                                  f"{step}-version": "1"})

    bruno_token = csrf_token(bruno, page)
    assert bruno.post(f"{page}/acknowledge", data={"acknowledge-csrf_token": bruno_token, "acknowledge-on": date.today().isoformat(),
                                                   "acknowledge-version": "1"}).status_code == 302

    assert alice_records("verify").status_code == 302
    assert alice_records("acknowledge").status_code == 303
    record = fresh(SubjectRequest, record_id)
    assert (record.acknowledged_on, record.identity_verified_on.isoformat()) == (date.today(), yesterday)


# --- settings ---------------------------------------------------------------------------------


def test_an_admin_saving_the_settings_as_shown_does_not_undo_another_admins_change(app, make_user):
    from register.exports import PUBLIC_LIST

    admins = []
    for _ in range(2):
        user, password = make_user(Role.ADMIN)
        client = app.test_client()
        login(client, user.email, password)
        admins.append((client, user))
    (first, _first_user), (second, second_user) = admins
    as_shown = _settings_form(first)  # the list is not public
    second.post("/admin/settings", data={**_settings_form(second), "publish_processor_list": "y"})

    saved = first.post("/admin/settings", data=as_shown)

    assert db.session.scalar(select(Setting.value).where(Setting.key == PUBLIC_LIST)) == "on"
    assert f"{second_user.email} changed this setting meanwhile" in first.get(saved.headers["Location"]).get_data(as_text=True)


def _settings_form(client) -> dict:
    from helpers import _Forms

    reader = _Forms()
    reader.feed(client.get("/admin/settings").get_data(as_text=True))
    return next(form for form in reader.forms if "shown" in form)
