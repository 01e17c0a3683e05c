"""What every transfer tool's check works with: the route on the assessment date, with the instruments
that count on it, and a tool that holds with its own findings (docs/transfer-law.md, sections 4 and 9).

An instrument counts only while its status is "active", from its signing day (an unknown signing day
does not hold it back) until its termination. Routes are assessed whatever their own status (proposed,
active, retired): the app shows the lifecycle separately.
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from .facts import InstrumentFacts, RouteFacts
from .verdicts import _RANK, Reason, _reason


class _Candidate:
    """A tool that holds for one regime, with its own findings (before the TIA)."""

    __slots__ = ("mechanism", "reference", "reasons", "ids", "adequacy_id", "notes", "risks", "precedence", "own")

    def __init__(self, mechanism: str, reference: str, precedence: int, ids: tuple[int, ...] = ()):
        self.mechanism = mechanism
        self.reference = reference
        self.precedence = precedence
        self.ids = ids
        self.reasons: list[Reason] = []
        self.adequacy_id: Optional[str] = None
        self.notes: list[str] = []
        self.risks: list[tuple[str, str, str]] = []  # an adequacy decision's future risks: text, reference, advice
        self.own = 1  # rank of its worst own finding

    def add(self, severity: str, text: str, reference: str) -> None:
        self.reasons.append(_reason(severity, text, reference))
        if _RANK[severity] > self.own:
            self.own = _RANK[severity]


class _Route:
    """Per-route values shared by its regimes."""

    __slots__ = ("route", "on", "destination", "is_organisation", "usable", "unusable")

    def __init__(self, route: RouteFacts, on: date, destination: Optional[str], is_organisation: bool):
        self.route = route
        self.on = on
        self.destination = destination
        self.is_organisation = is_organisation
        self.usable: Optional[tuple[InstrumentFacts, ...]] = None
        self.unusable: tuple[str, ...] = ()

    def instruments(self) -> tuple[InstrumentFacts, ...]:
        """The route's instruments that count on the date (sorting the others out once)."""
        if self.usable is None:
            on, usable, unusable = self.on, [], []
            for instrument in self.route.instruments:
                if instrument.status != "active":
                    unusable.append(f"{_label(instrument)} is {instrument.status}: not counted")
                elif instrument.signed_on is not None and instrument.signed_on > on:
                    unusable.append(f"{_label(instrument)} is signed only on {instrument.signed_on}")
                elif instrument.terminated_on is not None and instrument.terminated_on <= on:
                    unusable.append(f"{_label(instrument)} was terminated on {instrument.terminated_on}")
                else:
                    usable.append(instrument)
            self.usable, self.unusable = tuple(usable), tuple(unusable)
        return self.usable


def _label(instrument: InstrumentFacts) -> str:
    return f"{instrument.title or instrument.kind} (#{instrument.id})"
