"""Country codes as every write path takes them: the ISO 3166-1 alpha-2 code, or a common alias of one.

One rule for the form, the API, the CLI and the import: "UK" (the United Kingdom's usual code, its
ISO code is GB) and "EL" (Greece's code in EU usage, ISO GR) are accepted and stored as the ISO code,
case and spaces aside. Anything else that is not an ISO code is refused by the checks.
"""

import re
from typing import Any, Optional

from .. import countries, regions

# Codes in common use that are not the ISO code of their country: the alias -> the ISO code stored.
CODE_ALIASES = {"UK": "GB", "EL": "GR"}
# The columns holding a country code (a write normalises them before its checks).
COUNTRY_FIELDS = frozenset({"country_code", "destination_country"})
# The columns holding a place: a country's code or a region's ("WORLD", "EEA", the register's own).
PLACE_FIELDS = frozenset({"destination_country"})
ACCEPTED = "an ISO 3166-1 alpha-2 code (e.g. FR); UK and EL are taken as GB and GR"


def country_code(value: Any) -> Any:
    """The ISO code a typed country code means (upper case, an alias resolved); anything else unchanged,
    for the checks to refuse."""
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    code = CODE_ALIASES.get(code, code)
    return code if countries.is_country(code) else value


def is_country_code(value: Any) -> bool:
    """Whether a typed value is a country code the register accepts (ISO, or an alias of one)."""
    return countries.is_country(country_code(value))


def place_code(value: Any) -> Any:
    """A typed place as stored: a country's ISO code (an alias resolved), else a region's code in upper
    case ("Worldwide" and "Global" are WORLD); the checks refuse a code no country or region has."""
    if not isinstance(value, str):
        return value
    code = country_code(value)
    return code if countries.is_country(code) else regions.region_code(value)


def normalised(key: str, value: Any) -> Any:
    """A written value of a country or place column as stored."""
    if key in PLACE_FIELDS:
        return place_code(value)
    if key == "country_codes":  # a region's members
        return member_codes(value)
    return country_code(value) if key in COUNTRY_FIELDS else value


def unknown_place(sess: Any, code: Any) -> Optional[str]:
    """Why a place code is refused (None: a country or a region the register knows)."""
    if is_country_code(code) or regions.region(sess, place_code(code)) is not None:
        return None
    return (f"Unknown country or region code {code!r}: give {ACCEPTED}, or a region's code "
            f"({', '.join(regions.known_codes(sess))}).")


_SEPARATORS = re.compile(r"[,;\s]+")


def member_codes(value: Any) -> Any:
    """A region's member countries as stored: ISO codes, sorted, comma-separated ("in, au; UK" ->
    "AU,GB,IN"); a list is taken too. What is not a country is kept for the checks to refuse."""
    if isinstance(value, (list, tuple)):
        value = ",".join(str(item) for item in value)
    if not isinstance(value, str):
        return value
    codes = {country_code(part) for part in _SEPARATORS.split(value) if part.strip()}
    return ",".join(sorted(str(code).upper() for code in codes))
