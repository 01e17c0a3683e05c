"""Form fields the record types share: choosers by name for parties and countries."""

import re
from typing import Iterable, Optional

from markupsafe import Markup
from sqlalchemy import func, select
from wtforms import SelectField, StringField, ValidationError
from wtforms import SelectChoice

from .. import countries, regions
from ..extensions import db
from ..models import Party, PartyKind
from ..services.codes import country_code, place_code

ID_SUFFIX = re.compile(r"#(\d+)\s*$")


def party_label(party: Party) -> str:
    """How a party is shown in a chooser: name, location and id (the id makes it unambiguous)."""
    return f"{party.legal_name} ({party.location_code}) #{party.id}"


class PartyField(StringField):
    """A party chosen by typing its name; the page's script suggests matches with their ids.

    Without the script a user types the exact legal name; an ambiguous name asks for the id.
    `data` is the party's id (or None).
    """

    def __init__(self, label: str = "", validators=None, kinds: Iterable[PartyKind] = (), **kwargs):
        super().__init__(label, validators, **kwargs)
        self.kinds = tuple(kinds)
        self.typed = ""

    def _value(self) -> str:
        if self.typed:
            return self.typed
        if self.data:
            party = db.session.get(Party, self.data)
            return party_label(party) if party else ""
        return ""

    def process_data(self, value) -> None:
        self.data = value.id if isinstance(value, Party) else value

    def process_formdata(self, valuelist) -> None:
        self.typed = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.typed:
            return
        match = ID_SUFFIX.search(self.typed)
        query = select(Party)
        if self.kinds:
            query = query.where(Party.kind.in_(self.kinds))
        if match:
            party = db.session.scalar(query.where(Party.id == int(match.group(1))))
            if party is None:
                raise ValueError(f"No {self._kind_words()} with id {match.group(1)}.")
            self.data = party.id
            return
        found = db.session.scalars(query.where(Party.name_key == " ".join(self.typed.split()).casefold()).limit(3)).all()
        if not found:
            raise ValueError(f"No {self._kind_words()} named {self.typed!r}: choose one from the suggestions.")
        if len(found) > 1:
            raise ValueError("Several records have this name: choose one from the suggestions (with its #id).")
        self.data = found[0].id

    def _kind_words(self) -> str:
        return " or ".join(kind.label.lower() for kind in self.kinds) or "party"

    def __call__(self, **kwargs) -> Markup:
        kwargs.setdefault("data-lookup", "parties")
        kwargs.setdefault("data-kinds", ",".join(kind.value for kind in self.kinds))
        kwargs.setdefault("autocomplete", "off")
        kwargs.setdefault("placeholder", "Type a name")
        return super().__call__(**kwargs)


def country_choices(blank: Optional[str] = "Choose a country") -> list[SelectChoice]:
    """Every ISO country by name (the value stays the ISO code)."""
    choices = [SelectChoice(code, label) for code, label in countries.destination_choices() if countries.is_country(code)]
    if blank is not None:
        choices.insert(0, SelectChoice("", blank))
    return choices


def region_choices(optgroup: Optional[str] = "Regions") -> list[SelectChoice]:
    """Every region the register knows (built in first), by name; the value is the region's code."""
    return [SelectChoice(info.code, f"{info.name} (region, {len(info.countries)} countries)", optgroup=optgroup)
            for info in regions.all_regions(db.session()).values()]


def place_choices() -> list[SelectChoice]:
    """Regions, then countries: what a processing location may be."""
    return region_choices() + [SelectChoice(choice.value, choice.label, optgroup="Countries") for choice in country_choices(None)]


class CountryField(SelectField):
    """A country chosen by name; stores the ISO 3166-1 alpha-2 code."""

    def __init__(self, label: str = "", validators=None, blank: str = "Choose a country", **kwargs):
        super().__init__(label, validators, choices=country_choices(blank), validate_choice=False, **kwargs)

    def pre_validate(self, form) -> None:
        if self.data and not countries.is_country(self.data):
            raise ValidationError("Choose a country from the list.")

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        self.data = country_code((self.data or "").strip().upper()) or None  # "UK" is GB, as through the API


class DestinationField(SelectField):
    """A country, a region or an international organisation of the register, chosen by name.

    Values: an ISO code, a region's code, or "io:<party id>". `country` / `organisation_id` give the parts.
    """

    def __init__(self, label: str = "", validators=None, **kwargs):
        super().__init__(label, validators, choices=[], validate_choice=False, **kwargs)

    def load_choices(self) -> None:
        organisations = db.session.scalars(
            select(Party).where(Party.kind == PartyKind.INTERNATIONAL_ORGANISATION).order_by(func.lower(Party.legal_name))
        ).all()
        choices = [SelectChoice("", "Choose a destination")]
        choices += region_choices()
        choices += [SelectChoice(f"io:{party.id}", f"{party.legal_name} (international organisation)", optgroup="International organisations")
                    for party in organisations]
        choices += [SelectChoice(choice.value, choice.label, optgroup="Countries") for choice in country_choices(None)]
        self.choices = choices

    def pre_validate(self, form) -> None:
        if self.data and not (self.data.startswith("io:") or countries.is_country(self.data)
                              or regions.region(db.session(), self.data) is not None):
            raise ValidationError("Choose a destination from the list.")

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        if self.data and not self.data.startswith("io:"):
            self.data = place_code(self.data)  # "UK" is GB, "Worldwide" WORLD, as through the API

    @property
    def country(self) -> Optional[str]:
        return self.data if self.data and not self.data.startswith("io:") else None

    @property
    def organisation_id(self) -> Optional[int]:
        if self.data and self.data.startswith("io:") and self.data[3:].isdigit():
            return int(self.data[3:])
        return None

    @staticmethod
    def value_of(country: Optional[str], organisation_id: Optional[int]) -> str:
        return f"io:{organisation_id}" if organisation_id else (country or "")
