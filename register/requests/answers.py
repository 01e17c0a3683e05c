"""The content of an answer: register content only, never the requester's details.

- A processor-list request gets the subject-facing list for its scope (exports/processors.py).
- An access request gets the actual recipients of the person's data (GDPR Art. 15(1)(c); CJEU C-154/21
  Österreichische Post): the processors, sub-processors, group companies and independent or joint
  controllers that receive data from the entities and purposes in scope, now, planned ("will be
  disclosed") and in the past (read from the audit trail, which keeps every engagement and route ever
  recorded), each by its legal name, with how transfers to each place are safeguarded (Art. 15(2)) in
  the words of register/vocabulary.py for the verdicts of its routes.

Building a draft also lists what stands in the way of sending it (`Concern`s: routes with a gap or
needing attention), for the staff member, who fixes them and rebuilds, or sends an answer that says
plainly where no appropriate safeguard is in place.
"""

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import timeline
from ..countries import country_name
from ..exports.processors import (
    Concern,
    ProcessorList,
    Safeguards,
    categories_words,
    csv_text,
    display_name,
    is_upcoming,
    ordered,
    planned_start,
    processor_list,
    service_words,
)
from ..exports.workbook import csv_safe
from ..extensions import db
from ..models import Engagement, Lifecycle, Party, PartyKind, Relationship, RequestType, SubjectRequest, TransferRoute

# Art. 15(1)(b): the categories of personal data concerned, as the engagements record them.
RECIPIENT_COLUMNS = ["Recipient", "Relationship", "What for", "Categories of personal data", "Where", "Receives data",
                     "How transfers are safeguarded"]
RELATIONSHIPS = {relationship.value: relationship.label for relationship in Relationship}
NOT_RECORDED_THEN = "how transfers to it were safeguarded is not recorded"


@dataclass
class Draft:
    """An answer as it would be sent now, and what staff should check before sending it."""

    content: str
    concerns: list[Concern] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode("utf-8")).hexdigest()


def answer_draft(record: SubjectRequest, on: Optional[date] = None) -> Draft:
    """The answer built from the register as it stands (what is sent, and kept as the snapshot)."""
    if record.request_type == RequestType.PROCESSOR_LIST:
        # Handled as a client's processor: the list of who processes that client's data (its chain).
        client_id = record.controller_id if record.is_for_controller else None
        found = processor_list(record.entity_ids or None, record.purposes or None, on=on, client_id=client_id)
        return Draft(csv_text(found), found.concerns)
    rows, concerns = recipients(record.entity_ids, record.purposes, on)
    return Draft(recipients_csv(rows), concerns)


def answer_content(record: SubjectRequest) -> str:
    return answer_draft(record).content


@dataclass(frozen=True)
class RecipientRow:
    name: str
    relationship: str
    purpose: str
    where: str
    period: str
    safeguards: str
    data_categories: str = ""

    def values(self) -> list[str]:
        return [self.name, self.relationship, self.purpose, self.data_categories, self.where, self.period, self.safeguards]


def _matches(purposes: list[str], *texts: Optional[str]) -> bool:
    if not purposes:
        return True
    haystack = " ".join(text or "" for text in texts).casefold()
    return any(purpose.casefold() in haystack for purpose in purposes)


def _sources(entity_ids: list[int]) -> set[int]:
    if entity_ids:
        return set(entity_ids)
    return set(db.session.scalars(select(Party.id).where(Party.kind == PartyKind.GROUP_ENTITY)))


def _processor_rows(found: ProcessorList) -> list[RecipientRow]:
    return [RecipientRow(row.name, row.role, row.service, row.locations, row.when, row.safeguards, row.data_categories)
            for row in found.rows]


def recipients(entity_ids: list[int], purposes: list[str], on: Optional[date] = None) -> tuple[list[RecipientRow], list[Concern]]:
    """The actual recipients, current, planned and past, of data held by these entities for these purposes."""
    on = on or date.today()
    sess = db.session()
    sources = _sources(entity_ids)
    found = processor_list(entity_ids or None, purposes or None, on=on)
    rows: list[RecipientRow] = _processor_rows(found)
    concerns = list(found.concerns)
    on_the_list = {row.party_id for row in found.rows}

    # Everyone else the entities in scope send data to or engage: controllers, group companies, and
    # processors the subject-facing list leaves out (an Art. 15 answer names every actual recipient).
    engagements = sess.scalars(select(Engagement).where(Engagement.engager_id.in_(sources), Engagement.status != Lifecycle.RETIRED)
                               .options(selectinload(Engagement.locations), selectinload(Engagement.engaged))).all()
    all_routes = sess.scalars(select(TransferRoute).where(TransferRoute.exporter_id.in_(sources)).options(
        selectinload(TransferRoute.exporter), selectinload(TransferRoute.importer),
        selectinload(TransferRoute.destination_organisation))).all()
    live = [route for route in all_routes if route.status != Lifecycle.RETIRED and _matches(purposes, route.purpose)]
    by_party: dict[tuple[int, bool], tuple[list[Engagement], list[TransferRoute]]] = defaultdict(lambda: ([], []))
    for engagement in engagements:
        if engagement.engaged_id in on_the_list or not _matches(purposes, engagement.purpose, engagement.service):
            continue
        by_party[engagement.engaged_id, is_upcoming(engagement, on)][0].append(engagement)
    for route in live:
        if route.importer_id not in on_the_list:
            by_party[route.importer_id, is_upcoming(route, on)][1].append(route)
    safeguards = Safeguards(sess, on, [route for _key, (_e, routes) in by_party.items() for route in routes])
    concerns += safeguards.concerns([route for _key, (_e, routes) in by_party.items() for route in routes], sess)
    parties = {party.id: party for party in sess.scalars(select(Party).where(Party.id.in_({key[0] for key in by_party})))} \
        if by_party else {}
    for (party_id, upcoming), (party_engagements, routes) in sorted(by_party.items()):
        party = parties[party_id]
        name = display_name(party)
        where, how = safeguards.places(routes, {location.country_code for engagement in party_engagements
                                                for location in engagement.locations},
                                       party.location_code if party.kind != PartyKind.INTERNATIONAL_ORGANISATION else None,
                                       concerns, name)
        relationship = _relationship(party, party_engagements, routes)
        services = {engagement.service for engagement in party_engagements}  # a route's purpose may be its service
        purpose = "; ".join(dict.fromkeys([*(engagement.purpose or service_words(engagement) for engagement in party_engagements),
                                           *(route.purpose for route in routes if route.purpose and route.purpose not in services)]))
        period = "now"
        if upcoming:
            dates = [planned_start(item) for item in [*party_engagements, *routes]]
            period = f"planned from {min((day for day in dates if day is not None), default=on).isoformat()}"
        given = categories_words(party_engagements) or "\n".join(dict.fromkeys(
            route.data_categories for route in routes if route.data_categories))
        rows.append(RecipientRow(name, relationship, purpose, where, period, how, given))

    rows += _past(sources, purposes, {row.name for row in rows}, all_routes, on)
    order = {"now": 0}
    rows.sort(key=lambda row: (order.get(row.period, 1 if row.period.startswith("planned") else 2), row.name.casefold(),
                               row.relationship, row.purpose))
    return rows, ordered(concerns)


def _relationship(party: Party, engagements: list[Engagement], routes: list[TransferRoute]) -> str:
    labels = list(dict.fromkeys(engagement.relationship_type.label for engagement in engagements))
    if labels:
        return "; ".join(labels)
    if party.kind == PartyKind.GROUP_ENTITY:
        return "Group company"
    if party.kind == PartyKind.INTERNATIONAL_ORGANISATION:
        return "International organisation"
    return "Independent controller" if any(route.importer_role.value == "controller" for route in routes) else "Processor"


def _past(sources: set[int], purposes: list[str], current: set[str], all_routes: list[TransferRoute],
          on: date) -> list[RecipientRow]:
    """Every engagement or route the trail shows from an entity in scope, no longer live."""
    parties: dict[int, Optional[Party]] = {}

    def party(party_id: int) -> Optional[Party]:
        if party_id not in parties:
            parties[party_id] = db.session.get(Party, party_id)
        return parties[party_id]

    retired_by_target: dict[int, list[TransferRoute]] = defaultdict(list)
    for route in all_routes:
        if route.status == Lifecycle.RETIRED:
            retired_by_target[route.importer_id].append(route)
    safeguards = Safeguards(db.session(), on, [route for routes in retired_by_target.values() for route in routes])
    rows: set[RecipientRow] = set()
    for record_type, source_key, target_key in (("engagements", "engager_id", "engaged_id"),
                                                ("transfer_routes", "exporter_id", "importer_id")):
        for _record_id, versions in timeline.versions(record_type).items():
            # The last state of each link the record ever made (a record may have changed its parties).
            links = {(fields.get(source_key), fields.get(target_key), fields.get("relationship_type")): fields
                     for fields in versions}
            for (source, target, relationship), fields in links.items():
                if source not in sources or target is None:
                    continue
                recipient = party(target)
                purpose = fields.get("purpose") or fields.get("service") or ""
                if not _matches(purposes, purpose, fields.get("service")):
                    continue
                if recipient is None:
                    name, label_default = f"Party #{target}", "Recipient"
                else:
                    name = display_name(recipient)
                    label_default = "Group company" if recipient.kind == PartyKind.GROUP_ENTITY else (
                        "Independent controller" if fields.get("importer_role") == "controller" else "Processor")
                label = RELATIONSHIPS.get(relationship or "") or label_default
                if fields.get("status") != Lifecycle.RETIRED.value and name in current:
                    continue  # a link still live: its recipient is listed as receiving data now
                ended = fields.get("ends_on")
                routes = retired_by_target.get(target, [])
                if routes:
                    _where, how = safeguards.places(routes, (), None, [], name)
                else:
                    how = NOT_RECORDED_THEN
                where = country_name(recipient.location_code) if recipient is not None and recipient.location_code else ""
                rows.add(RecipientRow(name, label, purpose, where,
                                      f"in the past (until {ended})" if ended else "in the past", how,
                                      fields.get("data_categories") or ""))
    return list(rows)


def recipients_csv(rows: list[RecipientRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(RECIPIENT_COLUMNS)
    for row in rows:
        writer.writerow([csv_safe(value) for value in row.values()])
    return out.getvalue()


def table(content: str) -> tuple[list[str], list[list[str]]]:
    """An answer's CSV content as a heading and rows, to show on a page."""
    rows = list(csv.reader(io.StringIO(content)))
    return (rows[0], rows[1:]) if rows else ([], [])
