"""Binding corporate rules: GDPR / UK GDPR Art. 47, FADP Art. 16(2)(e). They hold only between group
entities both bound, on the date, by the same approval of the regime's authority; BCR-C cover the
group's controller data, BCR-P data it processes for clients (docs/transfer-law.md, section 4).
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from .facts import InstrumentFacts, PartyFacts
from .index import _RegimeIndex
from .tools import _Candidate, _label, _Route


def _bcr(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts) -> _Candidate | tuple[str, str]:
    """BCR hold only between parties both bound, on the date, by the same approval for this regime (Art. 47)."""
    route, on, reference = shared.route, shared.on, rx.law.bcr
    approval = instrument.bcr_approval
    label = _label(instrument)
    if approval is None:
        return f"{label} names no BCR approval", reference
    if approval.regime != rx.code:
        return (f"{label} rests on a {approval.regime} approval: it does not cover {rx.code} data, which needs an "
                f"approval by {rx.law.bcr_approver}", reference)
    if approval.approved_on > on:
        return f"{label}: the BCR approval dates only from {approval.approved_on}", reference
    if approval.withdrawn_on is not None and approval.withdrawn_on <= on:
        return f"{label}: the BCR approval was withdrawn on {approval.withdrawn_on}", reference
    if route.importer.kind != "group_entity":
        return (f"{label}: the importer is not a group entity - BCR never cover a transfer to an outside vendor",
                reference)
    for side, party in (("exporter", route.exporter), ("importer", route.importer)):
        problem = _not_bound(party, approval.approval_id, on)
        if problem:
            return f"{label}: the {side} {problem}", reference
    candidate = _Candidate("bcr", reference, 1, (instrument.id,))
    kind = "BCR-C" if approval.bcr_type == "bcr_c" else "BCR-P"
    candidate.add("info", f"both parties are bound by the approved {kind} (approval #{approval.approval_id}) on {on}",
                  reference)
    # BCR-C cover the group's own (controller) data; BCR-P data it processes for outside clients.
    if approval.bcr_type == "bcr_c" and route.exporter_role == "processor":
        candidate.add("attention", "BCR-C cover the group's controller data, but the exporter acts as a processor "
                                   "here (data processed for a client needs BCR-P)", reference)
    elif approval.bcr_type == "bcr_p" and route.exporter_role == "controller":
        candidate.add("attention", "BCR-P cover data processed for clients, but the exporter acts as a controller "
                                   "here (its own data needs BCR-C)", reference)
    return candidate


def _not_bound(party: PartyFacts, approval_id: int, on: date) -> Optional[str]:
    """Why `party` is not bound by the approval on `on`, or None when it is."""
    memberships = [item for item in party.bcr if item.approval_id == approval_id]
    for membership in memberships:
        if membership.bound_from <= on and (membership.bound_to is None or on <= membership.bound_to):
            return None
    if not memberships:
        return f"is not bound by BCR approval #{approval_id}"
    ended = [item.bound_to for item in memberships if item.bound_to is not None and item.bound_to < on]
    if ended:
        return f"was bound by BCR approval #{approval_id} only until {max(ended)}"
    return f"is bound by BCR approval #{approval_id} only from {min(item.bound_from for item in memberships)}"


def _unused_bcr(rx: _RegimeIndex, shared: _Route) -> Optional[tuple[str, str]]:
    """A hint when both parties are bound by a BCR for the regime that the route does not rely on."""
    route, on = shared.route, shared.on
    for membership in route.exporter.bcr:
        if membership.regime != rx.code or _not_bound(route.exporter, membership.approval_id, on):
            continue
        if (membership.withdrawn_on is None or on < membership.withdrawn_on) and route.importer.kind == "group_entity" \
                and not _not_bound(route.importer, membership.approval_id, on):
            return (f"both parties are bound by BCR approval #{membership.approval_id}, but the route does not rely "
                    f"on it: add the BCR instrument", rx.law.bcr)
    return None
