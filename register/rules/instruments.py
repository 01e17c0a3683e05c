"""The clauses and other Art. 46 tools, instrument by instrument (docs/transfer-law.md, section 4):

- EU data: the SCCs of Decision (EU) 2021/914 (GDPR Art. 46(2)(c)), the module following from the roles
  at both ends (Clause 1; Modules 1-4); the pre-2021 sets (Decisions 2001/497/EC, 2004/915/EC,
  2010/87/EU) until 2022-12-27 (Decision (EU) 2021/914 Art. 4(4)).
- UK data: the ICO's IDTA or the UK Addendum to the 2021 EU SCCs (UK GDPR Art. 46(2)(d)) from
  2022-03-21; the old EU SCCs until 2024-03-20 (UK GDPR Art. 46(5), the ICO's transitional provisions).
- Swiss data: the 2021 EU SCCs with the Swiss adaptations, recognised by the FDPIC (FADP Art. 16(2)(d)).
- Codes of conduct and certifications (GDPR / UK GDPR Art. 46(2)(e)/(f); FADP Art. 16(3), DPO Art. 12):
  recorded when used, always attention (none approved for transfers was found).
"""

from __future__ import annotations

from datetime import date

from .facts import InstrumentFacts, RouteFacts
from .index import _RegimeIndex
from .tools import _Candidate, _label, _Route


# Decision (EU) 2021/914 Art. 4(4): pre-2021 SCCs provided safeguards until 2022-12-27 (last valid day).
OLD_SCC_LAST_DAY = date(2022, 12, 27)
OLD_SCC_DECISIONS = ("2010/87/EU", "2004/915/EC", "2001/497/EC")
NEW_SCC_DECISION = "2021/914"
# A VERIFY point (docs/transfer-law.md, section 9), a review note only: Art. 4(3)-(4) repealed the old
# decisions from 2021-09-27, so only sets concluded by 2021-09-26 kept the transition.
OLD_SCC_CONCLUDED_BY = date(2021, 9, 26)
# UK: IDTA and Addendum in force from 2022-03-21; old EU SCCs stopped working on 2024-03-21.
UK_TOOLS_FROM = date(2022, 3, 21)
UK_OLD_SCC_LAST_DAY = date(2024, 3, 20)
# A VERIFY point (docs/transfer-law.md, section 9), a review note only: the ICO's transition covered
# contracts concluded by 2022-09-21.
UK_OLD_SCC_CONCLUDED_BY = date(2022, 9, 21)

# The module follows from the roles at both ends (Decision (EU) 2021/914, Clause 1).
_ROLE_MODULE = {("controller", "controller"): 1, ("controller", "processor"): 2,
                ("processor", "processor"): 3, ("processor", "controller"): 4}
_MODULE_ROLES = {1: "controller to controller", 2: "controller to processor",
                 3: "processor to processor", 4: "processor to controller"}
# The pre-2021 sets had no modules: each served one pair of roles.
_OLD_SCC_ROLES = {"2001/497/EC": ("controller", "controller"), "2004/915/EC": ("controller", "controller"),
                  "2010/87/EU": ("controller", "processor")}


def _clauses(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts,
             instruments: tuple[InstrumentFacts, ...]) -> _Candidate | tuple[str, str]:
    """Standard clauses: EU SCCs for EU data, IDTA/Addendum for UK data, SCCs with Swiss adaptations for CH data."""
    if rx.code == "EU":
        return _eu_scc(rx, shared, instrument)
    if rx.code == "UK":
        return _uk_clauses(rx, shared, instrument, instruments)
    return _swiss_scc(rx, shared, instrument)


def _eu_scc(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts) -> _Candidate | tuple[str, str]:
    """EU SCCs, Decision (EU) 2021/914 (Art. 46(2)(c)); pre-2021 sets until 2022-12-27 (Art. 4(4))."""
    label = _label(instrument)
    if instrument.kind != "eu_scc":
        return f"{label} is a UK tool: it does not cover EU data", "GDPR Art. 46(2)(c); Decision (EU) 2021/914"
    decision = instrument.scc_decision
    if decision == NEW_SCC_DECISION:
        candidate = _Candidate("scc", "", 2, (instrument.id,))
        candidate.reference = _module_check(candidate, shared.route, instrument, "GDPR Art. 46(2)(c)")
        return candidate
    if decision in OLD_SCC_DECISIONS:
        return _old_scc(shared, instrument, decision, "scc", OLD_SCC_LAST_DAY, "GDPR Art. 46(5)",
                        "Decision (EU) 2021/914 Art. 4(4)", OLD_SCC_CONCLUDED_BY,
                        "Decision (EU) 2021/914 Art. 4(3) repealed the pre-2021 SCC decisions from 2021-09-27; the "
                        "reference does not say whether sets signed on or after that day still counted: verify.")
    return f"{label}: SCC decision {decision or 'not recorded'} is not a known EU SCC decision", "GDPR Art. 46(2)(c)"


def _old_scc(shared: _Route, instrument: InstrumentFacts, decision: str, mechanism: str, last_day: date,
             article: str, source: str, concluded_by: date, doubt: str) -> _Candidate | tuple[str, str]:
    """A pre-2021 SCC set: valid to `last_day`; its fixed pair of roles must match the route."""
    label, route = _label(instrument), shared.route
    if shared.on > last_day:
        return f"{label}: EU SCC {decision} invalid since {last_day} (its last valid day)", source
    reference = f"{article}; Decision {decision}"
    candidate = _Candidate(mechanism, reference, 2, (instrument.id,))
    candidate.add("info", f"pre-2021 EU SCCs (Decision {decision}) still valid on {shared.on} (last valid day "
                          f"{last_day})", source)
    roles = _OLD_SCC_ROLES[decision]
    if (route.exporter_role, route.importer_role) != roles:
        candidate.add("attention", f"the set does not match the roles: Decision {decision} covers {roles[0]} to "
                                   f"{roles[1]} transfers, this route is {route.exporter_role} to "
                                   f"{route.importer_role}", reference)
    if instrument.signed_on is not None and instrument.signed_on > concluded_by:
        candidate.notes.append(doubt)
    return candidate


def _module_check(candidate: _Candidate, route: RouteFacts, scc: InstrumentFacts, article: str, extra: str = "") -> str:
    """Add the module finding (the module follows from the roles at both ends) and return the reference."""
    needed = _ROLE_MODULE.get((route.exporter_role, route.importer_role))
    modules = scc.scc_modules
    if needed is not None and needed in modules:
        reference = f"{article}; Decision (EU) 2021/914, Module {needed}{extra}"
        candidate.add("info", f"EU SCCs (Decision (EU) 2021/914) Module {needed} ({_MODULE_ROLES[needed]}) match the "
                              f"roles", reference)
        return reference
    listed = ", ".join(str(module) for module in sorted(modules)) or "none recorded"
    reference = f"{article}; Decision (EU) 2021/914, Module {listed}{extra}"
    candidate.add("attention", f"module does not match the roles: {route.exporter_role} to {route.importer_role} "
                               f"needs Module {needed}; {_label(scc)} has Module {listed}", reference)
    return reference


def _uk_clauses(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts,
                instruments: tuple[InstrumentFacts, ...]) -> _Candidate | tuple[str, str]:
    """UK data: the IDTA or the Addendum to the EU SCCs (from 2022-03-21); old EU SCCs until 2024-03-20."""
    label, on, kind = _label(instrument), shared.on, instrument.kind
    if kind == "uk_idta" or kind == "uk_addendum":
        tool = "IDTA" if kind == "uk_idta" else "UK Addendum"
        if on < UK_TOOLS_FROM:
            return f"{label}: the {tool} is in force only from {UK_TOOLS_FROM}", rx.law.clauses
        if kind == "uk_idta":
            reference = f"{rx.law.clauses}; ICO International Data Transfer Agreement"
            candidate = _Candidate("uk_idta", reference, 2, (instrument.id,))
            candidate.add("info", "the IDTA covers the UK export", reference)
            return candidate
        version = f" ({instrument.uk_addendum_version})" if instrument.uk_addendum_version else ""
        candidate = _Candidate("uk_addendum", "", 2, (instrument.id,))
        scc = next((item for item in instruments if item.kind == "eu_scc" and item.scc_decision == NEW_SCC_DECISION),
                   None)
        if scc is None:
            candidate.reference = f"{rx.law.clauses}; ICO UK Addendum to the EU SCCs{version}"
            candidate.add("attention", "the UK Addendum amends EU SCCs, but the route has no 2021 EU SCCs alongside "
                                       "it", candidate.reference)
        else:
            candidate.ids = (instrument.id, scc.id)
            candidate.reference = _module_check(candidate, shared.route, scc, rx.law.clauses,
                                                f"; ICO UK Addendum to the EU SCCs{version}")
        return candidate
    if instrument.scc_decision in OLD_SCC_DECISIONS:
        return _old_scc(shared, instrument, instrument.scc_decision, "scc", UK_OLD_SCC_LAST_DAY, "UK GDPR Art. 46(5)",
                        "ICO transitional provisions: old EU SCCs stopped working on 2024-03-21",
                        UK_OLD_SCC_CONCLUDED_BY,
                        "The ICO's transition kept the old EU SCCs only for contracts concluded on or before "
                        "2022-09-21 and ended on 2024-03-21; that concluded-by date is unconfirmed: verify it for this set.")
    return (f"{label}: EU SCCs alone are never valid for a UK export - add the UK Addendum or use the IDTA",
            f"{rx.law.clauses}; ICO guidance on international transfers")


def _swiss_scc(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts) -> _Candidate | tuple[str, str]:
    """Swiss data: the 2021 EU SCCs recognised by the FDPIC, with the Swiss adaptations (FADP Art. 16(2)(d))."""
    label = _label(instrument)
    if instrument.kind != "eu_scc":
        return f"{label} is a UK tool: it does not cover Swiss data", rx.law.clauses
    if instrument.scc_decision != NEW_SCC_DECISION:
        return (f"{label}: only the 2021 EU SCCs with the Swiss adaptations are recorded as recognised by the FDPIC",
                rx.law.clauses)
    if not instrument.has_swiss_adaptation:
        return (f"{label} lacks the Swiss adaptation (FDPIC as authority, Swiss courts, FADP references): "
                f"it does not cover Swiss data", rx.law.clauses)
    candidate = _Candidate("ch_scc", "", 2, (instrument.id,))
    candidate.reference = _module_check(candidate, shared.route, instrument, rx.law.clauses, " with Swiss adaptations")
    return candidate


def _code_or_certification(rx: _RegimeIndex, instrument: InstrumentFacts) -> _Candidate:
    """Art. 46(2)(e)/(f) tools: recorded when used; none approved for transfers was found."""
    is_code = instrument.kind == "code_of_conduct"
    reference = rx.law.code_of_conduct if is_code else rx.law.certification
    what = "code of conduct" if is_code else "certification"
    candidate = _Candidate(instrument.kind, reference, 3, (instrument.id,))
    scheme = f" {instrument.scheme_name}" if instrument.scheme_name else ""
    candidate.add("attention", f"no approved transfer {what} was found: verify that the{scheme} {what} relied on is "
                               f"approved with binding commitments of the importer", reference)
    if rx.code == "CH":
        candidate.notes.append("The Swiss article for codes of conduct and certifications (FADP Art. 16(3); DPO "
                               "Art. 12) is unconfirmed: verify.")
    return candidate
