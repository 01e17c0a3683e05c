"""The list of our processors that any person may ask for (privacy notice; GDPR Art. 13-15, 28).

Only what a data subject may receive: each processor's and sub-processor's name, its role, what it does
for us, where it processes data, and how transfers to each place are safeguarded, in the words of
register/vocabulary.py for the verdicts the rules gave the routes that reach it there. Nothing internal
(certificates, review notes, our staff's contacts). One row per processor. A processor or a place that
is only planned is never listed as receiving data now: it is an upcoming change, with its planned date
(what Art. 28(2) notice is for).

Building the list also tells the staff member what stands in the way of sending it (`Concern`): routes
with a gap or needing attention, places no route records; the list itself says plainly that no
appropriate safeguard is in place wherever the verdict holds none.
"""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import assessments, countries, regions, rules, vocabulary
from ..extensions import db
from ..models import (
    Engagement,
    EngagementLocation,
    Lifecycle,
    Party,
    PartyKind,
    Relationship,
    RouteRegimeVerdict,
    RouteVerdict,
    TransferRoute,
)
from .workbook import XlsxBook, csv_safe

PROCESSING = (Relationship.PROCESSOR, Relationship.SUB_PROCESSOR)
COLUMNS = [("Processor", 36), ("Role", 34), ("What it does for us", 40), ("Categories of personal data", 36),
           ("Where it processes data", 30), ("How transfers are safeguarded", 80), ("Planned start", 14)]
NOW = "now"


# Who may be named as processing for others: a vendor (or its local affiliate), or a company of our own
# group that an engagement makes a processor or sub-processor (for another group company, or for a client).
LISTED_KINDS = (PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY)


def appears_on_list(party: Party, engager: Optional[Party] = None) -> bool:
    """Whether the subject-facing list names a party a processing engagement of `engager` reaches (while it
    is engaged); its change feed uses this same rule. A client's engagement of one of our companies is
    on that client's list (`processor_list(client_id=...)`), never on the list of our own processors."""
    if engager is not None and engager.kind == PartyKind.CLIENT:
        return False
    return party.kind in LISTED_KINDS and party.is_in_subject_list


def is_listed(party: Optional[Party]) -> bool:
    """Whether a party is on the subject-facing list today, when the chain reaches it."""
    return party is not None and appears_on_list(party) and party.status != Lifecycle.RETIRED


def display_name(party: Party) -> str:
    """A recipient as a person can tell it apart: its legal name, with the name it trades under, and for a
    vendor's local entity, the vendor it belongs to."""
    trading = (party.trading_name or "").strip()
    words = [trading] if trading and trading.casefold() not in party.legal_name.casefold() else []
    if party.parent_id is not None and party.parent is not None:
        words.append(f"affiliate of {party.parent.legal_name}")
    return f"{party.legal_name} ({'; '.join(words)})" if words else party.legal_name


def vendor_name(party: Party) -> str:
    """The vendor a recipient belongs to: its parent's legal name for an affiliate, else its own."""
    return party.parent.legal_name if party.parent_id is not None and party.parent is not None else party.legal_name


def is_upcoming(record, on: date) -> bool:
    """A proposed engagement or route, or one that starts after `on`: planned, not receiving data now."""
    return record.status == Lifecycle.PROPOSED or (record.starts_on is not None and record.starts_on > on)


def planned_start(record) -> Optional[date]:
    return getattr(record, "planned_start_on", None) or record.starts_on


@dataclass(frozen=True)
class Concern:
    """Something to fix before the list or an answer goes out (shown to staff, never to the person)."""

    text: str
    routes: tuple[int, ...] = ()
    engagement_id: Optional[int] = None
    party_id: Optional[int] = None
    severity: str = "attention"  # gap: the list or answer will say no appropriate safeguard is in place


@dataclass(frozen=True)
class ProcessorRow:
    name: str
    role: str
    service: str
    locations: str
    safeguards: str  # one line per place (or places saying the same)
    planned_start: Optional[date] = None  # set on an upcoming change
    party_id: int = 0
    route_ids: tuple[int, ...] = ()
    data_categories: str = ""  # what its engagements say they process (one line per service when they differ)
    # The vendor's legal name (the parent's, for an affiliate): the list shows each vendor's entities together.
    vendor: str = ""
    is_affiliate: bool = False

    @property
    def is_upcoming(self) -> bool:
        return self.planned_start is not None

    @property
    def when(self) -> str:
        return NOW if self.planned_start is None else f"planned from {self.planned_start.isoformat()}"

    def values(self) -> list:
        return [self.name, self.role, self.service, self.data_categories, self.locations, self.safeguards, self.planned_start]


@dataclass
class ProcessorList:
    on: date
    current: list[ProcessorRow] = field(default_factory=list)
    upcoming: list[ProcessorRow] = field(default_factory=list)
    concerns: list[Concern] = field(default_factory=list)

    @property
    def rows(self) -> list[ProcessorRow]:
        return self.current + self.upcoming


class Safeguards:
    """How transfers to each place are safeguarded, in the vocabulary's words for the routes' verdicts.

    Read once per list or answer: the stored verdicts of the routes it names (today's, or those of the
    scratch copy an as-of export reads), and the rules' verdict for a place a route's engagement
    processes data in that no route of its own reaches.
    """

    def __init__(self, sess: Session, on: date, routes: Iterable[TransferRoute], audience: str = vocabulary.SUBJECT):
        self.sess, self.on, self.audience = sess, on, audience
        self.routes = {route.id: route for route in routes}
        law = countries.current()
        self.references = {instrument.id: instrument.legal_reference
                           for regime in law.regimes.values() for instrument in regime.adequacy}
        self.areas = {code: regime.free_flow_name for code, regime in law.regimes.items()}
        self.status: dict[int, str] = {}
        self._facts: Optional[dict[int, "rules.RouteFacts"]] = None
        # Per route: (regime, mechanism, status, adequacy decision) of each regime's stored verdict.
        self.verdicts: dict[int, list[tuple[str, str, str, Optional[str]]]] = defaultdict(list)
        ids = sorted(self.routes)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for route_id, status in sess.execute(select(RouteVerdict.route_id, RouteVerdict.status)
                                                 .where(RouteVerdict.route_id.in_(chunk))):
                self.status[route_id] = status
            for row in sess.execute(select(RouteRegimeVerdict).where(RouteRegimeVerdict.route_id.in_(chunk))
                                    .order_by(RouteRegimeVerdict.route_id, RouteRegimeVerdict.regime)).scalars():
                self.verdicts[row.route_id].append((row.regime, row.mechanism, row.status, row.adequacy_id))

    def route_facts(self, route_ids: Iterable[int]) -> dict[int, "rules.RouteFacts"]:
        """The rules' facts of routes the list names. The first call reads, in a few chunked queries, every
        route of each recipient that processes data somewhere its routes do not reach (those the list
        will ask for); a route not among them is read when asked."""
        if self._facts is None:
            self._facts = {}
            self._read_facts(self._reaching_elsewhere())
        self._read_facts([route_id for route_id in route_ids if route_id not in self._facts])
        return self._facts

    def _read_facts(self, route_ids: list[int]) -> None:
        if route_ids:
            self._facts.update((item.id, item) for item in assessments.load_facts(self.sess, route_ids))

    def _reaching_elsewhere(self) -> list[int]:
        """The routes of recipients with a processing location that none of their routes has as destination."""
        places: dict[int, set[str]] = defaultdict(set)
        for route in self.routes.values():
            places[route.importer_id].add(route.destination_country or "")
        importers = sorted(places)
        elsewhere = set()
        for start in range(0, len(importers), 500):
            for engaged_id, code in self.sess.execute(
                    select(Engagement.engaged_id, EngagementLocation.country_code)
                    .join(EngagementLocation, EngagementLocation.engagement_id == Engagement.id)
                    .where(Engagement.engaged_id.in_(importers[start:start + 500]))):
                if code not in places[engaged_id]:
                    elsewhere.add(engaged_id)
        return [route.id for route in self.routes.values() if route.importer_id in elsewhere]

    def words(self, verdicts: list[tuple[str, str, str, Optional[str]]]) -> str:
        """What these verdicts (of the routes reaching one place) say, each tool once at its worst status."""
        worst: dict[tuple[str, str, Optional[str]], str] = {}
        if any(regime for regime, _mechanism, _status, _adequacy in verdicts):
            # Data from outside the three regimes goes there too: no transfer rule of theirs to state.
            verdicts = [verdict for verdict in verdicts if verdict[0]]
        for regime, mechanism, status, adequacy_id in verdicts:
            key = (regime, mechanism, adequacy_id)
            if key not in worst or rules.rank(status) > rules.rank(worst[key]):
                worst[key] = status
        return vocabulary.combined([
            (regime, vocabulary.OUT_OF_SCOPE if not regime else vocabulary.safeguard(
                regime, mechanism, status, self.audience, adequacy_reference=self.references.get(adequacy_id or ""),
                free_flow_name=self.areas.get(regime)))
            for (regime, mechanism, adequacy_id), status in worst.items()])

    def of_route(self, route_id: int) -> list[tuple[str, str, str, Optional[str]]]:
        """A route's verdicts; a route without EU, UK or Swiss data is out of scope."""
        return self.verdicts.get(route_id) or [("", "none", "out_of_scope", None)]

    def places(self, routes: list[TransferRoute], locations: Iterable[str], fallback: Optional[str],
               concerns: list[Concern], subject: str) -> tuple[str, str]:
        """(where, how safeguarded) for a recipient reached by `routes` and processing in `locations`."""
        by_place: dict[str, list[TransferRoute]] = defaultdict(list)
        names: dict[str, str] = {}
        for route in routes:
            # A place is a country, a region, or an international organisation (a destination of its own).
            place = route.destination_country or f"io:{route.destination_organisation_id}"
            by_place[place].append(route)
            if route.destination_organisation is not None:
                names[place] = route.destination_organisation.legal_name
        places = list(dict.fromkeys([*sorted(by_place), *sorted(set(locations) - set(by_place))]))
        if not places and fallback:
            places = [fallback]

        region_names = regions.place_names(self.sess) if any(len(place) > 2 and not place.startswith("io:")
                                                             for place in places) else {}

        def name(place: str) -> str:
            # A region is a place of its own, said by its name ("Worldwide", "Asia-Pacific").
            return names.get(place) or regions.place_name(place, region_names)

        unreached = [place for place in places if place not in by_place]
        elsewhere = assessments.assess_elsewhere(self.sess, self.on, [(route.id, place) for place in unreached
                                                                      for route in routes],
                                                 facts=self.route_facts(route.id for route in routes)
                                                 ) if routes and unreached else {}
        lines: dict[str, list[str]] = {}
        for place in places:
            if place in by_place:
                verdicts = [verdict for route in by_place[place] for verdict in self.of_route(route.id)]
            elif routes:
                verdicts = [(verdict.regime, verdict.mechanism, verdict.status, verdict.adequacy_id)
                            for route in routes for verdict in elsewhere[(route.id, place)].regimes
                            ] or [("", "none", "out_of_scope", None)]
                if any(status == "gap" for _regime, _mechanism, status, _adequacy in verdicts):
                    concerns.append(Concern(f"{subject} processes data in {name(place)}, which no "
                                            f"route records, and the safeguards of its routes do not cover it there: "
                                            f"record that transfer", routes=tuple(route.id for route in routes),
                                            severity="gap"))
            else:
                verdicts = []  # no route: nothing the register can say of how data gets there
            # Places saying the same share a line.
            lines.setdefault(self.words(verdicts), []).append(name(place))
        where = ", ".join(name(place) for place in places)
        how = "\n".join(f"{', '.join(names)}: {sentence}" for sentence, names in lines.items())
        return where, how

    def concerns(self, routes: Iterable[TransferRoute], sess: Session) -> list[Concern]:
        """The routes with a gap or needing attention, with the rules' reasons (for staff): one concern per
        recipient, place and finding, naming the routes that share it."""
        troubled = sorted(route.id for route in routes if self.status.get(route.id) in ("gap", "attention"))
        if not troubled:
            return []
        found = assessments.assess(sess, self.on, troubled)
        grouped: dict[tuple, list[TransferRoute]] = defaultdict(list)
        for route_id in troubled:
            verdict = found.get(route_id)
            if verdict is None:
                continue
            reasons = tuple(dict.fromkeys(
                [f"{assessment.regime}: {reason.text}" for assessment in verdict.regimes for reason in assessment.reasons
                 if reason.severity != "info"] + [reason.text for reason in verdict.reasons if reason.severity != "info"]))
            route = self.routes[route_id]
            grouped[route.importer.legal_name, route.destination_code, verdict.status, reasons].append(route)
        concerns = []
        for (importer, destination, status, reasons), group in grouped.items():
            exporters = sorted({route.exporter.legal_name for route in group}, key=str.casefold)
            source = exporters[0] if len(exporters) == 1 else f"{len(exporters)} exporters"
            concerns.append(Concern(f"{source} → {importer} ({destination}): "
                                    f"{vocabulary.status_label(status).lower()}: {'; '.join(reasons)}",
                                    routes=tuple(route.id for route in group), severity=status))
        return concerns


def _walk(sess: Session, starts: list[int], purposes: list[str], on: date, for_client: bool = False,
          with_retired: bool = False) -> dict[int, tuple[Engagement, bool]]:
    """The processing engagements down the chain from `starts`: {id: (engagement, is upcoming)}.

    The purposes narrow our own processors (the first level); everything below a planned engagement
    is planned too. An engagement reached both ways counts as current. From a client (`for_client`),
    its data goes down only as notices.clients_served says: the client engages our companies as its
    processors, and below them only sub-processor engagements carry it (a company's own processors
    carry the group's data). `with_retired`: the engagements ever in the chain (the change feed's).
    """
    query = select(Engagement).where(Engagement.relationship_type.in_(PROCESSING))
    if not with_retired:
        query = query.where(Engagement.status != Lifecycle.RETIRED)
    engagements = sess.scalars(
        query.options(selectinload(Engagement.locations), selectinload(Engagement.engaged), selectinload(Engagement.engager))
    ).all()
    by_engager: dict[int, list[Engagement]] = defaultdict(list)
    for engagement in engagements:
        by_engager[engagement.engager_id].append(engagement)
    wanted = [purpose.strip().casefold() for purpose in purposes if purpose.strip()]
    reached: dict[int, tuple[Engagement, bool]] = {}
    frontier = [(start, 0, False) for start in starts]
    while frontier:
        party_id, depth, upcoming_above = frontier.pop()
        for engagement in by_engager.get(party_id, []):
            upcoming = upcoming_above or is_upcoming(engagement, on)
            known = reached.get(engagement.id)
            if known is not None and (known[1] <= upcoming):
                continue  # already reached, as current or as planned again
            text = f"{engagement.purpose or ''} {engagement.service}".casefold()
            if depth == 0 and wanted and not any(purpose in text for purpose in wanted):
                continue
            if for_client and depth > 0 and engagement.relationship_type != Relationship.SUB_PROCESSOR:
                continue
            reached[engagement.id] = (engagement, upcoming)
            frontier.append((engagement.engaged_id, depth + 1, upcoming))
    return reached


def client_chain(sess: Session, client_id: int, on: date) -> set[int]:
    """The engagements ever in a client's chain (retired ones too): what its change feed reports."""
    return set(_walk(sess, [client_id], [], on, for_client=True, with_retired=True))


def service_words(engagement: Engagement) -> str:
    """What an engagement does for us as the list says it: its service, and the condition it runs under, if any."""
    condition = (engagement.condition or "").strip()
    return f"{engagement.service} ({condition})" if condition else engagement.service


def categories_words(engagements: list[Engagement]) -> str:
    """The categories of personal data the engagements process: once when they agree, else per service."""
    given = [(engagement.service, (engagement.data_categories or "").strip()) for engagement in engagements]
    given = [(service, categories) for service, categories in given if categories]
    if len({categories for _service, categories in given}) <= 1:
        return given[0][1] if given else ""
    return "\n".join(f"{service}: {categories}" for service, categories in given)


def _role(engagements: list[Engagement], owners: frozenset[int] = frozenset()) -> str:
    """The role from each engagement's relationship: who engages the recipient, when it is not us directly
    (our group, or `owners`: the client whose list it is)."""
    engagers: dict[Relationship, list[str]] = defaultdict(list)
    ours = False
    for engagement in engagements:
        if engagement.relationship_type == Relationship.PROCESSOR and (
                engagement.engager.kind == PartyKind.GROUP_ENTITY or engagement.engager_id in owners):
            ours = True
            continue
        names = engagers[engagement.relationship_type]
        if engagement.engager.legal_name not in names:
            names.append(engagement.engager.legal_name)
    parts = ["Processor"] if ours else []
    for relationship, names in engagers.items():
        label = relationship.label if not parts else relationship.label.lower()
        parts.append(f"{label} (engaged by {', '.join(sorted(names, key=str.casefold))})")
    return "; ".join(parts)


def list_starts(sess: Session, entity_ids: Optional[list[int]] = None, client_id: Optional[int] = None) -> list[int]:
    """Where a list's chain starts: a client (its list), some group entities, or the whole live group."""
    if client_id is not None:
        return [client_id]
    if entity_ids:
        return list(entity_ids)
    return list(sess.scalars(select(Party.id).where(Party.kind == PartyKind.GROUP_ENTITY, Party.status != Lifecycle.RETIRED)))


def processor_list(entity_ids: Optional[list[int]] = None, purposes: Optional[list[str]] = None,
                   sess: Optional[Session] = None, on: Optional[date] = None,
                   audience: str = vocabulary.SUBJECT, client_id: Optional[int] = None) -> ProcessorList:
    """Processors and sub-processors down the chain from the group (or some of its entities), now and planned.

    With `client_id`, the list for a client whose data we process (Art. 28(2), (4)): the companies of our
    group it engages as processors, the group companies and vendors they engage as sub-processors for it,
    and theirs. `sess` reads another copy of the register (as of a past moment: timeline.as_of_session),
    whose stored verdicts are those of `on`.
    """
    sess = sess if sess is not None else db.session()
    on = on or date.today()
    starts = list_starts(sess, entity_ids, client_id)
    reached = _walk(sess, starts, purposes or [], on, for_client=client_id is not None)
    chain = set(starts) | {engagement.engaged_id for engagement, _upcoming in reached.values()}
    listed = {engagement.engaged_id: engagement.engaged for engagement, _upcoming in reached.values()
              if is_listed(engagement.engaged)}
    if listed:
        # Affiliates name their vendor: read the vendors at once.
        sess.scalars(select(Party).where(Party.id.in_({party.parent_id for party in listed.values() if party.parent_id}))).all()
    # The routes that carry data to a listed recipient from somewhere in the chain.
    routes = [route for route in sess.scalars(
        select(TransferRoute).where(TransferRoute.status != Lifecycle.RETIRED, TransferRoute.importer_id.in_(listed))
        .options(selectinload(TransferRoute.exporter), selectinload(TransferRoute.importer),
                 selectinload(TransferRoute.destination_organisation))) if route.exporter_id in chain] if listed else []
    safeguards = Safeguards(sess, on, routes, audience)
    result = ProcessorList(on)
    result.concerns.extend(safeguards.concerns(routes, sess))
    sections: dict[tuple[int, bool], tuple[list[Engagement], list[TransferRoute]]] = defaultdict(lambda: ([], []))
    for engagement, upcoming in reached.values():
        if engagement.engaged_id in listed:
            sections[engagement.engaged_id, upcoming][0].append(engagement)
    for route in routes:
        engagement = reached.get(route.engagement_id or 0)
        upcoming = is_upcoming(route, on) or (engagement is not None and engagement[1])
        if (route.importer_id, upcoming) in sections or not upcoming:
            sections[route.importer_id, upcoming][1].append(route)
        else:  # a planned route of a current recipient: planned too
            sections[route.importer_id, True][1].append(route)
    for (party_id, upcoming), (engagements, section_routes) in sorted(sections.items()):
        party = listed[party_id]
        engagements.sort(key=lambda item: item.id)
        if not engagements:
            engagements = [reached[route.engagement_id][0] for route in section_routes
                           if route.engagement_id in reached]
        locations = {location.country_code for engagement in engagements for location in engagement.locations}
        name = display_name(party)
        if not section_routes:
            what = f"{name}'s planned engagement" if upcoming else name
            result.concerns.append(Concern(f"No transfer route to {what} is recorded from the entities in scope: the "
                                           f"list cannot say how personal data reaches it; record the route",
                                           engagement_id=engagements[0].id if engagements else None, party_id=party_id))
        where, how = safeguards.places(section_routes, locations, party.country_code, result.concerns, name)
        services = list(dict.fromkeys(service_words(engagement) for engagement in engagements)) or \
            list(dict.fromkeys(route.purpose for route in section_routes if route.purpose))
        starts_on = None
        if upcoming:
            dates = [planned_start(item) for item in [*engagements, *section_routes] if is_upcoming(item, on)]
            starts_on = min((day for day in dates if day is not None), default=None) or on
        row = ProcessorRow(name, _role(engagements, frozenset(starts)) or "Processor", "; ".join(services), where, how,
                           starts_on, party_id, tuple(sorted(route.id for route in section_routes)),
                           categories_words(engagements), vendor_name(party), party.parent_id is not None)
        (result.upcoming if upcoming else result.current).append(row)
    # One row per legal entity that receives the data (each has its own places and safeguards); a vendor's
    # local affiliates follow it, each naming the vendor.
    result.current.sort(key=lambda row: (row.vendor.casefold(), row.is_affiliate, row.name.casefold()))
    result.upcoming.sort(key=lambda row: (row.planned_start, row.vendor.casefold(), row.is_affiliate, row.name.casefold()))
    result.concerns = ordered(result.concerns)
    return result


def ordered(concerns: list[Concern]) -> list[Concern]:
    """Each concern once, gaps first."""
    return sorted(dict.fromkeys(concerns), key=lambda concern: concern.severity != "gap")


def write_xlsx(target, processors: ProcessorList, title: str, facts: Iterable[str] = ()) -> None:
    """The list as a workbook: its current and upcoming processors, what it is, and its header facts
    (list_facts.ListFacts.lines)."""
    book = XlsxBook()
    for sheet_name, rows in (("Our processors", processors.current), ("Upcoming changes", processors.upcoming)):
        sheet = book.sheet(sheet_name, COLUMNS)
        for row in rows:
            sheet.append(row.values())
        sheet.close()
    about = book.sheet("About this list", [("", 100)])
    about.append([title])
    about.append(["The processors and sub-processors that process personal data for us, what they do, where, and "
                  "how transfers outside the EEA, the UK or Switzerland are safeguarded."])
    about.append(["Upcoming changes: processors and places we intend to add, with their planned start; they do "
                  "not receive personal data before that date."])
    for line in facts:
        about.append([line])
    about.close()
    book.save(target)


def csv_text(processors: ProcessorList) -> str:
    """The list as CSV: current processors first, then the upcoming changes (with their planned start)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _width in COLUMNS])
    for row in processors.rows:
        writer.writerow([csv_safe(value) for value in row.values()])
    return out.getvalue()
