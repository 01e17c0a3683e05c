"""Vendor statements: what a vendor states about its transfers (mechanism, DPF listing), with its source
and date. Evidence to verify, never an instrument (register/rules/assess.py reads it as attention)."""

from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from ..bulk import get_record
from ..models import Engagement, PartyKind, StatedMechanism, VendorStatement
from .checks import _party
from .spec import SPECS, Errors, Spec, _add

STATING_KINDS = (PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY)


def _validate_statement(sess: Session, record: Any, values: dict, errors: Errors) -> None:
    _party(sess, errors, values, "party_id", STATING_KINDS)
    engagement_id = values.get("engagement_id")
    if engagement_id is not None:
        engagement = get_record(sess, Engagement, engagement_id)
        if engagement is None:
            _add(errors, "engagement_id", f"No engagement with id {engagement_id}.")
        elif values.get("party_id") is not None and engagement.engaged_id != values["party_id"]:
            _add(errors, "engagement_id", "The engagement must be one of the vendor that states it (the party engaged).")
    mechanism = values.get("mechanism")
    if mechanism == StatedMechanism.OTHER and not values.get("stated_text"):
        _add(errors, "stated_text", "Give the vendor's own words for a mechanism the register does not know.")
    if values.get("dpf_framework") is not None and mechanism is not None and mechanism != StatedMechanism.DPF:
        _add(errors, "dpf_framework", "A DPF framework is named only for a DPF statement.")
    url = values.get("source_url")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            _add(errors, "source_url", "Give a web address starting with http:// or https://.")
    stated_on = values.get("stated_on")
    if stated_on is not None and stated_on > date.today():
        _add(errors, "stated_on", "The source's date cannot be in the future.")


SPECS.update(
    {
        VendorStatement: Spec(
            VendorStatement,
            validate=_validate_statement,
            required=("party_id", "mechanism", "source", "stated_on"),
        ),
    }
)
