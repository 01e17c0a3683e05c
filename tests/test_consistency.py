"""Every surface states what the stored verdict says: for every route of the demo register and of a
generated one, the route page, the API, the auditor workbook, the processor list, the public page, the
change feed and an Art. 15 answer agree with the verdict the rules gave (a surface that decides the law
itself, or keeps its own words, fails here)."""

import csv
import html
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import pytest
from helpers import IsolatedClient, generated_register, login, post_form
from openpyxl import load_workbook
from sqlalchemy import select

from register import countries, regions, rules, services, vocabulary
from register.audit import Actor
from register.exports.processors import display_name, processor_list
from register.extensions import db
from register.models import AuditSource, Lifecycle, Role, RouteRegimeVerdict, RouteVerdict, TransferRoute
from register.requests.answers import recipients
from register.seed import load_demo
from register.users import create_user

from bench.generate import SCALES

TODAY = date.today()
# Words only a given mechanism's sentence uses: a line naming a tool no route there relies on invented it.
MARKERS = {
    "adequacy": ("adequacy", "adequate protection"), "bcr": ("binding corporate rules",),
    "scc": ("standard contractual clauses adopted",), "uk_idta": ("International Data Transfer Agreement",),
    "uk_addendum": ("UK Addendum",), "ch_scc": ("Swiss adaptations",), "derogation": ("exception the law allows",),
    "code_of_conduct": ("code of conduct",), "certification": ("approved certification",),
    "none_needed": ("no transfer safeguard is needed",),
}


@dataclass(frozen=True)
class Route:
    """What the checks need of a route, read once (the test client's requests end the session's transaction)."""

    id: int
    uid: str
    importer_name: str
    importer_id: int
    exporter_kind: str
    status: Lifecycle
    starts_on: date | None
    destination: str  # a country's name, or an international organisation's


def stored_verdicts() -> dict[int, tuple[str, dict[str, tuple[str, str, str | None]]]]:
    """route id -> (status, {regime: (mechanism, status, adequacy id)}) as stored."""
    found: dict[int, tuple[str, dict]] = {route_id: (status, {}) for route_id, status in
                                          db.session.execute(select(RouteVerdict.route_id, RouteVerdict.status))}
    for row in db.session.scalars(select(RouteRegimeVerdict)):
        found[row.route_id][1][row.regime] = (row.mechanism, row.status, row.adequacy_id)
    return found


def line_for(safeguards: str, place: str) -> str:
    for line in safeguards.splitlines():
        places, _sep, _words = line.partition(": ")
        if place in places.split(", "):
            return line
    raise AssertionError(f"no line for {place} in {safeguards!r}")


def check_lines(surface: str, rows: dict[str, str], routes: list[Route], verdicts: dict) -> int:
    """Each route's importer row (by name) says, for the route's destination, its own verdict's words."""
    law = countries.current()
    references = {item.id: item.legal_reference for regime in law.regimes.values() for item in regime.adequacy}
    by_place: dict[tuple[str, str], list] = defaultdict(list)
    for route in routes:
        by_place[route.importer_name, route.destination].append(verdicts[route.id][1])
    checked = 0
    for (name, place), regime_verdicts in by_place.items():
        line = line_for(rows[name], place)
        said = [(regime, *verdict) for per_route in regime_verdicts for regime, verdict in per_route.items()]
        for regime, mechanism, status, adequacy_id in said:
            at_least = [vocabulary.safeguard(regime, mechanism, worse, adequacy_reference=references.get(adequacy_id or ""),
                                             free_flow_name=law.regimes[regime].free_flow_name)
                        for worse in ("covered", "attention", "gap") if rules.rank(worse) >= rules.rank(status)]
            assert any(words in line for words in at_least), f"{surface}: {name} in {place}: {regime} {mechanism} " \
                                                             f"{status} not said in {line!r}"
            if status == "gap":
                assert vocabulary.NO_SAFEGUARD in line, f"{surface}: {name} in {place}: the gap is not said: {line!r}"
        relied_on = {mechanism for _regime, mechanism, status, _id in said if status != "gap"}
        for mechanism, markers in MARKERS.items():
            if mechanism not in relied_on:
                for marker in markers:
                    assert marker not in line, f"{surface}: {name} in {place}: says {mechanism!r} ({marker}), which " \
                                               f"no route there relies on: {line!r}"
        assert ("being reviewed" in line) == any(status == "attention" and mechanism != "derogation"
                                                 for _regime, mechanism, status, _id in said), f"{surface}: {line!r}"
        checked += 1
    return checked


def check_every_surface(client, with_trail: bool = True) -> None:
    client.get("/processors")  # the first view of the day stores today's verdicts
    verdicts = stored_verdicts()
    routes = [Route(route.id, route.uid, display_name(route.importer), route.importer_id, route.exporter.kind.value,
                    route.status, route.starts_on, regions.place_name(route.destination_country, sess=db.session)
                    if route.destination_country else route.destination_organisation.legal_name)
              for route in db.session.scalars(select(TransferRoute).order_by(TransferRoute.id))]
    assert routes and set(verdicts) == {route.id for route in routes}

    # The API and the route page: per regime, the stored mechanism and status.
    workbook = load_workbook(io.BytesIO(client.get("/exports/register.xlsx").data), read_only=True)
    sheet = list(workbook["Transfer routes"].iter_rows(values_only=True))
    header, by_uid = sheet[0], {row[0]: dict(zip(sheet[0], row)) for row in sheet[1:]}
    for route in routes:
        status, regimes = verdicts[route.id]
        api = client.get(f"/api/v1/routes/{route.id}").get_json()["data"]["assessment"]
        assert api["status"] == status, route.id
        assert {item["regime"]: (item["mechanism"], item["status"]) for item in api["regimes"]} == \
            {regime: (mechanism, regime_status) for regime, (mechanism, regime_status, _id) in regimes.items()}, route.id
        row = by_uid[route.uid]
        assert row["Status"] == status, route.id
        for regime in ("EU", "UK", "CH"):
            expected = regimes.get(regime)
            assert (row[f"{regime} mechanism"], row[f"{regime} status"]) == ((expected[0], expected[1]) if expected else (None, None))
        page = html.unescape(client.get(f"/routes/{route.id}").get_data(as_text=True))
        for regime, (mechanism, regime_status, _id) in regimes.items():
            said = (f'{regime} data: <span class="badge badge-{regime_status}">{vocabulary.status_label(regime_status)}'
                    f'</span> \u00b7 {vocabulary.mechanism_label(mechanism)}')
            assert said in page, (route.id, regime)

    # The subject-facing list, internal and public, and an Art. 15 answer for the whole group.
    found = processor_list()
    listed = {row.party_id for row in found.rows}
    in_list = [route for route in routes if route.id in {rid for row in found.rows for rid in row.route_ids}]
    assert in_list, "no route reaches the processor list"
    for route in in_list:
        assert route.importer_id in listed and route.status != Lifecycle.RETIRED
    internal = list(csv.DictReader(io.StringIO(client.get("/exports/processors.csv").get_data(as_text=True))))
    public = list(csv.DictReader(io.StringIO(client.get("/public/processors.csv").get_data(as_text=True))))
    assert public == internal
    internal = {row["Processor"]: row["How transfers are safeguarded"] for row in internal if not row["Planned start"]}
    current = [route for route in in_list if route.id in {rid for row in found.current for rid in row.route_ids}]
    assert check_lines("processor list", internal, current, verdicts) > 0
    page = html.unescape(client.get("/public/processors").get_data(as_text=True))
    for row in found.rows:
        for line in row.safeguards.splitlines():
            assert f"<div>{line}</div>" in page, line
    answer_rows, _concerns = recipients([], [])
    answer = {row.name: row.safeguards for row in answer_rows if row.period == "now"}
    # Processors as on the list; the other recipients (group companies, controllers) from the group's own routes.
    others = [route for route in routes if route.status == Lifecycle.ACTIVE and route.exporter_kind == "group_entity"
              and (route.starts_on is None or route.starts_on <= TODAY) and route.importer_id not in listed]
    assert check_lines("Art. 15 answer", answer, current + others, verdicts) > len(internal)

    # The change feed (read from the trail: the generated register is loaded without one) announces as
    # intended what the list shows as upcoming.
    feed = html.unescape(client.get("/processors/changes").get_data(as_text=True))
    for row in found.upcoming if with_trail else ():
        assert re.search(rf"Intended addition</td>\s*<td>{re.escape(row.name)}", feed), row.name


@pytest.fixture
def auditor_client(app, client):
    with services.write_unit(Actor(AuditSource.CLI, label="test")):
        create_user("admin@example.org", "Admin", Role.ADMIN, "correct horse battery")
    login(client, "admin@example.org", "correct horse battery")
    post_form(client, "/admin/settings", {"publish_processor_list": "y"})
    return client


def test_every_surface_says_what_the_demo_registers_verdicts_say(app, demo_register, auditor_client):
    db.session.rollback()
    check_every_surface(auditor_client)


def test_every_surface_says_what_a_generated_registers_verdicts_say(tmp_path):
    with generated_register(tmp_path, SCALES["tiny"], TODAY) as (app, _report):
        app.test_client_class = IsolatedClient
        client = app.test_client()
        with services.write_unit(Actor(AuditSource.CLI, label="test")):
            create_user("admin@example.org", "Admin", Role.ADMIN, "correct horse battery")
        login(client, "admin@example.org", "correct horse battery")
        post_form(client, "/admin/settings", {"publish_processor_list": "y"})
        check_every_surface(client, with_trail=False)
