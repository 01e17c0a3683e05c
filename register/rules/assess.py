"""A route's verdict, put together: per regime of its data, adequacy or else the best other tool that
holds, with the TIA, then the route-wide findings (GDPR / UK GDPR Chapter V; FADP Art. 16-17).
docs/transfer-law.md, section 9.

- Per regime, the mechanism is chosen in this order: adequacy (when established), then among the other
  tools that hold, the one with the fewest concerns of its own, ties broken by precedence BCR > SCC /
  IDTA / Addendum / Swiss SCC > code of conduct / certification > derogation. The TIA (the same for every
  Art. 46/47 tool of a regime) is applied to the chosen tool afterwards (register/rules/tia.py).
- VERIFY notes of the law (countries.yaml `verify`, and the points docs/transfer-law.md leaves open,
  section 9) are always returned as `review_notes` and never change the status on their own; the one
  exception is a doubt whether a decision applies to the exporter at all (register/rules/adequacy.py).
- An importer subject to the GDPR through Art. 3(2) is attention when the route relies on EU SCCs (EDPB
  Guidelines 05/2021: the 2021 SCCs were not designed for it) and info otherwise; EU data only.
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from ..countries import CountryData, country_name
from .adequacy import _DPF_LABELS, _adequacy
from .batch import Batch
from .bcr import _bcr, _unused_bcr
from .derogations import _derogation
from .facts import RegionFacts, RouteFacts, TiaFacts
from .index import _index, _RegimeIndex
from .instruments import _clauses, _code_or_certification
from .privacy_notice import NOTICE_PROMISE_MECHANISMS, _broken_promise, _CONSENT_WITHOUT_MECHANISM, _WITHOUT_BASIS
from .processors import _uncovered
from .regimes import _REGIME_SET, FADP_REVISED_FROM, REGIMES
from .tia import TIA_MECHANISMS, _tia_findings, _tia_for
from .tools import _Candidate, _label, _Route
from .verdicts import (_RANK, NO_TIA, Reason, RegimeAssessment, RouteAssessment, _reason, _regime_assessment,
                       _route_assessment, worst)
from .vetting import _ISO_IS_NO_TOOL, _LAPSED, _VETTING_REJECTED, vetting_state


_OUT_OF_SCOPE = Reason("info", "not assessed: no EU/UK/Swiss data",
                       "GDPR Art. 3; UK GDPR Art. 3; FADP Art. 3")
_OUT_OF_SCOPE_REASONS = (_OUT_OF_SCOPE,)


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
    region = route.destination_region if not is_organisation else None
    if region is not None and batch is None:
        # A region's members share what the batch shares (one importer, one set of instruments).
        batch = Batch(on, law)
    shared: Optional[_Route] = None
    verdicts: tuple[RegimeAssessment, ...] = ()
    reasons: list[Reason] = []
    found = 1  # the rank of the worst status or severity so far (covered)
    breaks_promise = False
    for code in REGIMES:
        if code not in regimes:
            continue
        rx = index.regimes[code]
        if region is not None:
            item, alone = _to_region(rx, route, on, region, batch)
        elif destination is None:
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
            # The hot path of a whole-register run, inline (as _to_destination, which a region's members take).
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
                   tuple(map(id, tias)) if tias else (), tuple(map(id, route.statements)) if route.statements else ())
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
        # The privacy notice's promise (docs/transfer-law.md, section 8): EU data leaves the EEA only under
        # adequacy, BCR or SCC.
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


def _to_destination(rx: _RegimeIndex, route: RouteFacts, on: date, destination: Optional[str], is_organisation: bool,
                    batch: Optional[Batch], shared: Optional[_Route]) -> tuple[RegimeAssessment, tuple, Optional[_Route]]:
    """The regime's verdict on the route to one destination (a country or an organisation), the verdict
    alone in a tuple, and the per-route values it worked out (to share with the route's other regimes)."""
    if destination is None:
        item = rx.no_destination
        return item, (item,), shared
    if not is_organisation and destination in rx.free_flow:
        item, alone = rx.not_restricted(destination)
        return item, alone, shared
    if batch is None:
        if shared is None:
            shared = _Route(route, on, destination, is_organisation)
        item = _restricted(rx, shared)
        return item, (item,), shared
    # What _restricted reads of the route, the date aside (see its docstring): the roles only
    # matter to the tools of its instruments, HR data and the exporter's country only to some
    # destinations' adequacy; of the parties, see Batch.profile.
    importer_key, exporter_key = _party_keys(route, batch)
    if route.importer.kind != "group_entity" and destination not in rx.reads_exporter_country:
        exporter_key = None
    instruments, tias = route.instruments, route.tias
    key = (rx.code, destination, is_organisation, route.is_onward,
           route.has_hr_data if destination in rx.reads_hr_data else None, importer_key, exporter_key,
           (route.exporter_role, route.importer_role, *map(id, instruments)) if instruments else (),
           tuple(map(id, tias)) if tias else (), tuple(map(id, route.statements)) if route.statements else ())
    known = batch.regimes.get(key)
    if known is None:
        if shared is None or shared.destination != destination:
            shared = _Route(route, on, destination, is_organisation)
        item = _restricted(rx, shared)
        known = batch.regimes[key] = (item, (item,), route)
    return known[0], known[1], shared


def _party_keys(route: RouteFacts, batch: Batch) -> tuple[object, object]:
    """What a verdict reads of the importer and the exporter (see _restricted and Batch.profile)."""
    importer, exporter = route.importer, route.exporter
    if importer.kind == "group_entity":
        return id(importer), id(exporter)
    known_profile = batch.profiles.get(id(importer))
    return (known_profile[0] if known_profile is not None else batch.profile(importer)), exporter.country


# Among verdicts of the same status, the worse: a restricted transfer, then one resting on a tool other
# than adequacy (a tool covers every member country; an adequacy decision only its own).
def _severity_key(item: RegimeAssessment) -> tuple[int, bool, bool]:
    return _RANK[item.status], item.restricted, item.restricted and item.mechanism != "adequacy"


def _to_region(rx: _RegimeIndex, route: RouteFacts, on: date, region: RegionFacts,
               batch: Batch) -> tuple[RegimeAssessment, tuple]:
    """The regime's verdict on a route to a region: as its worst member country (docs/transfer-law.md,
    section 10). Each member is assessed as a destination of its own (its own adequacy, its own place in
    the regime's free-flow area); the worst verdict stands, ties going to the first country by code, and
    its reasons name the region and the deciding country. Members' verdicts are the batch's, so that a
    worldwide route costs one assessment per member once per combination of facts, not per route."""
    importer_key, exporter_key = _party_keys(route, batch)
    instruments, tias = route.instruments, route.tias
    key = (rx.code, region, route.is_onward, route.has_hr_data, importer_key, exporter_key,
           (route.exporter_role, route.importer_role, *map(id, instruments)) if instruments else (),
           tuple(map(id, tias)) if tias else (), tuple(map(id, route.statements)) if route.statements else ())
    known = batch.regimes.get(key)
    if known is None:
        item = _region_verdict(rx, route, on, region, batch)
        known = batch.regimes[key] = (item, (item,), route)
    return known[0], known[1]


def _region_verdict(rx: _RegimeIndex, route: RouteFacts, on: date, region: RegionFacts, batch: Batch) -> RegimeAssessment:
    members = []
    worst_item: Optional[RegimeAssessment] = None
    worst_country = ""
    worst_key: tuple = ()
    for country in region.countries:
        item = _to_destination(rx, route, on, country, False, batch, None)[0]
        members.append((country, item))
        item_key = _severity_key(item)
        if worst_item is None or item_key > worst_key:
            worst_item, worst_country, worst_key = item, country, item_key
    count = len(members)
    if worst_item is None:
        return rx.no_destination
    label = f"{region.name} (region)"
    if not worst_item.restricted:
        reason = _reason("info", f"{label}: all its {count} countries are in {rx.free_flow_name}: not a restricted "
                                 f"transfer, no transfer tool needed", rx.law.transfer)
        return _regime_assessment(rx.code, False, "none_needed", "covered", rx.law.transfer, (reason,), NO_TIA, (), (),
                                  None, (), worst_country)
    # The finding that decides: the last of the deciding verdict's worst severity.
    reasons = list(worst_item.reasons)
    top = max(_RANK[reason.severity] for reason in reasons) if reasons else 1
    position = max(index for index, reason in enumerate(reasons) if _RANK[reason.severity] == top) if reasons else None
    name = country_name(worst_country)
    head = f"{label}: the worst of its {count} countries is {name} ({worst_country})"
    if position is None:
        reasons = [_reason(_SEVERITY_OF[worst_item.status], head, worst_item.legal_reference)]
    else:
        deciding = reasons.pop(position)
        reasons.insert(0, _reason(deciding.severity, f"{head}: {deciding.text}", deciding.reference))
    notes = list(worst_item.review_notes)
    if worst_item.mechanism == "adequacy":
        # Every member is free-flow or adequate: each decision relied on is cited.
        for country, item in members:
            if item is not worst_item and item.restricted and item.mechanism == "adequacy":
                reasons += [reason for reason in item.reasons if reason.text.startswith("adequacy: ")]
                notes += item.review_notes
    return _regime_assessment(rx.code, True, worst_item.mechanism, worst_item.status, worst_item.legal_reference,
                              tuple(reasons), worst_item.tia, tuple(dict.fromkeys(notes)), worst_item.instrument_ids,
                              worst_item.adequacy_id, worst_item.fallback_instrument_ids, worst_country)


_SEVERITY_OF = {"covered": "info", "attention": "attention", "gap": "gap"}


_STATUS_BY_RANK = {1: "covered", 2: "attention", 3: "gap"}


def _restricted(rx: _RegimeIndex, shared: _Route) -> RegimeAssessment:
    """The verdict on a restricted transfer: adequacy, else the best other tool that holds, and why.

    It reads, of the route: the destination (and whether it is an international organisation),
    is_onward, has_hr_data (a DPF entry's data types: only where adequacy requires the DPF), the
    instruments (and then the roles), the TIAs, the vendor statements about its engagement, and of the parties: both when the importer is a group
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
    adequacy_failures = len(failures)
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
        stated = _stated(rx.code, route)
        if stated:
            return _stated_only(rx, shared, stated, preamble, failures, adequacy_failures, notes)
        reasons = preamble + [_reason("gap", text, reference) for text, reference in failures]
        reasons += [_reason("gap", text, rx.law.transfer) for text in shared.unusable]
        # Only what is recorded is known: with no instrument and no DPF entry, say so, not that none exists.
        recorded = route.instruments or route.importer.dpf
        text = (f"no valid transfer tool for {rx.name} data to {destination}" if recorded else
                f"no transfer tool recorded for {rx.name} data to {destination}")
        reasons.append(_reason("gap", text, rx.law.transfer))
        if route.importer.certificates:
            reasons.append(_ISO_IS_NO_TOOL)
        return _regime_assessment(rx.code, True, "none", "gap", rx.law.transfer, tuple(reasons), NO_TIA,
                                  tuple(dict.fromkeys(notes)), (), None, ())
    return _finish(rx, shared, chosen, preamble, notes, tia=tia)


# A vendor's statement (register/rules/facts.py StatementFacts): the mechanism it names, as a verdict's
# mechanism, the words for it, and the article of that tool (by regime law attribute; None: adequacy's).
_STATED = {
    "scc": ("scc", "EU SCCs", "clauses"),
    "uk_idta": ("uk_idta", "the UK IDTA", "clauses"),
    "uk_addendum": ("uk_addendum", "the UK Addendum", "clauses"),
    "dpf": ("adequacy", "DPF certification", None),
    "adequacy": ("adequacy", "adequacy", None),
    "bcr": ("bcr", "BCR", "bcr"),
    "code_of_conduct": ("code_of_conduct", "a code of conduct", "code_of_conduct"),
    "certification": ("certification", "a certification", "certification"),
    "other": ("none", "a transfer mechanism", "transfer"),
}
_DPF_REGIME = {"eu_us": "EU", "uk_extension": "UK", "swiss_us": "CH"}
_UK_ONLY = frozenset({"uk_idta", "uk_addendum"})


def _stated(code: str, route: RouteFacts) -> list:
    """The vendor statements about the route's transfer under regime `code`, the most recent first: the
    importer's own and those about the route's engagement."""
    found = [statement for statement in (*route.statements, *route.importer.statements)
             if (statement.regime is None or statement.regime == code)
             and (statement.mechanism not in _UK_ONLY or code == "UK")
             and (statement.dpf_framework is None or _DPF_REGIME.get(statement.dpf_framework) == code)]
    if len(found) > 1:
        found.sort(key=lambda statement: statement.stated_on, reverse=True)
    return found


def _stated_only(rx: _RegimeIndex, shared: _Route, stated: list, preamble: list[Reason], failures: list[tuple[str, str]],
                 adequacy_failures: int, notes: list[str]) -> RegimeAssessment:
    """No verified tool holds, but the vendor states one: attention, never covered and never a proven gap
    (GDPR Art. 44-46: a transfer relies on a tool in place; Art. 5(2), 24: the exporter shows it). What
    the register found lacking is said; the statement is to be verified."""
    on = shared.on
    # Adequacy failing (no decision, no DPF entry recorded) is what is to be checked: info; a recorded
    # instrument that does not hold is a concern of its own.
    reasons = preamble + [_reason("info" if position < adequacy_failures else "attention", text, reference)
                          for position, (text, reference) in enumerate(failures)]
    reasons += [_reason("attention", text, rx.law.transfer) for text in shared.unusable]
    references = []
    for statement in stated:
        mechanism, words, law_attribute = _STATED[statement.mechanism]
        if statement.mechanism == "dpf" and statement.dpf_framework:
            words = f"{_DPF_LABELS.get(statement.dpf_framework, statement.dpf_framework)} certification"
        elif statement.mechanism == "other" and statement.stated_text:
            words = f"'{statement.stated_text}'"
        reference = rx.article(on).article if law_attribute is None else getattr(rx.law, law_attribute)
        references.append(reference)
        reasons.append(_reason("attention", f"{words} stated by the vendor ({statement.source}, {statement.stated_on}), "
                                            f"not verified: record the instrument or check the DPF list", reference))
    mechanism = _STATED[stated[0].mechanism][0]
    return _regime_assessment(rx.code, True, mechanism, "attention", references[0], tuple(reasons), NO_TIA,
                              tuple(dict.fromkeys(notes)), (), None, ())


def _finish(rx: _RegimeIndex, shared: _Route, chosen: _Candidate, preamble: list[Reason], notes: list[str],
            tia: Optional[TiaFacts] = None, fallback_ids: tuple[int, ...] = ()) -> RegimeAssessment:
    """Add the TIA and Art. 3(2) findings to the chosen tool and freeze the verdict."""
    route, on = shared.route, shared.on
    reasons = preamble + chosen.reasons
    tia_state = _tia_findings(rx, route, on, chosen.mechanism, tia, reasons)
    if rx.code == "EU" and route.importer.is_subject_to_gdpr_art3_2:
        # EDPB Guidelines 05/2021: still a transfer; the 2021 SCCs were not designed for such an importer.
        reasons.append(_ART3_2[chosen.mechanism == "scc"])
    status = worst(reason.severity for reason in reasons)
    return _regime_assessment(rx.code, True, chosen.mechanism, status, chosen.reference, tuple(reasons), tia_state,
                              tuple(dict.fromkeys(notes + chosen.notes)), chosen.ids, chosen.adequacy_id, fallback_ids)


# By whether the route relies on EU SCCs.
_ART3_2 = {relies_on_scc: Reason("attention" if relies_on_scc else "info",
                                 "the importer is subject to the GDPR through Art. 3(2): still a transfer, but the 2021 "
                                 "SCCs were not designed for it - review the safeguard",
                                 "GDPR Art. 3(2); EDPB Guidelines 05/2021")
           for relies_on_scc in (True, False)}


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
