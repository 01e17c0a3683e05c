"""The list of our processors that any person may ask for (privacy notice; GDPR Art. 13-15, 28).

Only what a data subject may receive: each processor's and sub-processor's name, what it does for us,
where it processes data, and how transfers to it are safeguarded, in plain words. Nothing internal
(certificates, review notes, gaps, our staff's contacts).
"""

import csv
import io
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import countries, rules
from ..extensions import db
from ..models import Engagement, Lifecycle, Party, PartyKind, Relationship, RouteRegimeVerdict, TransferRoute
from .workbook import XlsxBook, csv_safe

PROCESSING = (Relationship.PROCESSOR, Relationship.SUB_PROCESSOR)
PLAIN_SAFEGUARDS = {
    "none_needed": "stays within the EEA, the UK or Switzerland",
    "adequacy": "a country or organisation the European Commission (or UK / Swiss authorities) recognise as adequate",
    "bcr": "our group's binding corporate rules",
    "scc": "standard contractual clauses approved by the European Commission",
    "uk_idta": "the UK international data transfer agreement",
    "uk_addendum": "the UK addendum to the standard contractual clauses",
    "ch_scc": "standard contractual clauses adapted for Switzerland",
    "derogation": "an exception for specific situations (GDPR Art. 49)",
    "code_of_conduct": "an approved code of conduct",
    "certification": "an approved certification",
}
COLUMNS = [("Processor", 36), ("Role", 34), ("What it does for us", 40), ("Where it processes data", 36),
           ("How transfers are safeguarded", 70)]


@dataclass(frozen=True)
class ProcessorRow:
    name: str
    role: str
    service: str
    locations: str
    safeguards: str

    def values(self) -> list[str]:
        return [self.name, self.role, self.service, self.locations, self.safeguards]


def processor_rows(entity_id: Optional[int] = None, purpose: Optional[str] = None,
                   sess: Optional[Session] = None) -> list[ProcessorRow]:
    """Processors and sub-processors down the chain from the group (or one group entity).

    `sess` reads another copy of the register (as of a past moment: timeline.as_of_session).
    """
    sess = sess if sess is not None else db.session()
    engagements = sess.scalars(
        select(Engagement).where(Engagement.status != Lifecycle.RETIRED, Engagement.relationship_type.in_(PROCESSING))
        .options(selectinload(Engagement.locations), selectinload(Engagement.engaged), selectinload(Engagement.engager))
    ).all()
    by_engager: dict[int, list[Engagement]] = {}
    for engagement in engagements:
        by_engager.setdefault(engagement.engager_id, []).append(engagement)
    if entity_id is not None:
        starts = [entity_id]
    else:
        starts = list(sess.scalars(select(Party.id).where(Party.kind == PartyKind.GROUP_ENTITY, Party.status != Lifecycle.RETIRED)))
    wanted = purpose.strip().casefold() if purpose else None
    seen: set[int] = set()
    reached: list[tuple[Engagement, int]] = []  # (engagement, depth: 0 = our processor)
    frontier = [(start, 0) for start in starts]
    while frontier:
        party_id, depth = frontier.pop()
        for engagement in by_engager.get(party_id, []):
            if engagement.id in seen:
                continue
            if depth == 0 and wanted and wanted not in f"{engagement.purpose or ''} {engagement.service}".casefold():
                continue
            seen.add(engagement.id)
            reached.append((engagement, depth))
            frontier.append((engagement.engaged_id, depth + 1))
    safeguards = _safeguards(sess, {engagement.engaged_id for engagement, _depth in reached})
    law = countries.current()
    rows = []
    for engagement, depth in reached:
        party = engagement.engaged
        if party.kind != PartyKind.THIRD_PARTY or not party.is_in_subject_list or party.status == Lifecycle.RETIRED:
            continue
        role = "Processor" if depth == 0 else f"Sub-processor (engaged by {engagement.engager.trading_name or engagement.engager.legal_name})"
        places = sorted({location.country_code for location in engagement.locations} | {party.country_code})
        rows.append(ProcessorRow(party.trading_name or party.legal_name, role, engagement.service,
                                 ", ".join(countries.country_name(code) for code in places),
                                 safeguards.get(party.id, PLAIN_SAFEGUARDS["none_needed"] if all(
                                     rules.within_free_flow(code, law) for code in places) else "see our privacy notice")))
    return sorted(set(rows), key=lambda row: (row.name.casefold(), row.role, row.service))


def _safeguards(sess: Session, party_ids: set[int]) -> dict[int, str]:
    """How transfers to each party are safeguarded, in plain words, from today's stored verdicts."""
    if not party_ids:
        return {}
    found = plain_safeguards(sess, TransferRoute.importer_id.in_(party_ids), TransferRoute.status != Lifecycle.RETIRED)
    return {party_id: "; ".join(sorted(words)) for party_id, words in found.items()}


def plain_safeguards(sess: Session, *where) -> dict[int, set[str]]:
    """By importer, the plain words of the mechanisms of today's stored verdicts of the routes `where` selects."""
    found: dict[int, set[str]] = {}
    query = (select(TransferRoute.importer_id, RouteRegimeVerdict.mechanism)
             .join(RouteRegimeVerdict, RouteRegimeVerdict.route_id == TransferRoute.id).where(*where).distinct())
    for importer_id, mechanism in sess.execute(query):
        if mechanism in PLAIN_SAFEGUARDS:
            found.setdefault(importer_id, set()).add(PLAIN_SAFEGUARDS[mechanism])
    return found


def write_xlsx(target, rows: list[ProcessorRow], title: str) -> None:
    book = XlsxBook()
    sheet = book.sheet("Our processors", COLUMNS)
    for row in rows:
        sheet.append(row.values())
    sheet.close()
    about = book.sheet("About this list", [("", 100)])
    about.append([title])
    about.append(["The processors and sub-processors that process personal data for us, what they do, where, and "
                  "how transfers outside the EEA, the UK or Switzerland are safeguarded."])
    about.close()
    book.save(target)


def csv_text(rows: list[ProcessorRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _width in COLUMNS])
    for row in rows:
        writer.writerow([csv_safe(value) for value in row.values()])
    return out.getvalue()
