"""Processors and sub-processors (docs/transfer-law.md, section 6): the roles each side of an engagement
has (GDPR Art. 4(7)-(8), Art. 28; EU SCC Clause 1); when a sub-processor may take effect for a client's
data (GDPR Art. 28(2) and (4); Decision (EU) 2021/914 Clause 9(a)); the engagement's processing places
that no route reaches (GDPR Art. 30(1)(e); Art. 44).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Optional

from .facts import _FACTS
from .verdicts import Reason


# The roles each side of an engagement usually has (EU SCC Clause 1; GDPR Art. 4(7)-(8), Art. 28):
# a processor serves a controller, a sub-processor a processor, controllers share with controllers.
ROLES_BY_RELATIONSHIP = {
    "processor": ("controller", "processor"),
    "sub_processor": ("processor", "processor"),
    "independent_controller": ("controller", "controller"),
    "joint_controller": ("controller", "controller"),
}


def roles_for(relationship: str) -> tuple[str, str, str]:
    """(exporter's role, importer's role, why) on a route made under an engagement of this relationship
    (GDPR Art. 4(7)-(8), Art. 28; EU SCC Clause 1)."""
    exporter_role, importer_role = ROLES_BY_RELATIONSHIP[relationship]
    return exporter_role, importer_role, (f"Under a {relationship.replace('_', ' ')} engagement the exporter acts as "
                                          f"{exporter_role} and the importer as {importer_role} (GDPR Art. 4(7)-(8), Art. 28).")


NOTICE_REFERENCE = "GDPR Art. 28(2) and (4); SCC 2021/914 Clause 9(a)"
SPECIFIC_AUTHORISATION_REFERENCE = "GDPR Art. 28(2), first sentence (prior specific authorisation); SCC 2021/914 Clause 9(a) Option 1"


@dataclass(**_FACTS)
class NoticeFacts:
    """What was recorded of one client's notice of an intended sub-processor change."""

    sent_on: Optional[date] = None
    objection_deadline: Optional[date] = None
    objection_received_on: Optional[date] = None
    outcome: str = "pending"
    # When the register mailed the notice (register/client_notices.py): how that mail ended. A notice
    # whose mail failed, or whose sending ended unknown, has not been shown to have reached the client.
    mail: Optional[str] = None  # pending / sending / sent / failed / unknown; None: not sent by the register


def objection_deadline(sent_on: date, notice_period_days: int) -> date:
    """The last day a client may object: the notice period counted in calendar days from the sending."""
    return sent_on + timedelta(days=notice_period_days)


@dataclass(**_FACTS)
class EngagementLink:
    """Who engages whom, as what, in which lifecycle state."""

    status: str
    relationship: Optional[str]
    engager_id: Optional[int]
    engaged_id: Optional[int]


def sub_processor_takes_effect(before: Optional[EngagementLink], after: EngagementLink) -> bool:
    """Whether a write makes a sub-processor take effect for the data it will process (Art. 28(2)
    "intended changes concerning the addition or replacement"): an active sub-processor engagement that
    is new, newly active, or now names another party or relationship (a replacement)."""
    if after.status != "active" or after.relationship != "sub_processor":
        return False
    if before is None or before.status != "active":
        return True
    return (before.engaged_id, before.engager_id, before.relationship) != (after.engaged_id, after.engager_id, after.relationship)


def activation_blockers(client: str, authorisation: Optional[str], notice: Optional[NoticeFacts], today: date,
                        starts_on: Optional[date] = None) -> list[Reason]:
    """Why a sub-processor may not yet take effect for one client's data (empty: it may).

    Art. 28(2): a processor engages another processor only with the controller's prior specific or
    general written authorisation.
    - No written authorisation recorded (none, or "not required" on a processing engagement): no
      sub-processor may be engaged for that client's data. Severity gap: an override cannot lift it.
    - Prior specific authorisation: the client's authorisation of this sub-processor is needed,
      whatever the dates (gap until recorded).
    - General written authorisation: the client is told of the intended change and may object; the
      change waits until the deadline has passed (today and on the start date) with no objection
      standing. These are severity attention: an editor may override them with a recorded reason.
    - An objection upheld means the sub-processor is not used for that client's data: nothing to
      wait for (the client is left out).
    """
    if authorisation not in ("general", "specific"):
        return [Reason("gap", f"{client} has given no written authorisation to engage sub-processors: record its "
                              "prior specific or general written authorisation first", NOTICE_REFERENCE)]
    if notice is not None and notice.outcome == "authorised":
        return []
    if authorisation == "specific":
        return [Reason("gap", f"{client} must authorise this sub-processor in advance (prior specific authorisation); "
                              "record its authorisation on the notice", SPECIFIC_AUTHORISATION_REFERENCE)]
    if notice is not None and notice.outcome in ("objection_upheld", "objection_resolved"):
        return []
    if notice is None or notice.sent_on is None:
        return [Reason("attention", f"{client} has not been told of this intended change", NOTICE_REFERENCE)]
    if notice.mail in ("failed", "unknown"):
        return [Reason("attention", f"the notice mailed to {client} was not delivered ({notice.mail}): it has not been "
                                    "shown to have been told; send it again or record how it was told", NOTICE_REFERENCE)]
    if notice.objection_received_on is not None:
        return [Reason("attention", f"{client} objected on {notice.objection_received_on}; record how the objection "
                                    "was resolved first", NOTICE_REFERENCE)]
    if notice.objection_deadline is None:
        return [Reason("attention", f"the objection deadline given to {client} is not recorded", NOTICE_REFERENCE)]
    if today <= notice.objection_deadline:
        return [Reason("attention", f"{client} may object until {notice.objection_deadline}", NOTICE_REFERENCE)]
    if starts_on is not None and starts_on <= notice.objection_deadline:
        return [Reason("attention", f"the start date {starts_on} falls inside {client}'s objection window "
                                    f"(until {notice.objection_deadline})", NOTICE_REFERENCE)]
    return []


def strictest_authorisation(authorisations: Iterable[Optional[str]]) -> Optional[str]:
    """A client that engaged the group several times is held to its strictest authorisation (none,
    then specific, then general)."""
    order = {"general": 0, "specific": 1}
    return max(authorisations, key=lambda value: order.get(value, 2), default=None)


_UNCOVERED: dict[frozenset[str], Reason] = {}


def _uncovered(places: frozenset[str]) -> Reason:
    """An engagement's processing locations that no route of it reaches (one object per set of places)."""
    found = _UNCOVERED.get(places)
    if found is None:
        if len(_UNCOVERED) > 10000:
            _UNCOVERED.clear()
        found = _UNCOVERED[places] = Reason(
            "attention", f"the engagement processes data in {', '.join(sorted(places))}, which no route of the "
                         f"engagement reaches: record that transfer", "GDPR Art. 30(1)(e); Art. 44")
    return found
