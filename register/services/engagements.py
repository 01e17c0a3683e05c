"""Engagements: who engages whom for what, where they process, and the checks on the engagement graph.

The graph is checked as a whole (no cycle; a sub-processor takes effect only as Art. 28(2) allows),
under the graph lock on PostgreSQL (`lock_engagement_graph`).
"""

from collections.abc import Callable, Iterable
from datetime import date
from typing import Optional

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..bulk import as_row, bulk_of
from ..models import Engagement, EngagementLocation, Lifecycle, LocationActivity, Party, PartyKind
from .checks import _is_list, _ordered, _party
from .codes import place_code, unknown_place
from .spec import SPECS, Errors, Spec, _add


ENGAGER_KINDS = (PartyKind.GROUP_ENTITY, PartyKind.THIRD_PARTY, PartyKind.CLIENT)
ENGAGED_KINDS = (PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY)


def engagement_creates_cycle(sess: Session, engager_id: int, engaged_id: int, ignore_id: Optional[int]) -> bool:
    """Would engager -> engaged close a loop (engaged already reaches engager down the chain)?"""
    bulk = bulk_of(sess)
    if bulk is not None:
        return _reaches(engaged_id, engager_id, bulk.engaged_by(ignore_id))
    edges: dict[int, set[int]] = {}
    query = select(Engagement.engager_id, Engagement.engaged_id).where(Engagement.status != Lifecycle.RETIRED)
    if ignore_id is not None:
        query = query.where(Engagement.id != ignore_id)
    for source, target in sess.execute(query):
        edges.setdefault(source, set()).add(target)
    return _reaches(engaged_id, engager_id, lambda node: edges.get(node, ()))


def _reaches(start: int, goal: int, targets: Callable[[int], Iterable[int]]) -> bool:
    """Whether `goal` is reached from `start` following `targets` (the parties a party engages)."""
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(targets(node))
    return False


# On PostgreSQL, a transaction-level advisory lock (this number is ours) held by every write unit that
# checks an engagement or a change notice: the checks read the whole engagement graph (cycles, the Art.
# 28(2) chain up to the clients and their notices), and two units each checking without the other's
# uncommitted change could together close a loop or let a sub-processor take effect past an objection
# (write skew). Taken once per unit, before the graph is read, outside any savepoint (rolling one back
# would release it); released when the unit ends. A unit waiting longer than BUSY_TIMEOUT_MS for it
# fails with PostgreSQL's lock_not_available: the register is busy (503). SQLite's write lock (BEGIN
# IMMEDIATE) already lets one writer in at a time.
ENGAGEMENT_GRAPH_LOCK = 2_820_001


def lock_engagement_graph(sess: Session) -> None:
    connection = sess.connection()
    if connection.dialect.name != "postgresql" or sess.info.get("graph_locked") is connection:
        return
    waiting = int(current_app.config.get("BUSY_TIMEOUT_MS", 15000)) if has_app_context() else 15000
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {waiting}")
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ENGAGEMENT_GRAPH_LOCK})")
    connection.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
    sess.info["graph_locked"] = connection


def _validate_engagement(sess: Session, record: Optional[Engagement], values: dict, errors: Errors) -> None:
    lock_engagement_graph(sess)
    engager = _party(sess, errors, values, "engager_id", ENGAGER_KINDS)
    engaged = _party(sess, errors, values, "engaged_id", ENGAGED_KINDS)
    if engager is not None and engaged is not None:
        if engager.id == engaged.id:
            _add(errors, "engaged_id", "A party cannot engage itself.")
        elif engaged.kind == PartyKind.GROUP_ENTITY and engager.kind == PartyKind.THIRD_PARTY:
            _add(errors, "engaged_id", "A third party cannot engage a group entity; record the reverse engagement.")
        elif values.get("status") != Lifecycle.RETIRED and engagement_creates_cycle(
            sess, engager.id, engaged.id, record.id if record is not None else None
        ):
            _add(errors, "engaged_id", f"{engaged.legal_name} already engages {engager.legal_name} down the chain: this would make a cycle.")
    _ordered(errors, values, "starts_on", "ends_on", "The end date cannot be before the start date.")
    if values.get("status") == Lifecycle.PROPOSED and not values.get("planned_start_on"):
        _add(errors, "planned_start_on", "A proposed engagement needs its planned start date.")
    if engager is not None and engaged is not None and _takes_effect(record, values):
        _check_activation(sess, record, engager, engaged, values, errors)
    if not _is_list(errors, values, "locations"):
        return
    for location in values.get("locations") or []:
        code = location.get("country_code") if isinstance(location, dict) else location
        problem = unknown_place(sess, code)
        if problem:
            _add(errors, "locations", problem)
        elif isinstance(location, dict) and location.get("activity") not in (None, *LocationActivity._value2member_map_):
            _add(errors, "locations", f"Unknown activity {location.get('activity')!r}: storage, access or storage_and_access.")


def _takes_effect(record: Optional[Engagement], values: dict) -> bool:
    """Whether this write makes a sub-processor take effect (the rules decide what counts)."""
    from ..rules import EngagementLink, sub_processor_takes_effect

    def link(status, relationship, engager_id, engaged_id) -> EngagementLink:
        return EngagementLink(status=getattr(status, "value", status), relationship=getattr(relationship, "value", relationship),
                              engager_id=engager_id, engaged_id=engaged_id)

    before = None if record is None else link(record.status, record.relationship_type, record.engager_id, record.engaged_id)
    after = link(values.get("status") or Lifecycle.ACTIVE,  # the column's default
                 values.get("relationship_type"), values.get("engager_id"), values.get("engaged_id"))
    return sub_processor_takes_effect(before, after)


def _check_activation(sess: Session, record: Optional[Engagement], engager: Party, engaged: Party, values: dict,
                      errors: Errors) -> None:
    """Art. 28(2): a sub-processor takes effect for a client's data only with the client's written
    authorisation and, under a general one, once the client was told and its objection window closed
    with no objection standing. An editor may override the waiting (not a missing authorisation) by
    recording why in this very write; the trail keeps the reason with its author."""
    from ..notices import client_states

    states = client_states(sess, record.id if record is not None else None, engager.id, engaged.id,
                           values.get("relationship_type"), values.get("starts_on"), date.today())
    blockers = [reason for state in states for reason in state.blockers]
    if not blockers:
        return
    reason_given = (values.get("activation_override_reason") or "").strip()
    new_reason = bool(reason_given) and (record is None or reason_given != (record.activation_override_reason or "").strip())
    binding = [reason for reason in blockers if reason.severity == "gap"]
    if not binding and new_reason:
        return
    for reason in blockers:
        _add(errors, "status", f"Cannot take effect yet: {reason}.")
    if not binding:
        _add(errors, "activation_override_reason",
             "To let it take effect anyway, record why (a reason for this change; the override is audited).")


def _read_locations(record: Engagement) -> list:
    # Sorted: the trail must record a collection the same way whatever order it was given in.
    return sorted(f"{location.country_code}:{location.activity.value}" for location in record.locations)


def _wanted_locations(value: list) -> dict[str, LocationActivity]:
    """The processing locations asked for: each a country code or {country_code, activity}."""
    wanted: dict[str, LocationActivity] = {}
    for item in value or []:
        if isinstance(item, dict):
            wanted[place_code(item["country_code"])] = LocationActivity(item.get("activity") or LocationActivity.STORAGE_AND_ACCESS)
        else:
            wanted[place_code(str(item))] = LocationActivity.STORAGE_AND_ACCESS
    return wanted


def _recorded_locations(value: list) -> list:
    return sorted(f"{code}:{activity.value}" for code, activity in _wanted_locations(value).items())


def _write_locations(sess: Session, record: Engagement, value: list) -> None:
    """Replace the processing locations; each is a country code or {country_code, activity}."""
    wanted = _wanted_locations(value)
    if as_row(sess, record):  # a new engagement a bulk unit inserts as rows (flush_pending)
        record.__dict__["locations"] = [EngagementLocation(country_code=code, activity=activity) for code, activity in wanted.items()]
        return
    existing = {location.country_code: location for location in record.locations}
    for code, location in existing.items():
        if code not in wanted:
            record.locations.remove(location)
        else:
            location.activity = wanted[code]
    for code, activity in wanted.items():
        if code not in existing:
            record.locations.append(EngagementLocation(country_code=code, activity=activity))


SPECS[Engagement] = Spec(
    Engagement,
    collections={"locations": (_read_locations, _write_locations)},
    recorded={"locations": _recorded_locations},
    validate=_validate_engagement,
    required=("engager_id", "engaged_id", "service", "relationship_type"),
)
