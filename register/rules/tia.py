"""The transfer impact assessment every Art. 46/47 tool needs (CJEU C-311/18, Schrems II; EDPB
Recommendations 01/2020; UK GDPR Art. 46 transfer risk assessment; FADP Art. 16(2)), and which of a
route's TIAs is relied on. docs/transfer-law.md, section 4 ("Transfer impact assessments").

The TIA is the same for every Art. 46/47 tool of a regime and is applied to the chosen tool. A
cannot-comply TIA voids every Art. 46/47 tool of the regime; a recorded derogation may then be relied
on (Art. 49(1) applies "in the absence of" safeguards), else the status is gap (register/rules/assess.py).
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from .facts import RouteFacts, TiaFacts
from .index import _RegimeIndex
from .instruments import _ROLE_MODULE
from .verdicts import NO_TIA, Reason, TiaState


# The tools that need a transfer impact assessment (Art. 46/47; Schrems II).
TIA_MECHANISMS = frozenset({"bcr", "scc", "uk_idta", "uk_addendum", "ch_scc", "code_of_conduct", "certification"})


_MODULE_4_WITHOUT_TIA = Reason("info", "no TIA on record: Module 4 needs one only if data collected in the EU is mixed "
                                       "in", "Decision (EU) 2021/914, Module 4, Clause 14")


def _tia_for(tias: tuple[TiaFacts, ...], regime: str, on: date) -> Optional[TiaFacts]:
    """The latest TIA done by `on` for `regime` (or for all regimes); a regime's own wins a tie."""
    best = None
    for tia in tias:
        if (tia.regime is not None and tia.regime != regime) or tia.assessed_on > on:
            continue
        if best is None or tia.assessed_on > best.assessed_on or (
                tia.assessed_on == best.assessed_on and best.regime is None and tia.regime is not None):
            best = tia
    return best



def _tia_findings(rx: _RegimeIndex, route: RouteFacts, on: date, mechanism: str, tia: Optional[TiaFacts],
                  reasons: list[Reason]) -> TiaState:
    """Whether the tool relied on needs a TIA and the TIA relied on; its findings are added to `reasons`."""
    if mechanism in TIA_MECHANISMS:
        # Module 4 (processor -> controller): Clause 14 applies only if EU-collected data is mixed in.
        module_4 = (rx.code == "EU" and mechanism == "scc"
                    and _ROLE_MODULE.get((route.exporter_role, route.importer_role)) == 4)
        overdue = tia is not None and tia.next_review_on is not None and tia.next_review_on < on
        tia_state = TiaState(required=not module_4, done=tia is not None, overdue=overdue, tia=tia)
        if tia is None:
            reasons.append(_MODULE_4_WITHOUT_TIA if module_4 else rx.tia_missing)
        else:
            if overdue:
                reasons.append(Reason("attention", f"TIA overdue: the TIA of {tia.assessed_on} was due for review on "
                                                   f"{tia.next_review_on}", rx.law.tia))
            if tia.outcome == "can_comply_with_measures":
                reasons.append(Reason("info", f"the TIA of {tia.assessed_on} relies on supplementary measures: keep "
                                              f"them in place", "EDPB Recommendations 01/2020"))
        return tia_state
    if tia is not None:
        return TiaState(required=False, done=True, overdue=False, tia=tia)
    return NO_TIA
