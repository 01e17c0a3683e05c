"""Parties: group entities, third parties, clients and international organisations, and their checks."""

from collections.abc import Callable
from typing import Any, Optional

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .. import countries
from ..bulk import bulk_of, get_record, name_key
from ..models import Client, GroupEntity, InternationalOrganisation, Lifecycle, Party, PartyKind, ThirdParty, alias_list
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
    if values.get("parent_id") is not None:
        _parent(sess, record, values["parent_id"], errors)
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


def _parent(sess: Session, record: Optional[Party], parent_id: int, errors: Errors) -> None:
    """An affiliate's vendor: another third party, live, itself no affiliate (one level: the vendor and its
    local entities, so the list groups each entity under the vendor and no chain of parents can loop)."""
    if record is not None and record.parent_id == parent_id:
        return  # unchanged: a vendor retired since keeps its affiliates
    if record is not None and record.id == parent_id:
        _add(errors, "parent_id", "A third party cannot be its own parent.")
        return
    parent = get_record(sess, Party, parent_id)
    if parent is None:
        _add(errors, "parent_id", f"No party with id {parent_id}.")
    elif parent.kind != PartyKind.THIRD_PARTY:
        _add(errors, "parent_id", f"{parent.legal_name} is a {parent.kind.label.lower()}; an affiliate's parent is a third party.")
    elif parent.status == Lifecycle.RETIRED:
        _add(errors, "parent_id", f"{parent.legal_name} is retired: choose the vendor's live record.")
    elif parent.parent_id is not None:
        _add(errors, "parent_id", f"{parent.legal_name} is itself an affiliate (of {_name(sess, parent.parent_id)}): "
                                  f"choose the vendor it belongs to.")
    elif record is not None and _has_affiliates(sess, record.id):
        _add(errors, "parent_id", f"{record.legal_name} has affiliates of its own: it is a vendor, not an affiliate.")


def _name(sess: Session, party_id: int) -> str:
    party = get_record(sess, Party, party_id)
    return party.legal_name if party is not None else f"#{party_id}"


def _has_affiliates(sess: Session, party_id: int) -> bool:
    bulk = bulk_of(sess)
    if bulk is not None and any(isinstance(kept, Party) and kept.parent_id == party_id for kept in bulk.kept.values()):
        return True  # written by this unit, not yet in the database
    with sess.no_autoflush:
        return sess.scalar(select(Party.id).where(Party.parent_id == party_id).limit(1)) is not None


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
         "is_subject_to_gdpr_art3_2", "is_in_subject_list", "parent_id", "notes"}
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
