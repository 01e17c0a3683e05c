"""The coverage the register shows: dashboard, what-if dates, the route's verdict, previews, `flask check`."""

import re
from datetime import date

import pytest
from helpers import post_form

from register import services
from register.extensions import db
from register.models import GroupEntity, Role, ThirdParty, TransferRoute


@pytest.fixture
def demo(demo_register):
    db.session.rollback()


@pytest.fixture
def uk_route(writer):
    """An EU exporter sending to the UK: adequate until the renewal's last day, 2031-12-27."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
        uk = services.create(GroupEntity, {"legal_name": "Meridian Assist UK Ltd", "country_code": "GB"})
        return services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": uk.id, "destination_country": "GB",
                                               "carries_eu_data": True, "exporter_role": "controller", "importer_role": "controller"})

    return writer(build)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_dashboard_shows_the_demo_registers_health(logged_in, demo):
    page = text(logged_in(Role.AUDITOR).get("/dashboard"))
    assert "Register health today" in page
    for label in ("Gap", "Needs attention", "Covered", "Out of scope"):
        assert label in page
    assert "Decisions at risk or ending within a year" in page and "2023/1795" in page  # the EU-US DPF, under challenge
    assert "<svg" in page and "Routes by coverage status" in page


def test_a_what_if_date_moves_the_uk_routes(logged_in, uk_route):
    client = logged_in(Role.AUDITOR)

    def covered_count(day: str) -> int:
        page = text(client.get(f"/dashboard?on={day}"))
        match = re.search(r'class="tile covered"[^>]*>\s*<span class="tile-count">([\d,]+)', page)
        return int(match.group(1).replace(",", ""))

    assert covered_count("2023-01-01") == 1
    assert covered_count("2032-01-01") == 0
    assert "What-if" in text(client.get("/dashboard?on=2032-01-01"))


def test_todays_figures_are_kept_only_until_the_register_changes(logged_in, uk_route, writer):
    """The dashboard keeps its aggregates between visits (register/coverage.py): a write since shows."""
    client = logged_in(Role.AUDITOR)

    def covered_today() -> int:
        page = text(client.get("/dashboard"))
        match = re.search(r'class="tile covered"[^>]*>\s*<span class="tile-count">([\d,]+)', page)
        return int(match.group(1).replace(",", ""))

    assert covered_today() == 1 and covered_today() == 1
    writer(lambda: services.update(db.session.get(TransferRoute, uk_route.id), {"destination_country": "US"},
                                   expected_version=db.session.get(TransferRoute, uk_route.id).version))
    assert covered_today() == 0


def test_a_bad_what_if_date_is_a_clear_error(logged_in, uk_route):
    response = logged_in(Role.AUDITOR).get("/dashboard?on=2031-02-30")
    assert response.status_code == 400 and "That is not a date" in text(response)


def test_the_route_page_gives_the_verdict_with_its_legal_reference(logged_in, uk_route):
    client = logged_in(Role.AUDITOR)
    today = text(client.get(f"/routes/{uk_route.id}"))
    assert "Coverage today" in today and "2025/2574" in today
    later = text(client.get(f"/routes/{uk_route.id}?on=2032-01-01"))
    assert "Coverage on 2032-01-01" in later and "badge-gap" in later


def test_the_route_form_previews_coverage_without_saving(logged_in, writer):
    hq = writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"}))
    writer(lambda: services.create(ThirdParty, {"legal_name": "Kaveri Data Services", "country_code": "IN"}))
    client = logged_in(Role.EDITOR)
    response = post_form(client, "/routes/new", {
        "exporter_id": "Meridian Assist SA", "importer_id": "Kaveri Data Services", "destination": "IN", "carries_eu_data": "y",
        "exporter_role": "controller", "importer_role": "processor", "status": "active", "preview": "1"})
    page = text(response)
    assert response.status_code == 200 and "Preview: not saved yet." in page and "badge-gap" in page
    assert 'value="Meridian Assist SA"' in page  # the form is still filled in
    assert db.session.query(TransferRoute).count() == 0
    assert hq.id


def test_routes_filter_by_coverage_and_mechanism(logged_in, demo):
    client = logged_in(Role.AUDITOR)
    gaps = text(client.get("/routes/?coverage=gap"))
    count = int(re.search(r"([\d,]+) transfer routes?", gaps).group(1))
    assert count > 0 and "badge-covered" not in gaps
    assert "adequacy" in text(client.get("/routes/?mechanism=adequacy"))


def test_flask_check_lists_gaps_and_fails(runner, demo):
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert "GAP" in result.output and re.search(r"Assessed \d+ live routes on \d{4}-\d{2}-\d{2}: .*gap \d+", result.output)


def test_flask_check_passes_when_nothing_is_a_gap(runner, uk_route):
    result = runner.invoke(args=["check", "--on", "2024-06-01"])
    assert result.exit_code == 0, result.output
    assert "covered 1" in result.output
    assert runner.invoke(args=["check", "--on", "2032-01-01"]).exit_code == 1


def test_flask_assess_stores_todays_verdicts(runner, uk_route):
    result = runner.invoke(args=["assess"])
    assert result.exit_code == 0 and f"on {date.today()}" in result.output


def test_a_third_party_page_shows_its_vetting_state(logged_in, writer):
    vendor = writer(lambda: services.create(ThirdParty, {"legal_name": "Oldcert Ltd", "country_code": "GB", "vetting_status": "approved"}))
    from register.models import Certificate

    writer(lambda: services.create(Certificate, {"third_party_id": vendor.id, "edition": "2013", "certificate_number": "IS 1",
                                                 "certification_body": "BSI", "issued_on": "2023-01-01", "expires_on": "2026-01-01",
                                                 "last_verified_on": date.today()}))
    page = text(logged_in(Role.AUDITOR).get(f"/third-parties/{vendor.id}"))
    assert "ISO/IEC 27001 vetting today" in page and "superseded edition" in page


def test_routes_sort_by_coverage_and_filter_by_the_importers_iso_state(logged_in, demo):
    from register.models import RouteVerdict

    client = logged_in(Role.AUDITOR)
    stored = dict(db.session.execute(db.select(RouteVerdict.route_id, RouteVerdict.status)).all())
    for direction in ("asc", "desc"):
        page = text(client.get(f"/routes/?sort=coverage&dir={direction}"))
        shown = [int(number) for number in re.findall(r'href="/routes/(\d+)"', page)]
        assert len(shown) == 50
        statuses = [stored[route_id] for route_id in shown]
        assert statuses == sorted(statuses, reverse=direction == "desc"), direction
    expired = text(client.get("/routes/?vetting_state=expired"))
    shown = {int(number) for number in re.findall(r'href="/routes/(\d+)"', expired)}
    vetting = dict(db.session.execute(db.select(RouteVerdict.route_id, RouteVerdict.importer_vetting)).all())
    assert shown and all(vetting[route_id] == "expired" for route_id in shown)
