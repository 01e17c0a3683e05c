"""Sub-processor change notices to clients (Art. 28(2)): their derived deadline and their checks."""

from datetime import date
from typing import Optional

from sqlalchemy.orm import Session

from ..models import ChangeNotice, Engagement, NoticeOutcome, Party, PartyKind, Relationship
from .checks import _ordered, _party
from .engagements import lock_engagement_graph
from .spec import SPECS, Derived, Errors, Spec, _add


def _complete_notice(sess: Session, record: Optional[ChangeNotice], values: dict, given: frozenset[str]) -> dict:
    """A new notice is about the engagement's sub-processor of the moment; the objection deadline
    defaults to the sending day plus the client's notice period, and follows a corrected sending day
    when it was the derived one."""
    derived: dict = {}
    if record is None and values.get("sub_processor_id") is None and values.get("engagement_id") is not None:
        engagement = sess.get(Engagement, values["engagement_id"])
        if engagement is not None:
            derived["sub_processor_id"] = Derived(engagement.engaged_id, "The sub-processor the engagement names now.")
    client = sess.get(Party, values["client_id"]) if values.get("client_id") is not None else None
    if values.get("sent_on") is None or client is None or client.notice_period_days is None:
        return derived
    from ..rules import objection_deadline

    deadline = values.get("objection_deadline")
    moved = record is not None and record.sent_on is not None and record.sent_on != values["sent_on"] and (
        deadline == objection_deadline(record.sent_on, client.notice_period_days))
    if deadline is None or moved:
        derived["objection_deadline"] = Derived(
            objection_deadline(values["sent_on"], client.notice_period_days),
            f"The sending day plus {client.legal_name}'s notice period ({client.notice_period_days} days).")
    return derived


def _validate_notice(sess: Session, record: Optional[ChangeNotice], values: dict, errors: Errors) -> None:
    lock_engagement_graph(sess)
    client = _party(sess, errors, values, "client_id", (PartyKind.CLIENT,))
    engagement = sess.get(Engagement, values["engagement_id"]) if values.get("engagement_id") is not None else None
    if values.get("engagement_id") is not None and engagement is None:
        _add(errors, "engagement_id", f"No engagement with id {values['engagement_id']}.")
    elif engagement is not None and engagement.relationship_type != Relationship.SUB_PROCESSOR:
        _add(errors, "engagement_id", "Clients are told of sub-processor engagements: this engagement is not one.")
    elif engagement is not None and client is not None and client.kind == PartyKind.CLIENT:
        from ..notices import clients_served

        if client.id not in clients_served(sess, engagement.engager_id, engagement.relationship_type):
            _add(errors, "client_id", f"{engagement.engaged.legal_name} would not process {client.legal_name}'s data: "
                                      f"no chain of processing for it leads to {engagement.engager.legal_name}.")
    if values.get("sent_on") is not None and values.get("objection_deadline") is None and client is not None:
        _add(errors, "objection_deadline", f"Give the deadline, or record {client.legal_name}'s notice period.")
    sent_on = values.get("sent_on")
    # A notice not yet sent has no sending day; a day to come is a plan, not a notice (checked when it is set,
    # so that a record stored before this check can still be corrected).
    if sent_on is not None and sent_on > date.today() and (record is None or record.sent_on != sent_on):
        _add(errors, "sent_on", "A notice cannot have been sent in the future: leave the day blank until it is sent.")
    _ordered(errors, values, "sent_on", "objection_deadline", "The deadline cannot be before the notice was sent.")
    if values.get("objection_received_on") is not None:
        if values.get("sent_on") is None:
            _add(errors, "objection_received_on", "An objection answers a notice: record when the notice was sent.")
        elif values["objection_received_on"] > date.today():
            _add(errors, "objection_received_on", "An objection cannot be received in the future.")
        _ordered(errors, values, "sent_on", "objection_received_on", "The objection cannot come before the notice.")
    outcome = values.get("outcome")
    if outcome in (NoticeOutcome.OBJECTION_RESOLVED, NoticeOutcome.OBJECTION_UPHELD) and values.get("objection_received_on") is None:
        _add(errors, "outcome", "Record when the objection was received.")
    if outcome == NoticeOutcome.NO_OBJECTION and values.get("objection_received_on") is not None:
        _add(errors, "outcome", "An objection was received: record whether it was resolved or upheld.")


SPECS[ChangeNotice] = Spec(ChangeNotice, validate=_validate_notice, complete=_complete_notice,
                           required=("client_id", "engagement_id", "outcome"), fixed=frozenset({"sub_processor_id"}),
                           derivable={"objection_deadline": "Left out: the sending day plus the client's notice period."})
