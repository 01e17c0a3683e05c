"""The transfer rules as truth tables, each row written from the law notes and citing its rule.

Facts are built with small factories so that a row reads as one sentence; expected verdicts come from
docs/transfer-law.md and data/countries.yaml, never from the code under test.
"""

import ast
import dataclasses
from dataclasses import FrozenInstanceError
from datetime import date
from itertools import count
from pathlib import Path
from types import MappingProxyType

import pytest

from register import countries, rules
from register.rules import (
    BcrApprovalFacts,
    BcrMembershipFacts,
    CertificateFacts,
    DpfFacts,
    InstrumentFacts,
    PartyFacts,
    RouteFacts,
    StatementFacts,
    TiaFacts,
)

LAW = countries.load(countries.DEFAULT_FILE)
TODAY = date(2026, 11, 25)
D = date.fromisoformat
_ids = count(1000)

# --- factories --------------------------------------------------------------------------------


def party(country="DE", kind="group_entity", name=None, *, dpf=(), scope=None, bcr=(), certs=(), art3_2=False,
          vetting=None, next_review=None, org=None) -> PartyFacts:
    return PartyFacts(
        id=next(_ids), kind=kind, legal_name=name or f"{kind} in {country or org}", country=country,
        organisation_code=org, bcr=tuple(bcr), dpf=tuple(dpf), scope_facts=MappingProxyType(dict(scope or {})),
        is_subject_to_gdpr_art3_2=art3_2, vetting_status=vetting, vetting_next_review_on=next_review and D(next_review),
        certificates=tuple(certs),
    )


def vendor(country="US", **kwargs) -> PartyFacts:
    kwargs.setdefault("name", "Cloudco Inc.")
    return party(country, "third_party", **kwargs)


def dpf(framework="eu_us", *, hr=False, non_hr=True, entity="Cloudco Inc.", active=True) -> DpfFacts:
    return DpfFacts(framework=framework, covers_hr_data=hr, covers_non_hr_data=non_hr, certified_entity_name=entity,
                    is_active=active, verified_on=D("2026-06-01"))


def scc(*modules, decision="2021/914", swiss=False, signed="2021-10-01", terminated=None, status="active"):
    return InstrumentFacts(id=next(_ids), kind="eu_scc", title=f"SCC {decision}", scc_decision=decision,
                           scc_modules=frozenset(modules or (2,)), has_swiss_adaptation=swiss,
                           signed_on=signed and D(signed), terminated_on=terminated and D(terminated), status=status)


def old_scc(decision="2010/87/EU", signed="2019-05-01"):
    return InstrumentFacts(id=next(_ids), kind="eu_scc", title=f"SCC {decision}", scc_decision=decision,
                           signed_on=D(signed))


def idta(signed=None):
    return InstrumentFacts(id=next(_ids), kind="uk_idta", title="IDTA", signed_on=signed and D(signed))


def addendum(signed=None):
    return InstrumentFacts(id=next(_ids), kind="uk_addendum", title="UK Addendum", uk_addendum_version="B1.0",
                           signed_on=signed and D(signed))


def approval(regime="EU", bcr_type="bcr_c", approved="2019-01-01", withdrawn=None, approval_id=1):
    return BcrApprovalFacts(approval_id=approval_id, regime=regime, bcr_type=bcr_type, approved_on=D(approved),
                            withdrawn_on=withdrawn and D(withdrawn))


def member(of: BcrApprovalFacts, bound_from="2019-06-01", bound_to=None) -> BcrMembershipFacts:
    return BcrMembershipFacts(approval_id=of.approval_id, regime=of.regime, bcr_type=of.bcr_type,
                              approved_on=of.approved_on, withdrawn_on=of.withdrawn_on, bound_from=D(bound_from),
                              bound_to=bound_to and D(bound_to))


def bcr_tool(of: BcrApprovalFacts):
    return InstrumentFacts(id=next(_ids), kind="bcr", title="Group BCR", bcr_approval=of)


def derogation(ground="b", justified=True):
    return InstrumentFacts(id=next(_ids), kind="derogation", title="Art. 49", derogation_ground=ground,
                           has_derogation_justification=justified)


def tool(kind):
    return InstrumentFacts(id=next(_ids), kind=kind, title=kind, scheme_name="Cloud Code")


def tia(outcome="can_comply", assessed="2025-01-01", review=None, regime=None):
    return TiaFacts(regime=regime, assessed_on=D(assessed), outcome=outcome, next_review_on=review and D(review))


TIA_OK = tia(assessed="2020-01-01")  # before every date the tables look at
ROLES = {"C>C": ("controller", "controller"), "C>P": ("controller", "processor"),
         "P>P": ("processor", "processor"), "P>C": ("processor", "controller")}


def route(dest="US", regimes="EU", *, importer=None, exporter=None, roles="C>P", tools=(), tias=(TIA_OK,), hr=False,
          onward=False, org=None, special=False, basis=None, consent=None, uncovered=()) -> RouteFacts:
    exporter = exporter or party("DE")
    importer = importer or (party(None, "international_organisation", org=org) if org else vendor(dest))
    exporter_role, importer_role = ROLES[roles]
    return RouteFacts(
        id=next(_ids), exporter=exporter, importer=importer, destination_country=None if org else dest,
        destination_organisation=org, regimes=frozenset(regimes.split()), is_onward=onward,
        exporter_role=exporter_role, importer_role=importer_role, has_hr_data=hr, has_special_category_data=special,
        special_category_basis=basis, consent_mechanism=consent, instruments=tuple(tools), tias=tuple(tias),
        uncovered_locations=frozenset(uncovered),
    )


def verdict(facts: RouteFacts, on=TODAY, regime=None) -> rules.RegimeAssessment:
    assessment = rules.assess_route(facts, on if isinstance(on, date) else D(on), LAW)
    code = regime or sorted(facts.regimes)[0]
    found = assessment.regime(code)
    assert found is not None, f"no {code} assessment"
    return found


def texts(assessment) -> str:
    return " | ".join(str(reason) for reason in assessment.reasons)


def expect(found: rules.RegimeAssessment, mechanism: str, status: str) -> None:
    assert (found.mechanism, found.status) == (mechanism, status), texts(found)
    # Every concern is explained: the status is the worst severity of the reasons given.
    assert rules.worst(reason.severity for reason in found.reasons) == status


EU_PAIR = dict(exporter=party("DE"))
UK_EXPORTER = party("GB", name="Meridian UK Ltd")
CH_EXPORTER = party("CH", name="Meridian AG")


# --- 1. free flow and restricted transfers (GDPR Art. 44; transfer-law.md s. 1-2) -----

FREE_FLOW = [
    pytest.param(route("FR", importer=party("FR")), "EU", False, "none_needed", id="EU->FR inside the EEA needs no tool"),
    pytest.param(route("GR", importer=party("GR")), "EU", False, "none_needed", id="EU->GR (Greece is GR, not EL) is EEA"),
    pytest.param(route("NO", importer=party("NO")), "EU", False, "none_needed", id="EU->NO (EEA, not EU) is free flow"),
    pytest.param(route("AX", importer=party("AX")), "EU", False, "none_needed", id="EU->Aland is EU territory"),
    pytest.param(route("RE", importer=party("RE")), "EU", False, "none_needed", id="EU->Reunion is EU territory"),
    pytest.param(route("GL", importer=party("GL"), tools=[scc(2)]), "EU", True, "scc", id="EU->Greenland is a transfer (not EU/EEA)"),
    pytest.param(route("CH", importer=party("CH")), "EU", True, "adequacy", id="EU->CH is a transfer under adequacy, not free flow"),
    pytest.param(route("GB", "UK", exporter=UK_EXPORTER, importer=party("GB")), "UK", False, "none_needed", id="UK->UK needs no tool"),
    pytest.param(route("FR", "UK", exporter=UK_EXPORTER, importer=party("FR")), "UK", True, "adequacy", id="UK->FR: the EEA is adequate for the UK, not free flow"),
    pytest.param(route("CH", "CH", exporter=CH_EXPORTER, importer=party("CH")), "CH", False, "none_needed", id="CH->CH needs no tool"),
    pytest.param(route("LI", "CH", exporter=CH_EXPORTER, importer=party("LI")), "CH", True, "adequacy", id="CH->LI is adequate under DPO Annex 1, not free flow"),
    pytest.param(route("DE", "EU", exporter=vendor("US"), importer=party("DE"), onward=True), "EU", False, "none_needed",
                 id="EU data coming back from the US to DE is not restricted (destination counts, not exporter)"),
]


@pytest.mark.parametrize("facts, regime, restricted, mechanism", FREE_FLOW)
def test_a_transfer_is_restricted_only_outside_the_regimes_free_flow_area(facts, regime, restricted, mechanism):
    found = verdict(facts, regime=regime)
    assert (found.restricted, found.mechanism) == (restricted, mechanism), texts(found)
    if not restricted:
        assert found.status == "covered" and found.tia == rules.NO_TIA


def test_svalbard_is_a_transfer_and_its_doubt_is_shown():
    # Reference s. 1: SJ is outside the EEA Agreement (VERIFY) -> review note, never hidden.
    found = verdict(route("SJ", importer=party("SJ"), tools=[scc(2)]))
    assert found.restricted and any("Svalbard" in note for note in found.review_notes)


# --- 2. international organisations (transfer-law.md s. 2: a destination of its own) ----

EPO = [
    pytest.param(route(org="EPO"), "EU", "2025-07-14", "none", "gap", id="EU->EPO the day before Decision 2025/1382: no adequacy"),
    pytest.param(route(org="EPO"), "EU", "2025-07-15", "adequacy", "covered", id="EU->EPO from 2025-07-15: adequacy (2025/1382)"),
    pytest.param(route(org="EPO", regimes="UK", exporter=UK_EXPORTER), "UK", TODAY, "none", "gap", id="UK->EPO: no UK adequacy found"),
    pytest.param(route(org="EPO", regimes="CH", exporter=CH_EXPORTER), "CH", TODAY, "none", "gap", id="CH->EPO: no Swiss adequacy found"),
]


@pytest.mark.parametrize("facts, regime, on, mechanism, status", EPO)
def test_an_international_organisation_is_always_a_transfer(facts, regime, on, mechanism, status):
    found = verdict(facts, on, regime)
    assert found.restricted
    expect(found, mechanism, status)


def test_the_epo_seat_in_munich_never_makes_it_intra_eea():
    # The importer is the EPO; even a destination recorded as its seat DE is not free flow.
    epo = party(None, "international_organisation", org="EPO")
    facts = RouteFacts(id=1, exporter=party("DE"), importer=epo, destination_country="DE", regimes=frozenset({"EU"}),
                       exporter_role="controller", importer_role="controller")
    found = verdict(facts)
    assert found.restricted and found.mechanism == "adequacy" and found.adequacy_id == "EU-EPO"


def test_an_organisation_recorded_only_by_its_seat_country_is_still_a_transfer():
    nameless = PartyFacts(id=2, kind="international_organisation", legal_name="Some organisation")
    facts = RouteFacts(id=2, exporter=party("DE"), importer=nameless, destination_country="DE",
                       regimes=frozenset({"EU"}), exporter_role="controller", importer_role="controller")
    found = verdict(facts)
    assert found.restricted and found.mechanism == "none"


# --- 3. adequacy windows: the day before, on and after entry into force, and the last valid day --

US_DPF_ALL = vendor(dpf=[dpf("eu_us"), dpf("uk_extension"), dpf("swiss_us")])
KR_PIPA = party("KR", "third_party", scope={"kr_pipa_covered": "yes", "kr_excluded_sector": "no"})
BR_LGPD = party("BR", "third_party", scope={"br_lgpd_covered": "yes"})
GB_IMPORTER = party("GB", "third_party")

WINDOWS = [
    # UK: SI 2022/1213 (Korea) from 2022-12-19.
    pytest.param("KR", "UK", "2022-12-18", None, id="UK->KR 2022-12-18: before SI 2022/1213"),
    pytest.param("KR", "UK", "2022-12-19", "UK-KR", id="UK->KR 2022-12-19: SI 2022/1213 in force"),
    pytest.param("KR", "UK", "2022-12-20", "UK-KR", id="UK->KR 2022-12-20: SI 2022/1213 in force"),
    # UK: SI 2023/1028 (US, UK Extension) from 2023-10-12.
    pytest.param("US", "UK", "2023-10-11", None, id="UK->US 2023-10-11: before SI 2023/1028"),
    pytest.param("US", "UK", "2023-10-12", "UK-US-DPF", id="UK->US 2023-10-12: SI 2023/1028 in force"),
    # CH: DPO Annex 1 US entry from 2024-09-15.
    pytest.param("US", "CH", "2024-09-14", None, id="CH->US 2024-09-14: before the Swiss-US entry"),
    pytest.param("US", "CH", "2024-09-15", "CH-US-DPF", id="CH->US 2024-09-15: Swiss-US entry in force"),
    # EU: Implementing Decision (EU) 2023/1795 from 2023-07-10.
    pytest.param("US", "EU", "2023-07-09", None, id="EU->US 2023-07-09: before Decision 2023/1795"),
    pytest.param("US", "EU", "2023-07-10", "EU-US-DPF", id="EU->US 2023-07-10: Decision 2023/1795 in force"),
    # EU: Brazil, Implementing Decision (EU) 2026/179 from 2026-01-26.
    pytest.param("BR", "EU", "2026-01-25", None, id="EU->BR 2026-01-25: before Decision 2026/179"),
    pytest.param("BR", "EU", "2026-01-26", "EU-BR", id="EU->BR 2026-01-26: Decision 2026/179 in force"),
    # EU: the UK decision 2021/1772 from 2021-06-28, renewed by 2025/2574 to 2031-12-27 (last day valid).
    pytest.param("GB", "EU", "2021-06-27", None, id="EU->GB 2021-06-27: before Decision 2021/1772"),
    pytest.param("GB", "EU", "2021-06-28", "EU-GB-2021", id="EU->GB 2021-06-28: Decision 2021/1772 in force"),
    pytest.param("GB", "EU", "2023-06-01", "EU-GB-2021", id="EU->GB viewed as of 2023: covered by 2021/1772"),
    pytest.param("GB", "EU", "2025-12-27", "EU-GB-2025-RENEWAL", id="EU->GB 2025-12-27: the renewal 2025/2574 (longest) relied on"),
    pytest.param("GB", "EU", "2025-12-28", "EU-GB-2025-RENEWAL", id="EU->GB 2025-12-28: only the renewal 2025/2574"),
    pytest.param("GB", "EU", "2031-12-27", "EU-GB-2025-RENEWAL", id="EU->GB 2031-12-27: last valid day of 2025/2574"),
    pytest.param("GB", "EU", "2031-12-28", None, id="EU->GB 2031-12-28: Decision 2025/2574 expired"),
    # CH: DPO Annex 1 from 2023-09-01 only.
    pytest.param("GB", "CH", "2023-08-31", None, id="CH->GB 2023-08-31: before DPO Annex 1"),
    pytest.param("GB", "CH", "2023-09-01", "CH-GB", id="CH->GB 2023-09-01: DPO Annex 1 in force"),
]
IMPORTERS = {"US": US_DPF_ALL, "KR": KR_PIPA, "BR": BR_LGPD, "GB": GB_IMPORTER}
EXPORTERS = {"EU": party("DE"), "UK": UK_EXPORTER, "CH": CH_EXPORTER}


@pytest.mark.parametrize("dest, regime, on, adequacy_id", WINDOWS)
def test_adequacy_covers_a_route_only_inside_the_decisions_dates(dest, regime, on, adequacy_id):
    found = verdict(route(dest, regime, exporter=EXPORTERS[regime], importer=IMPORTERS[dest]), on, regime)
    if adequacy_id is None:
        expect(found, "none", "gap")
        assert found.adequacy_id is None
    else:
        assert found.mechanism == "adequacy" and found.adequacy_id == adequacy_id, texts(found)
        assert found.status in ("covered", "attention") and not found.tia.required  # no TIA under adequacy


EXPIRY = [
    pytest.param("2030-12-26", "covered", id="EU->GB 2030-12-26: 2025/2574 expires in more than a year"),
    pytest.param("2030-12-27", "attention", id="EU->GB 2030-12-27: expiry 2031-12-27 is within a year"),
    pytest.param("2031-01-01", "attention", id="EU->GB 2031-01-01: expiring decision needs attention"),
    pytest.param("2025-06-01", "covered", id="EU->GB 2025-06-01: 2021/1772 runs on into the renewal, no break"),
]


@pytest.mark.parametrize("on, status", EXPIRY)
def test_a_decision_expiring_within_a_year_needs_attention(on, status):
    found = verdict(route("GB", importer=GB_IMPORTER), on)
    expect(found, "adequacy", status)
    if status == "attention":
        assert "2031-12-27" in texts(found)


def test_an_expiring_decision_with_scc_fallback_stays_covered():
    found = verdict(route("GB", importer=GB_IMPORTER, tools=[scc(2)]), "2031-06-01")
    expect(found, "adequacy", "covered")
    assert "fallback is in place" in texts(found)


COUNTRY_LISTS = [
    # Reference s. 2 table: the UK and Swiss lists differ from the EU's.
    pytest.param("GI", "EU", None, id="Gibraltar: no EU decision (2021/1772 covers the UK only)"),
    pytest.param("GI", "UK", "UK-GI", id="Gibraltar: adequate for the UK (DPA 2018 Sch. 21 para 5)"),
    pytest.param("GI", "CH", "CH-GI", id="Gibraltar: adequate for CH (DPO Annex 1)"),
    pytest.param("MC", "EU", None, id="Monaco: no EU decision"),
    pytest.param("MC", "UK", None, id="Monaco: no UK adequacy"),
    pytest.param("MC", "CH", "CH-MC", id="Monaco: adequate for CH only"),
    pytest.param("BR", "UK", None, id="Brazil: the EU decision is EU only (not UK)"),
    pytest.param("BR", "CH", None, id="Brazil: the EU decision is EU only (not CH)"),
    pytest.param("JP", "CH", None, id="Japan: not in DPO Annex 1"),
    pytest.param("KR", "CH", None, id="Korea: not in DPO Annex 1"),
    pytest.param("JP", "EU", "EU-JP", id="Japan: EU Decision 2019/419 for APPI operators"),
    pytest.param("JP", "UK", "UK-JP", id="Japan: UK keeps 2019/419 for APPI-covered data"),
    pytest.param("KR", "EU", "EU-KR", id="Korea: EU Decision 2022/254 for PIPA controllers"),
    pytest.param("IN", "EU", None, id="India: no adequacy in any regime (EU)"),
    pytest.param("AE", "UK", None, id="UAE incl. DIFC: no adequacy (UK)"),
    pytest.param("CH", "UK", "UK-CH", id="Switzerland: adequate for the UK (EU Decision 2000/518/EC kept)"),
    pytest.param("GB", "CH", "CH-GB", id="United Kingdom: adequate for CH"),
]
SCOPED = {"JP": {"jp_appi_private_sector": "yes"}, "KR": {"kr_pipa_covered": "yes", "kr_excluded_sector": "no"},
          "BR": {"br_lgpd_covered": "yes"}}


@pytest.mark.parametrize("dest, regime, adequacy_id", COUNTRY_LISTS)
def test_each_regime_has_its_own_adequacy_list(dest, regime, adequacy_id):
    importer = party(dest, "third_party", scope=SCOPED.get(dest))
    found = verdict(route(dest, regime, exporter=EXPORTERS[regime], importer=importer), TODAY, regime)
    assert found.adequacy_id == adequacy_id, texts(found)
    assert found.mechanism == ("adequacy" if adequacy_id else "none")


# --- 4. partial decisions: scope facts (unknown is never yes) ---------------------------------

SCOPE = [
    pytest.param("CA", "EU", {"ca_pipeda": "yes"}, "adequacy", "covered", id="EU->CA PIPEDA recipient: Decision 2002/2/EC"),
    pytest.param("CA", "EU", {"ca_pipeda": "no"}, "none", "gap", id="EU->CA not under PIPEDA (e.g. Privacy Act body): no adequacy"),
    pytest.param("CA", "EU", {"ca_pipeda": "unknown"}, "adequacy", "attention", id="EU->CA PIPEDA unknown: confirm, not covered"),
    pytest.param("CA", "EU", {}, "adequacy", "attention", id="EU->CA PIPEDA never answered counts as unknown"),
    pytest.param("CA", "UK", {"ca_pipeda": "yes"}, "adequacy", "covered", id="UK->CA PIPEDA recipient: covered"),
    pytest.param("CA", "CH", {"ca_private_sector_law": "yes"}, "adequacy", "covered", id="CH->CA private-sector law recipient: covered"),
    pytest.param("CA", "CH", {"ca_pipeda": "yes"}, "adequacy", "attention", id="CH->CA asks its own fact: a PIPEDA answer does not settle it"),
    pytest.param("KR", "EU", {"kr_pipa_covered": "yes", "kr_excluded_sector": "yes"}, "none", "gap", id="EU->KR excluded sector (FSC credit data): no adequacy"),
    pytest.param("KR", "EU", {"kr_pipa_covered": "yes"}, "adequacy", "attention", id="EU->KR excluded sector unknown: confirm"),
    pytest.param("KR", "EU", {"kr_pipa_covered": "no", "kr_excluded_sector": "no"}, "none", "gap", id="EU->KR not PIPA-covered: no adequacy"),
    pytest.param("KR", "UK", {}, "adequacy", "covered", id="UK->KR: SI 2022/1213 states no scope limit"),
    pytest.param("IL", "EU", {"il_automated_processing": "no"}, "none", "gap", id="EU->IL manual processing only: no adequacy (2011/61/EU)"),
    pytest.param("IL", "CH", {"il_automated_processing": "no"}, "adequacy", "covered", id="CH->IL: Annex 1 without the EU's scope limit"),
    pytest.param("JP", "EU", {"jp_appi_private_sector": "no"}, "none", "gap", id="EU->JP public body: outside 2019/419"),
    pytest.param("BR", "EU", {"br_lgpd_covered": "unknown"}, "adequacy", "attention", id="EU->BR LGPD unknown: confirm"),
]


@pytest.mark.parametrize("dest, regime, facts, mechanism, status", SCOPE)
def test_partial_adequacy_needs_the_importers_answer(dest, regime, facts, mechanism, status):
    importer = party(dest, "third_party", scope=facts)
    found = verdict(route(dest, regime, exporter=EXPORTERS[regime], importer=importer), TODAY, regime)
    expect(found, mechanism, status)
    if status == "attention":
        assert "unknown" in texts(found) and "confirm" in texts(found)


def test_an_unknown_scope_fact_gives_way_to_a_valid_scc():
    found = verdict(route("CA", importer=party("CA", "third_party"), tools=[scc(2)]))
    expect(found, "scc", "covered")
    assert "adequacy not relied on" in texts(found)


def test_a_scope_answered_the_wrong_way_falls_back_to_the_scc():
    importer = party("CA", "third_party", scope={"ca_pipeda": "no"})
    expect(verdict(route("CA", importer=importer, tools=[scc(2)])), "scc", "covered")


# --- 5. the US: DPF certification per regime (Decision 2023/1795; SI 2023/1028; DPO Annex 1) ---

DPF = [
    pytest.param(vendor(dpf=[dpf()]), False, "EU", "adequacy", id="EU->US DPF-certified non-HR, route carries non-HR -> adequacy"),
    pytest.param(vendor(dpf=[dpf()]), True, "EU", "none", id="EU->US importer DPF-certified non-HR, route carries HR -> not adequacy"),
    pytest.param(vendor(dpf=[dpf(hr=True, non_hr=False)]), True, "EU", "adequacy", id="EU->US DPF covers HR, route carries HR -> adequacy"),
    pytest.param(vendor(dpf=[dpf(hr=True, non_hr=False)]), False, "EU", "none", id="EU->US DPF covers HR only, route carries non-HR -> not adequacy"),
    pytest.param(vendor(dpf=[dpf(active=False)]), False, "EU", "none", id="EU->US DPF row inactive -> not adequacy"),
    pytest.param(vendor(dpf=[dpf("uk_extension")]), False, "EU", "none", id="EU->US only a UK Extension row -> no EU-US adequacy"),
    pytest.param(vendor(dpf=[dpf("eu_us")]), False, "UK", "none", id="UK->US EU-US row without the UK Extension -> not adequacy"),
    pytest.param(vendor(dpf=[dpf("uk_extension")]), False, "UK", "adequacy", id="UK->US UK Extension -> adequacy (SI 2023/1028)"),
    pytest.param(vendor(dpf=[dpf("eu_us")]), False, "CH", "none", id="CH->US EU-US row without Swiss-US -> not adequacy"),
    pytest.param(vendor(dpf=[dpf("swiss_us")]), False, "CH", "adequacy", id="CH->US Swiss-US DPF -> adequacy"),
    pytest.param(vendor(), False, "EU", "none", id="EU->US not on the DPF List -> not adequacy"),
]


@pytest.mark.parametrize("importer, hr, regime, mechanism", DPF)
def test_us_adequacy_needs_the_regimes_dpf_certification_for_the_data_type(importer, hr, regime, mechanism):
    found = verdict(route("US", regime, exporter=EXPORTERS[regime], importer=importer, hr=hr), TODAY, regime)
    assert found.mechanism == mechanism, texts(found)
    if mechanism == "none":
        assert found.status == "gap"


def test_no_dpf_entry_is_said_as_not_recorded_not_as_not_certified():
    # transfer-law.md s. 3: the register knows only the entries it records.
    found = texts(verdict(route("US", importer=vendor())))
    assert "no DPF entry recorded for the importer under the EU-US DPF" in found
    assert "not certified" not in found


# --- vendor statements and party aliases (transfer-law.md s. 3 and 9: "What a vendor states") ----------


def stated(mechanism="scc", *, framework=None, regime=None, text=None, source="vendor's sub-processor list",
           on="2024-08-19") -> StatementFacts:
    return StatementFacts(id=next(_ids), mechanism=mechanism, dpf_framework=framework, regime=regime, stated_text=text,
                          source=source, stated_on=D(on))


def stating(importer: PartyFacts, *statements: StatementFacts, aliases=()) -> PartyFacts:
    return dataclasses.replace(importer, statements=tuple(statements), aliases=tuple(aliases))


STATEMENTS = [
    # Art. 44-46: a transfer relies on a tool in place; what the vendor says is to be verified, not relied on.
    pytest.param(route("US", importer=stating(vendor(), stated("scc"))), "EU", "scc", "attention",
                 "EU SCCs stated by the vendor (vendor's sub-processor list, 2024-08-19), not verified", id="stated SCCs -> attention, not covered"),
    pytest.param(route("US", importer=stating(vendor(), stated("dpf", framework="eu_us"))), "EU", "adequacy", "attention",
                 "EU-US DPF certification stated by the vendor", id="stated DPF, no entry recorded -> attention, not gap"),
    pytest.param(route("US", "UK", exporter=UK_EXPORTER, importer=stating(vendor(), stated("dpf", framework="eu_us"))), "UK",
                 "none", "gap", "no transfer tool recorded", id="a statement of the EU-US DPF says nothing of UK data"),
    pytest.param(route("US", importer=stating(vendor(), stated("scc", regime="UK"))), "EU", "none", "gap",
                 "no transfer tool recorded for EU GDPR data to US", id="a statement about UK data says nothing of EU data"),
    pytest.param(route("US", importer=stating(vendor(), stated("other", text="Standard privacy terms"))), "EU", "none",
                 "attention", "'Standard privacy terms' stated by the vendor", id="an unknown stated mechanism -> attention, mechanism none"),
    pytest.param(route("US", importer=stating(vendor(), stated("scc")), tools=[scc(2)]), "EU", "scc", "covered",
                 "", id="a recorded instrument that holds decides; the statement changes nothing"),
    pytest.param(route("US", importer=stating(vendor(), stated("scc")), tools=[scc(2, terminated="2025-01-01")]), "EU", "scc",
                 "attention", "was terminated on 2025-01-01", id="a recorded instrument that lapsed, a statement -> attention"),
    pytest.param(route("US", importer=vendor()), "EU", "none", "gap", "no transfer tool recorded for EU GDPR data to US",
                 id="nothing known -> no transfer tool recorded"),
    pytest.param(route("US", importer=vendor(), tools=[scc(2, terminated="2025-01-01")]), "EU", "none", "gap",
                 "no valid transfer tool for EU GDPR data to US", id="a recorded tool that does not hold -> no valid tool"),
]


@pytest.mark.parametrize("facts, regime, mechanism, status, text", STATEMENTS)
def test_a_vendors_statement_is_attention_never_covered_never_a_proven_gap(facts, regime, mechanism, status, text):
    found = verdict(facts, TODAY, regime)
    expect(found, mechanism, status)
    assert text in texts(found)
    assert "not certified" not in texts(found)


def test_a_statement_cites_the_article_of_the_tool_it_names_and_says_what_to_do():
    found = verdict(route("US", importer=stating(vendor(), stated("bcr", on="2024-01-01"), stated("scc"))))
    # The most recent statement names the verdict's mechanism; each is said with its source and date.
    assert found.mechanism == "scc" and found.legal_reference == "GDPR Art. 46(2)(c)"
    said = [reason for reason in found.reasons if "stated by the vendor" in reason.text]
    assert [reason.reference for reason in said] == ["GDPR Art. 46(2)(c)", "GDPR Art. 47"]
    assert all(reason.text.endswith("record the instrument or check the DPF list") for reason in said)


def test_a_statement_about_the_routes_engagement_counts_only_for_its_routes():
    facts = dataclasses.replace(route("US", importer=vendor()), statements=(stated("scc"),))
    expect(verdict(facts), "scc", "attention")


ALIASES = [
    # GDPR Art. 45 with Decision 2023/1795: only the listed legal entity is covered; its names as recorded.
    pytest.param("Amazon Web Services, Inc.", (), "Amazon Web Services Inc", "covered", id="punctuation and case aside, one name"),
    pytest.param("Amazon Web Services Inc (AWS)", ("Amazon Web Services, Inc.",), "Amazon Web Services Inc.", "covered",
                 id="the certified name is a recorded alias"),
    pytest.param("Amazon Web Services Inc (AWS)", (), "Amazon Web Services, Inc.", "attention", id="another name, no alias -> attention"),
    pytest.param("Cloudco Europe Holdings LLC", ("Cloudco EU",), "Cloudco Inc.", "attention",
                 id="a genuinely other legal entity stays attention"),
]


@pytest.mark.parametrize("legal_name, aliases, certified, status", ALIASES)
def test_a_dpf_entry_matches_the_legal_name_or_an_alias(legal_name, aliases, certified, status):
    importer = stating(vendor(name=legal_name, dpf=[dpf("uk_extension", entity=certified)]), aliases=aliases)
    # The UK Extension, so that the EU decision's at-risk note does not blur the entity test.
    found = verdict(route("US", "UK", exporter=UK_EXPORTER, importer=importer), TODAY, "UK")
    expect(found, "adequacy", status)
    assert ("not the importer" in texts(found)) == (status == "attention")


def test_a_dpf_entry_naming_another_legal_entity_needs_attention():
    importer = vendor(name="Cloudco Europe Holdings LLC", dpf=[dpf(entity="Cloudco Inc.")])
    found = verdict(route("US", importer=importer, tools=[]))
    expect(found, "adequacy", "attention")
    assert "DPF certified entity is Cloudco Inc., not the importer" in texts(found)


def test_the_dpf_entity_name_is_compared_without_case():
    importer = vendor(name="CLOUDCO  inc.", dpf=[dpf(entity="Cloudco Inc.")])
    assert verdict(route("US", "UK", exporter=UK_EXPORTER, importer=importer), TODAY, "UK").mechanism == "none"
    found = verdict(route("US", importer=importer), TODAY)
    assert found.mechanism == "adequacy" and "not the importer" not in texts(found)


def test_the_at_risk_eu_us_dpf_suggests_an_scc_fallback():
    found = verdict(route("US", importer=vendor(dpf=[dpf()])))
    expect(found, "adequacy", "attention")
    assert "suggest an SCC fallback" in texts(found) and "C-703/25" in texts(found)


def test_the_at_risk_eu_us_dpf_with_an_scc_fallback_is_covered_with_a_note():
    fallback = scc(2)
    found = verdict(route("US", importer=vendor(dpf=[dpf()]), tools=[fallback]))
    expect(found, "adequacy", "covered")
    assert found.fallback_instrument_ids == (fallback.id,) and found.instrument_ids == ()
    assert any(reason.severity == "info" and "fallback is in place" in reason.text for reason in found.reasons)


def test_the_uk_extension_is_not_flagged_at_risk():
    # Only the EU decision carries the at-risk note in countries.yaml.
    found = verdict(route("US", "UK", exporter=UK_EXPORTER, importer=vendor(dpf=[dpf("uk_extension")])), TODAY, "UK")
    expect(found, "adequacy", "covered")


# --- 6. VERIFY notes are shown, and do not change the status on their own ---------------------


def test_verify_notes_are_review_notes_not_a_downgrade():
    found = verdict(route("NZ", importer=party("NZ", "third_party")))
    expect(found, "adequacy", "covered")
    assert any("2013/65/EU" in note and "not confirmed" in note for note in found.review_notes)


# Reference s. 2 (BR row): for NO/IS/LI exporters the EEA incorporation of 2026/179 is unconfirmed
# (VERIFY). Whether the decision applies at all is in doubt, not a detail of it: attention, as for an
# unknown scope fact, and another tool the route has is relied on instead.
BRAZIL = [
    pytest.param("NO", (), "adequacy", "attention", id="NO->BR: 2026/179 may not apply (EEA incorporation unconfirmed) -> attention"),
    pytest.param("IS", (), "adequacy", "attention", id="IS->BR: the same doubt for Iceland"),
    pytest.param("LI", (), "adequacy", "attention", id="LI->BR: the same doubt for Liechtenstein"),
    pytest.param("NO", (scc(2),), "scc", "covered", id="NO->BR with SCCs: relies on the SCCs, not on the doubtful decision"),
    pytest.param("FR", (), "adequacy", "covered", id="FR->BR: an EU exporter is covered by 2026/179"),
    pytest.param("DE", (scc(2),), "adequacy", "covered", id="DE->BR with SCCs: adequacy comes first"),
]


@pytest.mark.parametrize("exporter_country, tools, mechanism, status", BRAZIL)
def test_doubt_whether_brazils_decision_applies_to_an_efta_exporter_is_attention(exporter_country, tools, mechanism, status):
    found = verdict(route("BR", exporter=party(exporter_country), importer=BR_LGPD, tools=tools))
    expect(found, mechanism, status)
    in_doubt = exporter_country in ("NO", "IS", "LI")
    said = texts(found)
    # The doubt is the reason (attention when relied on, info beside the SCCs), not a review note.
    assert ("EEA Agreement" in said and "2026/179" in said) == in_doubt, said
    assert not any("EEA Agreement" in note for note in found.review_notes)
    # The details still in doubt for everyone stay review notes.
    assert any("2026/179" in note and "Entry into force" in note for note in found.review_notes) == (mechanism == "adequacy")



def test_a_swiss_route_before_the_revised_fadp_carries_a_review_note():
    found = verdict(route("IN", "CH", exporter=CH_EXPORTER, tools=[scc(2, swiss=True)]), "2023-08-31", "CH")
    assert any("2023-09-01" in note for note in found.review_notes)


# --- 7. BCR (Art. 47): both parties bound, same approval, this regime --------------------------

EU_BCR = approval("EU")
UK_BCR = approval("UK", approval_id=2)
EU_BCR_P = approval("EU", "bcr_p", approval_id=3)
WITHDRAWN = approval("EU", withdrawn="2026-06-01", approval_id=4)
HQ = party("DE", bcr=[member(EU_BCR), member(UK_BCR), member(EU_BCR_P), member(WITHDRAWN)])
HQ_UK = party("GB", bcr=[member(EU_BCR), member(UK_BCR)])
IN_MEMBER = party("IN", bcr=[member(EU_BCR), member(UK_BCR), member(EU_BCR_P), member(WITHDRAWN)])
IN_LEFT = party("IN", bcr=[member(EU_BCR, bound_to="2026-03-31")])
IN_JOINS = party("IN", bcr=[member(EU_BCR, bound_from="2027-01-01")])
IN_VENDOR = vendor("IN", bcr=[member(EU_BCR)])

BCR = [
    pytest.param(route("IN", exporter=HQ, importer=IN_MEMBER, roles="C>C", tools=[bcr_tool(EU_BCR)]), "EU", TODAY, "bcr", "covered", id="EU BCR-C between two bound group entities -> bcr (Art. 47)"),
    pytest.param(route("IN", exporter=HQ, importer=IN_VENDOR, roles="C>P", tools=[bcr_tool(EU_BCR)]), "EU", TODAY, "none", "gap", id="BCR never cover an outside vendor"),
    pytest.param(route("IN", exporter=HQ, importer=IN_LEFT, roles="C>C", tools=[bcr_tool(EU_BCR)]), "EU", TODAY, "none", "gap", id="importer's membership ended 2026-03-31 -> not bound"),
    pytest.param(route("IN", exporter=HQ, importer=IN_LEFT, roles="C>C", tools=[bcr_tool(EU_BCR)]), "EU", "2026-03-31", "bcr", "covered", id="membership's last day still binds"),
    pytest.param(route("IN", exporter=HQ, importer=IN_JOINS, roles="C>C", tools=[bcr_tool(EU_BCR)]), "EU", TODAY, "none", "gap", id="importer bound only from 2027 -> not yet bound"),
    pytest.param(route("IN", exporter=party("DE"), importer=IN_MEMBER, roles="C>C", tools=[bcr_tool(EU_BCR)]), "EU", TODAY, "none", "gap", id="exporter not bound -> no BCR"),
    pytest.param(route("IN", "UK", exporter=HQ_UK, importer=IN_MEMBER, roles="C>C", tools=[bcr_tool(EU_BCR)]), "UK", TODAY, "none", "gap", id="an EU approval does not cover UK data"),
    pytest.param(route("IN", "UK", exporter=HQ_UK, importer=IN_MEMBER, roles="C>C", tools=[bcr_tool(UK_BCR)]), "UK", TODAY, "bcr", "covered", id="an ICO approval covers UK data"),
    pytest.param(route("IN", exporter=HQ, importer=IN_MEMBER, roles="C>C", tools=[bcr_tool(WITHDRAWN)]), "EU", "2026-05-31", "bcr", "covered", id="approval the day before its withdrawal -> bcr"),
    pytest.param(route("IN", exporter=HQ, importer=IN_MEMBER, roles="C>C", tools=[bcr_tool(WITHDRAWN)]), "EU", "2026-06-01", "none", "gap", id="approval withdrawn 2026-06-01 -> no bcr that day"),
    pytest.param(route("IN", exporter=HQ, importer=IN_MEMBER, roles="P>P", tools=[bcr_tool(EU_BCR)]), "EU", TODAY, "bcr", "attention", id="BCR-C relied on for client data processed by the group -> type mismatch"),
    pytest.param(route("IN", exporter=HQ, importer=IN_MEMBER, roles="P>P", tools=[bcr_tool(EU_BCR_P)]), "EU", TODAY, "bcr", "covered", id="BCR-P for data processed for clients -> bcr"),
    pytest.param(route("IN", exporter=HQ, importer=IN_MEMBER, roles="C>C", tools=[bcr_tool(EU_BCR)], tias=[]), "EU", TODAY, "bcr", "attention", id="BCR without a TIA -> attention"),
]


@pytest.mark.parametrize("facts, regime, on, mechanism, status", BCR)
def test_bcr_cover_only_bound_group_entities_under_their_regimes_approval(facts, regime, on, mechanism, status):
    expect(verdict(facts, on, regime), mechanism, status)


def test_the_outside_vendor_reason_is_given():
    found = verdict(route("IN", exporter=HQ, importer=IN_VENDOR, tools=[bcr_tool(EU_BCR)]))
    assert "outside vendor" in texts(found)


def test_bound_parties_without_a_bcr_instrument_get_a_hint():
    found = verdict(route("IN", exporter=HQ, importer=IN_MEMBER, roles="C>C"))
    expect(found, "none", "gap")
    assert "does not rely on it" in texts(found)


# --- 8. EU SCCs (Art. 46(2)(c); Decision (EU) 2021/914) -----------------------------------------

EU_SCC = [
    pytest.param("C>C", scc(1), TODAY, "scc", "covered", id="controller->controller with Module 1"),
    pytest.param("C>P", scc(2), TODAY, "scc", "covered", id="controller->processor with Module 2"),
    pytest.param("P>P", scc(3), TODAY, "scc", "covered", id="processor->processor with Module 3"),
    pytest.param("P>C", scc(4), TODAY, "scc", "covered", id="processor->controller with Module 4"),
    pytest.param("C>P", scc(1), TODAY, "scc", "attention", id="controller->processor on Module 1 -> module does not match"),
    pytest.param("P>P", scc(2), TODAY, "scc", "attention", id="sub-processor on Module 2 -> module does not match"),
    pytest.param("C>P", scc(1, 2), TODAY, "scc", "covered", id="a set with Modules 1 and 2 serves controller->processor"),
    pytest.param("C>P", old_scc("2010/87/EU"), "2022-06-01", "scc", "covered", id="2010/87/EU on 2022-06-01 (what-if): still valid"),
    pytest.param("C>P", old_scc("2010/87/EU"), "2022-12-27", "scc", "covered", id="2010/87/EU on 2022-12-27: last valid day"),
    pytest.param("C>P", old_scc("2010/87/EU"), "2022-12-28", "none", "gap", id="2010/87/EU on 2022-12-28: invalid"),
    pytest.param("C>C", old_scc("2004/915/EC"), "2022-12-28", "none", "gap", id="2004/915/EC on 2022-12-28: invalid"),
    pytest.param("C>P", old_scc("2001/497/EC"), "2022-06-01", "scc", "attention", id="2001/497/EC is a controller->controller set: mismatch"),
    pytest.param("C>P", scc(2, signed="2027-01-01"), TODAY, "none", "gap", id="SCC signed after the date does not count"),
    pytest.param("C>P", scc(2, terminated="2026-11-25"), TODAY, "none", "gap", id="SCC terminated on the date does not count"),
    pytest.param("C>P", scc(2, terminated="2026-11-26"), TODAY, "scc", "covered", id="SCC terminated the day after still counts"),
    pytest.param("C>P", scc(2, status="retired"), TODAY, "none", "gap", id="a retired SCC does not count"),
    pytest.param("C>P", idta(), TODAY, "none", "gap", id="an IDTA alone does not cover EU data"),
]


@pytest.mark.parametrize("roles, instrument, on, mechanism, status", EU_SCC)
def test_eu_scc_must_be_valid_on_the_date_and_match_the_roles(roles, instrument, on, mechanism, status):
    found = verdict(route("IN", roles=roles, tools=[instrument]), on)
    expect(found, mechanism, status)
    if status == "attention":
        assert "does not match the roles" in texts(found)


def test_the_legal_reference_names_the_article_decision_and_module():
    found = verdict(route("IN", tools=[scc(2)]))
    assert found.legal_reference == "GDPR Art. 46(2)(c); Decision (EU) 2021/914, Module 2"


def test_an_old_scc_gap_names_the_end_date():
    assert "EU SCC 2010/87/EU invalid since 2022-12-27" in texts(verdict(route("IN", tools=[old_scc()]), "2023-01-02"))


def test_an_old_scc_signed_after_the_repeal_is_flagged_for_review():
    found = verdict(route("IN", tools=[old_scc(signed="2021-10-15")]), "2022-06-01")
    assert found.mechanism == "scc" and any("2021-09-27" in note for note in found.review_notes)


ONWARD = [
    pytest.param("P>P", scc(3), "scc", "covered", id="US processor -> IN sub-processor with EU data on Module 3 -> covered"),
    pytest.param("P>P", scc(2), "scc", "attention", id="US processor -> IN sub-processor on Module 2 -> module mismatch"),
    pytest.param("P>P", None, "none", "gap", id="US processor -> IN sub-processor with no tool -> gap under EU rules"),
]


@pytest.mark.parametrize("roles, instrument, mechanism, status", ONWARD)
def test_an_onward_transfer_is_assessed_under_the_regime_of_the_datas_origin(roles, instrument, mechanism, status):
    # Art. 44 "including onward transfers"; SCC Module 3, Clause 8.8: the exporter being in the US does not matter.
    facts = route("IN", exporter=vendor("US"), importer=vendor("IN", name="Subco Pvt Ltd"), roles=roles, onward=True,
                  tools=[instrument] if instrument else [])
    found = verdict(facts)
    assert found.regime == "EU" and found.restricted
    expect(found, mechanism, status)
    # Decision (EU) 2021/914: the onward-transfer clause is 8.7 in Module 1 and 8.8 in Modules 2 and 3.
    onward = [reason.reference for reason in found.reasons if reason.text.startswith("onward transfer")]
    assert onward == ["GDPR Art. 44 ('including onward transfers'); Decision (EU) 2021/914, onward-transfer clause: "
                      "Clause 8.7 (Module 1), Clause 8.8 (Modules 2 and 3)"]


# --- 9. UK data: IDTA or Addendum (from 2022-03-21); old EU SCCs until 2024-03-20 -------------

UK_TOOLS = [
    pytest.param([scc(2)], TODAY, "none", "gap", id="UK export on EU SCC alone -> gap"),
    pytest.param([scc(2), addendum()], TODAY, "uk_addendum", "covered", id="UK export on EU SCC + UK Addendum -> covered"),
    pytest.param([addendum()], TODAY, "uk_addendum", "attention", id="UK Addendum without the EU SCCs it amends -> attention"),
    pytest.param([idta()], TODAY, "uk_idta", "covered", id="UK export on the IDTA -> covered"),
    pytest.param([idta()], "2022-03-20", "none", "gap", id="IDTA on 2022-03-20: not yet in force"),
    pytest.param([idta()], "2022-03-21", "uk_idta", "covered", id="IDTA on 2022-03-21: in force"),
    pytest.param([scc(2), addendum()], "2022-03-20", "none", "gap", id="Addendum on 2022-03-20: not yet in force"),
    pytest.param([scc(2), addendum()], "2022-03-21", "uk_addendum", "covered", id="Addendum on 2022-03-21: in force"),
    pytest.param([old_scc()], "2024-03-20", "scc", "covered", id="old EU SCC for UK data on 2024-03-20: last valid day"),
    pytest.param([old_scc()], "2024-03-21", "none", "gap", id="old EU SCC for UK data on 2024-03-21: stopped working"),
    pytest.param([old_scc()], "2023-06-01", "scc", "covered", id="old EU SCC valid for UK after the EU cut-off 2022-12-27"),
    pytest.param([scc(1), addendum()], TODAY, "uk_addendum", "attention", id="Addendum on SCCs of the wrong module -> mismatch"),
]


@pytest.mark.parametrize("tools, on, mechanism, status", UK_TOOLS)
def test_uk_data_needs_a_uk_tool(tools, on, mechanism, status):
    facts = route("IN", "UK", exporter=UK_EXPORTER, tools=tools)
    expect(verdict(facts, on, "UK"), mechanism, status)


def test_a_uk_export_on_eu_sccs_alone_says_why():
    assert "EU SCCs alone are never valid for a UK export" in texts(verdict(route("IN", "UK", exporter=UK_EXPORTER,
                                                                               tools=[scc(2)]), TODAY, "UK"))


def test_the_addendum_relies_on_its_eu_sccs_too():
    base, extra = scc(2), addendum()
    found = verdict(route("IN", "UK", exporter=UK_EXPORTER, tools=[base, extra]), TODAY, "UK")
    assert set(found.instrument_ids) == {base.id, extra.id}


def test_an_old_scc_concluded_after_2022_09_21_is_flagged_for_uk_review():
    found = verdict(route("IN", "UK", exporter=UK_EXPORTER, tools=[old_scc(signed="2022-10-01")]), "2023-06-01", "UK")
    assert found.mechanism == "scc" and any("2022-09-21" in note for note in found.review_notes)


# --- 10. Swiss data: EU SCCs with the Swiss adaptation (FADP Art. 16(2)(d)) --------------------

SWISS = [
    pytest.param([scc(2, swiss=True)], "ch_scc", "covered", id="Swiss export on EU SCC with Swiss adaptation -> ch_scc"),
    pytest.param([scc(2)], "none", "gap", id="Swiss export without the Swiss adaptation -> gap"),
    pytest.param([idta()], "none", "gap", id="Swiss export on a UK IDTA -> gap"),
    pytest.param([scc(1, swiss=True)], "ch_scc", "attention", id="Swiss SCC with the wrong module -> mismatch"),
]


@pytest.mark.parametrize("tools, mechanism, status", SWISS)
def test_swiss_data_needs_the_swiss_adaptation(tools, mechanism, status):
    expect(verdict(route("IN", "CH", exporter=CH_EXPORTER, tools=tools), TODAY, "CH"), mechanism, status)


def test_one_route_with_eu_uk_and_swiss_data_is_assessed_once_per_regime():
    # Reference: a route can carry data of several regimes and is assessed once per regime.
    facts = route("IN", "EU UK CH", tools=[scc(2, swiss=True), addendum()])
    assessment = rules.assess_route(facts, TODAY, LAW)
    assert [(item.regime, item.mechanism) for item in assessment.regimes] == [
        ("EU", "scc"), ("UK", "uk_addendum"), ("CH", "ch_scc")]
    assert assessment.status == "covered"


def test_the_worst_regime_decides_the_route():
    assessment = rules.assess_route(route("IN", "EU UK", tools=[scc(2)]), TODAY, LAW)
    assert [item.status for item in assessment.regimes] == ["covered", "gap"] and assessment.status == "gap"


# --- 11. TIA (Schrems II, C-311/18; EDPB Recommendations 01/2020) -------------------------------

TIAS = [
    pytest.param([], "scc", "attention", "TIA missing", id="SCC without a TIA -> attention 'TIA missing'"),
    pytest.param([tia(review="2026-11-24")], "scc", "attention", "TIA overdue", id="TIA review date passed -> attention 'TIA overdue'"),
    pytest.param([tia(review="2026-11-25")], "scc", "covered", "", id="TIA due for review today is not yet overdue"),
    pytest.param([tia("cannot_comply")], "scc", "gap", "cannot be complied with", id="TIA outcome cannot comply -> gap"),
    pytest.param([tia("can_comply_with_measures")], "scc", "covered", "supplementary measures", id="TIA with supplementary measures -> covered, measures noted"),
    pytest.param([tia(assessed="2027-01-01")], "scc", "attention", "TIA missing", id="a TIA done after the date did not exist then"),
    pytest.param([tia(regime="UK")], "scc", "attention", "TIA missing", id="a UK-only TIA does not serve EU data"),
    pytest.param([tia(regime="EU")], "scc", "covered", "", id="an EU TIA serves EU data"),
    pytest.param([tia("cannot_comply", "2024-01-01"), tia("can_comply", "2025-06-01")], "scc", "covered", "", id="the latest TIA is the one relied on"),
]


@pytest.mark.parametrize("tias, mechanism, status, phrase", TIAS)
def test_every_art_46_47_tool_needs_a_current_tia(tias, mechanism, status, phrase):
    found = verdict(route("IN", tools=[scc(2)], tias=tias))
    expect(found, mechanism, status)
    assert phrase in texts(found)
    assert found.tia.required and found.tia.done == (phrase != "TIA missing")


def test_module_4_needs_no_tia_unless_eu_collected_data_is_mixed_in():
    found = verdict(route("IN", roles="P>C", tools=[scc(4)], tias=[]))
    expect(found, "scc", "covered")
    assert not found.tia.required and "Module 4" in texts(found)


def test_a_cannot_comply_tia_leaves_only_a_derogation():
    found = verdict(route("IN", tools=[scc(2), derogation("b")], tias=[tia("cannot_comply")]))
    expect(found, "derogation", "attention")
    assert "cannot be complied with" in texts(found)


def test_adequacy_needs_no_tia():
    found = verdict(route("NZ", importer=party("NZ", "third_party"), tias=[]))
    expect(found, "adequacy", "covered")
    assert not found.tia.required


# --- 12. Art. 3(2) importers (EDPB Guidelines 05/2021) -----------------------------------------

ART3_2 = [
    pytest.param("EU", [scc(2)], "attention", id="EU SCC to an importer under GDPR Art. 3(2) -> review"),
    pytest.param("UK", [idta()], "covered", id="the Art. 3(2) flag is an EU-regime matter only"),
]


@pytest.mark.parametrize("regime, tools, status", ART3_2)
def test_an_art_3_2_importer_is_flagged_under_the_eu_regime_only(regime, tools, status):
    importer = vendor("IN", art3_2=True)
    found = verdict(route("IN", regime, exporter=EXPORTERS[regime], importer=importer, tools=tools), TODAY, regime)
    assert found.status == status, texts(found)
    assert found.restricted  # still a transfer
    assert ("Art. 3(2)" in texts(found)) == (regime == "EU")


# --- 13. derogations (Art. 49), codes and certifications (Art. 46(2)(e)/(f)) -------------------

DEROGATIONS = [
    pytest.param("a", True, "GDPR Art. 49(1)(a)", id="explicit consent (49(1)(a)) is never plain covered"),
    pytest.param("b", True, "GDPR Art. 49(1)(b)", id="contract with the data subject (49(1)(b)) is never plain covered"),
    pytest.param("e", True, "GDPR Art. 49(1)(e)", id="legal claims (49(1)(e)) is never plain covered"),
    pytest.param("compelling_legitimate_interests", True, "GDPR Art. 49(1) second subparagraph", id="compelling legitimate interests is never plain covered"),
    pytest.param("b", False, "GDPR Art. 49(1)(b)", id="a derogation without written justification -> attention with a reason"),
]


@pytest.mark.parametrize("ground, justified, reference", DEROGATIONS)
def test_a_derogation_always_needs_review_and_breaks_the_notice_promise(ground, justified, reference):
    facts = route("IN", tools=[derogation(ground, justified)])
    assessment = rules.assess_route(facts, TODAY, LAW)
    found = assessment.regime("EU")
    expect(found, "derogation", "attention")
    assert found.legal_reference == reference and not found.tia.required
    assert ("no written justification" in texts(found)) == (not justified)
    assert assessment.breaks_notice_promise


@pytest.mark.parametrize("kind, article", [
    pytest.param("code_of_conduct", "GDPR Art. 46(2)(e)", id="a code of conduct is recorded with attention"),
    pytest.param("certification", "GDPR Art. 46(2)(f)", id="a transfer certification is recorded with attention"),
])
def test_codes_and_certifications_are_recorded_for_verification(kind, article):
    found = verdict(route("IN", tools=[tool(kind)]))
    expect(found, kind, "attention")
    assert found.legal_reference == article and "verify" in texts(found)


PRECEDENCE = [
    pytest.param(route("US", importer=vendor(dpf=[dpf()]), tools=[scc(2)]), "adequacy", id="adequacy first, before an SCC"),
    pytest.param(route("IN", exporter=HQ, importer=IN_MEMBER, roles="C>C", tools=[scc(1), bcr_tool(EU_BCR)]), "bcr", id="BCR before SCC"),
    pytest.param(route("IN", tools=[derogation(), scc(2)]), "scc", id="SCC before a derogation"),
    pytest.param(route("IN", tools=[derogation(), tool("certification")]), "certification", id="certification before a derogation"),
    pytest.param(route("IN", tools=[scc(1), idta()]), "scc", id="an SCC with the wrong module still beats having none"),
]


@pytest.mark.parametrize("facts, mechanism", PRECEDENCE)
def test_the_best_tool_is_relied_on(facts, mechanism):
    assert verdict(facts).mechanism == mechanism


# --- 14. route-wide findings --------------------------------------------------------------------


def test_a_route_without_eu_uk_or_swiss_data_is_out_of_scope():
    assessment = rules.assess_route(route("IN", "", exporter=vendor("US")), TODAY, LAW)
    assert assessment.status == "out_of_scope" and assessment.regimes == ()
    assert [reason.text for reason in assessment.reasons] == ["not assessed: no EU/UK/Swiss data"]


PROMISE = [
    pytest.param(route("IN", tools=[scc(2)]), False, id="EU->IN on SCC keeps the notice promise"),
    pytest.param(route("NZ", importer=party("NZ", "third_party")), False, id="EU->NZ on adequacy keeps the promise"),
    pytest.param(route("IN", exporter=HQ, importer=IN_MEMBER, roles="C>C", tools=[bcr_tool(EU_BCR)]), False, id="EU->IN on BCR keeps the promise"),
    pytest.param(route("IN", tools=[derogation()]), True, id="EU->IN on a derogation breaks the promise"),
    pytest.param(route("IN", tools=[tool("code_of_conduct")]), True, id="EU->IN on a code of conduct breaks the promise"),
    pytest.param(route("IN"), True, id="EU->IN with no tool breaks the promise"),
    pytest.param(route("IN", tools=[idta()]), True, id="EU data on an IDTA only: not an EU tool, breaks the promise"),
    pytest.param(route("IN", "UK", exporter=UK_EXPORTER, tools=[derogation()]), False, id="UK data on a derogation: the promise is about the EEA"),
    pytest.param(route("FR", importer=party("FR"), tools=[derogation()]), False, id="an intra-EEA route never breaks it"),
]


@pytest.mark.parametrize("facts, breaks", PROMISE)
def test_the_notice_promise_adequacy_bcr_or_scc(facts, breaks):
    assessment = rules.assess_route(facts, TODAY, LAW)
    assert assessment.breaks_notice_promise == breaks
    assert any("privacy notice" in str(reason) for reason in assessment.reasons) == breaks


ROUTE_WIDE = [
    pytest.param(dict(special=True), True, "attention", "without a recorded basis", id="special-category data without a basis -> attention"),
    pytest.param(dict(special=True, basis="explicit_consent", consent="web form v3"), False, "covered", "", id="special-category data with explicit consent through a named mechanism"),
    pytest.param(dict(special=True, basis="explicit_consent"), False, "attention", "mechanism", id="explicit consent without the mechanism that collects it -> attention"),
    pytest.param(dict(special=True, basis="vital_interests"), False, "covered", "", id="special-category data under vital interests (Art. 9(2)(c))"),
    pytest.param(dict(uncovered=("SG",)), False, "attention", "SG", id="a processing location no route reaches -> attention"),
    pytest.param(dict(importer=vendor("IN", vetting="rejected")), False, "attention", "rejected", id="a rejected vendor -> attention"),
    pytest.param(dict(importer=vendor("IN", certs=[CertificateFacts(edition="2013", issued_on=D("2023-01-01"), expires_on=D("2026-01-01"), last_verified_on=D("2026-06-01"))])),
                 False, "attention", "lapsed", id="a vendor whose ISO 2013 certificate lapsed -> attention"),
]


@pytest.mark.parametrize("extra, without_basis, status, phrase", ROUTE_WIDE)
def test_route_wide_findings(extra, without_basis, status, phrase):
    assessment = rules.assess_route(route("IN", tools=[scc(2)], **extra), TODAY, LAW)
    assert assessment.regime("EU").status == "covered"
    assert (assessment.status, assessment.special_category_without_basis) == (status, without_basis)
    assert phrase in " | ".join(str(reason) for reason in assessment.reasons)


def test_iso_27001_is_never_a_transfer_tool():
    certified = vendor("IN", certs=[CertificateFacts(edition="2022", issued_on=D("2025-01-01"), expires_on=D("2028-01-01"),
                                                     last_verified_on=D("2026-09-01"))])
    found = verdict(route("IN", importer=certified))
    expect(found, "none", "gap")
    assert "not a transfer tool" in texts(found)


def test_an_unknown_regime_is_refused():
    with pytest.raises(ValueError, match="XX"):
        rules.assess_route(route("IN", "XX"), TODAY, LAW)


def test_facts_and_verdicts_are_frozen():
    found = verdict(route("IN", tools=[scc(2)]))
    with pytest.raises(FrozenInstanceError):
        found.status = "covered"  # type: ignore[misc]


# --- 15. vendor vetting: ISO/IEC 27001 (transfer-law.md s. 7) ----------------------------


def cert(edition="2022", expires="2028-01-01", verified="2026-06-01", issued="2025-01-01", withdrawn=None):
    return CertificateFacts(edition=edition, issued_on=D(issued), expires_on=D(expires),
                            last_verified_on=verified and D(verified), withdrawn_on=withdrawn and D(withdrawn))


VETTING = [
    pytest.param([], TODAY, "none", id="no certificate -> none"),
    pytest.param([cert()], TODAY, "valid", id="2022 edition, verified, far from expiry -> valid"),
    pytest.param([cert(expires="2027-02-23")], TODAY, "expiring", id="expires in 90 days -> expiring"),
    pytest.param([cert(expires="2027-02-24")], TODAY, "valid", id="expires in 91 days -> valid"),
    pytest.param([cert(expires="2026-11-25")], TODAY, "expiring", id="expires today -> still expiring, not expired"),
    pytest.param([cert(expires="2026-11-24")], TODAY, "expired", id="expired yesterday -> expired"),
    pytest.param([cert(withdrawn="2026-10-01")], TODAY, "expired", id="withdrawn -> expired"),
    pytest.param([cert(verified="2025-11-25")], TODAY, "valid", id="verified exactly 12 months ago -> valid"),
    pytest.param([cert(verified="2025-11-24")], TODAY, "unverified", id="verified 12 months and a day ago -> unverified"),
    pytest.param([cert(verified=None)], TODAY, "unverified", id="never verified -> unverified"),
    pytest.param([cert("2013", "2027-06-01", "2025-09-01", "2024-06-01")], "2025-10-31", "expiring", id="ISO 2013 on 2025-10-31: its last valid day"),
    pytest.param([cert("2013", "2027-06-01", "2025-09-01", "2024-06-01")], "2025-11-01", "superseded_edition", id="ISO 2013 on 2025-11-01: superseded"),
    pytest.param([cert("2013", "2027-06-01", "2025-01-01", "2024-06-01")], "2025-06-01", "valid", id="ISO 2013 before the transition is valid"),
    pytest.param([cert("2013", "2027-06-01", "2026-06-01", "2024-06-01"), cert()], TODAY, "valid", id="the best certificate wins: 2022 over superseded 2013"),
    pytest.param([cert(expires="2026-01-01"), cert(verified=None)], TODAY, "unverified", id="unverified beats expired"),
    pytest.param([cert(expires="2027-01-01"), cert(verified="2024-01-01")], TODAY, "expiring", id="expiring beats unverified"),
    pytest.param([cert("2013", "2025-06-01", "2025-01-01", "2022-06-01"), cert(expires="2026-01-01")], TODAY, "expired", id="expired beats superseded"),
    pytest.param([cert(issued="2027-01-01")], TODAY, "none", id="a certificate issued after the date did not exist -> none"),
]


@pytest.mark.parametrize("certificates, on, state", VETTING)
def test_vetting_state_picks_the_best_certificate(certificates, on, state):
    found = rules.vetting_state(vendor(certs=certificates), on if isinstance(on, date) else D(on))
    assert found.state == state, found.reasons
    assert found.status == ("covered" if state == "valid" or state == "none" else "attention")


def test_vetting_review_overdue_and_rejected_are_reported_beside_the_state():
    found = rules.vetting_state(vendor(certs=[cert()], vetting="rejected", next_review="2026-11-24"), TODAY)
    assert (found.state, found.review_overdue, found.rejected, found.status) == ("valid", True, True, "attention")
    on_time = rules.vetting_state(vendor(certs=[cert()], next_review="2026-11-25"), TODAY)
    assert (on_time.review_overdue, on_time.status) == (False, "covered")


# --- 16. the vocabulary the app filters on ------------------------------------------------------


def test_status_order_and_worst():
    assert sorted(["gap", "covered", "attention", "out_of_scope"], key=rules.rank) == list(rules.STATUSES)
    assert rules.worst(["info", "attention", "info"]) == "attention"
    assert rules.worst([]) == "covered" and rules.worst(["gap", "attention"]) == "gap"
    assert set(rules.MECHANISMS) >= {"none_needed", "adequacy", "bcr", "scc", "uk_idta", "uk_addendum", "ch_scc",
                                     "derogation", "code_of_conduct", "certification", "none"}


def test_first_hop_regimes_still_follow_the_exporters_establishment():
    assert [item.regime for item in rules.first_hop_regimes("DE", LAW)] == ["EU"]
    assert [item.regime for item in rules.first_hop_regimes("GB", LAW)] == ["UK"]
    assert rules.first_hop_regimes("US", LAW) == [] and rules.first_hop_regimes(None, LAW) == []


def test_the_decisions_the_dashboard_watches_are_those_whose_verdicts_flag_a_risk():
    """An adequacy decision ends "within a year" only if adequacy for its destination does, successors
    followed (as a route relying on it is judged): 2021/1772 ending 2025-12-27 is renewed by 2025/2574."""
    def watched(on):
        return {(item.regime, item.id): item for item in rules.decisions_to_watch(LAW, on)}

    mid_2025 = watched(date(2025, 6, 1))
    assert ("EU", "EU-GB-2021") not in mid_2025  # followed by the renewal: no break in adequacy
    assert mid_2025[("EU", "EU-US-DPF")].at_risk  # under legal challenge
    end_2031 = watched(date(2031, 1, 1))
    assert end_2031[("EU", "EU-GB-2025-RENEWAL")].coverage_ends_on == date(2031, 12, 27)
    assert ("EU", "EU-GB-2025-RENEWAL") not in watched(date(2030, 12, 26))  # more than a year before its last day



# --- 17. the rules stay pure: plain values in, verdicts out -------------------------------------

# Web, database and I/O modules the rules must never import: they take facts and a date, nothing else.
NOT_IN_THE_RULES = ("flask", "flask_login", "flask_sqlalchemy", "flask_wtf", "sqlalchemy", "register.models",
                    "register.extensions", "os", "io", "pathlib", "shutil", "subprocess", "socket", "sqlite3",
                    "tempfile", "urllib", "http", "requests", "yaml", "openpyxl", "logging", "time")
RULES_DIR = Path(rules.__file__).parent
PURE_FILES = sorted(RULES_DIR.glob("*.py")) + [RULES_DIR.parent / "deadlines.py"]


def refused_imports(source: str, package: str) -> list[str]:
    """The modules of NOT_IN_THE_RULES that `source`, a module of `package`, imports or opens files with."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            # `from .. import models` imports a module too.
            found += [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
            found.append("open()")
    return [name for name in found if name == "open()" or any(
        name == banned or name.startswith(banned + ".") for banned in NOT_IN_THE_RULES)]


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda path: path.name)
def test_the_rules_import_no_web_database_or_io_module(path):
    package = "register.rules" if path.parent == RULES_DIR else "register"
    refused = refused_imports(path.read_text(encoding="utf-8"), package)
    assert not refused, f"{path.name} uses {', '.join(refused)}: the rules take plain values and read nothing"


@pytest.mark.parametrize("source", ["from ..models import Route", "from .. import extensions", "import flask",
                                    "from sqlalchemy.orm import Session", "import os.path",
                                    "def f():\n    return open('x')"])
def test_the_purity_check_refuses_what_it_should(source):
    assert refused_imports(source, "register.rules")
    assert not refused_imports("from ..countries import CountryData\nfrom .facts import RouteFacts",
                               "register.rules")


# --- regions: a route to a named set of countries (transfer-law.md s. 10) -----------------------

APAC = rules.RegionFacts(code="APAC", name="Asia-Pacific", countries=("AU", "IN", "NZ", "SG"))
ADEQUATE = rules.RegionFacts(code="LATAM-ADQ", name="Adequate Latin America", countries=("AR", "UY"))
SMALL_STATES = rules.RegionFacts(code="GI-MC", name="Gibraltar and Monaco", countries=("GI", "MC"))


def builtin(code: str) -> rules.RegionFacts:
    from register.regions import builtin_regions

    return builtin_regions(LAW)[code].facts


def to_region(region: rules.RegionFacts, regimes="EU", **kwargs) -> RouteFacts:
    return dataclasses.replace(route("US", regimes, **kwargs), destination_country=region.code, destination_region=region)


def adequacy_reference(regime: str, destination: str) -> str:
    (instrument,) = [item for item in LAW.regimes[regime].adequacy if item.destination == destination]
    return instrument.legal_reference


REGIONS = [
    pytest.param(to_region(builtin("EEA")), "EU", False, "none_needed", "covered", "AT", id="EU data to the EEA region is intra-EEA"),
    pytest.param(to_region(ADEQUATE), "EU", True, "adequacy", "covered", "AR", id="a region of adequate countries only: adequacy"),
    pytest.param(to_region(APAC), "EU", True, "none", "gap", "AU",
                 id="adequate NZ beside non-adequate AU, IN, SG without a tool: a gap, decided by the first worst (AU)"),
    pytest.param(to_region(APAC, tools=[scc(2)]), "EU", True, "scc", "covered", "AU", id="with SCC every member is covered"),
    pytest.param(to_region(SMALL_STATES, "UK", exporter=UK_EXPORTER), "UK", True, "none", "gap", "MC",
                 id="UK: Gibraltar adequate, Monaco not: Monaco decides"),
    pytest.param(to_region(SMALL_STATES, "CH", exporter=CH_EXPORTER), "CH", True, "adequacy", "covered", "GI",
                 id="CH: both adequate under DPO Annex 1"),
    pytest.param(to_region(builtin("WORLD")), "EU", True, "none", "gap", "AE", id="worldwide without a tool: the first gap by code"),
    pytest.param(to_region(builtin("WORLD"), tools=[scc(2)]), "EU", True, "scc", "covered", "AE", id="worldwide under SCC"),
]


@pytest.mark.parametrize("facts, regime, restricted, mechanism, status, deciding", REGIONS)
def test_a_route_to_a_region_is_assessed_as_its_worst_country(facts, regime, restricted, mechanism, status, deciding):
    found = verdict(facts, regime=regime)
    assert (found.restricted, found.deciding_country) == (restricted, deciding), texts(found)
    expect(found, mechanism, status)
    region = facts.destination_region
    # The first reason names the region, how many countries it has and the one that decides.
    first = found.reasons[0].text
    assert first.startswith(f"{region.name} (region): ") and f"{len(region.countries)} countries" in first
    if restricted:
        assert f"({deciding})" in first
        # The deciding country's own verdict, as if the route went there alone, is the region's.
        alone = verdict(dataclasses.replace(facts, destination_country=deciding, destination_region=None), regime=regime)
        assert (alone.mechanism, alone.status, alone.instrument_ids) == (found.mechanism, found.status, found.instrument_ids)


def test_a_region_gap_names_the_worst_country_and_why():
    found = verdict(to_region(APAC))
    assert found.reasons[0].text == ("Asia-Pacific (region): the worst of its 4 countries is Australia (AU): "
                                     "no transfer tool recorded for EU GDPR data to AU")
    assert found.reasons[0].reference == "GDPR Art. 44"


@pytest.mark.parametrize("region, regime, exporter", [(ADEQUATE, "EU", party("DE")), (SMALL_STATES, "CH", CH_EXPORTER)])
def test_an_adequate_region_cites_each_decision(region, regime, exporter):
    found = verdict(to_region(region, regime, exporter=exporter), regime=regime)
    cited = texts(found)
    for country in region.countries:
        assert adequacy_reference(regime, country) in cited, cited


def test_an_adequacy_decision_covers_only_its_country_an_instrument_every_member():
    """NZ is adequate for the EU; AU is not: the region is a gap until a tool covers it, and the tool
    then covers AU as well (GDPR Art. 45(1) names a country; Art. 46 safeguards the transfer)."""
    mixed = rules.RegionFacts(code="ANZ", name="Australia and New Zealand", countries=("AU", "NZ"))
    assert verdict(to_region(mixed)).status == "gap"
    assert verdict(to_region(mixed, tools=[scc(2)])).mechanism == "scc"
    assert verdict(to_region(dataclasses.replace(mixed, countries=("NZ",)))).mechanism == "adequacy"
