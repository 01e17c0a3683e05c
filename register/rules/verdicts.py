"""What the rules return: findings with the article or decision they rest on (`Reason`), a route's
verdict per regime and as a whole, a vendor's vetting, and the vocabulary of statuses, severities and
mechanisms the app filters on (docs/transfer-law.md, section 9).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Optional

from .facts import CertificateFacts, TiaFacts


SEVERITIES = ("info", "attention", "gap")
# Best to worst; out_of_scope is "not assessed" and sorts before everything.
STATUSES = ("out_of_scope", "covered", "attention", "gap")
MECHANISMS = ("none_needed", "adequacy", "bcr", "scc", "uk_idta", "uk_addendum", "ch_scc", "derogation",
              "code_of_conduct", "certification", "none")


_RANK = {"out_of_scope": 0, "covered": 1, "info": 1, "attention": 2, "gap": 3}
_STATUS_OF = {"info": "covered", "attention": "attention", "gap": "gap"}


def rank(value: str) -> int:
    """Sort key of a status or severity: out_of_scope < covered = info < attention < gap."""
    return _RANK[value]


def worst(values: Iterable[str]) -> str:
    """The worst of some statuses or severities, as a status (covered when there are none)."""
    found = "covered"
    for value in values:
        if _RANK[value] > _RANK[found]:
            found = _STATUS_OF.get(value, value)
    return found


@dataclass(frozen=True, slots=True)
class Reason:
    """One finding, with the article or decision it rests on."""

    severity: str  # info / attention / gap
    text: str
    reference: str

    def __str__(self) -> str:
        return f"{self.text} ({self.reference})"


@dataclass(frozen=True, slots=True)
class TiaState:
    """Whether a TIA is required for the mechanism relied on, and the TIA relied on."""

    required: bool
    done: bool
    overdue: bool
    tia: Optional[TiaFacts] = None


@dataclass(frozen=True, slots=True)
class RegimeAssessment:
    """A route's verdict under one regime."""

    regime: str
    restricted: bool
    mechanism: str
    status: str
    legal_reference: str
    reasons: tuple[Reason, ...]
    tia: TiaState
    review_notes: tuple[str, ...]
    instrument_ids: tuple[int, ...]
    adequacy_id: Optional[str] = None
    # Tools present as a fallback to an at-risk or expiring adequacy decision (not relied on).
    fallback_instrument_ids: tuple[int, ...] = ()
    # For a route to a region: the member country whose verdict this is (the worst of them).
    deciding_country: Optional[str] = None


@dataclass(frozen=True, slots=True)
class RouteAssessment:
    """A route's verdict: one assessment per regime of its data, and the route-wide findings."""

    route_id: int
    status: str
    regimes: tuple[RegimeAssessment, ...]
    reasons: tuple[Reason, ...]
    breaks_notice_promise: bool
    special_category_without_basis: bool

    def regime(self, code: str) -> Optional[RegimeAssessment]:
        """The assessment under regime `code`, or None when the route carries no such data."""
        for assessment in self.regimes:
            if assessment.regime == code:
                return assessment
        return None

    @property
    def review_notes(self) -> tuple[str, ...]:
        """Every regime's review notes, once each."""
        return tuple(dict.fromkeys(note for assessment in self.regimes for note in assessment.review_notes))


@dataclass(frozen=True, slots=True)
class VettingAssessment:
    """A vendor's ISO/IEC 27001 vetting on a date."""

    state: str  # one of VETTING_STATES
    certificate: Optional[CertificateFacts]
    review_overdue: bool
    rejected: bool
    status: str  # covered / attention
    reasons: tuple[Reason, ...]


NO_TIA = TiaState(required=False, done=False, overdue=False)


# Verdicts are made by the hundred thousand: these build the frozen dataclasses field by field through
# their slots, the same objects in less than half the time of the generated __init__ (which goes
# through object.__setattr__ for each field). Every field is passed, in declaration order.
_new = object.__new__


def _slot_setters(cls: type) -> tuple:
    return tuple(getattr(cls, item.name).__set__ for item in dataclasses.fields(cls))


_REASON_FIELDS = _slot_setters(Reason)
_REGIME_ASSESSMENT_FIELDS = _slot_setters(RegimeAssessment)
_ROUTE_ASSESSMENT_FIELDS = _slot_setters(RouteAssessment)


def _reason(severity: str, text: str, reference: str) -> Reason:
    """Reason(severity, text, reference)."""
    reason = _new(Reason)
    set_severity, set_text, set_reference = _REASON_FIELDS
    set_severity(reason, severity)
    set_text(reason, text)
    set_reference(reason, reference)
    return reason


def _regime_assessment(regime: str, restricted: bool, mechanism: str, status: str, legal_reference: str,
                       reasons: tuple[Reason, ...], tia: TiaState, review_notes: tuple[str, ...],
                       instrument_ids: tuple[int, ...], adequacy_id: Optional[str],
                       fallback_instrument_ids: tuple[int, ...], deciding_country: Optional[str] = None) -> RegimeAssessment:
    """RegimeAssessment(...) with every field."""
    assessment = _new(RegimeAssessment)
    (set_regime, set_restricted, set_mechanism, set_status, set_legal_reference, set_reasons, set_tia,
     set_review_notes, set_instrument_ids, set_adequacy_id, set_fallback_instrument_ids,
     set_deciding_country) = _REGIME_ASSESSMENT_FIELDS
    set_regime(assessment, regime)
    set_restricted(assessment, restricted)
    set_mechanism(assessment, mechanism)
    set_status(assessment, status)
    set_legal_reference(assessment, legal_reference)
    set_reasons(assessment, reasons)
    set_tia(assessment, tia)
    set_review_notes(assessment, review_notes)
    set_instrument_ids(assessment, instrument_ids)
    set_adequacy_id(assessment, adequacy_id)
    set_fallback_instrument_ids(assessment, fallback_instrument_ids)
    set_deciding_country(assessment, deciding_country)
    return assessment


def _route_assessment(route_id: int, status: str, regimes: tuple[RegimeAssessment, ...], reasons: tuple[Reason, ...],
                      breaks_notice_promise: bool, special_category_without_basis: bool) -> RouteAssessment:
    """RouteAssessment(...) with every field."""
    assessment = _new(RouteAssessment)
    set_route_id, set_status, set_regimes, set_reasons, set_promise, set_basis = _ROUTE_ASSESSMENT_FIELDS
    set_route_id(assessment, route_id)
    set_status(assessment, status)
    set_regimes(assessment, regimes)
    set_reasons(assessment, reasons)
    set_promise(assessment, breaks_notice_promise)
    set_basis(assessment, special_category_without_basis)
    return assessment
