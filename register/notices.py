"""Sub-processor change notices (GDPR Art. 28(2)): which clients an intended change concerns, and
whether it may take effect for each. The judgement is the rules'; this module reads the register."""

from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import rules
from .models import ChangeNotice, Engagement, Lifecycle, OutboxMessage, Party, PartyKind, Relationship

PROCESSING = (Relationship.PROCESSOR, Relationship.SUB_PROCESSOR)


@dataclass
class ClientState:
    """One client concerned by an intended change: its notice (if any) and what still blocks."""

    client: Party
    authorisation: Optional[str]  # the authorisation the client gave us: specific / general / None
    notice: Optional[ChangeNotice]
    blockers: list[rules.Reason]
    mail: Optional[str] = None  # how the register's mail of the notice ended (None: not mailed by the register)


def clients_served(sess: Session, engager_id: int, relationship: Optional[Relationship]) -> dict[int, tuple[Party, Optional[str]]]:
    """The clients whose data a sub-processor engaged by `engager_id` would process.

    Client data flows down the chain only through processing for a client: a client engages a group
    entity as its processor, which may engage sub-processors, which may engage theirs. Walking up
    from the engager: an engagement by a client as processor names the client; an engagement as
    sub-processor leads further up; any other (the group's own processors, controllers) carries the
    group's own data, not a client's. Each client comes with the strictest authorisation it gave.
    """
    if relationship != Relationship.SUB_PROCESSOR:
        return {}
    found: dict[int, tuple[Party, list[Optional[str]]]] = {}
    # A bulk unit (an import, services.Bulk) keeps the chain in memory, up to date with what it wrote.
    bulk = sess.info.get("bulk")
    seen: set[int] = set()
    frontier = [engager_id]
    while frontier:
        party_id = frontier.pop()
        if party_id in seen:
            continue
        seen.add(party_id)
        if bulk is not None:
            upstream = bulk.upstream(party_id)
        else:
            upstream = sess.scalars(select(Engagement).where(
                Engagement.engaged_id == party_id, Engagement.status != Lifecycle.RETIRED,
                Engagement.relationship_type.in_(PROCESSING)).options(selectinload(Engagement.engager))).all()
        for engagement in upstream:
            if engagement.relationship_type == Relationship.PROCESSOR and engagement.engager.kind == PartyKind.CLIENT:
                found.setdefault(engagement.engager_id, (engagement.engager, []))[1].append(
                    engagement.authorisation.value if engagement.authorisation else None)
            elif engagement.relationship_type == Relationship.SUB_PROCESSOR:
                frontier.append(engagement.engager_id)
    return {client_id: (client, rules.strictest_authorisation(given)) for client_id, (client, given) in found.items()}


def facts(notice: Optional[ChangeNotice], sess: Optional[Session] = None) -> Optional[rules.NoticeFacts]:
    if notice is None:
        return None
    return rules.NoticeFacts(sent_on=notice.sent_on, objection_deadline=notice.objection_deadline,
                             objection_received_on=notice.objection_received_on, outcome=notice.outcome.value,
                             mail=mail_state(sess, notice.id) if sess is not None and notice.id is not None else None)


def mail_state(sess: Session, notice_id: int) -> Optional[str]:
    """How the register's last mail of this notice ended (None: the register did not mail it)."""
    return sess.scalar(select(OutboxMessage.state).where(OutboxMessage.about_type == "change_notices",
                                                         OutboxMessage.about_id == notice_id)
                       .order_by(OutboxMessage.id.desc()).limit(1))


def client_states(sess: Session, engagement_id: Optional[int], engager_id: int, engaged_id: Optional[int],
                  relationship: Optional[Relationship], starts_on: Optional[date], today: date) -> list[ClientState]:
    """Every client the change concerns, with its notice about this sub-processor and what still blocks."""
    clients = clients_served(sess, engager_id, relationship)
    notices = {}
    if engagement_id is not None and clients:
        notices = {notice.client_id: notice for notice in sess.scalars(
            select(ChangeNotice).where(ChangeNotice.engagement_id == engagement_id, ChangeNotice.sub_processor_id == engaged_id))}
    states = []
    for client_id, (client, authorisation) in sorted(clients.items(), key=lambda item: item[1][0].legal_name.casefold()):
        notice = notices.get(client_id)
        noticed = facts(notice, sess)
        blockers = rules.activation_blockers(client.legal_name, authorisation, noticed, today, starts_on)
        states.append(ClientState(client, authorisation, notice, blockers, noticed.mail if noticed else None))
    return states
