"""Adequacy and its scope: GDPR Art. 45 (Commission decisions, e.g. 2023/1795 for the EU-US DPF), UK GDPR
Art. 45/45A (adequacy regulations, e.g. SI 2023/1028 for the UK Extension), FADP Art. 16(1) with DPO
Annex 1 (the Federal Council's list). docs/transfer-law.md, section 3.

- A partial decision covers a recipient only when its scope fact has the recorded answer; an unknown
  answer, or a DPF entry naming another legal entity, does not establish adequacy: another tool is looked
  for; with none, the route stays on adequacy with status attention so that someone confirms the fact.
- A doubt whether a decision applies at all to the route's exporter (countries.yaml
  `applicability_in_doubt_for`, e.g. 2026/179 for EEA-EFTA exporters) is treated as an unknown scope
  fact, since relying on a decision that may not apply is no detail.
- A decision at risk (EU-US DPF) or ending within a year is attention unless BCR or clauses that hold
  stand behind it; then it is covered with an info note naming the fallback (register/rules/assess.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Optional

from ..countries import CountryData
from .dates import _add_years
from .facts import PartyFacts, importer_words
from .index import _index, _RegimeIndex
from .tools import _Candidate, _Route


_DPF_LABELS = {"eu_us": "EU-US DPF", "uk_extension": "UK Extension to the EU-US DPF", "swiss_us": "Swiss-US DPF"}


@dataclass(frozen=True, slots=True)
class WatchedDecision:
    """An adequacy decision in force that a verdict relying on it flags: at risk, or coverage ending within a year."""

    id: str
    regime: str
    legal_reference: str
    at_risk: Optional[str]
    coverage_ends_on: Optional[date]  # set when adequacy for the destination ends within a year, successors followed


def decisions_to_watch(law: CountryData, on: date) -> list[WatchedDecision]:
    """The adequacy decisions in force on `on` whose verdicts carry a risk (the same test as `_restricted`):
    at risk, or adequacy for the destination ending within a year of `on` once successors are followed."""
    watched: dict[tuple[str, str], WatchedDecision] = {}
    horizon = _add_years(on, 1)
    for code, rx in _index(law).regimes.items():
        for instruments in rx.adequacy.values():
            for instrument in instruments:
                if (code, instrument.id) in watched or not instrument.in_force_on(on):
                    continue
                end = rx.coverage_end[instrument.id]
                ending = end if end is not None and end <= horizon else None
                if instrument.at_risk or ending:
                    watched[code, instrument.id] = WatchedDecision(instrument.id, code, instrument.legal_reference,
                                                                   instrument.at_risk, ending)
    return list(watched.values())


_Failures = list[tuple[str, str]]  # (why a tool does not hold, its reference)


def _adequacy(rx: _RegimeIndex, shared: _Route) -> tuple[Optional[_Candidate], Optional[_Candidate], _Failures]:
    """(adequacy that holds, adequacy pending an importer fact, why adequacy fails) for the route's destination."""
    on, destination = shared.on, shared.destination
    article = rx.article(on)
    instruments = rx.adequacy.get(destination, ())
    if not instruments:
        return None, None, [(f"no adequacy decision for {destination} under the {rx.name}", article.article)]
    failures: list[tuple[str, str]] = []
    uncertain: Optional[_Candidate] = None
    in_force = [instrument for instrument in instruments if instrument.in_force_on(on)]
    if not in_force:
        upcoming = [item for item in instruments if item.valid_from > on]
        if upcoming:
            first = min(upcoming, key=lambda item: item.valid_from)
            failures.append((f"adequacy for {destination} ({first.legal_reference}) applies only from "
                             f"{first.valid_from}", article.article))
        else:
            last = instruments[0]
            failures.append((f"adequacy for {destination} ({last.legal_reference}) ended: its last valid day was "
                             f"{last.valid_until}", article.article))
        return None, None, failures

    route, importer = shared.route, shared.route.importer
    for instrument in in_force:
        reference = instrument.legal_reference
        unknown, wrong = [], []
        for condition in instrument.scope:
            answer = importer.scope_facts.get(condition.fact, "unknown")
            if answer == condition.required_answer:
                continue
            # Unknown is never yes (nor no): only a recorded answer settles a partial decision's scope.
            (wrong if answer in ("yes", "no") else unknown).append((condition, answer))
        # Asked of the entity that receives the data: a vendor's local affiliate answers for itself.
        whose = "the importer's answer" if not importer.parent_name else f"the answer of {importer_words(importer)}"
        if wrong:
            for condition, answer in wrong:
                failures.append((f"{reference} covers {destination} only where {condition.fact} is "
                                 f"'{condition.required_answer}'; {whose} is '{answer}'",
                                 article.article))
            continue
        doubts = [f"scope fact {condition.fact} is unknown for {importer_words(importer)} - confirm it ({reference} covers only "
                  f"recipients answering '{condition.required_answer}')" for condition, _ in unknown]
        exporter_country = route.exporter.country
        doubt = instrument.doubt_for(exporter_country)
        if doubt is not None:
            # Not a detail of the decision: whether it covers this exporter at all (countries.yaml
            # applicability_in_doubt_for). Relied on only once confirmed, like an unknown scope fact.
            doubts.append(f"{reference} may not apply to an exporter in {exporter_country}: {doubt} - confirm "
                          f"it before relying on the decision")
        if instrument.requires_dpf:
            failure, doubt = _dpf_check(instrument.requires_dpf, importer, route.has_hr_data)
            if failure:
                failures.append((failure, f"{reference} ({article.article})"))
                continue
            if doubt:
                doubts.append(doubt)
        candidate = _Candidate("adequacy", reference, 0)
        candidate.adequacy_id = instrument.id
        candidate.notes = [*rx.instrument_notes(instrument), *rx.article_notes(article)]
        if doubts:
            if uncertain is None:
                for doubt in doubts:
                    candidate.add("attention", doubt, f"{reference} ({article.article})")
                uncertain = candidate
            continue
        candidate.add("info", f"adequacy: {reference} covers {destination} on {on}", article.article)
        end = rx.coverage_end[instrument.id]
        cited = f"{reference} ({article.article})"
        if end is not None and end <= _add_years(on, 1):
            candidate.risks.append((f"The decision expires on {end}, within a year.", cited,
                                    "suggest an SCC fallback or plan for the decision's renewal"))
        if instrument.at_risk:
            candidate.risks.append((f"The decision is at risk: {instrument.at_risk}", cited, "suggest an SCC fallback"))
        return candidate, None, failures
    return None, uncertain, failures


def _dpf_check(framework: str, importer: PartyFacts, has_hr_data: bool) -> tuple[Optional[str], Optional[str]]:
    """(why the DPF does not cover the route, a doubt about it): active, data type, legal entity.

    The certified entity is the importer when its name equals the importer's legal name or one of its
    recorded aliases once both are compared as `dpf_name_key` makes them (case, punctuation and spacing
    aside: "Amazon Web Services, Inc." is "Amazon Web Services Inc"). Another name is another legal entity.
    """
    label = _DPF_LABELS.get(framework, framework)
    entry = next((item for item in importer.dpf if item.framework == framework), None)
    if entry is None:
        # The register knows only what is recorded: no entry is not proof that the importer is not listed.
        # An affiliate's own entry: its vendor's covers only the legal entity the DPF List names.
        return f"no DPF entry recorded for {importer_words(importer)} under the {label}", None
    if not entry.is_active:
        return f"the importer's {label} certification is not active", None
    if has_hr_data and not entry.covers_hr_data:
        return f"the importer's {label} certification does not cover HR data, which the route carries", None
    if not has_hr_data and not entry.covers_non_hr_data:
        return f"the importer's {label} certification does not cover non-HR data, which the route carries", None
    certified = dpf_name_key(entry.certified_entity_name)
    if certified != dpf_name_key(importer.legal_name) and all(certified != dpf_name_key(alias) for alias in importer.aliases):
        known_as = " or its recorded aliases" if importer.aliases else ""
        return None, (f"DPF certified entity is {entry.certified_entity_name}, not the importer "
                      f"({importer.legal_name}){known_as}: only the listed legal entity is covered")
    return None, None


_NOT_A_NAME_CHARACTER = re.compile(r"[\W_]+")


def dpf_name_key(name: str) -> str:
    """A legal name as DPF entries are matched: case-folded, every run of punctuation and spaces one space
    ("Amazon Web Services, Inc." and "amazon web services inc" are one name; "Inc" and "LLC" stay apart)."""
    return " ".join(_NOT_A_NAME_CHARACTER.sub(" ", name.casefold()).split())
