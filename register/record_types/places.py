"""Regions of the register's own: a code, a name and member countries (register/regions.py); the law's
regions (EEA, EU, WORLD) are built in and shown beside them in every place chooser."""

from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.validators import Optional as OptionalValue

from .. import countries
from ..forms import RecordForm
from ..models import Region
from .base import Column, RecordType, link
from .fields import country_choices


class RegionForm(RecordForm):
    code = StringField("Code (e.g. APAC, AWS-EU-CENTRAL-1: what routes and imports name it by)",
                       validators=[DataRequired(), Length(max=32)])
    name = StringField("Name (what the processor list says, e.g. Asia-Pacific)", validators=[DataRequired(), Length(max=200)])
    country_codes = SelectMultipleField("Countries (a route there is assessed as its worst country)",
                                        choices=country_choices(None), validate_choice=False)
    notes = TextAreaField("Notes", validators=[OptionalValue()])


def _region_to_values(form: RegionForm) -> dict:
    return {"code": (form.code.data or "").strip().upper(), "name": form.name.data,
            "country_codes": ",".join(form.country_codes.data or []), "notes": form.notes.data}


def _region_to_form(region: Region) -> dict:
    return {"code": region.code, "name": region.name, "country_codes": list(region.member_codes), "notes": region.notes}


def _members(region: Region) -> str:
    codes = region.member_codes
    shown = ", ".join(countries.country_name(code) for code in codes[:8])
    return f"{shown}{f' and {len(codes) - 8} more' if len(codes) > 8 else ''}"


REGION_PAGES = RecordType(
    name="regions", title="Regions", singular="region", model=Region, form=RegionForm,
    fieldsets=[("A named set of countries a route's destination or a processing location may be", [
        "code", "name", "country_codes", "notes"])],
    columns=[
        Column("Code", lambda r: link(r.code, REGION_PAGES.view_url(r.id)), Region.code, "code"),
        Column("Name", lambda r: r.name, Region.name, "name"),
        Column("Countries", _members),
    ],
    search=[Region.code, Region.name], default_sort="code", can_retire=False,
    to_values=_region_to_values, to_form=_region_to_form,
)

ALL_PAGES = [REGION_PAGES]
