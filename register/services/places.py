"""Regions of the register's own: a code, a name and member countries (register/regions.py). The
law's regions (EEA, EU, WORLD) are built in and cannot be written. A region in use (a route's
destination, a processing location) keeps its code and cannot be deleted."""

from typing import Any, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import countries, regions
from ..bulk import bulk_of
from ..models import EngagementLocation, Region, TransferRoute
from .codes import ACCEPTED
from .spec import SPECS, Errors, Spec, _add

def uses(sess: Session, code: str) -> int:
    """How many routes and processing locations name the region."""
    routes = sess.scalar(select(func.count()).select_from(TransferRoute).where(TransferRoute.destination_country == code))
    locations = sess.scalar(select(func.count()).select_from(EngagementLocation).where(EngagementLocation.country_code == code))
    return (routes or 0) + (locations or 0)


def _validate_region(sess: Session, record: Optional[Region], values: dict, errors: Errors) -> None:
    code = values.get("code")
    if isinstance(code, str):
        if not regions.CODE_PATTERN.match(code):
            _add(errors, "code", "Give a code of 3 to 32 upper-case letters, digits or hyphens (e.g. APAC, AWS-EU-CENTRAL-1).")
        elif code in regions.BUILTIN_CODES or code in regions.REGION_ALIASES:
            _add(errors, "code", f"{code} is one of the law's regions, built in: choose another code.")
        elif countries.is_organisation(code):
            _add(errors, "code", f"{code} is an international organisation's code: choose another code.")
        elif record is not None and record.code != code and bulk_of(sess) is None and uses(sess, record.code):
            _add(errors, "code", f"{record.code} is in use (routes or processing locations name it): its code cannot change.")
        else:
            query = select(Region.id).where(Region.code == code)
            if record is not None and record.id is not None:
                query = query.where(Region.id != record.id)
            if bulk_of(sess) is None and sess.scalar(query.limit(1)) is not None:
                _add(errors, "code", f"A region with the code {code} already exists.")
    members = values.get("country_codes")
    if isinstance(members, str):
        codes = [part for part in members.split(",") if part]
        unknown = [part for part in codes if not countries.is_country(part)]
        if unknown:
            _add(errors, "country_codes", f"Unknown country code(s) {', '.join(unknown)}: give {ACCEPTED}.")
        elif not codes:
            _add(errors, "country_codes", "Give the region's countries.")


def refuse_delete(sess: Session, record: Region) -> Optional[str]:
    count = uses(sess, record.code)
    if count:
        return (f"{record.label} is in use ({count} route destination(s) or processing location(s) name it): "
                f"change them to another place before deleting it.")
    return None


SPECS[Region] = Spec(Region, validate=_validate_region, required=("code", "name", "country_codes"),
                     refuse_delete=refuse_delete)
