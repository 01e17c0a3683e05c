"""The transfer law: pure functions on plain values (no Flask, no database; dates passed in).

Every judgement returns its reasons with the legal reference. Views, exports and the API only show
what this module decides.
"""

from dataclasses import dataclass

from .countries import CountryData

REGIME_HOMES = {"EU": "the EEA", "UK": "the United Kingdom", "CH": "Switzerland"}


@dataclass(frozen=True)
class RegimeOfData:
    regime: str
    reason: str


def first_hop_regimes(exporter_country: str | None, law: CountryData) -> list[RegimeOfData]:
    """The regimes whose data a first-hop route carries: those of the exporter's establishment.

    Art. 3(1) GDPR / UK GDPR; FADP Art. 3: data exported from an establishment in a regime's area
    carries that regime. An onward transfer instead inherits the regimes of its source route
    (Art. 44 GDPR "including onward transfers").
    """
    if not exporter_country:
        return []
    found = []
    for code, regime in law.regimes.items():
        if regime.is_free_flow(exporter_country):
            found.append(RegimeOfData(code, f"The exporter is established in {REGIME_HOMES.get(code, regime.name)} "
                                            f"({exporter_country}): its data is under the {regime.name}."))
    return found
