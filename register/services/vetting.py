"""Vetting records: a vendor's certificates and DPF entries, scope facts, and the routes' transfer impact assessments."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from .. import countries
from ..bulk import record_exists
from ..models import Certificate, DpfCertification, PartyKind, ScopeFact, TransferImpactAssessment, TransferRoute
from .checks import _ordered, _party
from .spec import SPECS, Errors, Spec, _add


def _validate_owned_by_third_party(key: str) -> Callable[[Session, Any, dict, Errors], None]:
    def validate(sess: Session, record: Any, values: dict, errors: Errors) -> None:
        _party(sess, errors, values, key, (PartyKind.THIRD_PARTY,))
        _ordered(errors, values, "issued_on", "expires_on", "The expiry cannot be before the issue date.")

    return validate


def _validate_scope_fact(sess: Session, record: Any, values: dict, errors: Errors) -> None:
    _party(sess, errors, values, "party_id", (PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY, PartyKind.CLIENT))
    if values.get("fact_key") and not countries.is_scope_fact(values["fact_key"]):
        _add(errors, "fact_key", f"Unknown scope condition {values['fact_key']!r} (see data/countries.yaml).")


def _validate_tia(sess: Session, record: Any, values: dict, errors: Errors) -> None:
    if values.get("route_id") is not None and not record_exists(sess, TransferRoute, values["route_id"]):
        _add(errors, "route_id", f"No route with id {values['route_id']}.")
    _ordered(errors, values, "assessed_on", "next_review_on", "The next review cannot be before the assessment.")


SPECS.update(
    {
        Certificate: Spec(
            Certificate,
            validate=_validate_owned_by_third_party("third_party_id"),
            required=("third_party_id", "edition", "certificate_number", "certification_body", "issued_on", "expires_on"),
        ),
        DpfCertification: Spec(
            DpfCertification,
            validate=_validate_owned_by_third_party("third_party_id"),
            required=("third_party_id", "framework", "certified_entity_name"),
        ),
        ScopeFact: Spec(ScopeFact, validate=_validate_scope_fact, required=("party_id", "fact_key", "answer")),
        TransferImpactAssessment: Spec(
            TransferImpactAssessment,
            validate=_validate_tia,
            required=("route_id", "assessed_on", "outcome"),
        ),
    }
)
