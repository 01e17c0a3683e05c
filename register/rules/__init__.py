"""The transfer law: pure functions on plain values (no Flask, no database; dates passed in).

Every judgement returns its reasons with the legal reference. Views, exports and the API only show
what this module decides. The law is written up, with its sources, in docs/transfer-law.md; the country
facts come from data/countries.yaml (`CountryData`).

Conventions (decided here, once):
- Last-day dates are inclusive: an adequacy decision's `valid_until`, a BCR membership's `bound_to`,
  a certificate's `expires_on`. Event dates take effect on their day: an instrument terminated, an
  approval or a certificate withdrawn on D no longer counts on D.
- An instrument counts only while its status is "active", from its signing day (an unknown signing
  day does not hold it back) until its termination. Routes are assessed whatever their own status
  (proposed, active, retired): the app shows the lifecycle separately.
- Per regime, the mechanism is chosen in this order: adequacy (when established), then among the
  other tools that hold, the one with the fewest concerns of its own, ties broken by precedence
  BCR > SCC / IDTA / Addendum / Swiss SCC > code of conduct / certification > derogation. The TIA
  (the same for every Art. 46/47 tool of a regime) is applied to the chosen tool afterwards.
- A partial decision whose scope fact is unknown, or a DPF entry naming another legal entity, does
  not establish adequacy: another tool is looked for; with none, the route stays on adequacy with
  status attention so that someone confirms the fact.
- VERIFY notes of the law (countries.yaml `verify`, and the points the reference leaves open) are
  always returned as `review_notes` and never change the status on their own. The one exception is a
  doubt whether a decision applies at all to the route's exporter (countries.yaml
  `applicability_in_doubt_for`, e.g. 2026/179 for EEA-EFTA exporters): treated as an unknown scope
  fact (attention, another tool looked for), since relying on a decision that may not apply is no
  detail.
- A cannot-comply TIA voids every Art. 46/47 tool of the regime; a recorded derogation may then be
  relied on (Art. 49(1) applies "in the absence of" safeguards), else the status is gap.
- An adequacy decision at risk (EU-US DPF) or ending within a year is attention unless BCR or
  clauses that hold stand behind it; then it is covered with an info note naming the fallback.
- The privacy notice promise ("data leaves the EEA only under adequacy, BCR or SCC") is broken by a
  restricted EU-data route relying on anything else: a derogation, a code or certification, or no
  tool at all. UK and Swiss data are not part of that promise.
- An importer subject to the GDPR through Art. 3(2) is attention when the route relies on EU SCCs
  (EDPB Guidelines 05/2021: the 2021 SCCs were not designed for it) and info otherwise; EU data only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Iterable, Mapping, Optional

from ..countries import AdequacyInstrument, CountryData, LegalBasis, Regime

REGIME_HOMES = {"EU": "the EEA", "UK": "the United Kingdom", "CH": "Switzerland"}


@dataclass(frozen=True)
class RegimeOfData:
    regime: str
    reason: str
    carried: bool = True


def within_free_flow(code: str, law: CountryData) -> bool:
    """Whether a place lies inside one of the regimes' free-flow areas (EEA, UK, Switzerland): data
    processed only there needs no transfer tool (GDPR Art. 44; UK GDPR Art. 44; FADP Art. 16)."""
    return any(regime.is_free_flow(code) for regime in law.regimes.values())


# The roles each side of an engagement usually has (EU SCC Clause 1; GDPR Art. 4(7)-(8), Art. 28):
# a processor serves a controller, a sub-processor a processor, controllers share with controllers.
ROLES_BY_RELATIONSHIP = {
    "processor": ("controller", "processor"),
    "sub_processor": ("processor", "processor"),
    "independent_controller": ("controller", "controller"),
    "joint_controller": ("controller", "controller"),
}


def first_hop_regimes(exporter_country: str | None, law: CountryData) -> list[RegimeOfData]:
    """The regimes whose data a first-hop route carries: those of the exporter's establishment.

    Art. 3(1) GDPR / UK GDPR; FADP Art. 3: data exported from an establishment in a regime's area
    carries that regime. An onward transfer instead inherits the regimes of its source route
    (Art. 44 GDPR "including onward transfers").
    """
    return [item for item in regimes_of_data(exporter_country, law) if item.carried]


def regimes_of_data(exporter_country: str | None, law: CountryData,
                    source: Optional[tuple[int, Iterable[str]]] = None) -> list[RegimeOfData]:
    """For every regime, whether a route's data is under it, and why: an onward transfer (`source`:
    the source route's id and regimes) keeps the regimes of the data it received (Art. 44 GDPR
    "including onward transfers"); a first hop carries those of the exporter's establishment
    (GDPR / UK GDPR Art. 3(1); FADP Art. 3)."""
    found = []
    if source is not None:
        source_id, carried = source[0], frozenset(source[1])
        for code, regime in law.regimes.items():
            if code in carried:
                reason = (f"Onward transfer of route #{source_id}: the data stays under the {regime.name}, as at its "
                          f"origin (Art. 44 GDPR, 'including onward transfers').")
            else:
                reason = f"Onward transfer of route #{source_id}, whose data is not under the {regime.name}."
            found.append(RegimeOfData(code, reason, code in carried))
        return found
    for code, regime in law.regimes.items():
        home = REGIME_HOMES.get(code, regime.name)
        if exporter_country and regime.is_free_flow(exporter_country):
            found.append(RegimeOfData(code, f"The exporter is established in {home} ({exporter_country}): its data "
                                            f"is under the {regime.name}."))
        elif exporter_country:
            found.append(RegimeOfData(code, f"The exporter is established outside {home} ({exporter_country}): a first "
                                            f"hop from it carries no {regime.name} data.", False))
        else:
            found.append(RegimeOfData(code, f"The exporter has no country of establishment: a first hop from it carries "
                                            f"no {regime.name} data.", False))
    return found


def roles_for(relationship: str) -> tuple[str, str, str]:
    """(exporter's role, importer's role, why) on a route made under an engagement of this relationship
    (GDPR Art. 4(7)-(8), Art. 28; EU SCC Clause 1)."""
    exporter_role, importer_role = ROLES_BY_RELATIONSHIP[relationship]
    return exporter_role, importer_role, (f"Under a {relationship.replace('_', ' ')} engagement the exporter acts as "
                                          f"{exporter_role} and the importer as {importer_role} (GDPR Art. 4(7)-(8), Art. 28).")


# --- the vocabulary the app filters on ---------------------------------------------------------

REGIMES = ("EU", "UK", "CH")
_REGIME_SET = frozenset(REGIMES)
SEVERITIES = ("info", "attention", "gap")
# Best to worst; out_of_scope is "not assessed" and sorts before everything.
STATUSES = ("out_of_scope", "covered", "attention", "gap")
MECHANISMS = ("none_needed", "adequacy", "bcr", "scc", "uk_idta", "uk_addendum", "ch_scc", "derogation",
              "code_of_conduct", "certification", "none")
# Best to worst: the order in which vetting_state picks a vendor's certificate.
VETTING_STATES = ("valid", "expiring", "unverified", "expired", "superseded_edition", "none")
# The tools that need a transfer impact assessment (Art. 46/47; Schrems II).
TIA_MECHANISMS = frozenset({"bcr", "scc", "uk_idta", "uk_addendum", "ch_scc", "code_of_conduct", "certification"})
# Privacy notice: "Data leaves the EEA only under adequacy, BCR (intra-group) or SCC."
NOTICE_PROMISE_MECHANISMS = frozenset({"adequacy", "bcr", "scc"})

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


# --- dates the reference fixes -----------------------------------------------------------------

# Decision (EU) 2021/914 Art. 4(4): pre-2021 SCCs provided safeguards until 2022-12-27 (last valid day).
OLD_SCC_LAST_DAY = date(2022, 12, 27)
OLD_SCC_DECISIONS = ("2010/87/EU", "2004/915/EC", "2001/497/EC")
NEW_SCC_DECISION = "2021/914"
# Not in the reference (review note only): Art. 4(3)-(4) repealed the old decisions from 2021-09-27,
# so only sets concluded by 2021-09-26 kept the transition.
OLD_SCC_CONCLUDED_BY = date(2021, 9, 26)
# UK: IDTA and Addendum in force from 2022-03-21; old EU SCCs stopped working on 2024-03-21.
UK_TOOLS_FROM = date(2022, 3, 21)
UK_OLD_SCC_LAST_DAY = date(2024, 3, 20)
# Not in the reference (review note only): the ICO's transition covered contracts concluded by 2022-09-21.
UK_OLD_SCC_CONCLUDED_BY = date(2022, 9, 21)
# Revised FADP and DPO Annex 1 from 2023-09-01: the register encodes no Swiss rules before it.
FADP_REVISED_FROM = date(2023, 9, 1)
# ISO/IEC 27001:2013 certificates are not valid on any day after 2025-10-31.
ISO_2013_LAST_DAY = date(2025, 10, 31)
CERTIFICATE_EXPIRING_DAYS = 90

_ROLE_MODULE = {("controller", "controller"): 1, ("controller", "processor"): 2,
                ("processor", "processor"): 3, ("processor", "controller"): 4}
_MODULE_ROLES = {1: "controller to controller", 2: "controller to processor",
                 3: "processor to processor", 4: "processor to controller"}
# The pre-2021 sets had no modules: each served one pair of roles.
_OLD_SCC_ROLES = {"2001/497/EC": ("controller", "controller"), "2004/915/EC": ("controller", "controller"),
                  "2010/87/EU": ("controller", "processor")}
_DPF_LABELS = {"eu_us": "EU-US DPF", "uk_extension": "UK Extension to the EU-US DPF", "swiss_us": "Swiss-US DPF"}
_DEROGATION_GROUNDS = {
    "a": ("(1)(a)", "explicit consent after being told the risks"),
    "b": ("(1)(b)", "contract with the data subject"),
    "c": ("(1)(c)", "contract in the data subject's interest"),
    "d": ("(1)(d)", "important public interest"),
    "e": ("(1)(e)", "legal claims"),
    "f": ("(1)(f)", "vital interests where the person cannot consent"),
    "g": ("(1)(g)", "public register"),
    "compelling_legitimate_interests": ("(1) second subparagraph", "compelling legitimate interests"),
}


@dataclass(frozen=True, slots=True)
class _RegimeLaw:
    """The articles each regime's tools rest on."""

    transfer: str
    bcr: str
    clauses: str
    code_of_conduct: str
    certification: str
    derogation: str
    tia: str
    bcr_approver: str


_LAW = {
    "EU": _RegimeLaw("GDPR Art. 44", "GDPR Art. 47", "GDPR Art. 46(2)(c)", "GDPR Art. 46(2)(e)",
                     "GDPR Art. 46(2)(f)", "GDPR Art. 49",
                     "CJEU C-311/18 (Schrems II); EDPB Recommendations 01/2020",
                     "the lead supervisory authority after an EDPB opinion"),
    "UK": _RegimeLaw("UK GDPR Art. 44", "UK GDPR Art. 47", "UK GDPR Art. 46(2)(d)", "UK GDPR Art. 46(2)(e)",
                     "UK GDPR Art. 46(2)(f)", "UK GDPR Art. 49",
                     "UK GDPR Art. 46 (transfer risk assessment); CJEU C-311/18 (Schrems II)",
                     "the ICO"),
    "CH": _RegimeLaw("FADP Art. 16", "FADP Art. 16(2)(e)", "FADP Art. 16(2)(d)", "FADP Art. 16(3); DPO Art. 12",
                     "FADP Art. 16(3); DPO Art. 12", "FADP Art. 17",
                     "FADP Art. 16(2); CJEU C-311/18 (Schrems II)",
                     "the FDPIC or an authority of a state with adequate protection"),
}
# The articles of each regime, for those who cite them (register/vocabulary.py).
REGIME_LAW: Mapping[str, _RegimeLaw] = MappingProxyType(_LAW)


# --- inputs: what the app reads from the database ----------------------------------------------

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
    """A party as the rules need it; scope_facts maps fact key -> yes/no/unknown (absent = unknown)."""

    id: int
    kind: str  # group_entity / third_party / client / international_organisation
    legal_name: str
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
class RouteFacts:
    """A transfer route; `regimes` are those of the data carried (inherited for onward routes)."""

    id: int
    exporter: PartyFacts
    importer: PartyFacts
    destination_country: Optional[str] = None
    destination_organisation: Optional[str] = None  # an organisation id of countries.yaml
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
    status: str = "active"
    starts_on: Optional[date] = None
    ends_on: Optional[date] = None
    uncovered_locations: frozenset[str] = frozenset()


# --- outputs -----------------------------------------------------------------------------------


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
_OUT_OF_SCOPE = Reason("info", "not assessed: no EU/UK/Swiss data",
                       "GDPR Art. 3; UK GDPR Art. 3; FADP Art. 3")
_OUT_OF_SCOPE_REASONS = (_OUT_OF_SCOPE,)
_ISO_IS_NO_TOOL = Reason("info", "the importer's ISO/IEC 27001 certificate is not a transfer tool: it vets security, "
                                 "it does not make the transfer lawful", "GDPR Art. 46; transfer law reference s. 3")


# --- the law, indexed once per CountryData -----------------------------------------------------


class _RegimeIndex:
    """One regime's facts arranged for per-route lookups."""

    def __init__(self, regime: Regime):
        self.code = regime.code
        self.name = regime.name
        self.law = _LAW[regime.code]
        self.free_flow = regime.free_flow
        self.free_flow_name = regime.free_flow_name
        self.articles: tuple[LegalBasis, ...] = regime.adequacy_articles
        # Findings every restricted transfer of the regime may share.
        self.onward = Reason("info", f"onward transfer: assessed under the {self.name}, the regime of the data's origin",
                             f"{self.law.transfer} ('including onward transfers'); Decision (EU) 2021/914 Clause 8.8")
        self.tia_missing = Reason("attention", "TIA missing: every Art. 46/47 tool needs a transfer impact assessment",
                                  self.law.tia)
        by_destination: dict[str, list[AdequacyInstrument]] = {}
        for instrument in regime.adequacy:
            by_destination.setdefault(instrument.destination, []).append(instrument)
        # Latest last day first (open-ended first); the file's order among equals.
        self.adequacy = {
            destination: tuple(sorted(items, key=_until_key, reverse=True))
            for destination, items in by_destination.items()
        }
        self.coverage_end = {
            instrument.id: _coverage_end(instrument, by_destination[instrument.destination])
            for instrument in regime.adequacy
        }
        # The destinations whose adequacy reads the exporter's country (a doubt whether it applies to
        # some exporters) or whether the route carries HR data (a DPF entry's data types).
        self.reads_exporter_country = frozenset(item.destination for item in regime.adequacy
                                                if item.applicability_in_doubt)
        self.reads_hr_data = frozenset(item.destination for item in regime.adequacy if item.requires_dpf)
        notes: dict[str, tuple[str, ...]] = {}
        for group in regime.outside + regime.not_adequate:
            for code in group.codes:
                notes[code] = notes.get(code, ()) + group.verify
        self.destination_notes = notes
        self.none_needed: dict[str, tuple[RegimeAssessment, tuple[RegimeAssessment]]] = {}
        # Review notes name what they are about: a note on a route must stand on its own.
        self._instrument_notes: dict[str, tuple[str, ...]] = {}
        self._article_notes = {basis.article: tuple(f"{basis.article}: {note}" for note in basis.verify)
                               for basis in regime.adequacy_articles}

    def instrument_notes(self, instrument: AdequacyInstrument) -> tuple[str, ...]:
        """The VERIFY notes of an adequacy instrument, each naming the decision."""
        found = self._instrument_notes.get(instrument.id)
        if found is None:
            found = tuple(f"{instrument.legal_reference} ({instrument.id}): {note}" for note in instrument.verify)
            self._instrument_notes[instrument.id] = found
        return found

    def article_notes(self, basis: LegalBasis) -> tuple[str, ...]:
        return self._article_notes.get(basis.article, ())

    def article(self, on: date) -> LegalBasis:
        """The adequacy article in force on `on` (the first listed when none is)."""
        for basis in self.articles:
            starts, ends = basis.valid_from, basis.valid_until
            if (starts is None or starts <= on) and (ends is None or on <= ends):
                return basis
        return self.articles[0]

    @property
    def no_destination(self) -> RegimeAssessment:
        """The assessment of a restricted route with no destination recorded."""
        reason = Reason("gap", "no destination recorded", self.law.transfer)
        return RegimeAssessment(self.code, True, "none", "gap", self.law.transfer, (reason,), NO_TIA, (), ())

    def not_restricted(self, destination: str) -> tuple[RegimeAssessment, tuple[RegimeAssessment]]:
        """The (shared) assessment of a route inside this regime's free-flow area, and it alone in a tuple."""
        found = self.none_needed.get(destination)
        if found is None:
            reason = Reason("info", f"{destination} is in {self.free_flow_name}: not a restricted transfer, "
                                    f"no transfer tool needed", self.law.transfer)
            verdict = RegimeAssessment(self.code, False, "none_needed", "covered", self.law.transfer, (reason,),
                                       NO_TIA, (), ())
            found = self.none_needed[destination] = (verdict, (verdict,))
        return found


def _until_key(instrument: AdequacyInstrument) -> tuple[bool, date]:
    return (instrument.valid_until is None, instrument.valid_until or date.min)


def _coverage_end(instrument: AdequacyInstrument, siblings: list[AdequacyInstrument]) -> Optional[date]:
    """The last day adequacy for the destination runs on without a break, following successors."""
    end = instrument.valid_until
    moved = True
    while end is not None and moved:
        moved = False
        for other in siblings:
            if other.valid_from <= end + timedelta(days=1) and (other.valid_until is None or other.valid_until > end):
                end, moved = other.valid_until, True
                break
    return end


class _LawIndex:
    def __init__(self, law: CountryData):
        self.law = law
        self.regimes = {code: _RegimeIndex(regime) for code, regime in law.regimes.items()}


_INDEXES: dict[int, _LawIndex] = {}


def _index(law: CountryData) -> _LawIndex:
    """The index of `law`, built on first use (keyed by id, checked by identity)."""
    found = _INDEXES.get(id(law))
    if found is None or found.law is not law:
        if len(_INDEXES) > 8:
            _INDEXES.clear()
        found = _INDEXES[id(law)] = _LawIndex(law)
    return found


@dataclass(frozen=True, slots=True)
class WatchedDecision:
    """An adequacy decision in force that a verdict relying on it flags: at risk, or coverage ending within a year."""

    id: str
    regime: str
    legal_reference: str
    at_risk: Optional[str]
    coverage_ends_on: Optional[date]  # set when adequacy for the destination ends within a year, successors followed


def decisions_to_watch(law: CountryData, on: date) -> list[WatchedDecision]:
    """The adequacy decisions in force on `on` whose verdicts carry a risk (the same test as `_restricted`):
    at risk, or adequacy for the destination ending within a year of `on` once successors are followed."""
    watched: dict[tuple[str, str], WatchedDecision] = {}
    horizon = _add_years(on, 1)
    for code, rx in _index(law).regimes.items():
        for instruments in rx.adequacy.values():
            for instrument in instruments:
                if (code, instrument.id) in watched or not instrument.in_force_on(on):
                    continue
                end = rx.coverage_end[instrument.id]
                ending = end if end is not None and end <= horizon else None
                if instrument.at_risk or ending:
                    watched[code, instrument.id] = WatchedDecision(instrument.id, code, instrument.legal_reference,
                                                                   instrument.at_risk, ending)
    return list(watched.values())


# --- assessing a route -------------------------------------------------------------------------


class _Candidate:
    """A tool that holds for one regime, with its own findings (before the TIA)."""

    __slots__ = ("mechanism", "reference", "reasons", "ids", "adequacy_id", "notes", "risks", "precedence", "own")

    def __init__(self, mechanism: str, reference: str, precedence: int, ids: tuple[int, ...] = ()):
        self.mechanism = mechanism
        self.reference = reference
        self.precedence = precedence
        self.ids = ids
        self.reasons: list[Reason] = []
        self.adequacy_id: Optional[str] = None
        self.notes: list[str] = []
        self.risks: list[tuple[str, str, str]] = []  # an adequacy decision's future risks: text, reference, advice
        self.own = 1  # rank of its worst own finding

    def add(self, severity: str, text: str, reference: str) -> None:
        self.reasons.append(_reason(severity, text, reference))
        if _RANK[severity] > self.own:
            self.own = _RANK[severity]


class _Route:
    """Per-route values shared by its regimes."""

    __slots__ = ("route", "on", "destination", "is_organisation", "usable", "unusable")

    def __init__(self, route: RouteFacts, on: date, destination: Optional[str], is_organisation: bool):
        self.route = route
        self.on = on
        self.destination = destination
        self.is_organisation = is_organisation
        self.usable: Optional[tuple[InstrumentFacts, ...]] = None
        self.unusable: tuple[str, ...] = ()

    def instruments(self) -> tuple[InstrumentFacts, ...]:
        """The route's instruments that count on the date (sorting the others out once)."""
        if self.usable is None:
            on, usable, unusable = self.on, [], []
            for instrument in self.route.instruments:
                if instrument.status != "active":
                    unusable.append(f"{_label(instrument)} is {instrument.status}: not counted")
                elif instrument.signed_on is not None and instrument.signed_on > on:
                    unusable.append(f"{_label(instrument)} is signed only on {instrument.signed_on}")
                elif instrument.terminated_on is not None and instrument.terminated_on <= on:
                    unusable.append(f"{_label(instrument)} was terminated on {instrument.terminated_on}")
                else:
                    usable.append(instrument)
            self.usable, self.unusable = tuple(usable), tuple(unusable)
        return self.usable


def _label(instrument: InstrumentFacts) -> str:
    return f"{instrument.title or instrument.kind} (#{instrument.id})"


class Batch:
    """What the routes of one list of facts share when they are assessed on one date.

    Many routes read the same facts (objects the loader shares: an importer, an exporter, an
    instrument), and a verdict depends only on the facts it reads: so each importer's vetting, and
    each regime's verdict on a restricted transfer for one combination of the facts it reads, are
    worked out once per batch and shared (they are immutable). Keys hold object identities; the
    batch keeps those objects alive, so that no other object can take an identity while it lasts.
    One batch per date and list of facts.
    """

    __slots__ = ("on", "law", "index", "vettings", "profiles", "regimes")

    def __init__(self, on: date, law: CountryData):
        self.on = on
        self.law = law
        self.index = _index(law)
        self.vettings: dict[int, tuple[VettingAssessment, PartyFacts]] = {}
        self.profiles: dict[int, tuple[object, PartyFacts]] = {}
        # Regime verdicts by the facts they read: the verdict, it alone in a tuple (most routes carry
        # one regime's data: their assessments share it), and a route that keeps those facts alive.
        self.regimes: dict[tuple, tuple[RegimeAssessment, tuple[RegimeAssessment], RouteFacts]] = {}

    def profile(self, importer: PartyFacts) -> object:
        """What a restricted transfer's verdict reads of an importer outside the group (see _restricted).

        Its kind, scope answers, whether it holds certificates, and Art. 3(2); with DPF entries (matched
        against its legal name), the party itself. BCR never cover a transfer to it.
        """
        known = self.profiles.get(id(importer))
        if known is None:
            if importer.dpf:
                profile: object = id(importer)
            else:
                profile = (importer.kind, tuple(sorted(importer.scope_facts.items())), bool(importer.certificates),
                           importer.is_subject_to_gdpr_art3_2)
            known = self.profiles[id(importer)] = (profile, importer)
        return known[0]

    def vetting(self, importer: PartyFacts) -> VettingAssessment:
        """The importer's vetting on the batch's date, judged once per facts object."""
        known = self.vettings.get(id(importer))
        if known is None:
            known = self.vettings[id(importer)] = (vetting_state(importer, self.on), importer)
        return known[0]


def assess_route(route: RouteFacts, on: date, law: CountryData, batch: Optional[Batch] = None) -> RouteAssessment:
    """A route's verdict on `on`, per regime of its data (GDPR / UK GDPR Chapter V; FADP Art. 16-17).

    `batch`, when given, shares what many routes of one list of facts have in common on `on` (see
    `Batch`); the verdict is the same with or without it.
    """
    regimes = route.regimes
    if not regimes:
        return _route_assessment(route.id, "out_of_scope", (), _OUT_OF_SCOPE_REASONS, False, False)
    if not regimes <= _REGIME_SET:
        raise ValueError(f"route {route.id}: unknown regime(s) {', '.join(sorted(regimes - _REGIME_SET))}")
    if batch is not None and (batch.on != on or batch.law is not law):
        raise ValueError("a batch serves one date and one law")
    index = _index(law) if batch is None else batch.index
    importer = route.importer
    # An international organisation is a destination of its own, whatever seat or country is recorded.
    is_organisation = bool(route.destination_organisation) or importer.kind == "international_organisation"
    destination = (route.destination_organisation or
                   (importer.organisation_code if importer.kind == "international_organisation" else None) or
                   route.destination_country)
    shared: Optional[_Route] = None
    verdicts: tuple[RegimeAssessment, ...] = ()
    reasons: list[Reason] = []
    found = 1  # the rank of the worst status or severity so far (covered)
    breaks_promise = False
    for code in REGIMES:
        if code not in regimes:
            continue
        rx = index.regimes[code]
        if destination is None:
            item = rx.no_destination
            alone = (item,)
        elif not is_organisation and destination in rx.free_flow:
            item, alone = rx.not_restricted(destination)
        elif batch is None:
            if shared is None:
                shared = _Route(route, on, destination, is_organisation)
            item = _restricted(rx, shared)
            alone = (item,)
        else:
            # What _restricted reads of the route, the date aside (see its docstring): the roles only
            # matter to the tools of its instruments, HR data and the exporter's country only to some
            # destinations' adequacy; of the parties, see Batch.profile.
            instruments, tias, exporter = route.instruments, route.tias, route.exporter
            if importer.kind == "group_entity":
                importer_key, exporter_key = id(importer), id(exporter)
            else:
                known_profile = batch.profiles.get(id(importer))
                importer_key = known_profile[0] if known_profile is not None else batch.profile(importer)
                exporter_key = exporter.country if destination in rx.reads_exporter_country else None
            key = (code, destination, is_organisation, route.is_onward,
                   route.has_hr_data if destination in rx.reads_hr_data else None, importer_key, exporter_key,
                   (route.exporter_role, route.importer_role, *map(id, instruments)) if instruments else (),
                   tuple(map(id, tias)) if tias else ())
            known = batch.regimes.get(key)
            if known is None:
                if shared is None:
                    shared = _Route(route, on, destination, is_organisation)
                item = _restricted(rx, shared)
                known = batch.regimes[key] = (item, (item,), route)
            item, alone = known[0], known[1]
        verdicts = verdicts + alone if verdicts else alone
        rank = _RANK[item.status]
        if rank > found:
            found = rank
        # Privacy notice s. 7: EU data leaves the EEA only under adequacy, BCR or SCC.
        if code == "EU" and item.restricted and item.mechanism not in NOTICE_PROMISE_MECHANISMS:
            breaks_promise = True
            reasons.append(_broken_promise(item.mechanism))
    without_basis = route.has_special_category_data and not route.special_category_basis
    if without_basis:
        reasons.append(_WITHOUT_BASIS)
    elif (route.has_special_category_data and route.special_category_basis == "explicit_consent"
          and not route.consent_mechanism):
        reasons.append(_CONSENT_WITHOUT_MECHANISM)
    if route.uncovered_locations:
        reasons.append(_uncovered(route.uncovered_locations))
    if importer.kind == "third_party" and (importer.certificates or importer.vetting_status == "rejected"):
        if batch is None:
            vetting = vetting_state(importer, on)
        else:
            known_vetting = batch.vettings.get(id(importer))
            vetting = known_vetting[0] if known_vetting is not None else batch.vetting(importer)
        if vetting.rejected:
            reasons.append(_VETTING_REJECTED)
        if vetting.state in ("expired", "superseded_edition"):
            reasons.append(_LAPSED[vetting.state])
    starts_on, ends_on = route.starts_on, route.ends_on
    if (starts_on and on < starts_on) or (ends_on and on > ends_on):
        reasons.append(_reason("info", f"the route does not run on {on} (from {starts_on or '-'} to {ends_on or '-'}): "
                                       f"assessed as if it did", "GDPR Art. 44"))
    if reasons:
        for reason in reasons:
            rank = _RANK[reason.severity]
            if rank > found:
                found = rank
    return _route_assessment(route.id, _STATUS_BY_RANK[found], verdicts, tuple(reasons), breaks_promise,
                             bool(without_basis))


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
                       fallback_instrument_ids: tuple[int, ...]) -> RegimeAssessment:
    """RegimeAssessment(...) with every field."""
    assessment = _new(RegimeAssessment)
    (set_regime, set_restricted, set_mechanism, set_status, set_legal_reference, set_reasons, set_tia,
     set_review_notes, set_instrument_ids, set_adequacy_id, set_fallback_instrument_ids) = _REGIME_ASSESSMENT_FIELDS
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


# Route-wide findings that many routes share: built once (they are immutable).
_STATUS_BY_RANK = {1: "covered", 2: "attention", 3: "gap"}
_WITHOUT_BASIS = Reason("attention", "special-category data goes out without a recorded basis (explicit consent "
                                     "through a named mechanism, or vital interests)", "GDPR Art. 9(2)(a)/(c)")
_CONSENT_WITHOUT_MECHANISM = Reason("attention", "explicit consent is recorded as the basis for special-category "
                                                 "data, but not the mechanism that collects it",
                                    "GDPR Art. 9(2)(a); Art. 7(1)")
_VETTING_REJECTED = Reason("attention", "the importer's vendor vetting is rejected",
                           "GDPR Art. 28(1) (sufficient guarantees); Art. 32")
_LAPSED = {state: Reason("attention", f"the importer's ISO/IEC 27001 certificate has lapsed "
                                      f"({state.replace('_', ' ')})", "GDPR Art. 28(1); Art. 32")
           for state in ("expired", "superseded_edition")}
_PROMISES: dict[str, Reason] = {}
_UNCOVERED: dict[frozenset[str], Reason] = {}


def _broken_promise(mechanism: str) -> Reason:
    """The privacy notice's promise broken by EU data relying on `mechanism` (one object per mechanism)."""
    found = _PROMISES.get(mechanism)
    if found is None:
        found = _PROMISES[mechanism] = Reason(
            "attention", f"breaks the privacy notice's promise that data leaves the EEA only under adequacy, BCR or "
                         f"SCC: this route relies on {'no transfer tool' if mechanism == 'none' else mechanism}",
            "privacy notice (transfers); GDPR Art. 13(1)(f)")
    return found


def _uncovered(places: frozenset[str]) -> Reason:
    """An engagement's processing locations that no route of it reaches (one object per set of places)."""
    found = _UNCOVERED.get(places)
    if found is None:
        if len(_UNCOVERED) > 10000:
            _UNCOVERED.clear()
        found = _UNCOVERED[places] = Reason(
            "attention", f"the engagement processes data in {', '.join(sorted(places))}, which no route of the "
                         f"engagement reaches: record that transfer", "GDPR Art. 30(1)(e); Art. 44")
    return found


def _restricted(rx: _RegimeIndex, shared: _Route) -> RegimeAssessment:
    """The verdict on a restricted transfer: adequacy, else the best other tool that holds, and why.

    It reads, of the route: the destination (and whether it is an international organisation),
    is_onward, has_hr_data (a DPF entry's data types: only where adequacy requires the DPF), the
    instruments (and then the roles), the TIAs, and of the parties: both when the importer is a group
    entity (their BCR memberships), else what `Batch.profile` lists of the importer and the exporter's
    country (only where it is in doubt whether an adequacy decision applies to some exporters). `Batch`
    shares verdicts by exactly these: a fact newly read here must join its key, or the test that
    compares batched and single verdicts fails.
    """
    route, on, destination = shared.route, shared.on, shared.destination
    notes: list[str] = list(rx.destination_notes.get(destination, ()))
    if rx.code == "CH" and on < FADP_REVISED_FROM:
        notes.append("The revised FADP and DPO Annex 1 apply from 2023-09-01; the register encodes no Swiss "
                     "transfer rules for earlier dates: verify this assessment.")
    preamble: list[Reason] = []
    if shared.is_organisation:
        preamble.append(_reason("info", f"{destination} is an international organisation: a transfer wherever its "
                                        f"seat is", rx.law.transfer))
    if route.is_onward:
        preamble.append(rx.onward)

    adequacy, uncertain, failures = _adequacy(rx, shared)
    tools: list[_Candidate] = []
    # Other tools matter when adequacy does not hold, or as the fallback of a decision at risk.
    if adequacy is None or (adequacy.risks and shared.instruments()):
        tools, tool_failures = _tools(rx, shared)
        failures += tool_failures
    if adequacy is not None:
        fallback = next((tool for tool in tools if tool.precedence <= 2), None) if adequacy.risks else None
        for risk, reference, advice in adequacy.risks:
            # A future risk is a concern only while no BCR or clauses stand ready behind the decision.
            if fallback is None:
                adequacy.add("attention", f"{risk} No fallback recorded: {advice}.", reference)
            else:
                adequacy.add("info", f"{risk} A fallback is in place: {fallback.mechanism} under "
                                     f"{fallback.reference}.", reference)
        return _finish(rx, shared, adequacy, preamble, notes, fallback_ids=fallback.ids if fallback else ())

    tia = _tia_for(route.tias, rx.code, on)
    tools.sort(key=lambda tool: (tool.own, tool.precedence))
    chosen = tools[0] if tools else None
    if chosen is not None and chosen.mechanism in TIA_MECHANISMS and tia is not None and tia.outcome == "cannot_comply":
        # Art. 49(1) applies in the absence of safeguards: a derogation may then be what is left.
        text = (f"the TIA of {tia.assessed_on} found that the instrument cannot be complied with: no valid safeguard "
                f"({chosen.mechanism})")
        derogation = next((tool for tool in tools if tool.mechanism == "derogation"), None)
        if derogation is None:
            chosen.add("gap", text, rx.law.tia)
        else:
            chosen = derogation
            chosen.add("attention", text, rx.law.tia)
    if uncertain is not None:
        if chosen is None:
            chosen = uncertain
        else:
            # Adequacy would apply once the importer's facts are confirmed: worth knowing, not a concern.
            for reason in uncertain.reasons:
                if reason.severity == "attention":
                    preamble.append(Reason("info", f"adequacy not relied on: {reason.text}", reason.reference))
    if chosen is None:
        reasons = preamble + [_reason("gap", text, reference) for text, reference in failures]
        reasons += [_reason("gap", text, rx.law.transfer) for text in shared.unusable]
        reasons.append(_reason("gap", f"no valid transfer tool for {rx.name} data to {destination}", rx.law.transfer))
        if route.importer.certificates:
            reasons.append(_ISO_IS_NO_TOOL)
        return _regime_assessment(rx.code, True, "none", "gap", rx.law.transfer, tuple(reasons), NO_TIA,
                                  tuple(dict.fromkeys(notes)), (), None, ())
    return _finish(rx, shared, chosen, preamble, notes, tia=tia)


def _finish(rx: _RegimeIndex, shared: _Route, chosen: _Candidate, preamble: list[Reason], notes: list[str],
            tia: Optional[TiaFacts] = None, fallback_ids: tuple[int, ...] = ()) -> RegimeAssessment:
    """Add the TIA and Art. 3(2) findings to the chosen tool and freeze the verdict."""
    route, on = shared.route, shared.on
    reasons = preamble + chosen.reasons
    tia_state = NO_TIA
    if chosen.mechanism in TIA_MECHANISMS:
        # Module 4 (processor -> controller): Clause 14 applies only if EU-collected data is mixed in.
        module_4 = (rx.code == "EU" and chosen.mechanism == "scc"
                    and _ROLE_MODULE.get((route.exporter_role, route.importer_role)) == 4)
        overdue = tia is not None and tia.next_review_on is not None and tia.next_review_on < on
        tia_state = TiaState(required=not module_4, done=tia is not None, overdue=overdue, tia=tia)
        if tia is None:
            reasons.append(_MODULE_4_WITHOUT_TIA if module_4 else rx.tia_missing)
        else:
            if overdue:
                reasons.append(Reason("attention", f"TIA overdue: the TIA of {tia.assessed_on} was due for review on "
                                                   f"{tia.next_review_on}", rx.law.tia))
            if tia.outcome == "can_comply_with_measures":
                reasons.append(Reason("info", f"the TIA of {tia.assessed_on} relies on supplementary measures: keep "
                                              f"them in place", "EDPB Recommendations 01/2020"))
    elif tia is not None:
        tia_state = TiaState(required=False, done=True, overdue=False, tia=tia)
    if rx.code == "EU" and route.importer.is_subject_to_gdpr_art3_2:
        # EDPB Guidelines 05/2021: still a transfer; the 2021 SCCs were not designed for such an importer.
        reasons.append(_ART3_2[chosen.mechanism == "scc"])
    status = worst(reason.severity for reason in reasons)
    return _regime_assessment(rx.code, True, chosen.mechanism, status, chosen.reference, tuple(reasons), tia_state,
                              tuple(dict.fromkeys(notes + chosen.notes)), chosen.ids, chosen.adequacy_id, fallback_ids)


_MODULE_4_WITHOUT_TIA = Reason("info", "no TIA on record: Module 4 needs one only if data collected in the EU is mixed "
                                       "in", "Decision (EU) 2021/914, Module 4, Clause 14")
# By whether the route relies on EU SCCs.
_ART3_2 = {relies_on_scc: Reason("attention" if relies_on_scc else "info",
                                 "the importer is subject to the GDPR through Art. 3(2): still a transfer, but the 2021 "
                                 "SCCs were not designed for it - review the safeguard",
                                 "GDPR Art. 3(2); EDPB Guidelines 05/2021")
           for relies_on_scc in (True, False)}


def _tia_for(tias: tuple[TiaFacts, ...], regime: str, on: date) -> Optional[TiaFacts]:
    """The latest TIA done by `on` for `regime` (or for all regimes); a regime's own wins a tie."""
    best = None
    for tia in tias:
        if (tia.regime is not None and tia.regime != regime) or tia.assessed_on > on:
            continue
        if best is None or tia.assessed_on > best.assessed_on or (
                tia.assessed_on == best.assessed_on and best.regime is None and tia.regime is not None):
            best = tia
    return best


# --- adequacy (GDPR Art. 45; UK GDPR Art. 45/45A; FADP Art. 16(1) + DPO Annex 1) ----------------


_Failures = list[tuple[str, str]]  # (why a tool does not hold, its reference)


def _adequacy(rx: _RegimeIndex, shared: _Route) -> tuple[Optional[_Candidate], Optional[_Candidate], _Failures]:
    """(adequacy that holds, adequacy pending an importer fact, why adequacy fails) for the route's destination."""
    on, destination = shared.on, shared.destination
    article = rx.article(on)
    instruments = rx.adequacy.get(destination, ())
    if not instruments:
        return None, None, [(f"no adequacy decision for {destination} under the {rx.name}", article.article)]
    failures: list[tuple[str, str]] = []
    uncertain: Optional[_Candidate] = None
    in_force = [instrument for instrument in instruments if instrument.in_force_on(on)]
    if not in_force:
        upcoming = [item for item in instruments if item.valid_from > on]
        if upcoming:
            first = min(upcoming, key=lambda item: item.valid_from)
            failures.append((f"adequacy for {destination} ({first.legal_reference}) applies only from "
                             f"{first.valid_from}", article.article))
        else:
            last = instruments[0]
            failures.append((f"adequacy for {destination} ({last.legal_reference}) ended: its last valid day was "
                             f"{last.valid_until}", article.article))
        return None, None, failures

    route, importer = shared.route, shared.route.importer
    for instrument in in_force:
        reference = instrument.legal_reference
        unknown, wrong = [], []
        for condition in instrument.scope:
            answer = importer.scope_facts.get(condition.fact, "unknown")
            if answer == condition.required_answer:
                continue
            # Unknown is never yes (nor no): only a recorded answer settles a partial decision's scope.
            (wrong if answer in ("yes", "no") else unknown).append((condition, answer))
        if wrong:
            for condition, answer in wrong:
                failures.append((f"{reference} covers {destination} only where {condition.fact} is "
                                 f"'{condition.required_answer}'; the importer's answer is '{answer}'",
                                 article.article))
            continue
        doubts = [f"scope fact {condition.fact} is unknown for the importer - confirm it ({reference} covers only "
                  f"recipients answering '{condition.required_answer}')" for condition, _ in unknown]
        exporter_country = route.exporter.country
        doubt = instrument.doubt_for(exporter_country)
        if doubt is not None:
            # Not a detail of the decision: whether it covers this exporter at all (countries.yaml
            # applicability_in_doubt_for). Relied on only once confirmed, like an unknown scope fact.
            doubts.append(f"{reference} may not apply to an exporter in {exporter_country}: {doubt} - confirm "
                          f"it before relying on the decision")
        if instrument.requires_dpf:
            failure, doubt = _dpf_check(instrument.requires_dpf, importer, route.has_hr_data)
            if failure:
                failures.append((failure, f"{reference} ({article.article})"))
                continue
            if doubt:
                doubts.append(doubt)
        candidate = _Candidate("adequacy", reference, 0)
        candidate.adequacy_id = instrument.id
        candidate.notes = [*rx.instrument_notes(instrument), *rx.article_notes(article)]
        if doubts:
            if uncertain is None:
                for doubt in doubts:
                    candidate.add("attention", doubt, f"{reference} ({article.article})")
                uncertain = candidate
            continue
        candidate.add("info", f"adequacy: {reference} covers {destination} on {on}", article.article)
        end = rx.coverage_end[instrument.id]
        cited = f"{reference} ({article.article})"
        if end is not None and end <= _add_years(on, 1):
            candidate.risks.append((f"The decision expires on {end}, within a year.", cited,
                                    "suggest an SCC fallback or plan for the decision's renewal"))
        if instrument.at_risk:
            candidate.risks.append((f"The decision is at risk: {instrument.at_risk}", cited, "suggest an SCC fallback"))
        return candidate, None, failures
    return None, uncertain, failures


def _dpf_check(framework: str, importer: PartyFacts, has_hr_data: bool) -> tuple[Optional[str], Optional[str]]:
    """(why the DPF does not cover the route, a doubt about it): active, data type, legal entity."""
    label = _DPF_LABELS.get(framework, framework)
    entry = next((item for item in importer.dpf if item.framework == framework), None)
    if entry is None:
        return f"no DPF row for the {label} framework: the importer is not certified to it", None
    if not entry.is_active:
        return f"the importer's {label} certification is not active", None
    if has_hr_data and not entry.covers_hr_data:
        return f"the importer's {label} certification does not cover HR data, which the route carries", None
    if not has_hr_data and not entry.covers_non_hr_data:
        return f"the importer's {label} certification does not cover non-HR data, which the route carries", None
    if _name_key(entry.certified_entity_name) != _name_key(importer.legal_name):
        return None, (f"DPF certified entity is {entry.certified_entity_name}, not the importer "
                      f"({importer.legal_name}): only the listed legal entity is covered")
    return None, None


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- BCR (Art. 47), clauses (Art. 46), codes and certifications, derogations (Art. 49) ----------


def _tools(rx: _RegimeIndex, shared: _Route) -> tuple[list[_Candidate], list[tuple[str, str]]]:
    """Every tool other than adequacy that holds for the regime, and why the others do not."""
    holding: list[_Candidate] = []
    failures: list[tuple[str, str]] = []
    instruments = shared.instruments()
    for instrument in instruments:
        kind = instrument.kind
        if kind == "bcr":
            result = _bcr(rx, shared, instrument)
        elif kind == "eu_scc" or kind == "uk_idta" or kind == "uk_addendum":
            result = _clauses(rx, shared, instrument, instruments)
        elif kind == "code_of_conduct" or kind == "certification":
            result = _code_or_certification(rx, instrument)
        elif kind == "derogation":
            result = _derogation(rx, instrument)
        else:
            result = (f"{_label(instrument)}: {kind} is not a transfer tool", rx.law.transfer)
        if isinstance(result, _Candidate):
            holding.append(result)
        else:
            failures.append(result)
    if not holding:
        hint = _unused_bcr(rx, shared)
        if hint:
            failures.append(hint)
    return holding, failures


def _bcr(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts) -> _Candidate | tuple[str, str]:
    """BCR hold only between parties both bound, on the date, by the same approval for this regime (Art. 47)."""
    route, on, reference = shared.route, shared.on, rx.law.bcr
    approval = instrument.bcr_approval
    label = _label(instrument)
    if approval is None:
        return f"{label} names no BCR approval", reference
    if approval.regime != rx.code:
        return (f"{label} rests on a {approval.regime} approval: it does not cover {rx.code} data, which needs an "
                f"approval by {rx.law.bcr_approver}", reference)
    if approval.approved_on > on:
        return f"{label}: the BCR approval dates only from {approval.approved_on}", reference
    if approval.withdrawn_on is not None and approval.withdrawn_on <= on:
        return f"{label}: the BCR approval was withdrawn on {approval.withdrawn_on}", reference
    if route.importer.kind != "group_entity":
        return (f"{label}: the importer is not a group entity - BCR never cover a transfer to an outside vendor",
                reference)
    for side, party in (("exporter", route.exporter), ("importer", route.importer)):
        problem = _not_bound(party, approval.approval_id, on)
        if problem:
            return f"{label}: the {side} {problem}", reference
    candidate = _Candidate("bcr", reference, 1, (instrument.id,))
    kind = "BCR-C" if approval.bcr_type == "bcr_c" else "BCR-P"
    candidate.add("info", f"both parties are bound by the approved {kind} (approval #{approval.approval_id}) on {on}",
                  reference)
    # BCR-C cover the group's own (controller) data; BCR-P data it processes for outside clients.
    if approval.bcr_type == "bcr_c" and route.exporter_role == "processor":
        candidate.add("attention", "BCR-C cover the group's controller data, but the exporter acts as a processor "
                                   "here (data processed for a client needs BCR-P)", reference)
    elif approval.bcr_type == "bcr_p" and route.exporter_role == "controller":
        candidate.add("attention", "BCR-P cover data processed for clients, but the exporter acts as a controller "
                                   "here (its own data needs BCR-C)", reference)
    return candidate


def _not_bound(party: PartyFacts, approval_id: int, on: date) -> Optional[str]:
    """Why `party` is not bound by the approval on `on`, or None when it is."""
    memberships = [item for item in party.bcr if item.approval_id == approval_id]
    for membership in memberships:
        if membership.bound_from <= on and (membership.bound_to is None or on <= membership.bound_to):
            return None
    if not memberships:
        return f"is not bound by BCR approval #{approval_id}"
    ended = [item.bound_to for item in memberships if item.bound_to is not None and item.bound_to < on]
    if ended:
        return f"was bound by BCR approval #{approval_id} only until {max(ended)}"
    return f"is bound by BCR approval #{approval_id} only from {min(item.bound_from for item in memberships)}"


def _unused_bcr(rx: _RegimeIndex, shared: _Route) -> Optional[tuple[str, str]]:
    """A hint when both parties are bound by a BCR for the regime that the route does not rely on."""
    route, on = shared.route, shared.on
    for membership in route.exporter.bcr:
        if membership.regime != rx.code or _not_bound(route.exporter, membership.approval_id, on):
            continue
        if (membership.withdrawn_on is None or on < membership.withdrawn_on) and route.importer.kind == "group_entity" \
                and not _not_bound(route.importer, membership.approval_id, on):
            return (f"both parties are bound by BCR approval #{membership.approval_id}, but the route does not rely "
                    f"on it: add the BCR instrument", rx.law.bcr)
    return None


def _clauses(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts,
             instruments: tuple[InstrumentFacts, ...]) -> _Candidate | tuple[str, str]:
    """Standard clauses: EU SCCs for EU data, IDTA/Addendum for UK data, SCCs with Swiss adaptations for CH data."""
    if rx.code == "EU":
        return _eu_scc(rx, shared, instrument)
    if rx.code == "UK":
        return _uk_clauses(rx, shared, instrument, instruments)
    return _swiss_scc(rx, shared, instrument)


def _eu_scc(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts) -> _Candidate | tuple[str, str]:
    """EU SCCs, Decision (EU) 2021/914 (Art. 46(2)(c)); pre-2021 sets until 2022-12-27 (Art. 4(4))."""
    label = _label(instrument)
    if instrument.kind != "eu_scc":
        return f"{label} is a UK tool: it does not cover EU data", "GDPR Art. 46(2)(c); Decision (EU) 2021/914"
    decision = instrument.scc_decision
    if decision == NEW_SCC_DECISION:
        candidate = _Candidate("scc", "", 2, (instrument.id,))
        candidate.reference = _module_check(candidate, shared.route, instrument, "GDPR Art. 46(2)(c)")
        return candidate
    if decision in OLD_SCC_DECISIONS:
        return _old_scc(shared, instrument, decision, "scc", OLD_SCC_LAST_DAY, "GDPR Art. 46(5)",
                        "Decision (EU) 2021/914 Art. 4(4)", OLD_SCC_CONCLUDED_BY,
                        "Decision (EU) 2021/914 Art. 4(3) repealed the pre-2021 SCC decisions from 2021-09-27; the "
                        "reference does not say whether sets signed on or after that day still counted: verify.")
    return f"{label}: SCC decision {decision or 'not recorded'} is not a known EU SCC decision", "GDPR Art. 46(2)(c)"


def _old_scc(shared: _Route, instrument: InstrumentFacts, decision: str, mechanism: str, last_day: date,
             article: str, source: str, concluded_by: date, doubt: str) -> _Candidate | tuple[str, str]:
    """A pre-2021 SCC set: valid to `last_day`; its fixed pair of roles must match the route."""
    label, route = _label(instrument), shared.route
    if shared.on > last_day:
        return f"{label}: EU SCC {decision} invalid since {last_day} (its last valid day)", source
    reference = f"{article}; Decision {decision}"
    candidate = _Candidate(mechanism, reference, 2, (instrument.id,))
    candidate.add("info", f"pre-2021 EU SCCs (Decision {decision}) still valid on {shared.on} (last valid day "
                          f"{last_day})", source)
    roles = _OLD_SCC_ROLES[decision]
    if (route.exporter_role, route.importer_role) != roles:
        candidate.add("attention", f"the set does not match the roles: Decision {decision} covers {roles[0]} to "
                                   f"{roles[1]} transfers, this route is {route.exporter_role} to "
                                   f"{route.importer_role}", reference)
    if instrument.signed_on is not None and instrument.signed_on > concluded_by:
        candidate.notes.append(doubt)
    return candidate


def _module_check(candidate: _Candidate, route: RouteFacts, scc: InstrumentFacts, article: str, extra: str = "") -> str:
    """Add the module finding (the module follows from the roles at both ends) and return the reference."""
    needed = _ROLE_MODULE.get((route.exporter_role, route.importer_role))
    modules = scc.scc_modules
    if needed is not None and needed in modules:
        reference = f"{article}; Decision (EU) 2021/914, Module {needed}{extra}"
        candidate.add("info", f"EU SCCs (Decision (EU) 2021/914) Module {needed} ({_MODULE_ROLES[needed]}) match the "
                              f"roles", reference)
        return reference
    listed = ", ".join(str(module) for module in sorted(modules)) or "none recorded"
    reference = f"{article}; Decision (EU) 2021/914, Module {listed}{extra}"
    candidate.add("attention", f"module does not match the roles: {route.exporter_role} to {route.importer_role} "
                               f"needs Module {needed}; {_label(scc)} has Module {listed}", reference)
    return reference


def _uk_clauses(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts,
                instruments: tuple[InstrumentFacts, ...]) -> _Candidate | tuple[str, str]:
    """UK data: the IDTA or the Addendum to the EU SCCs (from 2022-03-21); old EU SCCs until 2024-03-20."""
    label, on, kind = _label(instrument), shared.on, instrument.kind
    if kind == "uk_idta" or kind == "uk_addendum":
        tool = "IDTA" if kind == "uk_idta" else "UK Addendum"
        if on < UK_TOOLS_FROM:
            return f"{label}: the {tool} is in force only from {UK_TOOLS_FROM}", rx.law.clauses
        if kind == "uk_idta":
            reference = f"{rx.law.clauses}; ICO International Data Transfer Agreement"
            candidate = _Candidate("uk_idta", reference, 2, (instrument.id,))
            candidate.add("info", "the IDTA covers the UK export", reference)
            return candidate
        version = f" ({instrument.uk_addendum_version})" if instrument.uk_addendum_version else ""
        candidate = _Candidate("uk_addendum", "", 2, (instrument.id,))
        scc = next((item for item in instruments if item.kind == "eu_scc" and item.scc_decision == NEW_SCC_DECISION),
                   None)
        if scc is None:
            candidate.reference = f"{rx.law.clauses}; ICO UK Addendum to the EU SCCs{version}"
            candidate.add("attention", "the UK Addendum amends EU SCCs, but the route has no 2021 EU SCCs alongside "
                                       "it", candidate.reference)
        else:
            candidate.ids = (instrument.id, scc.id)
            candidate.reference = _module_check(candidate, shared.route, scc, rx.law.clauses,
                                                f"; ICO UK Addendum to the EU SCCs{version}")
        return candidate
    if instrument.scc_decision in OLD_SCC_DECISIONS:
        return _old_scc(shared, instrument, instrument.scc_decision, "scc", UK_OLD_SCC_LAST_DAY, "UK GDPR Art. 46(5)",
                        "ICO transitional provisions: old EU SCCs stopped working on 2024-03-21",
                        UK_OLD_SCC_CONCLUDED_BY,
                        "The ICO's transition kept the old EU SCCs only for contracts concluded on or before "
                        "2022-09-21; the reference gives only the 2024-03-21 end: verify this set's date.")
    return (f"{label}: EU SCCs alone are never valid for a UK export - add the UK Addendum or use the IDTA",
            f"{rx.law.clauses}; ICO guidance on international transfers")


def _swiss_scc(rx: _RegimeIndex, shared: _Route, instrument: InstrumentFacts) -> _Candidate | tuple[str, str]:
    """Swiss data: the 2021 EU SCCs recognised by the FDPIC, with the Swiss adaptations (FADP Art. 16(2)(d))."""
    label = _label(instrument)
    if instrument.kind != "eu_scc":
        return f"{label} is a UK tool: it does not cover Swiss data", rx.law.clauses
    if instrument.scc_decision != NEW_SCC_DECISION:
        return (f"{label}: only the 2021 EU SCCs with the Swiss adaptations are recorded as recognised by the FDPIC",
                rx.law.clauses)
    if not instrument.has_swiss_adaptation:
        return (f"{label} lacks the Swiss adaptation (FDPIC as authority, Swiss courts, FADP references): "
                f"it does not cover Swiss data", rx.law.clauses)
    candidate = _Candidate("ch_scc", "", 2, (instrument.id,))
    candidate.reference = _module_check(candidate, shared.route, instrument, rx.law.clauses, " with Swiss adaptations")
    return candidate


def _code_or_certification(rx: _RegimeIndex, instrument: InstrumentFacts) -> _Candidate:
    """Art. 46(2)(e)/(f) tools: recorded when used; none approved for transfers was found."""
    is_code = instrument.kind == "code_of_conduct"
    reference = rx.law.code_of_conduct if is_code else rx.law.certification
    what = "code of conduct" if is_code else "certification"
    candidate = _Candidate(instrument.kind, reference, 3, (instrument.id,))
    scheme = f" {instrument.scheme_name}" if instrument.scheme_name else ""
    candidate.add("attention", f"no approved transfer {what} was found: verify that the{scheme} {what} relied on is "
                               f"approved with binding commitments of the importer", reference)
    if rx.code == "CH":
        candidate.notes.append("The Swiss article for codes of conduct and certifications (FADP Art. 16(3); DPO "
                               "Art. 12) is not in the reference: verify.")
    return candidate


def _derogation(rx: _RegimeIndex, instrument: InstrumentFacts) -> _Candidate:
    """Art. 49 derogations: exceptional, never plain covered (EDPB Guidelines 2/2018)."""
    ground = _DEROGATION_GROUNDS.get(instrument.derogation_ground or "")
    if rx.code == "CH":
        reference = rx.law.derogation
    else:
        reference = f"{rx.law.derogation}{ground[0]}" if ground else rx.law.derogation
    candidate = _Candidate("derogation", reference, 4, (instrument.id,))
    if ground is None:
        candidate.add("attention", "derogation relied on without a recorded ground", reference)
    else:
        candidate.add("attention", f"derogation ({ground[1]}): exceptional, for occasional transfers only - needs a "
                                   f"human's review", f"{reference}; EDPB Guidelines 2/2018")
    if not instrument.has_derogation_justification:
        compelling = instrument.derogation_ground == "compelling_legitimate_interests"
        documented = "GDPR Art. 49(6); Art. 30(1)(e)" if compelling else "EDPB Guidelines 2/2018"
        candidate.add("attention", "no written justification recorded for the derogation", documented)
    if rx.code == "CH":
        candidate.notes.append("The reference lists the GDPR's Art. 49 grounds only: check the matching FADP Art. 17 "
                               "ground for Swiss data.")
    return candidate


# --- vendor vetting (ISO/IEC 27001) ------------------------------------------------------------

_VETTING_ORDER = {state: position for position, state in enumerate(VETTING_STATES)}


def vetting_state(party: PartyFacts, on: date) -> VettingAssessment:
    """A vendor's ISO/IEC 27001 vetting on `on`: its best certificate's state, review and rejection.

    Per certificate, the first that applies: superseded_edition (2013 edition after 2025-10-31),
    expired (past expires_on, or withdrawn), unverified (not verified in the 12 months before `on`),
    expiring (expires within 90 days, the 2013 cut-off counting as its expiry), valid. A certificate
    issued after `on` does not exist yet. The best certificate wins, in VETTING_STATES order.
    """
    best: Optional[tuple[int, str, CertificateFacts, date]] = None
    for certificate in party.certificates:
        if certificate.issued_on > on:
            continue
        state, ends = _certificate_state(certificate, on)
        if best is None or _VETTING_ORDER[state] < best[0] or (
                _VETTING_ORDER[state] == best[0] and ends > best[3]):
            best = (_VETTING_ORDER[state], state, certificate, ends)
    reasons: list[Reason] = []
    reference = "ISO/IEC 27001 vetting; GDPR Art. 28(1), Art. 32"
    if best is None:
        state, certificate = "none", None
        reasons.append(Reason("info", "no ISO/IEC 27001 certificate on record", reference))
    else:
        _, state, certificate, ends = best
        edition = f"ISO/IEC 27001:{certificate.edition}"
        texts = {
            "valid": ("info", f"{edition} certificate valid until {ends}"),
            "expiring": ("attention", f"{edition} certificate expires on {ends} (within {CERTIFICATE_EXPIRING_DAYS} "
                                      f"days)"),
            "unverified": ("attention", f"{edition} certificate not verified in the last 12 months (last verified: "
                                        f"{certificate.last_verified_on or 'never'})"),
            "expired": ("attention", f"{edition} certificate "
                                     + (f"withdrawn on {certificate.withdrawn_on}"
                                        if certificate.withdrawn_on is not None and certificate.withdrawn_on <= on
                                        else f"expired on {certificate.expires_on}")),
            "superseded_edition": ("attention", f"{edition} certificate: every 2013-edition certificate lapsed after "
                                                f"{ISO_2013_LAST_DAY} (transition to ISO/IEC 27001:2022)"),
        }
        severity, text = texts[state]
        reasons.append(Reason(severity, text, reference))
        if certificate.edition == "2013" and state in ("valid", "expiring", "unverified"):
            reasons.append(Reason("info", f"2013 edition: it must be replaced by a 2022-edition certificate by "
                                          f"{ISO_2013_LAST_DAY}", reference))
    review_overdue = party.vetting_next_review_on is not None and party.vetting_next_review_on < on
    if review_overdue:
        reasons.append(Reason("attention", f"vetting review overdue since {party.vetting_next_review_on}", reference))
    rejected = party.vetting_status == "rejected"
    if rejected:
        reasons.append(Reason("attention", "vendor vetting rejected", reference))
    status = worst(reason.severity for reason in reasons)
    return VettingAssessment(state, certificate, review_overdue, rejected, status, tuple(reasons))


def _certificate_state(certificate: CertificateFacts, on: date) -> tuple[str, date]:
    """One certificate's state on `on`, and the last day it is (or was) valid."""
    ends = certificate.expires_on
    if certificate.edition == "2013" and ends > ISO_2013_LAST_DAY:
        ends = ISO_2013_LAST_DAY
    if certificate.edition == "2013" and on > ISO_2013_LAST_DAY:
        return "superseded_edition", ends
    if on > ends or (certificate.withdrawn_on is not None and certificate.withdrawn_on <= on):
        return "expired", ends
    if certificate.last_verified_on is None or certificate.last_verified_on < _add_years(on, -1):
        return "unverified", ends
    if (ends - on).days <= CERTIFICATE_EXPIRING_DAYS:
        return "expiring", ends
    return "valid", ends


# --- sub-processor change notices (Art. 28(2)) ---------------------------------------------------

NOTICE_REFERENCE = "GDPR Art. 28(2) and (4); SCC 2021/914 Clause 9(a)"
SPECIFIC_AUTHORISATION_REFERENCE = "GDPR Art. 28(2), first sentence (prior specific authorisation); SCC 2021/914 Clause 9(a) Option 1"


@dataclass(**_FACTS)
class NoticeFacts:
    """What was recorded of one client's notice of an intended sub-processor change."""

    sent_on: Optional[date] = None
    objection_deadline: Optional[date] = None
    objection_received_on: Optional[date] = None
    outcome: str = "pending"


def objection_deadline(sent_on: date, notice_period_days: int) -> date:
    """The last day a client may object: the notice period counted in calendar days from the sending."""
    return sent_on + timedelta(days=notice_period_days)


@dataclass(**_FACTS)
class EngagementLink:
    """Who engages whom, as what, in which lifecycle state."""

    status: str
    relationship: Optional[str]
    engager_id: Optional[int]
    engaged_id: Optional[int]


def sub_processor_takes_effect(before: Optional[EngagementLink], after: EngagementLink) -> bool:
    """Whether a write makes a sub-processor take effect for the data it will process (Art. 28(2)
    "intended changes concerning the addition or replacement"): an active sub-processor engagement that
    is new, newly active, or now names another party or relationship (a replacement)."""
    if after.status != "active" or after.relationship != "sub_processor":
        return False
    if before is None or before.status != "active":
        return True
    return (before.engaged_id, before.engager_id, before.relationship) != (after.engaged_id, after.engager_id, after.relationship)


def activation_blockers(client: str, authorisation: Optional[str], notice: Optional[NoticeFacts], today: date,
                        starts_on: Optional[date] = None) -> list[Reason]:
    """Why a sub-processor may not yet take effect for one client's data (empty: it may).

    Art. 28(2): a processor engages another processor only with the controller's prior specific or
    general written authorisation.
    - No written authorisation recorded (none, or "not required" on a processing engagement): no
      sub-processor may be engaged for that client's data. Severity gap: an override cannot lift it.
    - Prior specific authorisation: the client's authorisation of this sub-processor is needed,
      whatever the dates (gap until recorded).
    - General written authorisation: the client is told of the intended change and may object; the
      change waits until the deadline has passed (today and on the start date) with no objection
      standing. These are severity attention: an editor may override them with a recorded reason.
    - An objection upheld means the sub-processor is not used for that client's data: nothing to
      wait for (the client is left out).
    """
    if authorisation not in ("general", "specific"):
        return [Reason("gap", f"{client} has given no written authorisation to engage sub-processors: record its "
                              "prior specific or general written authorisation first", NOTICE_REFERENCE)]
    if notice is not None and notice.outcome == "authorised":
        return []
    if authorisation == "specific":
        return [Reason("gap", f"{client} must authorise this sub-processor in advance (prior specific authorisation); "
                              "record its authorisation on the notice", SPECIFIC_AUTHORISATION_REFERENCE)]
    if notice is not None and notice.outcome in ("objection_upheld", "objection_resolved"):
        return []
    if notice is None or notice.sent_on is None:
        return [Reason("attention", f"{client} has not been told of this intended change", NOTICE_REFERENCE)]
    if notice.objection_received_on is not None:
        return [Reason("attention", f"{client} objected on {notice.objection_received_on}; record how the objection "
                                    "was resolved first", NOTICE_REFERENCE)]
    if notice.objection_deadline is None:
        return [Reason("attention", f"the objection deadline given to {client} is not recorded", NOTICE_REFERENCE)]
    if today <= notice.objection_deadline:
        return [Reason("attention", f"{client} may object until {notice.objection_deadline}", NOTICE_REFERENCE)]
    if starts_on is not None and starts_on <= notice.objection_deadline:
        return [Reason("attention", f"the start date {starts_on} falls inside {client}'s objection window "
                                    f"(until {notice.objection_deadline})", NOTICE_REFERENCE)]
    return []


def strictest_authorisation(authorisations: Iterable[Optional[str]]) -> Optional[str]:
    """A client that engaged the group several times is held to its strictest authorisation (none,
    then specific, then general)."""
    order = {"general": 0, "specific": 1}
    return max(authorisations, key=lambda value: order.get(value, 2), default=None)


# --- data subjects' requests -------------------------------------------------------------------
# The request clocks (privacy notice; GDPR Art. 12(3); Reg. 1182/71 for months) live in their own pure
# module; the register reads them from here, the one home of legal judgements.
from ..deadlines import (  # noqa: E402, F401
    Clocks,
    Deadline,
    RequestDates,
    add_months,
    add_working_days,
    extension_problems,
    request_clocks,
)
