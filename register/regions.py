"""Regions: named sets of countries a processing location or a route's destination may be.

The law's regions are built in and read-only, derived from data/countries.yaml: EEA (the EU regime's
free-flow area, its states and territories) and EU (the same without the three EEA EFTA states);
WORLD ("Worldwide": every country the register knows, ISO 3166-1). The register's users add their
own (the `regions` table: "APAC", "AWS eu-central-1") through the services. The rules assess a route
to a region as its worst member country (register/rules/assess.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import countries
from .models import Region
from .rules import RegionFacts

# The EEA EFTA states: in the EEA Agreement, not the EU (EEA Agreement, Art. 2; Protocol 1).
_EEA_EFTA = frozenset({"IS", "LI", "NO"})
BUILTIN_CODES = ("EEA", "EU", "WORLD")
# Other names of a built-in region, taken on every path (a typed code, an import cell, the API).
REGION_ALIASES = {"WORLDWIDE": "WORLD", "GLOBAL": "WORLD"}
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")


@dataclass(frozen=True)
class RegionInfo:
    """A region as the surfaces show it."""

    code: str
    name: str
    countries: tuple[str, ...]
    is_builtin: bool = False

    @property
    def facts(self) -> RegionFacts:
        return RegionFacts(code=self.code, name=self.name, countries=self.countries)


_BUILTINS: dict[int, tuple[countries.CountryData, dict[str, RegionInfo]]] = {}


def builtin_regions(law: Optional[countries.CountryData] = None) -> dict[str, RegionInfo]:
    """EEA, EU and WORLD, from the law file (built once per file)."""
    law = law or countries.current()
    known = _BUILTINS.get(id(law))
    if known is None or known[0] is not law:
        eea = tuple(sorted(law.regimes["EU"].free_flow))
        world = tuple(sorted(country.alpha_2 for country in pycountry.countries))
        found = {
            "EEA": RegionInfo("EEA", "European Economic Area", eea, True),
            "EU": RegionInfo("EU", "European Union", tuple(code for code in eea if code not in _EEA_EFTA), True),
            "WORLD": RegionInfo("WORLD", "Worldwide", world, True),
        }
        _BUILTINS.clear()
        known = _BUILTINS[id(law)] = (law, found)
    return known[1]


def _info(record: Any) -> RegionInfo:
    return RegionInfo(record.code, record.name, tuple(sorted({code.strip() for code in (record.country_codes or "").split(",")
                                                                if code.strip()})))


def all_regions(sess: Session) -> dict[str, RegionInfo]:
    """Every region the register knows, built in first, then the register's own by code."""
    found = dict(builtin_regions())
    for record in sess.execute(select(Region.code, Region.name, Region.country_codes).order_by(Region.code)):
        found[record.code] = _info(record)
    return found


def region(sess: Session, code: Any) -> Optional[RegionInfo]:
    """The region of a code (an alias of a built-in region taken), or None."""
    if not isinstance(code, str):
        return None
    code = region_code(code)
    builtin = builtin_regions().get(code)
    if builtin is not None:
        return builtin
    record = sess.execute(select(Region.code, Region.name, Region.country_codes).where(Region.code == code)).first()
    return _info(record) if record is not None else None


def region_code(value: Any) -> Any:
    """A typed region code as stored: upper case, spaces aside, "Worldwide" / "Global" as WORLD."""
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    return REGION_ALIASES.get(code, code)


def known_codes(sess: Session) -> list[str]:
    """The codes of every region, for messages that name them."""
    return list(all_regions(sess))


def place_names(sess: Session) -> Mapping[str, str]:
    """Region code -> name, for surfaces that name places (a country's name comes from countries)."""
    return {code: info.name for code, info in all_regions(sess).items()}


def place_name(code: Optional[str], names: Optional[Mapping[str, str]] = None, sess: Optional[Session] = None) -> str:
    """A country's, an organisation's or a region's name ("Worldwide", "Asia-Pacific")."""
    if not isinstance(code, str):
        return ""
    if len(code) == 2 or countries.is_organisation(code):
        return countries.country_name(code)
    if names is not None and code in names:
        return names[code]
    builtin = builtin_regions().get(code)
    if builtin is not None:
        return builtin.name
    if sess is not None:
        found = region(sess, code)
        if found is not None:
            return found.name
    return countries.country_name(code)
