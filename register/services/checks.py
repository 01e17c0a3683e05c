"""The checks several record types share: countries, emails, dates in order, lists, parties of a kind."""

import re
from typing import Optional

from sqlalchemy.orm import Session

from ..bulk import get_record
from ..models import Party, PartyKind
from .codes import ACCEPTED, is_country_code, unknown_place
from .spec import Errors, _add


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _country(errors: Errors, values: dict, key: str, required: bool = True) -> None:
    code = values.get(key)
    if code is None:
        if required:
            _add(errors, key, "This field is required.")
        return
    if not is_country_code(code):
        _add(errors, key, f"Unknown country code {code!r}: give {ACCEPTED}.")


def _place(sess: Session, errors: Errors, values: dict, key: str) -> None:
    """A country's or a region's code."""
    problem = unknown_place(sess, values.get(key))
    if problem:
        _add(errors, key, problem)


def _email(errors: Errors, values: dict, key: str) -> None:
    if values.get(key) and not EMAIL.match(values[key]):
        _add(errors, key, "Not a valid email address.")


def _ordered(errors: Errors, values: dict, first: str, then: str, message: str) -> None:
    if values.get(first) and values.get(then) and values[first] > values[then]:
        _add(errors, then, message)


def _is_list(errors: Errors, values: dict, key: str) -> bool:
    """A collection must be given as a list (of ids, codes or objects)."""
    if values.get(key) is None or isinstance(values[key], list):
        return True
    _add(errors, key, "Give a list.")
    return False


def _party(sess: Session, errors: Errors, values: dict, key: str, kinds: tuple[PartyKind, ...]) -> Optional[Party]:
    party_id = values.get(key)
    if party_id is None:
        return None
    party = get_record(sess, Party, party_id)
    if party is None:
        _add(errors, key, f"No party with id {party_id}.")
        return None
    if party.kind not in kinds:
        allowed = " or ".join(kind.label.lower() for kind in kinds)
        _add(errors, key, f"{party.legal_name} is a {party.kind.label.lower()}; expected a {allowed}.")
    return party
