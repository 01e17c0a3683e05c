"""Countries as people type them in a spreadsheet: ISO code, English name, or a known alias.

The aliases live in data/country_aliases.yaml; they are checked against pycountry when first used,
and a bad entry stops the import naming the alias. A value that could mean several countries is
refused, naming the candidates; so is an unknown one.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import pycountry
import yaml

from .. import countries
from ..config import PROJECT_ROOT
from ..services.codes import country_code

ALIASES_FILE = PROJECT_ROOT / "data" / "country_aliases.yaml"


class AliasFileError(ValueError):
    """data/country_aliases.yaml is malformed or names a code that is not a country."""


def normalise(text: str) -> str:
    """Compare names as people mean them: case, accents, dots, "the" and extra spaces ignored."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    plain = plain.replace(".", "").replace("\u2019", "'")
    words = plain.split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


@dataclass(frozen=True)
class CountryIndex:
    by_name: dict[str, str]
    ambiguous: dict[str, tuple[str, ...]]


def load_aliases(path: Path = ALIASES_FILE) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The alias table, checked: every code must be an ISO 3166-1 alpha-2 country."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise AliasFileError(f"{path.name}: cannot be read ({error})") from None
    aliases, ambiguous = {}, {}
    for alias, code in (document.get("aliases") or {}).items():
        if not isinstance(code, str) or not countries.is_country(code):
            raise AliasFileError(f"{path.name}: alias {alias!r} names {code!r}, not an ISO 3166-1 alpha-2 country")
        aliases[str(alias)] = code.upper()
    for alias, codes in (document.get("ambiguous") or {}).items():
        if not isinstance(codes, list) or len(codes) < 2 or not all(countries.is_country(code) for code in codes):
            raise AliasFileError(f"{path.name}: ambiguous {alias!r} must list two or more country codes")
        ambiguous[str(alias)] = tuple(code.upper() for code in codes)
    return aliases, ambiguous


@lru_cache(maxsize=1)
def index() -> CountryIndex:
    by_name: dict[str, str] = {}
    for country in pycountry.countries:
        for name in (country.name, getattr(country, "common_name", None), getattr(country, "official_name", None),
                     country.alpha_3):
            if name:
                by_name.setdefault(normalise(name), country.alpha_2)
    aliases, ambiguous = load_aliases()
    for alias, code in aliases.items():
        by_name[normalise(alias)] = code
    ambiguous_keys = {normalise(alias): codes for alias, codes in ambiguous.items()}
    for key in ambiguous_keys:
        by_name.pop(key, None)
    return CountryIndex(by_name, ambiguous_keys)


def resolve(value: str, *, organisations: bool = False) -> tuple[Optional[str], Optional[str]]:
    """(code, None) for a country (or, when allowed, an international organisation's id); else (None, error)."""
    text = " ".join(str(value).split())
    if not text:
        return None, None
    law = countries.current()
    if organisations:
        for organisation in law.organisations.values():
            if text.upper() == organisation.id.upper() or normalise(text) == normalise(organisation.name):
                return organisation.id, None
    if len(text) == 2 and countries.is_country(country_code(text)):
        return country_code(text), None  # an ISO code, or UK / EL: the same rule as the form and the API
    labelled = re.fullmatch(r"(.+?)\s*\(([A-Za-z]{2})\)", text)  # "Congo (CG)", as the template lists it
    if labelled and countries.is_country(labelled.group(2)):
        return labelled.group(2).upper(), None
    found = index()
    key = normalise(text)
    if key in found.ambiguous:
        options = " or ".join(f"{countries.country_name(code)} ({code})" for code in found.ambiguous[key])
        return None, f"{text!r} is ambiguous: it could be {options}; give the ISO code."
    if key in found.by_name:
        return found.by_name[key], None
    what = "country or international organisation" if organisations else "country"
    return None, f"Unknown {what} {text!r}: give an ISO code (e.g. FR) or the country's English name."
