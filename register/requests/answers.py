"""The content of an answer: register content only, never the requester's details.

- A processor-list request gets the subject-facing list for its scope (exports/processors.py).
- An access request gets the actual recipients of the person's data (GDPR Art. 15(1)(c); CJEU C-154/21
  Österreichische Post): the processors, sub-processors, group companies and independent or joint
  controllers that receive data from the entities and purposes in scope, now and in the past (read
  from the audit trail, which keeps every engagement and route ever recorded), with how transfers to
  them are safeguarded (Art. 15(2)), in the plain words of the processor list.
"""

import csv
import io
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select

from ..countries import country_name
from ..extensions import db
from ..models import (
    Engagement,
    Lifecycle,
    Party,
    PartyKind,
    Relationship,
    RequestType,
    SubjectRequest,
    TransferRoute,
)
from ..exports.processors import PLAIN_SAFEGUARDS, csv_text, plain_safeguards, processor_rows
from ..exports.workbook import csv_safe
from .. import timeline

RECIPIENT_COLUMNS = ["Recipient", "Relationship", "What for", "Where", "Receives data", "How transfers are safeguarded"]
RELATIONSHIPS = {relationship.value: relationship.label for relationship in Relationship}


def answer_content(record: SubjectRequest) -> str:
    """The answer's content as CSV text (what is sent, and kept as the snapshot)."""
    if record.request_type == RequestType.PROCESSOR_LIST:
        return csv_text(processor_list_rows(record.entity_ids, record.purposes))
    return recipients_csv(recipient_rows(record.entity_ids, record.purposes))


def processor_list_rows(entity_ids: list[int], purposes: list[str]) -> list:
    rows = set()
    for entity_id in entity_ids or [None]:
        for purpose in purposes or [None]:
            rows.update(processor_rows(entity_id, purpose))
    return sorted(rows, key=lambda row: (row.name.casefold(), row.role, row.service))


@dataclass(frozen=True)
class RecipientRow:
    name: str
    relationship: str
    purpose: str
    where: str
    period: str
    safeguards: str

    def values(self) -> list[str]:
        return [self.name, self.relationship, self.purpose, self.where, self.period, self.safeguards]


def _matches(purposes: list[str], *texts: Optional[str]) -> bool:
    if not purposes:
        return True
    haystack = " ".join(text or "" for text in texts).casefold()
    return any(purpose.casefold() in haystack for purpose in purposes)


def _sources(entity_ids: list[int]) -> set[int]:
    if entity_ids:
        return set(entity_ids)
    return set(db.session.scalars(select(Party.id).where(Party.kind == PartyKind.GROUP_ENTITY)))


def _mechanisms_by_importer(route_ids: set[int]) -> dict[int, set[str]]:
    """How the routes' transfers are safeguarded (today's stored verdicts), by importer, in plain words."""
    return plain_safeguards(db.session(), TransferRoute.id.in_(route_ids)) if route_ids else {}


def recipient_rows(entity_ids: list[int], purposes: list[str]) -> list[RecipientRow]:
    """The actual recipients, current and past, of data held by these entities for these purposes."""
    sources = _sources(entity_ids)
    rows: set[RecipientRow] = set()
    # Current processors and sub-processors, as the processor list shows them.
    for row in processor_list_rows(entity_ids, purposes):
        rows.add(RecipientRow(row.name, row.role, row.service, row.locations, "now", row.safeguards))
    def name(party_id: int) -> str:
        party = db.session.get(Party, party_id)  # the session's identity map: one query per recipient
        return (party.trading_name or party.legal_name) if party else f"Party #{party_id}"

    def where(party_id: int) -> str:
        party = db.session.get(Party, party_id)
        return country_name(party.location_code) if party and party.location_code else ""

    routes = {route.id: route for route in db.session.scalars(select(TransferRoute).where(TransferRoute.exporter_id.in_(sources)))}
    safeguards = _mechanisms_by_importer(set(routes))  # retired routes too: past recipients
    current_pairs: set[tuple[int, str]] = set()
    # Controllers (independent or joint) engaged by the entities in scope, today.
    for engagement in db.session.scalars(select(Engagement).where(Engagement.engager_id.in_(sources),
                                                                  Engagement.status != Lifecycle.RETIRED)):
        relationship = engagement.relationship_type.value
        current_pairs.add((engagement.engaged_id, relationship))
        if relationship in ("processor", "sub_processor") or not _matches(purposes, engagement.purpose, engagement.service):
            continue
        rows.add(RecipientRow(name(engagement.engaged_id), RELATIONSHIPS[relationship], engagement.purpose or engagement.service,
                              where(engagement.engaged_id), "now", "; ".join(sorted(safeguards.get(engagement.engaged_id, ())))
                              or PLAIN_SAFEGUARDS["none_needed"]))
    # Every live route from the entities in scope reaches a recipient (group companies included).
    listed = {row.name for row in rows}
    for route in routes.values():
        if route.status == Lifecycle.RETIRED or not _matches(purposes, route.purpose):
            continue
        current_pairs.add((route.importer_id, "route"))
        if name(route.importer_id) in listed:
            continue
        importer = db.session.get(Party, route.importer_id)
        relationship = "Group company" if importer is not None and importer.kind == PartyKind.GROUP_ENTITY else (
            "Independent controller" if route.importer_role.value == "controller" else "Processor")
        rows.add(RecipientRow(name(route.importer_id), relationship, route.purpose or "", where(route.importer_id), "now",
                              "; ".join(sorted(safeguards.get(route.importer_id, ()))) or PLAIN_SAFEGUARDS["none_needed"]))
    # Past recipients: every engagement or route the trail shows from an entity in scope, no longer live.
    for record_type, source_key, target_key in (("engagements", "engager_id", "engaged_id"),
                                                ("transfer_routes", "exporter_id", "importer_id")):
        for _record_id, versions in timeline.versions(record_type).items():
            # The last state of each link the record ever made (a record may have changed its parties).
            links = {(fields.get(source_key), fields.get(target_key), fields.get("relationship_type")): fields
                     for fields in versions}
            for (source, target, relationship), fields in links.items():
                if source not in sources or target is None:
                    continue
                relationship = relationship or "route"
                purpose = fields.get("purpose") or fields.get("service") or ""
                still_live = fields.get("status") != Lifecycle.RETIRED.value and (target, relationship) in current_pairs
                if still_live or not _matches(purposes, purpose, fields.get("service")):
                    continue
                ended = fields.get("ends_on")
                label = RELATIONSHIPS.get(relationship) or (
                    "Independent controller" if fields.get("importer_role") == "controller" else "Recipient")
                rows.add(RecipientRow(name(target), label, purpose, where(target),
                                      f"in the past (until {ended})" if ended else "in the past",
                                      "; ".join(sorted(safeguards.get(target, ()))) or "as recorded at the time"))
    return sorted(rows, key=lambda row: (row.period != "now", row.name.casefold(), row.relationship, row.purpose))


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
