"""The law of data/countries.yaml arranged once per `CountryData` for per-route lookups: each regime's
adequacy instruments by destination with how long coverage runs once successors are followed (GDPR
Art. 45; UK GDPR Art. 45/45A; FADP Art. 16(1), DPO Annex 1), its free-flow area (GDPR / UK GDPR Art. 44;
FADP Art. 16) and the VERIFY notes of its destinations and articles (docs/transfer-law.md, sections 2,
3 and 9).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Optional

from ..countries import AdequacyInstrument, CountryData, LegalBasis, Regime
from .regimes import _LAW
from .verdicts import NO_TIA, Reason, RegimeAssessment


class _RegimeIndex:
    """One regime's facts arranged for per-route lookups."""

    def __init__(self, regime: Regime):
        self.code = regime.code
        self.name = regime.name
        self.law = _LAW[regime.code]
        self.free_flow = regime.free_flow
        self.free_flow_name = regime.free_flow_name
        self.articles: tuple[LegalBasis, ...] = regime.adequacy_articles
        # Findings every restricted transfer of the regime may share.
        self.onward = Reason("info", f"onward transfer: assessed under the {self.name}, the regime of the data's origin",
                             f"{self.law.transfer} ('including onward transfers'); Decision (EU) 2021/914, "
                             f"onward-transfer clause: Clause 8.7 (Module 1), Clause 8.8 (Modules 2 and 3)")
        self.tia_missing = Reason("attention", "TIA missing: every Art. 46/47 tool needs a transfer impact assessment",
                                  self.law.tia)
        by_destination: dict[str, list[AdequacyInstrument]] = {}
        for instrument in regime.adequacy:
            by_destination.setdefault(instrument.destination, []).append(instrument)
        # Latest last day first (open-ended first); the file's order among equals.
        self.adequacy = {
            destination: tuple(sorted(items, key=_until_key, reverse=True))
            for destination, items in by_destination.items()
        }
        self.coverage_end = {
            instrument.id: _coverage_end(instrument, by_destination[instrument.destination])
            for instrument in regime.adequacy
        }
        # The destinations whose adequacy reads the exporter's country (a doubt whether it applies to
        # some exporters) or whether the route carries HR data (a DPF entry's data types).
        self.reads_exporter_country = frozenset(item.destination for item in regime.adequacy
                                                if item.applicability_in_doubt)
        self.reads_hr_data = frozenset(item.destination for item in regime.adequacy if item.requires_dpf)
        notes: dict[str, tuple[str, ...]] = {}
        for group in regime.outside + regime.not_adequate:
            for code in group.codes:
                notes[code] = notes.get(code, ()) + group.verify
        self.destination_notes = notes
        self.none_needed: dict[str, tuple[RegimeAssessment, tuple[RegimeAssessment]]] = {}
        # Review notes name what they are about: a note on a route must stand on its own.
        self._instrument_notes: dict[str, tuple[str, ...]] = {}
        self._article_notes = {basis.article: tuple(f"{basis.article}: {note}" for note in basis.verify)
                               for basis in regime.adequacy_articles}

    def instrument_notes(self, instrument: AdequacyInstrument) -> tuple[str, ...]:
        """The VERIFY notes of an adequacy instrument, each naming the decision."""
        found = self._instrument_notes.get(instrument.id)
        if found is None:
            found = tuple(f"{instrument.legal_reference} ({instrument.id}): {note}" for note in instrument.verify)
            self._instrument_notes[instrument.id] = found
        return found

    def article_notes(self, basis: LegalBasis) -> tuple[str, ...]:
        return self._article_notes.get(basis.article, ())

    def article(self, on: date) -> LegalBasis:
        """The adequacy article in force on `on` (the first listed when none is)."""
        for basis in self.articles:
            starts, ends = basis.valid_from, basis.valid_until
            if (starts is None or starts <= on) and (ends is None or on <= ends):
                return basis
        return self.articles[0]

    @property
    def no_destination(self) -> RegimeAssessment:
        """The assessment of a restricted route with no destination recorded."""
        reason = Reason("gap", "no destination recorded", self.law.transfer)
        return RegimeAssessment(self.code, True, "none", "gap", self.law.transfer, (reason,), NO_TIA, (), ())

    def not_restricted(self, destination: str) -> tuple[RegimeAssessment, tuple[RegimeAssessment]]:
        """The (shared) assessment of a route inside this regime's free-flow area, and it alone in a tuple."""
        found = self.none_needed.get(destination)
        if found is None:
            reason = Reason("info", f"{destination} is in {self.free_flow_name}: not a restricted transfer, "
                                    f"no transfer tool needed", self.law.transfer)
            verdict = RegimeAssessment(self.code, False, "none_needed", "covered", self.law.transfer, (reason,),
                                       NO_TIA, (), ())
            found = self.none_needed[destination] = (verdict, (verdict,))
        return found


def _until_key(instrument: AdequacyInstrument) -> tuple[bool, date]:
    return (instrument.valid_until is None, instrument.valid_until or date.min)


def _coverage_end(instrument: AdequacyInstrument, siblings: list[AdequacyInstrument]) -> Optional[date]:
    """The last day adequacy for the destination runs on without a break, following successors."""
    end = instrument.valid_until
    moved = True
    while end is not None and moved:
        moved = False
        for other in siblings:
            if other.valid_from <= end + timedelta(days=1) and (other.valid_until is None or other.valid_until > end):
                end, moved = other.valid_until, True
                break
    return end


class _LawIndex:
    def __init__(self, law: CountryData):
        self.law = law
        self.regimes = {code: _RegimeIndex(regime) for code, regime in law.regimes.items()}


_INDEXES: dict[int, _LawIndex] = {}


def _index(law: CountryData) -> _LawIndex:
    """The index of `law`, built on first use (keyed by id, checked by identity)."""
    found = _INDEXES.get(id(law))
    if found is None or found.law is not law:
        if len(_INDEXES) > 8:
            _INDEXES.clear()
        found = _INDEXES[id(law)] = _LawIndex(law)
    return found
