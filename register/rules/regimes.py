"""The three regimes, where their data comes from and where it flows freely: GDPR Art. 3(1) and 44
(EU/EEA), UK GDPR Art. 3(1) and 44, FADP Art. 3 and 16 (Switzerland); onward transfers keep the
regimes of their origin (GDPR Art. 44 "including onward transfers"). Also the articles each regime's
tools rest on (`REGIME_LAW`). docs/transfer-law.md, sections 1 and 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Iterable, Mapping, Optional

from ..countries import CountryData


REGIME_HOMES = {"EU": "the EEA", "UK": "the United Kingdom", "CH": "Switzerland"}


@dataclass(frozen=True)
class RegimeOfData:
    regime: str
    reason: str
    carried: bool = True


def within_free_flow(code: str, law: CountryData) -> bool:
    """Whether a place lies inside one of the regimes' free-flow areas (EEA, UK, Switzerland): data
    processed only there needs no transfer tool (GDPR Art. 44; UK GDPR Art. 44; FADP Art. 16)."""
    return any(regime.is_free_flow(code) for regime in law.regimes.values())


def first_hop_regimes(exporter_country: str | None, law: CountryData) -> list[RegimeOfData]:
    """The regimes whose data a first-hop route carries: those of the exporter's establishment.

    Art. 3(1) GDPR / UK GDPR; FADP Art. 3: data exported from an establishment in a regime's area
    carries that regime. An onward transfer instead inherits the regimes of its source route
    (Art. 44 GDPR "including onward transfers").
    """
    return [item for item in regimes_of_data(exporter_country, law) if item.carried]


def regimes_of_data(exporter_country: str | None, law: CountryData,
                    source: Optional[tuple[int, Iterable[str]]] = None) -> list[RegimeOfData]:
    """For every regime, whether a route's data is under it, and why: an onward transfer (`source`:
    the source route's id and regimes) keeps the regimes of the data it received (Art. 44 GDPR
    "including onward transfers"); a first hop carries those of the exporter's establishment
    (GDPR / UK GDPR Art. 3(1); FADP Art. 3)."""
    found = []
    if source is not None:
        source_id, carried = source[0], frozenset(source[1])
        for code, regime in law.regimes.items():
            if code in carried:
                reason = (f"Onward transfer of route #{source_id}: the data stays under the {regime.name}, as at its "
                          f"origin (Art. 44 GDPR, 'including onward transfers').")
            else:
                reason = f"Onward transfer of route #{source_id}, whose data is not under the {regime.name}."
            found.append(RegimeOfData(code, reason, code in carried))
        return found
    for code, regime in law.regimes.items():
        home = REGIME_HOMES.get(code, regime.name)
        if exporter_country and regime.is_free_flow(exporter_country):
            found.append(RegimeOfData(code, f"The exporter is established in {home} ({exporter_country}): its data "
                                            f"is under the {regime.name}."))
        elif exporter_country:
            found.append(RegimeOfData(code, f"The exporter is established outside {home} ({exporter_country}): a first "
                                            f"hop from it carries no {regime.name} data.", False))
        else:
            found.append(RegimeOfData(code, f"The exporter has no country of establishment: a first hop from it carries "
                                            f"no {regime.name} data.", False))
    return found


REGIMES = ("EU", "UK", "CH")
_REGIME_SET = frozenset(REGIMES)
# Revised FADP and DPO Annex 1 from 2023-09-01: the register encodes no Swiss rules before it.
FADP_REVISED_FROM = date(2023, 9, 1)


@dataclass(frozen=True, slots=True)
class _RegimeLaw:
    """The articles each regime's tools rest on."""

    transfer: str
    bcr: str
    clauses: str
    code_of_conduct: str
    certification: str
    derogation: str
    tia: str
    bcr_approver: str


_LAW = {
    "EU": _RegimeLaw("GDPR Art. 44", "GDPR Art. 47", "GDPR Art. 46(2)(c)", "GDPR Art. 46(2)(e)",
                     "GDPR Art. 46(2)(f)", "GDPR Art. 49",
                     "CJEU C-311/18 (Schrems II); EDPB Recommendations 01/2020",
                     "the lead supervisory authority after an EDPB opinion"),
    "UK": _RegimeLaw("UK GDPR Art. 44", "UK GDPR Art. 47", "UK GDPR Art. 46(2)(d)", "UK GDPR Art. 46(2)(e)",
                     "UK GDPR Art. 46(2)(f)", "UK GDPR Art. 49",
                     "UK GDPR Art. 46 (transfer risk assessment); CJEU C-311/18 (Schrems II)",
                     "the ICO"),
    "CH": _RegimeLaw("FADP Art. 16", "FADP Art. 16(2)(e)", "FADP Art. 16(2)(d)", "FADP Art. 16(3); DPO Art. 12",
                     "FADP Art. 16(3); DPO Art. 12", "FADP Art. 17",
                     "FADP Art. 16(2); CJEU C-311/18 (Schrems II)",
                     "the FDPIC or an authority of a state with adequate protection"),
}
# The articles of each regime, for those who cite them (register/vocabulary.py).
REGIME_LAW: Mapping[str, _RegimeLaw] = MappingProxyType(_LAW)
