"""The API's resources: each register record type, its representation, and its list filters.

Fields, validation and filters are not repeated here: they come from the services' write specs and
the record types (register/record_types/, which the pages read too), so the API, the pages and the
OpenAPI document describe the same thing.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import assessments, regions, services
from ..audit import plain
from ..extensions import db
from ..models import (
    BcrApproval,
    Certificate,
    ChangeNotice,
    Client,
    DpfCertification,
    Engagement,
    GroupEntity,
    InternationalOrganisation,
    PartyKind,
    Region,
    ScopeFact,
    ThirdParty,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    VendorStatement,
)
from ..record_types import parties, places, transfers
from ..record_types.base import RecordType
from ..record_types.lists import CappedPagination, list_query
from ..services import PARTY_FIELDS_BY_KIND, spec_for
from ..services.codes import country_code

READ_ONLY = ("id", "uid", "version", "created_at", "updated_at")


@dataclass(frozen=True)
class Resource:
    name: str  # the URL segment
    model: type
    singular: str
    pages: RecordType
    can_retire: bool = True
    party_kind: Optional[PartyKind] = None
    # Computed members added to the representation (e.g. a route's assessment), read in one batch.
    extras: Optional[Callable[[list, Optional[date]], dict[int, dict]]] = None

    @property
    def writable(self) -> list[str]:
        """The fields a client may send."""
        spec = spec_for(self.model)
        names = list(spec.columns) + list(spec.collections)
        if self.party_kind is not None:
            names = [name for name in names if name in PARTY_FIELDS_BY_KIND[self.party_kind]]
        return names


# Collections in the shape a client sends them back.
COLLECTIONS: dict[str, Callable[[Any], list]] = {
    "locations": lambda e: [{"country_code": l.country_code, "activity": l.activity.value} for l in e.locations],
    "signatories": lambda i: sorted(({"party_id": s.party_id, "side": s.side.value} for s in i.signatories),
                                    key=lambda s: (s["side"], s["party_id"])),
    "memberships": lambda b: [{"group_entity_id": m.group_entity_id, "bound_from": m.bound_from.isoformat(),
                               "bound_to": m.bound_to.isoformat() if m.bound_to else None} for m in b.memberships],
    "instrument_ids": lambda r: [i.id for i in r.instruments],
}


def serialize(resource: Resource, record: Any) -> dict:
    spec = spec_for(resource.model)
    data = {name: plain(getattr(record, name)) for name in READ_ONLY}
    for name in resource.writable:
        data[name] = COLLECTIONS[name](record) if name in spec.collections else plain(getattr(record, name))
    if resource.party_kind is not None:
        data["kind"] = resource.party_kind.value
    return data


def serialize_many(resource: Resource, records: list, on: Optional[date]) -> list[dict]:
    extras = resource.extras(records, on) if resource.extras and records else {}
    return [{**serialize(resource, record), **extras.get(record.id, {})} for record in records]


def derived(found: dict[str, services.Derived]) -> dict:
    """What a write filled in because the request left it out: {field: {"value", "reason"}}."""
    return {name: {"value": plain(item.value), "reason": item.reason} for name, item in sorted(found.items())}


def incoming(resource: Resource, body: dict) -> dict:
    """A client's values, refused whole if it tries to set what only the register sets."""
    computed = ("assessment", "vetting", "chain", "derived") + (("kind",) if resource.party_kind is not None else ())
    read_only = [key for key in body if key in READ_ONLY or key in computed]
    if read_only:
        raise services.DomainError({key: ["Read-only: set by the register."] for key in read_only})
    if resource.party_kind is not None:
        unknown = [key for key in body if key not in resource.writable]
        if unknown:
            raise services.DomainError({key: [f"Not a field of a {resource.singular}."] for key in unknown})
    return body


def list_records(resource: Resource, args, page: int, per_page: int) -> tuple[list, dict]:
    """A page of records with the pages' filters, search and sort; bad filter values are errors."""
    errors: services.Errors = {}
    for list_filter in resource.pages.filters:
        value = args.get(list_filter.name)
        if list_filter.name == "country" and value is not None:
            value = country_code(value)  # UK is GB here too (record_types.lists)
        if list_filter.name in args and value not in {choice for choice, _label in list_filter.choices()}:
            errors[list_filter.name] = [f"Unknown value {args[list_filter.name]!r}."]
    sortable = {column.key for column in resource.pages.columns if column.sort is not None}
    if "sort" in args and args["sort"] not in sortable:
        errors["sort"] = [f"Sort by one of: {', '.join(sorted(sortable))}."]
    if "dir" in args and args["dir"] not in ("asc", "desc"):
        errors["dir"] = ["asc or desc."]
    if errors:
        raise services.DomainError(errors)
    query, _state = list_query(resource.pages, args)
    pagination = CappedPagination(query.options(*LOAD_OPTIONS.get(resource.model, [])), page, per_page)
    meta = {"page": pagination.page, "per_page": per_page, "total": pagination.total,
            "total_is_capped": pagination.is_capped, "has_next": pagination.has_next}
    return pagination.items, meta


# --- computed members -------------------------------------------------------------------------


def route_assessments(routes: list, on: Optional[date]) -> dict[int, dict]:
    """Each route's assessment per regime, for today or a what-if date."""
    day = on or date.today()
    found = assessments.assess(db.session(), day, [route.id for route in routes])
    # What the vendor states, shown beside the verdict (the rules read it as attention, never as a tool).
    stated = assessments.vendor_statements(db.session(), list(found))
    # A route to a region: the region, beside each regime's deciding country.
    known = regions.all_regions(db.session()) if any(len(route.destination_country or "") > 2 for route in routes) else {}
    places_of = {route.id: known[route.destination_country] for route in routes if route.destination_country in known}
    return {route_id: {"assessment": {"on": day.isoformat(), **assessments.plain(assessment),
                                      "vendor_statements": stated.get(route_id, []),
                                      "destination_region": _region_member(places_of.get(route_id))}}
            for route_id, assessment in found.items()}


def _region_member(info: Optional[regions.RegionInfo]) -> Optional[dict]:
    if info is None:
        return None
    return {"code": info.code, "name": info.name, "countries": list(info.countries), "is_builtin": info.is_builtin}


def third_party_vetting_and_chain(vendors: list, on: Optional[date]) -> dict[int, dict]:
    """Each third party's ISO 27001 vetting and its chain up and down."""
    from .. import rules

    day = on or date.today()
    ids = [vendor.id for vendor in vendors]
    facts = assessments._load_parties(db.session(), ids)
    chain: dict[int, dict[str, list]] = defaultdict(lambda: {"engaged_by": [], "engages": []})
    engagements = db.session.scalars(
        select(Engagement).where((Engagement.engaged_id.in_(ids)) | (Engagement.engager_id.in_(ids)))
        .options(selectinload(Engagement.locations), selectinload(Engagement.engager), selectinload(Engagement.engaged))
    ).all()
    for engagement in engagements:
        link = {"engagement_id": engagement.id, "service": engagement.service,
                "relationship": engagement.relationship_type.value, "status": engagement.status.value,
                "locations": [location.country_code for location in engagement.locations]}
        if engagement.engaged_id in facts:
            chain[engagement.engaged_id]["engaged_by"].append(
                {**link, "party_id": engagement.engager_id, "legal_name": engagement.engager.legal_name})
        if engagement.engager_id in facts:
            chain[engagement.engager_id]["engages"].append(
                {**link, "party_id": engagement.engaged_id, "legal_name": engagement.engaged.legal_name})
    return {vendor_id: {"vetting": {"on": day.isoformat(), **assessments.plain(rules.vetting_state(party, day))},
                        "chain": chain[vendor_id]} for vendor_id, party in facts.items()}


RESOURCES = [
    Resource("group-entities", GroupEntity, "group entity", parties.GROUP_ENTITY_PAGES, party_kind=PartyKind.GROUP_ENTITY),
    Resource("third-parties", ThirdParty, "third party", parties.THIRD_PARTY_PAGES, party_kind=PartyKind.THIRD_PARTY,
             extras=third_party_vetting_and_chain),
    Resource("clients", Client, "client", parties.CLIENT_PAGES, party_kind=PartyKind.CLIENT),
    Resource("international-organisations", InternationalOrganisation, "international organisation",
             parties.ORGANISATION_PAGES, party_kind=PartyKind.INTERNATIONAL_ORGANISATION),
    Resource("engagements", Engagement, "engagement", transfers.ENGAGEMENT_PAGES),
    Resource("instruments", TransferInstrument, "instrument", transfers.INSTRUMENT_PAGES),
    Resource("bcr-approvals", BcrApproval, "BCR approval", transfers.BCR_PAGES),
    Resource("routes", TransferRoute, "route", transfers.ROUTE_PAGES, extras=route_assessments),
    Resource("tias", TransferImpactAssessment, "transfer impact assessment", transfers.TIA_PAGES, can_retire=False),
    Resource("certificates", Certificate, "certificate", parties.CERTIFICATE_PAGES, can_retire=False),
    Resource("dpf-certifications", DpfCertification, "DPF certification", parties.DPF_PAGES, can_retire=False),
    Resource("scope-facts", ScopeFact, "scope fact", parties.SCOPE_FACT_PAGES, can_retire=False),
    Resource("vendor-statements", VendorStatement, "vendor statement", parties.STATEMENT_PAGES, can_retire=False),
    Resource("change-notices", ChangeNotice, "sub-processor change notice", transfers.NOTICE_PAGES, can_retire=False),
    Resource("regions", Region, "region", places.REGION_PAGES, can_retire=False),
]
BY_NAME = {resource.name: resource for resource in RESOURCES}
# Collections a page of each kind serializes, loaded with it (no query per record).
LOAD_OPTIONS = {
    Engagement: [selectinload(Engagement.locations)],
    TransferInstrument: [selectinload(TransferInstrument.signatories)],
    BcrApproval: [selectinload(BcrApproval.memberships)],
    TransferRoute: [selectinload(TransferRoute.instruments)],
}
