"""Country codes as every write path takes them: the ISO 3166-1 alpha-2 code, or a common alias of one.

One rule for the form, the API, the CLI and the import: "UK" (the United Kingdom's usual code, its
ISO code is GB) and "EL" (Greece's code in EU usage, ISO GR) are accepted and stored as the ISO code,
case and spaces aside. Anything else that is not an ISO code is refused by the checks.
"""

from typing import Any

from .. import countries

# Codes in common use that are not the ISO code of their country: the alias -> the ISO code stored.
CODE_ALIASES = {"UK": "GB", "EL": "GR"}
# The columns holding a country code (a write normalises them before its checks).
COUNTRY_FIELDS = frozenset({"country_code", "destination_country"})
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
