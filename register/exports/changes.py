"""The processor list's change history (GDPR Art. 28(2): intended additions and replacements are told
to the controllers), read from the audit trail of processing engagements."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional
from xml.etree import ElementTree

from sqlalchemy import select

from .. import countries
from ..extensions import db
from ..models import AuditAction, AuditEvent, Engagement, Party
from ..services.coerce import escaped
from .processors import PROCESSING as PROCESSING_RELATIONSHIPS
from .processors import appears_on_list, client_chain, display_name

# The trail records enumerations by value.
PROCESSING = {relationship.value for relationship in PROCESSING_RELATIONSHIPS}
ATOM = "http://www.w3.org/2005/Atom"
LIMIT = 200


@dataclass(frozen=True)
class ListChange:
    event_id: int
    occurred_at: datetime
    kind: str  # intended addition / addition / removal / location change
    processor: str
    service: str
    detail: str


def _names(party_ids: set[int]) -> dict[int, Party]:
    if not party_ids:
        return {}
    return {party.id: party for party in db.session.scalars(select(Party).where(Party.id.in_(party_ids)))}


def list_changes(limit: Optional[int] = LIMIT, client_id: Optional[int] = None) -> list[ListChange]:
    """Changes of who processes data for us and where, newest first; with `client_id`, of who processes
    that client's data (the engagements ever in its chain, as its list walks it)."""
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == Engagement.__tablename__)
                                .order_by(AuditEvent.id)).all()
    in_chain = None if client_id is None else client_chain(db.session(), client_id, date.today())
    relationship: dict[int, str] = {}
    engaged: dict[int, int] = {}
    engager: dict[int, int] = {}
    service: dict[int, str] = {}
    changes: list[tuple[AuditEvent, str, str]] = []
    for event in events:
        fields = event.changes
        key = event.record_id
        if "relationship_type" in fields:
            relationship[key] = fields["relationship_type"][1]
        if "engaged_id" in fields:
            engaged[key] = fields["engaged_id"][1]
        if "engager_id" in fields:
            engager[key] = fields["engager_id"][1]
        if "service" in fields:
            service[key] = fields["service"][1]
        if relationship.get(key) not in PROCESSING:
            continue
        if event.action == AuditAction.CREATE:
            starts = (fields.get("starts_on") or [None, None])[1]
            # Planned, as the list shows it: proposed, or starting after the day it was recorded.
            proposed = (fields.get("status") or [None, None])[1] == "proposed" or (
                starts is not None and starts > event.occurred_at.date().isoformat())
            planned = (fields.get("planned_start_on") or [None, None])[1] or starts
            changes.append((event, "intended addition" if proposed else "addition",
                            f"planned to start on {planned}" if proposed and planned else ""))
        elif event.action in (AuditAction.RETIRE, AuditAction.DELETE):
            changes.append((event, "removal", ""))
        elif event.action == AuditAction.UPDATE:
            status = fields.get("status")
            if status and status[0] == "proposed" and status[1] == "active":
                changes.append((event, "addition", "the intended addition took effect"))
            if "locations" in fields:
                before = {item.split(":")[0] for item in fields["locations"][0] or []}
                after = {item.split(":")[0] for item in fields["locations"][1] or []}
                words = [f"now also in {', '.join(countries.country_name(code) for code in sorted(after - before))}"] if after - before else []
                words += [f"no longer in {', '.join(countries.country_name(code) for code in sorted(before - after))}"] if before - after else []
                if words:
                    changes.append((event, "location change", "; ".join(words)))
    if in_chain is not None:
        changes = [change for change in changes if change[0].record_id in in_chain]
    parties = _names({ids[event.record_id] for event, _kind, _detail in changes for ids in (engaged, engager)
                      if event.record_id in ids})
    found = []
    for event, kind, detail in reversed(changes):
        party: Optional[Party] = parties.get(engaged.get(event.record_id))
        # One rule with the list (processors.appears_on_list): a client's own list names our companies it engages.
        by = None if in_chain is not None else parties.get(engager.get(event.record_id))
        if party is not None and not appears_on_list(party, by):
            continue  # the list never names it: neither does its feed
        name = display_name(party) if party is not None else event.record_label
        found.append(ListChange(event.id, event.occurred_at, kind, name, service.get(event.record_id, ""), detail))
        if limit is not None and len(found) == limit:
            break  # counted after the unlisted ones are left out: the newest listed change is always first
    return found


def last_updated(changes: list[ListChange]) -> Optional[date]:
    """The day (UTC) of the newest change to what the list shows: the list's "last updated", the
    same on its page, its downloads and its feed; None while no change is recorded."""
    return changes[0].occurred_at.date() if changes else None


def atom_feed(changes: list[ListChange], feed_url: str, page_url: str) -> bytes:
    """The changes as an Atom 1.0 feed (RFC 4287)."""
    ElementTree.register_namespace("", ATOM)

    def element(parent, name: str, text: Optional[str] = None, **attributes) -> ElementTree.Element:
        child = ElementTree.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
        if text is not None:
            child.text = escaped(text)  # a control character stored before it was refused: shown, valid XML
        return child

    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    element(feed, "id", feed_url)
    element(feed, "title", "Changes to our list of processors")
    element(feed, "updated", (changes[0].occurred_at if changes else datetime(2026, 1, 1)).isoformat().replace("+00:00", "Z"))
    element(feed, "link", href=feed_url, rel="self")
    element(feed, "link", href=page_url, rel="alternate")
    author = element(feed, "author")
    element(author, "name", "Data protection office")
    for change in changes:
        entry = element(feed, "entry")
        # One event can make two changes (it took effect, and moved): the kind keeps their ids apart.
        element(entry, "id", f"{feed_url}#change-{change.event_id}-{change.kind.replace(' ', '-')}")
        element(entry, "title", f"{change.kind.capitalize()}: {change.processor}")
        element(entry, "updated", change.occurred_at.isoformat().replace("+00:00", "Z"))
        element(entry, "summary", f"{change.processor} ({change.service}): {change.kind}" + (f", {change.detail}" if change.detail else ""))
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
