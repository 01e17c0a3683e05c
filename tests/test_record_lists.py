"""The register's lists: a count kept between requests is never stale, and cells show exactly what the
template would have shown."""

import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape
from sqlalchemy import event, insert, text

from register import assessments, services
from register.extensions import db
from register.models import (
    AuditAction,
    AuditEvent,
    AuditSource,
    Certificate,
    GroupEntity,
    Role,
    ThirdParty,
    TransferRoute,
)
from register.records.crud import html_text, register_state

COUNT = re.compile(r'<p class="muted result-count">([\d,]+\+?) transfer routes?[,<]')


def shown_count(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    found = COUNT.search(response.get_data(as_text=True))
    assert found, "no count on the page"
    return found.group(1)


@pytest.fixture
def routes(writer):
    """A French HQ sending EU data to two vendors, one of them certified ISO 27001 until day 100."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        certified = services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US", "vetting_status": "approved"})
        other = services.create(ThirdParty, {"legal_name": "Backup Pvt Ltd", "country_code": "IN"})
        services.create(Certificate, {"third_party_id": certified.id, "edition": "2022", "certificate_number": "IS 1",
                                      "certification_body": "BSI", "issued_on": date.today() - timedelta(days=300),
                                      "expires_on": date.today() + timedelta(days=100), "last_verified_on": date.today()})
        made = [services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": vendor.country_code,
                                                "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor"})
                for vendor in (certified, other)]
        return {"hq": hq, "certified": certified, "other": other, "routes": made}

    return writer(build)


def test_the_home_page_counts_live_records_and_the_lists_say_what_they_count(logged_in, writer, routes):
    route = db.session.get(TransferRoute, routes["routes"][0].id)
    writer(lambda: services.retire(route, expected_version=route.version))
    client = logged_in(Role.AUDITOR)
    home = client.get("/").get_data(as_text=True)
    tile = re.search(r'<a class="tile-count" href="(/routes/\?status=live)">(\d+)</a>\s*<span class="tile-label">Transfer routes?, live'
                     r'</span>\s*<a class="tile-more" href="/routes/\?status=retired">and (\d+) retired</a>', home)
    assert tile and tile.group(2, 3) == ("1", "1"), home
    assert shown_count(client, tile.group(1)) == "1"  # the figure the tile shows is the list it leads to
    everything = client.get("/routes/").get_data(as_text=True)
    assert "2 transfer routes, retired ones included" in everything
    assert "retired ones included" not in client.get("/routes/?status=active").get_data(as_text=True)


def test_a_lists_count_follows_every_write_through_the_services(logged_in, writer, routes):
    client = logged_in(Role.AUDITOR)
    active = "/routes/?regime=EU&status=active&sort=destination"
    assert shown_count(client, active) == "2"
    assert shown_count(client, active) == "2"  # the kept count
    # (to another place: the same parties, place and service twice would be one route, refused)
    writer(lambda: services.create(TransferRoute, {"exporter_id": routes["hq"].id, "importer_id": routes["other"].id,
                                                   "destination_country": "SG", "carries_eu_data": True,
                                                   "exporter_role": "controller", "importer_role": "controller"}))
    assert shown_count(client, active) == "3"
    route = db.session.get(TransferRoute, routes["routes"][0].id)
    writer(lambda: services.retire(route, expected_version=route.version))
    assert shown_count(client, active) == "2"
    assert shown_count(client, "/routes/?status=retired") == "1"
    # A change to another record that a filter reads: the importer's vetting.
    assert shown_count(client, "/routes/?vetting=rejected") == "0"
    vendor = db.session.get(ThirdParty, routes["other"].id)
    writer(lambda: services.update(vendor, {"vetting_status": "rejected"}, expected_version=vendor.version))
    assert shown_count(client, "/routes/?vetting=rejected") == "2"
    # A search reads the parties' names.
    assert shown_count(client, "/routes/?q=backup") == "2"
    writer(lambda: services.update(vendor, {"legal_name": "Archive Pvt Ltd"}, expected_version=vendor.version))
    assert shown_count(client, "/routes/?q=backup") == "0"


def test_a_whole_register_reassessment_moves_the_counts_of_the_verdict_filters(logged_in, routes):
    client = logged_in(Role.AUDITOR)
    expired = "/routes/?vetting_state=expired"
    assert shown_count(client, expired) == "0"
    # No audit event: only the stored verdicts change, as when the daily run finds a certificate expired.
    db.session.rollback()
    assessments.refresh_all(db.session(), date.today() + timedelta(days=200))
    db.session.commit()
    assert shown_count(client, expired) == "1"


def test_a_second_look_at_a_list_reuses_its_count(app, logged_in, routes):
    client = logged_in(Role.AUDITOR)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    path = "/routes/?regime=EU&status=active"
    client.get(path)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # The list's count (over the routes) is kept; the menu's own small counts (unread reminders) are not this.
    assert not [statement for statement in statements if "count(" in statement.lower() and "transfer_routes" in statement]
    assert any("transfer_routes" in statement for statement in statements)  # the page itself was read


def test_on_postgresql_an_earlier_transaction_committing_last_changes_the_state(app):
    """Two writers: the one with the lower audit event id commits last; the newest id alone would not move."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: its ids become visible in order")

    def audit_event(connection, label: str) -> None:
        connection.execute(insert(AuditEvent.__table__).values(
            actor_label=label, source=AuditSource.CLI, record_type="parties", record_id=1, record_label=label,
            action=AuditAction.CREATE, changes={}))

    first, second = db.engine.connect(), db.engine.connect()
    try:
        first.begin()
        audit_event(first, "first")  # takes the lower id, commits last
        with second.begin():
            audit_event(second, "second")
        db.session.rollback()
        before = register_state(db.session())
        first.commit()
        db.session.rollback()
        assert register_state(db.session()) != before
    finally:
        first.close()
        second.close()


def test_on_postgresql_writes_outside_the_register_leave_the_state_alone(app):
    """Another schema, another app on the same server, a session table: none of them moves the kept counts."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite: the newest ids alone")
    db.session.rollback()
    before = register_state(db.session())
    with db.engine.connect() as other:
        with other.begin():
            other.execute(text("CREATE TEMPORARY TABLE elsewhere (n integer)"))
            other.execute(text("INSERT INTO elsewhere VALUES (1)"))
        other.begin()
        other.execute(text("INSERT INTO elsewhere VALUES (2)"))  # still open while the state is read
        db.session.rollback()
        assert register_state(db.session()) == before
        other.rollback()


def test_cells_are_escaped_as_the_template_escapes_them(logged_in, writer, routes):
    hostile = writer(lambda: services.create(ThirdParty, {"legal_name": "<b>O'Brien & \"Sons\"</b>", "country_code": "IN"}))
    writer(lambda: services.create(TransferRoute, {"exporter_id": routes["hq"].id, "importer_id": hostile.id, "destination_country": "IN",
                                                   "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor",
                                                   "purpose": "<script>alert(1)</script>"}))
    page = logged_in(Role.AUDITOR).get("/routes/").get_data(as_text=True)
    assert f'<a href="/third-parties/{hostile.id}">{escape(hostile.legal_name)}</a>' in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page and "<script>alert" not in page


@given(st.text())
def test_html_text_escapes_exactly_as_markupsafe(text):
    assert html_text(text) == str(escape(text))


@pytest.mark.parametrize("value", [None, 7, date(2026, 1, 2), Markup("<b>kept</b>"), AuditAction.CREATE])
def test_html_text_shows_other_values_as_the_template_does(value):
    assert html_text(value) == str(escape(value))
