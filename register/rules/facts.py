"""The plain-value inputs the rules take: the parties, instruments, TIAs and routes as the register
records them (register/assessments.py reads them from the database; tests build them by hand).

Dates are as the law counts them (docs/transfer-law.md, section 9): last-day dates are inclusive (an
adequacy decision's `valid_until`, a BCR membership's `bound_to`, a certificate's `expires_on`); event
dates take effect on their day (an instrument terminated, an approval or a certificate withdrawn on D
no longer counts on D).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Mapping, Optional


_FACTS = dict(frozen=True, slots=True, kw_only=True)
_NO_ANSWERS: Mapping[str, str] = MappingProxyType({})


def _no_answers() -> Mapping[str, str]:
    return _NO_ANSWERS


@dataclass(**_FACTS)
class BcrApprovalFacts:
    """An approval of the group's BCR by one regime's authority (Art. 47)."""

    approval_id: int
    regime: str
    bcr_type: str  # bcr_c / bcr_p
    approved_on: date
    withdrawn_on: Optional[date] = None


@dataclass(**_FACTS)
class BcrMembershipFacts:
    """A party bound by an approved BCR from `bound_from` to `bound_to` (inclusive)."""

    approval_id: int
    regime: str
    bcr_type: str
    approved_on: date
    withdrawn_on: Optional[date] = None
    bound_from: date
    bound_to: Optional[date] = None


@dataclass(**_FACTS)
class DpfFacts:
    """A Data Privacy Framework List entry as verified for a party."""

    framework: str  # eu_us / uk_extension / swiss_us
    covers_hr_data: bool = False
    covers_non_hr_data: bool = True
    certified_entity_name: str = ""
    is_active: bool = True
    verified_on: Optional[date] = None


@dataclass(**_FACTS)
class StatementFacts:
    """What a vendor states about its transfers (its sub-processor list, its DPA): evidence, not an instrument.

    `mechanism` is one of scc / uk_idta / uk_addendum / dpf / adequacy / bcr / code_of_conduct /
    certification / other; `regime` None means every regime of the route's data.
    """

    mechanism: str
    source: str
    stated_on: date
    dpf_framework: Optional[str] = None
    regime: Optional[str] = None
    stated_text: Optional[str] = None
    id: Optional[int] = None


@dataclass(**_FACTS)
class CertificateFacts:
    """An ISO/IEC 27001 certificate held by a party."""

    edition: str  # "2013" / "2022"
    issued_on: date
    expires_on: date
    last_verified_on: Optional[date] = None
    withdrawn_on: Optional[date] = None
    id: Optional[int] = None


@dataclass(**_FACTS)
class PartyFacts:
    """A party as the rules need it; scope_facts maps fact key -> yes/no/unknown (absent = unknown);
    `aliases` are the other names it is known by; `statements` what it states of all its transfers."""

    id: int
    kind: str  # group_entity / third_party / client / international_organisation
    legal_name: str
    aliases: tuple[str, ...] = ()
    statements: tuple[StatementFacts, ...] = ()
    country: Optional[str] = None
    organisation_code: Optional[str] = None
    bcr: tuple[BcrMembershipFacts, ...] = ()
    dpf: tuple[DpfFacts, ...] = ()
    scope_facts: Mapping[str, str] = field(default_factory=_no_answers)
    is_subject_to_gdpr_art3_2: bool = False
    vetting_status: Optional[str] = None
    vetting_next_review_on: Optional[date] = None
    certificates: tuple[CertificateFacts, ...] = ()
    status: str = "active"
    # An affiliate (a vendor's own legal entity in one country): its vendor's legal name. The law's
    # questions are still asked of this entity, the one that receives the data; the name only says whose it is.
    parent_name: Optional[str] = None


def importer_words(importer: PartyFacts) -> str:
    """"the importer", naming it when it is a vendor's local entity (whose answers, whose DPF entry)."""
    if importer.parent_name:
        return f"the importer ({importer.legal_name}, an affiliate of {importer.parent_name})"
    return "the importer"


@dataclass(**_FACTS)
class InstrumentFacts:
    """A transfer instrument (or documented derogation) a route relies on."""

    id: int
    kind: str  # eu_scc / uk_idta / uk_addendum / bcr / derogation / code_of_conduct / certification
    title: str = ""
    scc_decision: Optional[str] = None
    scc_modules: frozenset[int] = frozenset()
    has_swiss_adaptation: bool = False
    uk_addendum_version: Optional[str] = None
    bcr_approval: Optional[BcrApprovalFacts] = None
    derogation_ground: Optional[str] = None
    has_derogation_justification: bool = False
    scheme_name: Optional[str] = None
    signed_on: Optional[date] = None
    terminated_on: Optional[date] = None
    status: str = "active"


@dataclass(**_FACTS)
class TiaFacts:
    """A transfer impact assessment of a route, for one regime or (regime None) for all."""

    regime: Optional[str] = None
    assessed_on: date
    outcome: str  # can_comply / can_comply_with_measures / cannot_comply
    next_review_on: Optional[date] = None
    id: Optional[int] = None


@dataclass(**_FACTS)
class RegionFacts:
    """A named set of countries a route's destination may be ("Worldwide", "Asia-Pacific"): the route is
    assessed as if to each member country, and the worst verdict stands (register/rules/assess.py)."""

    code: str
    name: str
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2, sorted


@dataclass(**_FACTS)
class RouteFacts:
    """A transfer route; `regimes` are those of the data carried (inherited for onward routes)."""

    id: int
    exporter: PartyFacts
    importer: PartyFacts
    destination_country: Optional[str] = None
    destination_organisation: Optional[str] = None  # an organisation id of countries.yaml
    # With a region, destination_country holds the region's code.
    destination_region: Optional[RegionFacts] = None
    regimes: frozenset[str] = frozenset()
    is_onward: bool = False
    exporter_role: str
    importer_role: str
    has_hr_data: bool = False
    has_special_category_data: bool = False
    special_category_basis: Optional[str] = None
    consent_mechanism: Optional[str] = None
    instruments: tuple[InstrumentFacts, ...] = ()
    tias: tuple[TiaFacts, ...] = ()
    # What the importer states of this route's engagement only (its own statements are on the party).
    statements: tuple[StatementFacts, ...] = ()
    status: str = "active"
    starts_on: Optional[date] = None
    ends_on: Optional[date] = None
    uncovered_locations: frozenset[str] = frozenset()
