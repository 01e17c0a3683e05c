"""Parties: group entities, third parties, clients and international organisations, and their checks."""

from collections.abc import Callable
from typing import Any, Optional

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .. import countries
from ..bulk import bulk_of, name_key
from ..models import Client, GroupEntity, InternationalOrganisation, Party, PartyKind, ThirdParty, alias_list
from .checks import _country, _email, _ordered
from .spec import SPECS, Errors, Spec, _add, column_fields


NAME_KEY_LENGTH = Party.__table__.c.name_key.type.length


def _validate_party(sess: Session, record: Optional[Party], values: dict, errors: Errors) -> None:
    kind = values.get("kind") or (record.kind if record is not None else None)
    if kind == PartyKind.INTERNATIONAL_ORGANISATION:
        if values.get("country_code"):
            _add(errors, "country_code", "An international organisation is a destination of its own, not a country.")
        code = values.get("organisation_code")
        if not code:
            _add(errors, "organisation_code", "This field is required.")
        elif not countries.is_organisation(code):
            _add(errors, "organisation_code", f"Unknown international organisation {code!r} (see data/countries.yaml).")
    else:
        _country(errors, values, "country_code")
        if values.get("organisation_code"):
            _add(errors, "organisation_code", "Only international organisations have an organisation code.")
    for key in ("contact_email", "dpo_email"):
        _email(errors, values, key)
    _ordered(errors, values, "starts_on", "ends_on", "The end date cannot be before the start date.")
    _ordered(errors, values, "vetting_last_review_on", "vetting_next_review_on", "The next review cannot be before the last one.")
    for alias in alias_list(values.get("aliases")):
        if len(alias) > 300:
            _add(errors, "aliases", "Each name is at most 300 characters (one name per line).")
            break
    if values.get("notice_period_days") is not None and values["notice_period_days"] < 0:
        _add(errors, "notice_period_days", "The notice period cannot be negative.")
    if values.get("legal_name") and len(name_key(values["legal_name"])) > NAME_KEY_LENGTH:
        # Case folding can lengthen a name ("ß" -> "ss"): its key must still fit its column.
        _add(errors, "legal_name", f"Too long once compared without case: at most {NAME_KEY_LENGTH} characters.")
    if values.get("legal_name") and not errors:
        country = values.get("country_code")
        bulk = bulk_of(sess)
        if bulk is not None:
            if bulk.name_taken(kind, name_key(values["legal_name"]), country, record.id if record is not None else None):
                _add(errors, "legal_name", "A record with this legal name already exists in this country.")
            return
        query = select(Party.id).where(
            Party.kind == kind,
            Party.name_key == name_key(values["legal_name"]),
            Party.country_code.is_(None) if country is None else Party.country_code == country,
        )
        if record is not None:
            query = query.where(Party.id != record.id)
        if sess.scalar(query.limit(1)) is not None:
            _add(errors, "legal_name", "A record with this legal name already exists in this country.")


PARTY_FIELDS_BY_KIND: dict[PartyKind, frozenset[str]] = {
    PartyKind.GROUP_ENTITY: frozenset(
        {"legal_name", "trading_name", "aliases", "country_code", "registration_number", "address", "website",
         "contact_name", "contact_email", "dpo_name", "dpo_email", "is_controller", "is_processor",
         "status", "starts_on", "ends_on", "notes"}
    ),
    PartyKind.THIRD_PARTY: frozenset(
        {"legal_name", "trading_name", "aliases", "country_code", "registration_number", "address", "website",
         "contact_name", "contact_email", "dpo_name", "dpo_email", "status", "starts_on", "ends_on",
         "vetting_status", "vetting_last_review_on", "vetting_next_review_on", "vetting_notes",
         "is_subject_to_gdpr_art3_2", "is_in_subject_list", "notes"}
    ),
    PartyKind.CLIENT: frozenset(
        {"legal_name", "trading_name", "country_code", "registration_number", "address", "website",
         "contact_name", "contact_email", "dpo_name", "dpo_email", "status", "starts_on", "ends_on",
         "notice_period_days", "notes"}
    ),
    PartyKind.INTERNATIONAL_ORGANISATION: frozenset(
        {"legal_name", "trading_name", "organisation_code", "address", "website", "contact_name",
         "contact_email", "status", "starts_on", "ends_on", "notes"}
    ),
}


def _party_validator(kind: PartyKind) -> Callable[[Session, Any, dict, Errors], None]:
    allowed = PARTY_FIELDS_BY_KIND[kind]

    def validate(sess: Session, record: Any, values: dict, errors: Errors) -> None:
        for key, value in values.items():
            if key not in allowed and key in column_fields(Party) and value not in (None, False):
                if record is None or getattr(record, key) != value:
                    _add(errors, key, f"Not a field of a {kind.label.lower()}.")
        _validate_party(sess, record, {**values, "kind": kind}, errors)

    return validate


def _party_spec(model: type, kind: PartyKind) -> Spec:
    return Spec(model=model, validate=_party_validator(kind), required=("legal_name",), fixed=frozenset({"kind"}))


@event.listens_for(Party, "before_insert", propagate=True)
@event.listens_for(Party, "before_update", propagate=True)
def _keep_name_key(_mapper, _connection, party: Party) -> None:
    party.name_key = name_key(party.legal_name)


SPECS.update(
    {
        GroupEntity: _party_spec(GroupEntity, PartyKind.GROUP_ENTITY),
        ThirdParty: _party_spec(ThirdParty, PartyKind.THIRD_PARTY),
        Client: _party_spec(Client, PartyKind.CLIENT),
        InternationalOrganisation: _party_spec(InternationalOrganisation, PartyKind.INTERNATIONAL_ORGANISATION),
    }
)
