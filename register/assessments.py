"""Routes assessed by the rules: facts read in bulk, verdicts stored for today, what-ifs on the fly.

The rules (register/rules/) decide; this module only feeds them the register's facts and keeps
today's answers in `route_verdicts` so that lists and the dashboard can filter 100,000 routes.
Stored verdicts are recomputed for the routes a write can change (in the write's own transaction),
for the whole register once a day, and whenever data/countries.yaml changes.
"""

import dataclasses
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from enum import Enum
from typing import Any, Optional

from flask import current_app
from sqlalchemy import Enum as SAEnum
from sqlalchemy import String, delete, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from . import countries, regions, rules
from .bulk import insert_rows
from .collector import paused
from .extensions import db
from .models import (
    AssessmentRun,
    AuditEvent,
    BcrApproval,
    BcrMembership,
    Certificate,
    DpfCertification,
    EngagementLocation,
    Lifecycle,
    Party,
    RouteRegimeVerdict,
    RouteVerdict,
    ScopeFact,
    StatedMechanism,
    Region,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    VendorStatement,
    alias_list,
    route_instruments,
)

CHUNK = 500


def _value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _raw(*columns) -> list:
    """Columns as stored: enumerations as plain strings (the rules take strings), no decoding twice."""
    return [type_coerce(column, String()).label(column.key) if isinstance(column.type, SAEnum) else column for column in columns]


ROUTE_FACT_COLUMNS = ("id", "exporter_id", "importer_id", "destination_country", "destination_organisation_id", "carries_eu_data",
                      "carries_uk_data", "carries_ch_data", "source_route_id", "exporter_role", "importer_role", "engagement_id",
                      "has_hr_data", "has_special_category_data", "special_category_basis", "consent_mechanism", "status",
                      "starts_on", "ends_on")
PARTY_FACT_COLUMNS = ("id", "kind", "legal_name", "aliases", "country_code", "organisation_code", "is_subject_to_gdpr_art3_2",
                      "vetting_status", "vetting_next_review_on", "status")
# The eight combinations of regime flags, built once.
REGIME_SETS = {(eu, uk, ch): frozenset(code for code, on in (("EU", eu), ("UK", uk), ("CH", ch)) if on)
               for eu in (False, True) for uk in (False, True) for ch in (False, True)}


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _rows(sess: Session, query, column, ids: Optional[list[int]]) -> Iterator:
    """Rows of `query`, all of them or those whose `column` is in `ids` (in chunks)."""
    if ids is None:
        yield from sess.execute(query).all()
        return
    for chunk in _chunks(ids):
        yield from sess.execute(query.where(column.in_(chunk))).all()


# --- facts ------------------------------------------------------------------------------------


def load_facts(sess: Session, route_ids: Optional[Iterable[int]] = None) -> list[rules.RouteFacts]:
    """The rules' view of routes (all of them when `route_ids` is None), in a handful of queries."""
    with paused():
        return _load_facts(sess, route_ids)


def _load_facts(sess: Session, route_ids: Optional[Iterable[int]]) -> list[rules.RouteFacts]:
    wanted = None if route_ids is None else sorted(set(route_ids))
    if wanted == []:
        return []
    route_table = TransferRoute.__table__
    columns = _raw(*(route_table.c[name] for name in ROUTE_FACT_COLUMNS))
    routes = sorted(_rows(sess, select(*columns), route_table.c.id, wanted), key=lambda row: row.id)  # by id on every database
    party_ids = sorted({row.exporter_id for row in routes} | {row.importer_id for row in routes}
                       | {row.destination_organisation_id for row in routes if row.destination_organisation_id})
    everything = route_ids is None
    parties = _load_parties(sess, None if everything else party_ids)
    instruments_by_route = _load_instruments(sess, None if everything else wanted)
    tias_by_route: dict[int, list] = defaultdict(list)
    tia_table = TransferImpactAssessment.__table__
    for row in _rows(sess, select(tia_table), tia_table.c.route_id, None if everything else wanted):
        tias_by_route[row.route_id].append(rules.TiaFacts(
            id=row.id, regime=_value(row.regime), assessed_on=row.assessed_on, outcome=_value(row.outcome), next_review_on=row.next_review_on))
    engagement_ids = sorted({row.engagement_id for row in routes if row.engagement_id})
    uncovered = _uncovered_locations(sess, engagement_ids, everything)
    engagement_statements = _engagement_statements(sess, engagement_ids, everything)
    organisations = {party.id: party.organisation_code for party in parties.values()}
    region_facts = _region_facts(sess, {row.destination_country for row in routes if row.destination_country
                                        and len(row.destination_country) > 2})
    facts = []
    for row in routes:
        regimes = REGIME_SETS[bool(row.carries_eu_data), bool(row.carries_uk_data), bool(row.carries_ch_data)]
        facts.append(rules.RouteFacts(
            id=row.id,
            exporter=parties[row.exporter_id],
            importer=parties[row.importer_id],
            destination_country=row.destination_country,
            destination_region=region_facts.get(row.destination_country) if row.destination_country else None,
            destination_organisation=organisations.get(row.destination_organisation_id) if row.destination_organisation_id else None,
            regimes=regimes,
            is_onward=row.source_route_id is not None,
            exporter_role=row.exporter_role,
            importer_role=row.importer_role,
            has_hr_data=row.has_hr_data,
            has_special_category_data=row.has_special_category_data,
            special_category_basis=row.special_category_basis,
            consent_mechanism=row.consent_mechanism,
            instruments=tuple(instruments_by_route.get(row.id, ())),
            tias=tuple(tias_by_route.get(row.id, ())),
            status=row.status,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            uncovered_locations=uncovered.get(row.engagement_id, frozenset()),
            statements=engagement_statements.get(row.engagement_id, ()) if row.engagement_id else (),
        ))
    return facts


def _load_parties(sess: Session, party_ids: Optional[list[int]]) -> dict[int, rules.PartyFacts]:
    party_table = Party.__table__
    memberships: dict[int, list] = defaultdict(list)
    membership_query = select(BcrMembership.__table__, BcrApproval.__table__.c.regime, BcrApproval.__table__.c.bcr_type,
                              BcrApproval.__table__.c.approved_on, BcrApproval.__table__.c.withdrawn_on).join(
        BcrApproval.__table__, BcrApproval.__table__.c.id == BcrMembership.__table__.c.approval_id)
    for row in _rows(sess, membership_query, BcrMembership.__table__.c.group_entity_id, party_ids):
        memberships[row.group_entity_id].append(rules.BcrMembershipFacts(
            approval_id=row.approval_id, regime=_value(row.regime), bcr_type=_value(row.bcr_type), approved_on=row.approved_on,
            withdrawn_on=row.withdrawn_on, bound_from=row.bound_from, bound_to=row.bound_to))
    dpf: dict[int, list] = defaultdict(list)
    dpf_table = DpfCertification.__table__
    for row in _rows(sess, select(dpf_table), dpf_table.c.third_party_id, party_ids):
        dpf[row.third_party_id].append(rules.DpfFacts(
            framework=_value(row.framework), covers_hr_data=row.covers_hr_data, covers_non_hr_data=row.covers_non_hr_data,
            certified_entity_name=row.certified_entity_name, is_active=row.is_active, verified_on=row.verified_on))
    scope: dict[int, dict[str, str]] = defaultdict(dict)
    scope_table = ScopeFact.__table__
    for row in _rows(sess, select(scope_table), scope_table.c.party_id, party_ids):
        scope[row.party_id][row.fact_key] = _value(row.answer)
    statements: dict[int, list] = defaultdict(list)
    statement_table = VendorStatement.__table__
    statement_query = select(*_raw(*statement_table.c)).where(statement_table.c.engagement_id.is_(None))
    for row in _rows(sess, statement_query, statement_table.c.party_id, party_ids):
        statements[row.party_id].append(_statement_facts(row))
    certificates: dict[int, list] = defaultdict(list)
    certificate_table = Certificate.__table__
    for row in _rows(sess, select(certificate_table), certificate_table.c.third_party_id, party_ids):
        certificates[row.third_party_id].append(rules.CertificateFacts(
            id=row.id, edition=_value(row.edition), issued_on=row.issued_on, expires_on=row.expires_on,
            last_verified_on=row.last_verified_on, withdrawn_on=row.withdrawn_on))
    parties = {}
    # An affiliate's vendor, by name: the reasons say whose local entity the importer is.
    parent_table = party_table.alias("parent")
    party_query = select(*_raw(*(party_table.c[name] for name in PARTY_FACT_COLUMNS)),
                         parent_table.c.legal_name.label("parent_name")).outerjoin(
        parent_table, parent_table.c.id == party_table.c.parent_id)
    for row in _rows(sess, party_query, party_table.c.id, party_ids):
        parties[row.id] = rules.PartyFacts(
            id=row.id, kind=row.kind, legal_name=row.legal_name, aliases=tuple(alias_list(row.aliases)),
            statements=tuple(sorted(statements.get(row.id, ()), key=_statement_order)), country=row.country_code,
            organisation_code=row.organisation_code, bcr=tuple(memberships.get(row.id, ())), dpf=tuple(dpf.get(row.id, ())),
            scope_facts=dict(scope.get(row.id, {})), is_subject_to_gdpr_art3_2=row.is_subject_to_gdpr_art3_2,
            vetting_status=row.vetting_status, vetting_next_review_on=row.vetting_next_review_on,
            certificates=tuple(certificates.get(row.id, ())), status=row.status, parent_name=row.parent_name)
    return parties


def _statement_facts(row: Any) -> "rules.StatementFacts":
    return rules.StatementFacts(id=row.id, mechanism=row.mechanism, dpf_framework=row.dpf_framework, regime=row.regime,
                                stated_text=row.stated_text, source=row.source, stated_on=row.stated_on)


def _statement_order(statement: "rules.StatementFacts") -> tuple:
    return (statement.stated_on, statement.id)


def _engagement_statements(sess: Session, engagement_ids: list[int], everything: bool) -> dict[int, tuple]:
    """Per engagement: what its vendor states of that engagement only (one tuple shared by its routes)."""
    if not engagement_ids:
        return {}
    found: dict[int, list] = defaultdict(list)
    table = VendorStatement.__table__
    query = select(*_raw(*table.c)).where(table.c.engagement_id.is_not(None))
    for row in _rows(sess, query, table.c.engagement_id, None if everything else engagement_ids):
        found[row.engagement_id].append(_statement_facts(row))
    return {engagement_id: tuple(sorted(items, key=_statement_order)) for engagement_id, items in found.items()}


def _load_instruments(sess: Session, route_ids: Optional[list[int]]) -> dict[int, list]:
    instrument_table, approval_table = TransferInstrument.__table__, BcrApproval.__table__
    query = select(route_instruments.c.route_id, instrument_table, approval_table.c.regime.label("bcr_regime"),
                   approval_table.c.bcr_type.label("bcr_type"), approval_table.c.approved_on.label("bcr_approved_on"),
                   approval_table.c.withdrawn_on.label("bcr_withdrawn_on")).join(
        instrument_table, instrument_table.c.id == route_instruments.c.instrument_id).outerjoin(
        approval_table, approval_table.c.id == instrument_table.c.bcr_approval_id)
    cache: dict[int, rules.InstrumentFacts] = {}
    by_route: dict[int, list] = defaultdict(list)
    for row in _rows(sess, query, route_instruments.c.route_id, route_ids):
        facts = cache.get(row.id)
        if facts is None:
            approval = None
            if row.bcr_approval_id is not None:
                approval = rules.BcrApprovalFacts(approval_id=row.bcr_approval_id, regime=_value(row.bcr_regime),
                                                  bcr_type=_value(row.bcr_type), approved_on=row.bcr_approved_on,
                                                  withdrawn_on=row.bcr_withdrawn_on)
            facts = cache[row.id] = rules.InstrumentFacts(
                id=row.id, kind=_value(row.kind), title=row.title, scc_decision=row.scc_decision,
                scc_modules=frozenset(int(part) for part in (row.scc_modules or "").split(",") if part.strip().isdigit()),
                has_swiss_adaptation=row.has_swiss_adaptation, uk_addendum_version=row.uk_addendum_version,
                bcr_approval=approval, derogation_ground=_value(row.derogation_ground),
                has_derogation_justification=bool((row.derogation_justification or "").strip()),
                scheme_name=row.scheme_name,
                signed_on=row.signed_on, terminated_on=row.terminated_on, status=_value(row.status))
        by_route[row.route_id].append(facts)
    return by_route


def _region_facts(sess: Session, codes: set[str]) -> dict[str, "rules.RegionFacts"]:
    """The regions of these codes (a country's code is never one), as the rules take them: one object
    per region, shared by its routes."""
    if not codes:
        return {}
    known = regions.all_regions(sess)
    return {code: known[code].facts for code in codes if code in known}


def _uncovered_locations(sess: Session, engagement_ids: list[int], everything: bool) -> dict[int, frozenset[str]]:
    """Per engagement: its processing locations (countries or regions) that no live route of it reaches;
    a route to a region reaches the region and each of its countries."""
    if not engagement_ids:
        return {}
    ids = None if everything else engagement_ids
    locations: dict[int, set[str]] = defaultdict(set)
    location_table = EngagementLocation.__table__
    for row in _rows(sess, select(location_table.c.engagement_id, location_table.c.country_code), location_table.c.engagement_id, ids):
        locations[row.engagement_id].add(row.country_code)
    reached: dict[int, set[str]] = defaultdict(set)
    route_table = TransferRoute.__table__
    query = select(route_table.c.engagement_id, route_table.c.destination_country).where(
        route_table.c.engagement_id.is_not(None), route_table.c.status != Lifecycle.RETIRED.value)
    members: dict[str, tuple[str, ...]] = {}
    for row in _rows(sess, query, route_table.c.engagement_id, ids):
        code = row.destination_country
        reached[row.engagement_id].add(code)
        if code and len(code) > 2:
            if not members:
                members = {known.code: known.countries for known in regions.all_regions(sess).values()}
            reached[row.engagement_id].update(members.get(code, ()))
    return {engagement_id: frozenset(codes - reached.get(engagement_id, set())) for engagement_id, codes in locations.items()}


def vendor_statements(sess: Session, route_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Per route: what its importer states about its transfers (its own statements and those about the
    route's engagement), most recent first, as plain values to show beside the verdict."""
    wanted = sorted(set(route_ids))
    found: dict[int, list[dict]] = {route_id: [] for route_id in wanted}
    if not wanted:
        return found
    route_table, table = TransferRoute.__table__, VendorStatement.__table__
    routes = list(_rows(sess, select(route_table.c.id, route_table.c.importer_id, route_table.c.engagement_id),
                        route_table.c.id, wanted))
    by_party: dict[int, list[dict]] = defaultdict(list)
    by_engagement: dict[int, list[dict]] = defaultdict(list)
    columns = _raw(table.c.id, table.c.party_id, table.c.engagement_id, table.c.mechanism, table.c.dpf_framework,
                   table.c.stated_text, table.c.regime, table.c.source, table.c.source_url, table.c.stated_on)
    for row in _rows(sess, select(*columns), table.c.party_id, sorted({row.importer_id for row in routes})):
        item = {"id": row.id, "mechanism": row.mechanism, "mechanism_label": StatedMechanism(row.mechanism).label,
                "dpf_framework": row.dpf_framework, "stated_text": row.stated_text,
                "regime": row.regime, "source": row.source, "source_url": row.source_url,
                "stated_on": row.stated_on.isoformat(), "engagement_id": row.engagement_id}
        (by_party[row.party_id] if row.engagement_id is None else by_engagement[row.engagement_id]).append(item)
    for row in routes:
        items = [*by_party.get(row.importer_id, ()), *(by_engagement.get(row.engagement_id, ()) if row.engagement_id else ())]
        found[row.id] = sorted(items, key=lambda item: (item["stated_on"], item["id"]), reverse=True)
    return found


# --- assessing and storing --------------------------------------------------------------------


def law_digest(law: countries.CountryData) -> str:
    """A fingerprint of the legal data: stored verdicts made under another file are stale. The same in
    every process (a set's repr follows the process's hash seed: each web worker, the job worker and
    the command line would each have taken the others' verdicts for stale). Computed once per loaded
    law file (pages ask on every view whether the stored verdicts are today's)."""
    known = _DIGESTS.get(id(law))
    if known is not None and known[0] is law:
        return known[1]
    digest = hashlib.sha256(repr(_canonical(law)).encode()).hexdigest()
    _DIGESTS.clear()  # one law file at a time is current
    _DIGESTS[id(law)] = (law, digest)
    return digest


_DIGESTS: dict[int, tuple[Any, str]] = {}


def _canonical(value: Any) -> Any:
    """`value` with its sets and mappings in a fixed order (for `law_digest`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple((field.name, _canonical(getattr(value, field.name)))
                                            for field in dataclasses.fields(value)))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((_canonical(item) for item in value), key=repr)))
    if isinstance(value, Mapping):
        return ("map", tuple(sorted(((_canonical(key), _canonical(item)) for key, item in value.items()), key=repr)))
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(item) for item in value)
    return value


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A route's assessment and its importer's ISO 27001 vetting state on the same day."""

    assessment: "rules.RouteAssessment"
    importer_vetting: Optional[str]
    live: bool = True
    destination: str = ""


def evaluate(sess: Session, on: date, route_ids: Optional[Iterable[int]] = None) -> dict[int, Verdict]:
    """Assess routes and their importers' vetting on a date; nothing is stored."""
    law = countries.current()
    verdicts = {}
    facts_list = load_facts(sess, route_ids)
    with paused():
        batch = rules.Batch(on, law)
        for facts in facts_list:
            importer = facts.importer
            verdicts[facts.id] = Verdict(rules.assess_route(facts, on, law, batch),
                                         batch.vetting(importer).state if importer.kind == "third_party" else None,
                                         facts.status != "retired", facts.destination_country or facts.destination_organisation or "")
        del batch  # its keys go before the collector resumes and looks at what is left
    return verdicts


def vetting(sess: Session, party_id: int, on: date) -> "rules.VettingAssessment":
    """A third party's ISO/IEC 27001 vetting on a date, as the rules judge it."""
    return rules.vetting_state(_load_parties(sess, [party_id])[party_id], on)


def assess(sess: Session, on: date, route_ids: Optional[Iterable[int]] = None) -> dict[int, "rules.RouteAssessment"]:
    """Assess routes on a date (what-if dates included); nothing is stored."""
    law = countries.current()
    facts = register_facts(sess) if route_ids is None else load_facts(sess, route_ids)
    with paused():
        batch = rules.Batch(on, law)
        verdicts = {route.id: rules.assess_route(route, on, law, batch) for route in facts}
        del batch  # its keys go before the collector resumes and looks at what is left
    return verdicts


def assess_elsewhere(sess: Session, on: date, wanted: Iterable[tuple[int, str]],
                     facts: Optional[Mapping[int, "rules.RouteFacts"]] = None) -> dict[tuple[int, str], "rules.RouteAssessment"]:
    """Each (route, place): the route's verdict were its data to reach that place too (an engagement's
    processing location no route of its own reaches), with the route's own parties, regimes and
    instruments; nothing is stored. The rules decide, as for any route. `facts`: the routes' facts when
    the caller has read them already (a list asks for hundreds of recipients' places)."""
    pairs = sorted(set(wanted))
    if not pairs:
        return {}
    law = countries.current()
    if facts is None:
        facts = {item.id: item for item in load_facts(sess, {route_id for route_id, _place in pairs})}
    with paused():
        batch = rules.Batch(on, law)
        places = _region_facts(sess, {place for _route_id, place in pairs if len(place) > 2})
        found = {(route_id, place): rules.assess_route(
                     dataclasses.replace(facts[route_id], destination_country=place, destination_organisation=None,
                                         destination_region=places.get(place), uncovered_locations=frozenset()), on, law, batch)
                 for route_id, place in pairs if route_id in facts}
        del batch
    return found


# The whole register's facts, per database: they change only when something is written, and every
# write adds an audit event, so the newest event's id says whether they are still current. What-if
# dates then cost only the rules. After writes, only the routes those writes can change are read
# again (the same dependencies that keep stored verdicts in step). Read paths only: a write in
# progress has not committed its facts.
@dataclasses.dataclass
class _CachedFacts:
    marker: tuple  # (newest event, routes, events)
    last_event_id: Optional[int]
    event_count: int  # events with an id up to last_event_id when the facts were read
    facts: list


_FACTS_CACHE: dict[str, _CachedFacts] = {}
# Past this many new events, reading everything again is cheaper than following them.
INCREMENTAL_EVENTS = 5000


def register_facts(sess: Session) -> list["rules.RouteFacts"]:
    """Every route's facts, read in full once, then brought up to date with what was written since."""
    if sess.new or sess.dirty or sess.deleted:
        return load_facts(sess)
    newest = sess.execute(select(AuditEvent.id, AuditEvent.occurred_at).order_by(AuditEvent.id.desc()).limit(1)).first()
    route_count = sess.scalar(select(func.count()).select_from(TransferRoute))
    # The count too: on PostgreSQL a transaction can commit an event with a lower id after a higher one.
    event_count = sess.scalar(select(func.count()).select_from(AuditEvent))
    marker = (tuple(newest) if newest else None, route_count, event_count)
    key = sess.get_bind().url.render_as_string(hide_password=True)
    cached = _FACTS_CACHE.get(key)
    if cached is not None and cached.marker == marker:
        return cached.facts
    facts = None
    if cached is not None and newest is not None and newest.id > (cached.last_event_id or 0):
        facts = _brought_up_to_date(sess, cached, route_count)
    if facts is None:
        facts = load_facts(sess)
    _FACTS_CACHE[key] = _CachedFacts(marker, newest.id if newest else None, event_count, facts)
    return facts


def _brought_up_to_date(sess: Session, cached: _CachedFacts, route_count: int) -> Optional[list]:
    """The cached facts with the routes written since read again; None when that is not safe or not cheaper."""
    from .audit import touched_by

    # An event that became visible below the mark since (a later commit of an earlier transaction)
    # would be missed by reading only above it: then read everything.
    if sess.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= (cached.last_event_id or 0))) != cached.event_count:
        return None
    events = sess.execute(select(AuditEvent.record_type, AuditEvent.record_id, AuditEvent.changes)
                          .where(AuditEvent.id > (cached.last_event_id or 0)).limit(INCREMENTAL_EVENTS + 1)).all()
    if len(events) > INCREMENTAL_EVENTS:
        return None
    touched: set[tuple[str, int]] = set()
    for record_type, record_id, changes in events:
        touched |= touched_by(record_type, record_id, changes or {})
    affected = affected_routes(sess, touched)
    fresh = {item.id: item for item in load_facts(sess, affected)} if affected else {}
    facts = [fresh.pop(item.id) if item.id in fresh else item for item in cached.facts if item.id not in affected or item.id in fresh]
    if fresh:
        facts = sorted(facts + list(fresh.values()), key=lambda item: item.id)
    # Routes written without a trail (a bulk load) would be missed: then read everything.
    return facts if len(facts) == route_count else None


def plain(value: Any) -> Any:
    """A JSON-ready copy of an assessment (dates as ISO strings, sets as sorted lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted(plain(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return _value(value)


def store(sess: Session, on: date, verdicts: dict[int, Verdict]) -> None:
    """Replace the stored verdicts of these routes."""
    ids = list(verdicts)
    for chunk in _chunks(ids):
        sess.execute(delete(RouteRegimeVerdict.__table__).where(RouteRegimeVerdict.__table__.c.route_id.in_(chunk)))
        sess.execute(delete(RouteVerdict.__table__).where(RouteVerdict.__table__.c.route_id.in_(chunk)))
    verdict_rows, regime_rows = [], []
    for route_id, verdict in verdicts.items():
        assessment = verdict.assessment
        verdict_rows.append({
            "route_id": route_id, "assessed_on": on, "status": assessment.status, "live": verdict.live,
            "destination": verdict.destination,
            "mechanisms": ",".join(sorted({regime.mechanism for regime in assessment.regimes})),
            "breaks_notice_promise": assessment.breaks_notice_promise,
            "importer_vetting": verdict.importer_vetting,
        })
        regime_rows += [{"route_id": route_id, "regime": regime.regime, "mechanism": regime.mechanism, "status": regime.status,
                         "adequacy_id": regime.adequacy_id, "live": verdict.live} for regime in assessment.regimes]
    insert_rows(sess, RouteVerdict.__table__, verdict_rows)
    insert_rows(sess, RouteRegimeVerdict.__table__, regime_rows)


def refresh_all(sess: Session, on: Optional[date] = None) -> AssessmentRun:
    """Reassess and store every route (daily, and after countries.yaml changes)."""
    on = on or date.today()
    started = time.perf_counter()
    verdicts = evaluate(sess, on)
    sess.execute(delete(RouteRegimeVerdict.__table__))
    sess.execute(delete(RouteVerdict.__table__))
    store(sess, on, verdicts)
    run = AssessmentRun(assessed_on=on, law_digest=law_digest(countries.current()), route_count=len(verdicts),
                        seconds=round(time.perf_counter() - started, 3))
    sess.add(run)
    sess.flush()
    return run


def last_run(sess: Session) -> Optional[AssessmentRun]:
    return sess.scalar(select(AssessmentRun).order_by(AssessmentRun.id.desc()).limit(1))


def is_fresh(today: Optional[date] = None, run: Optional[AssessmentRun] = None) -> bool:
    """Whether the stored verdicts are today's, under today's law file."""
    run = run or last_run(db.session())
    return run is not None and run.assessed_on == (today or date.today()) and run.law_digest == law_digest(countries.current())


def assessment_key(today: date) -> str:
    """The dedup key of the whole-register assessment for a day under today's law file (once each)."""
    return f"assess:{today}:{law_digest(countries.current())[:16]}"


def ensure_fresh(today: Optional[date] = None, *, wait: bool = True) -> Optional[AssessmentRun]:
    """The last whole-register run, made today's if it is not.

    The job worker reassesses the register just after midnight (register/jobs/schedule.py), so a
    request finds today's verdicts. If it has not (the worker is down, the law file just changed),
    the reassessment is submitted as a job; a page that can say "as of" (the dashboard) passes
    wait=False and shows the last run while the job runs; one that states today's verdicts to a data
    subject (the processor list, an access-request answer) reassesses here rather than say
    yesterday's."""
    sess = db.session()
    today = today or date.today()
    run = last_run(sess)
    if is_fresh(today, run):
        return run
    if sess.in_transaction() and not (sess.new or sess.dirty or sess.deleted):
        sess.commit()
    if not wait:
        from .jobs.queue import submit

        submit("assess", f"Assessment, {today}", {"on": today.isoformat()}, dedup_key=assessment_key(today))
        return last_run(sess)  # made by a job run in this request (JOBS_IMMEDIATE), or the last run: the caller says so
    current_app.logger.warning("today's assessment had not run: made in this request (is the job worker running?)")
    return refresh_fresh(sess, today)


def refresh_fresh(sess: Session, today: date) -> AssessmentRun:
    """Today's whole-register assessment unless another process made it meanwhile: one at a time
    (SQLite: the write lock taken before reading; PostgreSQL: an advisory lock), then checked again,
    so a page that could not wait and the worker never write the verdict tables at once."""
    from .extensions import short_write

    with short_write(sess):
        if sess.get_bind().dialect.name == "postgresql":
            sess.execute(select(func.pg_advisory_xact_lock(REASSESSMENT_LOCK)))
        run = last_run(sess)
        if not is_fresh(today, run):
            run = refresh_all(sess, today)
        sess.commit()
    return run


REASSESSMENT_LOCK = 0x7265_6173_7365_7373  # "reassess": the whole-register reassessment, one at a time


# --- which routes a write can change ------------------------------------------------------------


def _ids_where(sess: Session, query: Callable[[list[int]], Any], ids: Iterable[int]) -> set[int]:
    """The ids `query(chunk)` selects, over `ids` in chunks (an import touches 100,000 records; the
    databases take a few thousand parameters a statement)."""
    found: set[int] = set()
    for chunk in _chunks(sorted(ids)):
        found.update(sess.scalars(query(chunk)))
    return found


def affected_routes(sess: Session, touched: set[tuple[str, int]]) -> set[int]:
    """The routes whose verdict may change after writes to these records (table name, id)."""
    by_type: dict[str, set[int]] = defaultdict(set)
    for table, record_id in touched:
        by_type[table].add(record_id)
    route = TransferRoute.__table__
    instrument = TransferInstrument.__table__
    found: set[int] = set(by_type.get("transfer_routes", ()))
    party_ids = set(by_type.get("parties", ()))
    for model, owner_column in ((Certificate, Certificate.third_party_id), (DpfCertification, DpfCertification.third_party_id),
                                (ScopeFact, ScopeFact.party_id), (VendorStatement, VendorStatement.party_id)):
        party_ids |= _ids_where(sess, lambda chunk, model=model, owner=owner_column: select(owner).where(model.id.in_(chunk)),
                                by_type.get(model.__tablename__, ()))
    approvals = by_type.get("bcr_approvals", ())
    party_ids |= _ids_where(sess, lambda chunk: select(BcrMembership.group_entity_id).where(BcrMembership.approval_id.in_(chunk)),
                            approvals)
    # Every route relying on the approval, also between entities it no longer binds (their memberships are gone).
    found |= _ids_where(sess, lambda chunk: select(route_instruments.c.route_id).join(
        instrument, instrument.c.id == route_instruments.c.instrument_id).where(instrument.c.bcr_approval_id.in_(chunk)), approvals)
    found |= _ids_where(sess, lambda chunk: select(route.c.id).where(or_(
        route.c.exporter_id.in_(chunk), route.c.importer_id.in_(chunk), route.c.destination_organisation_id.in_(chunk))), party_ids)
    found |= _ids_where(sess, lambda chunk: select(TransferImpactAssessment.route_id).where(TransferImpactAssessment.id.in_(chunk)),
                        by_type.get("transfer_impact_assessments", ()))
    engagements = set(by_type.get("engagements", ()))
    engagements |= _ids_where(sess, lambda chunk: select(VendorStatement.engagement_id).where(
        VendorStatement.id.in_(chunk), VendorStatement.engagement_id.is_not(None)), by_type.get("vendor_statements", ()))
    found |= _ids_where(sess, lambda chunk: select(route.c.id).where(route.c.engagement_id.in_(chunk)), engagements)
    found |= _ids_where(sess, lambda chunk: select(route_instruments.c.route_id).where(route_instruments.c.instrument_id.in_(chunk)),
                        by_type.get("transfer_instruments", ()))
    # A region's members changed: the routes to it, and the routes of engagements processing there.
    region_codes = _ids_where(sess, lambda chunk: select(Region.code).where(Region.id.in_(chunk)), by_type.get("regions", ()))
    if region_codes:
        codes = sorted(region_codes)
        found |= set(sess.scalars(select(route.c.id).where(route.c.destination_country.in_(codes))))
        location = EngagementLocation.__table__
        found |= set(sess.scalars(select(route.c.id).where(route.c.engagement_id.in_(
            select(location.c.engagement_id).where(location.c.country_code.in_(codes))))))
    # A route's own change can leave an engagement location uncovered for its sibling routes.
    engagement_ids = _ids_where(sess, lambda chunk: select(route.c.engagement_id).where(route.c.id.in_(chunk),
                                                                                        route.c.engagement_id.is_not(None)),
                                by_type.get("transfer_routes", ()))
    found |= _ids_where(sess, lambda chunk: select(route.c.id).where(route.c.engagement_id.in_(chunk)), engagement_ids)
    return found


# Routes reassessed and stored at a time when a write touched many (an import): memory stays flat.
REFRESH_CHUNK = 10000


def refresh_touched(sess: Session, touched: set[tuple[str, int]], today: Optional[date] = None) -> int:
    """Reassess, in the writer's transaction, the routes its writes can change."""
    route_ids = sorted(affected_routes(sess, touched))
    if len(route_ids) > REFRESH_CHUNK:
        # Chunks of routes that share engagements: a route's verdict reads its engagement's other
        # routes (uncovered locations), and each chunk then reads those of its own engagements only,
        # not those of nearly every engagement again.
        route = TransferRoute.__table__
        place = {route_id: index for index, route_id in enumerate(sess.scalars(
            select(route.c.id).order_by(route.c.engagement_id, route.c.id)))}
        route_ids.sort(key=lambda route_id: place.get(route_id, -1))  # (a route deleted in this unit: first)
    on = today or date.today()
    for start in range(0, len(route_ids), REFRESH_CHUNK):
        chunk = route_ids[start:start + REFRESH_CHUNK]
        store(sess, on, evaluate(sess, on, chunk))
    return len(route_ids)

