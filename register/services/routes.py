"""Transfer routes: their checks, their instruments, and the defaults a route takes from its parties (`route_defaults`)."""

from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import countries, rules
from ..bulk import ROUTE_REGIME_FIELDS, EngagementFacts, as_row, bulk_of, get_record, record_exists, regime_flags
from ..models import Engagement, Lifecycle, Party, PartyKind, PartyRole, Relationship, TransferInstrument, TransferRoute
from .checks import _ordered, _party, _place
from .coerce import whole_number
from .spec import SPECS, Derived, Errors, Spec, _add


ROUTE_PARTY_KINDS = (PartyKind.GROUP_ENTITY, PartyKind.THIRD_PARTY, PartyKind.CLIENT, PartyKind.INTERNATIONAL_ORGANISATION)


def _validate_route(sess: Session, record: Optional[TransferRoute], values: dict, errors: Errors) -> None:
    exporter = _party(sess, errors, values, "exporter_id", ROUTE_PARTY_KINDS)
    importer = _party(sess, errors, values, "importer_id", ROUTE_PARTY_KINDS)
    if exporter is not None and importer is not None and exporter.id == importer.id:
        _add(errors, "importer_id", "The importer must differ from the exporter.")
    has_country = values.get("destination_country") is not None
    has_organisation = values.get("destination_organisation_id") is not None
    if has_country and has_organisation:
        _add(errors, "destination_country", "Give one destination: a country or an international organisation, not both.")
    elif not has_country and not has_organisation:
        _add(errors, "destination_country", "Give the destination: the country the data goes to, or the international "
                                            "organisation that receives it.")
    elif has_country:
        _place(sess, errors, values, "destination_country")
    else:
        _party(sess, errors, values, "destination_organisation_id", (PartyKind.INTERNATIONAL_ORGANISATION,))
    source_id = values.get("source_route_id")
    if source_id is not None:
        if record is not None and source_id == record.id:
            _add(errors, "source_route_id", "A route cannot be its own source.")
        elif not record_exists(sess, TransferRoute, source_id):
            _add(errors, "source_route_id", f"No route with id {source_id}.")
    engagement_id = values.get("engagement_id")
    if engagement_id is not None and not record_exists(sess, Engagement, engagement_id):
        _add(errors, "engagement_id", f"No engagement with id {engagement_id}.")
    if values.get("special_category_basis") and not values.get("has_special_category_data"):
        _add(errors, "special_category_basis", "Only routes carrying special-category data take a basis.")
    _ordered(errors, values, "starts_on", "ends_on", "The end date cannot be before the start date.")
    if not errors:
        _one_route_per_service(sess, record, values, errors)
    ids = values.get("instrument_ids") or []
    try:
        if not isinstance(ids, list):
            raise ValueError
        wanted = {whole_number(item) for item in ids}
    except (TypeError, ValueError):
        _add(errors, "instrument_ids", "Instruments are given as a list of their ids.")
        return
    if wanted:
        if bulk_of(sess) is not None:
            found = {instrument_id for instrument_id in wanted if get_record(sess, TransferInstrument, instrument_id) is not None}
        else:
            found = set(sess.scalars(select(TransferInstrument.id).where(TransferInstrument.id.in_(wanted))))
        for missing in sorted(wanted - found):
            _add(errors, "instrument_ids", f"No instrument with id {missing}.")


# A route is one service's flow of data: two live routes with the same exporter, importer and
# destination are one route unless their service (the route's engagement) differs, or they pass on
# data from different source routes (an onward transfer inherits its source's regimes). The form
# and the API refuse the second; the import matches a row to the route with its key
# (imports/plan.py), so that every path holds the same routes apart.
ROUTE_KEY_FIELDS = ("exporter_id", "importer_id", "destination_country", "destination_organisation_id", "engagement_id",
                    "source_route_id")


def route_key(values: Any) -> tuple:
    """What tells a route apart: its parties, destination, service (engagement) and source route."""
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return tuple(get(name) for name in ROUTE_KEY_FIELDS)


def _one_route_per_service(sess: Session, record: Optional[TransferRoute], values: dict, errors: Errors) -> None:
    if values.get("status") == Lifecycle.RETIRED or bulk_of(sess) is not None:
        return  # a bulk unit is an import, which matches its rows to routes by this key itself
    if record is not None and record.status != Lifecycle.RETIRED and route_key(record) == route_key(values):
        return  # a change that keeps the route's key: routes recorded twice before this rule stay editable
    query = select(TransferRoute.id, Engagement.service).outerjoin(Engagement, Engagement.id == TransferRoute.engagement_id) \
        .where(TransferRoute.status != Lifecycle.RETIRED)
    for name, value in zip(ROUTE_KEY_FIELDS, route_key(values)):
        column = getattr(TransferRoute, name)
        query = query.where(column.is_(None) if value is None else column == value)
    if record is not None and record.id is not None:
        query = query.where(TransferRoute.id != record.id)
    found = sess.execute(query.order_by(TransferRoute.id).limit(1)).first()
    if found is not None:
        service = f"the same service ({found.service})" if found.service else "no engagement's service either"
        _add(errors, "engagement_id", f"Route #{found.id} already carries data from this exporter to this importer there, "
                                      f"for {service}: edit that route, or link this one to the engagement of another service.")


def _read_instrument_ids(record: TransferRoute) -> list:
    return sorted(instrument.id for instrument in record.instruments)


def _write_instrument_ids(sess: Session, record: TransferRoute, value: list) -> None:
    wanted = {int(item) for item in value or []}
    if as_row(sess, record):
        # a bulk unit inserts the route and its links as rows (flush_pending): a plain list, as its other values
        record.__dict__["instruments"] = [get_record(sess, TransferInstrument, instrument_id) for instrument_id in sorted(wanted)]
        return
    record.instruments = list(sess.scalars(select(TransferInstrument).where(TransferInstrument.id.in_(wanted)))) if wanted else []


# What a route is unless it says otherwise. One function for every write path: the route form
# pre-fills from it (records.lookup_route_defaults), and a create (API, import) fills in from it what
# the caller leaves out; an update lets a field left out follow its inputs when it held their default.
# (ROUTE_REGIME_FIELDS and EngagementFacts are in register/bulk.py, which keeps them for a bulk unit.)

ROUTE_DESTINATION_FIELDS = ("destination_country", "destination_organisation_id")
_FLAG_OF_REGIME = dict(zip(("EU", "UK", "CH"), ROUTE_REGIME_FIELDS))
_PAIRED = object()  # route_defaults: the route runs under the engagement linking its parties, if any


def route_defaults(sess: Session, exporter_id: Optional[int], importer_id: Optional[int],
                   source_route_id: Optional[int] = None, engagement_id: Any = _PAIRED) -> dict[str, Derived]:
    """A route's defaults from its parties, each with its reason: the destination (the importer's
    country, or the international organisation it is), the regimes of its data (rules.regimes_of_data:
    the source route's for an onward transfer, else the exporter's establishment), the engagement of
    the importer by the exporter (the one live, or the one active among several), and from the
    route's engagement (`engagement_id`, or that one) the roles and the purpose. In a bulk unit every fact
    is read from its memory (no query per row)."""
    found = {**destination_default(sess, importer_id), **_regimes_default(sess, exporter_id, source_route_id)}
    paired = _paired_engagement(sess, exporter_id, importer_id)
    if paired is not None:
        found["engagement_id"] = paired[1]
    if engagement_id is _PAIRED:
        engagement = paired[0] if paired is not None else None
    else:
        engagement = _engagement_facts(sess, engagement_id) if engagement_id is not None else None
    found.update(_engagement_defaults(engagement))
    return found


def destination_default(sess: Session, importer_id: Optional[int]) -> dict[str, Derived]:
    importer = get_record(sess, Party, importer_id) if importer_id is not None else None
    if importer is None:
        return {}
    if importer.kind == PartyKind.INTERNATIONAL_ORGANISATION:
        return {"destination_organisation_id": Derived(importer.id, f"The importer is an international organisation "
                                                                    f"({importer.organisation_code}): the destination.")}
    if importer.country_code is None:
        return {}
    return {"destination_country": Derived(importer.country_code, f"The importer, {importer.legal_name}, is established in "
                                                                  f"{importer.country_code}: the data goes there.")}


def _destination_of(values: Any) -> tuple:
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return tuple(get(name) for name in ROUTE_DESTINATION_FIELDS)


def _regimes_default(sess: Session, exporter_id: Optional[int], source_route_id: Optional[int]) -> dict[str, Derived]:
    source = None
    if source_route_id is not None:
        bulk = bulk_of(sess)
        if bulk is not None:
            flags = bulk.route_regimes(source_route_id)
        else:
            record = sess.get(TransferRoute, source_route_id)
            flags = regime_flags(record) if record is not None else None
        if flags is None:
            return {}
        source = (source_route_id, [regime for regime, carried in zip(_FLAG_OF_REGIME, flags) if carried])
    else:
        exporter = get_record(sess, Party, exporter_id) if exporter_id is not None else None
        if exporter is None:
            return {}
    country = None if source is not None else exporter.country_code
    return {_FLAG_OF_REGIME[item.regime]: Derived(item.carried, item.reason)
            for item in rules.regimes_of_data(country, countries.current(), source) if item.regime in _FLAG_OF_REGIME}


def _engagement_facts(sess: Session, engagement_id: int) -> Optional[EngagementFacts]:
    bulk = bulk_of(sess)
    if bulk is not None:
        return bulk.engagement(engagement_id)
    record = sess.get(Engagement, engagement_id)
    return EngagementFacts.of(record) if record is not None else None


def _paired_engagement(sess: Session, exporter_id: Optional[int], importer_id: Optional[int]) -> Optional[tuple[EngagementFacts, Derived]]:
    """The engagement of the importer by the exporter a route between them runs under, with the reason:
    the one live (not retired) engagement, or among several the one active (None: none, or no one)."""
    if exporter_id is None or importer_id is None:
        return None
    bulk = bulk_of(sess)
    if bulk is not None:
        live = bulk.live_engagements(exporter_id, importer_id)
    else:
        live = [EngagementFacts(*row) for row in sess.execute(
            select(*EngagementFacts.COLUMNS).where(Engagement.engager_id == exporter_id, Engagement.engaged_id == importer_id,
                                                   Engagement.status != Lifecycle.RETIRED).order_by(Engagement.id).limit(20))]
    if len(live) == 1:
        which = "The one live engagement"
    else:
        live = [engagement for engagement in live if engagement.status == Lifecycle.ACTIVE]
        which = "The one active engagement"
        if len(live) != 1:
            return None
    engagement = live[0]
    return engagement, Derived(engagement.id, f"{which} of the importer by the exporter: #{engagement.id} ({engagement.service}).")


def _engagement_defaults(engagement: Optional[EngagementFacts]) -> dict[str, Derived]:
    if engagement is None or engagement.relationship_type is None:
        return {}
    exporter_role, importer_role, why = rules.roles_for(Relationship(engagement.relationship_type).value)
    reason = f"Engagement #{engagement.id}: {why[0].lower()}{why[1:]}"
    found = {"exporter_role": Derived(PartyRole(exporter_role), reason),
             "importer_role": Derived(PartyRole(importer_role), reason)}
    if engagement.purpose or engagement.service:
        found["purpose"] = Derived(engagement.purpose or engagement.service,
                                   f"The {'purpose' if engagement.purpose else 'service'} of engagement #{engagement.id}.")
    return found


# The fields a route derives when a write leaves them out, as the API documents them.
ROUTE_DERIVABLE = {
    **{name: "Left out (all three regimes): the source route's regimes for an onward transfer, else those of the "
             "exporter's establishment." for name in ROUTE_REGIME_FIELDS},
    **{name: "Left out (both destination fields): the importer's country, or the international organisation it is."
       for name in ROUTE_DESTINATION_FIELDS},
    "engagement_id": "Left out: the engagement of the importer by the exporter, if there is one live (or one active) engagement.",
    "exporter_role": "Left out: the role the route's engagement gives the exporter.",
    "importer_role": "Left out: the role the route's engagement gives the importer.",
    "purpose": "Left out: the purpose (else the service) of the route's engagement.",
}


def _complete_route(sess: Session, record: Optional[TransferRoute], values: dict, given: frozenset[str]) -> dict[str, Derived]:
    """A new route takes the defaults (route_defaults) of what it leaves out: the regimes only when all
    three are left out, the destination when both fields are (an explicit false or null is kept). On
    a change, a field left out follows new inputs when it held the default of the old ones."""
    if record is not None:
        return _followed_route_defaults(sess, record, values, given)
    regimes, destination = not given & set(ROUTE_REGIME_FIELDS), not given & set(ROUTE_DESTINATION_FIELDS)
    others = {name for name in ("engagement_id", "exporter_role", "importer_role", "purpose") if name not in given}
    if not (regimes or destination or others):
        return {}
    wanted = others | (set(ROUTE_REGIME_FIELDS) if regimes else set()) | (set(ROUTE_DESTINATION_FIELDS) if destination else set())
    found = route_defaults(sess, values.get("exporter_id"), values.get("importer_id"), values.get("source_route_id"),
                           values["engagement_id"] if "engagement_id" in given else _PAIRED)
    return {name: item for name, item in found.items() if name in wanted}


def _followed_route_defaults(sess: Session, record: TransferRoute, values: dict, given: frozenset[str]) -> dict[str, Derived]:
    moved = {name for name in ("exporter_id", "importer_id", "source_route_id", "engagement_id")
             if name in given and values.get(name) != getattr(record, name)}
    if not moved:
        return {}
    found: dict[str, Derived] = {}
    if "importer_id" in moved and not given & set(ROUTE_DESTINATION_FIELDS):
        before = destination_default(sess, record.importer_id)
        after = destination_default(sess, values.get("importer_id"))
        if after and _destination_of(record) == _destination_of({name: item.value for name, item in before.items()}):
            (reason,) = {item.reason for item in after.values()}
            found.update({name: after.get(name, Derived(None, reason)) for name in ROUTE_DESTINATION_FIELDS})
    if moved & {"exporter_id", "source_route_id"} and not given & set(ROUTE_REGIME_FIELDS):
        before = _regimes_default(sess, record.exporter_id, record.source_route_id)
        if before and regime_flags(record) == tuple(before[name].value for name in ROUTE_REGIME_FIELDS):
            found.update(_regimes_default(sess, values.get("exporter_id"), values.get("source_route_id")))
    engagement_id = values.get("engagement_id")
    if moved & {"exporter_id", "importer_id"} and "engagement_id" not in given and record.engagement_id is not None:
        before = _paired_engagement(sess, record.exporter_id, record.importer_id)
        if before is not None and before[0].id == record.engagement_id:
            after = _paired_engagement(sess, values.get("exporter_id"), values.get("importer_id"))
            found["engagement_id"] = after[1] if after is not None else Derived(
                None, f"Engagement #{record.engagement_id} does not link the new parties, and no one live engagement does.")
            engagement_id = found["engagement_id"].value
    if engagement_id != record.engagement_id:
        old = _engagement_defaults(_engagement_facts(sess, record.engagement_id) if record.engagement_id else None)
        new = _engagement_defaults(_engagement_facts(sess, engagement_id) if engagement_id is not None else None)
        for name in ("exporter_role", "importer_role", "purpose"):
            if name not in given and name in old and name in new and getattr(record, name) == old[name].value:
                found[name] = new[name]
    return found


SPECS[TransferRoute] = Spec(
    TransferRoute,
    collections={"instrument_ids": (_read_instrument_ids, _write_instrument_ids)},
    recorded={"instrument_ids": lambda value: sorted({whole_number(item) for item in value or []})},
    validate=_validate_route,
    required=("exporter_id", "importer_id", "exporter_role", "importer_role"),
    complete=_complete_route,
    derivable=ROUTE_DERIVABLE,
)
