"""The pages legal staff use to keep the register, and the look-ups their forms use."""

from flask import Blueprint, jsonify, request
from flask_login import login_required
from sqlalchemy import select

from .. import countries, rules
from ..extensions import db
from ..models import Engagement, Lifecycle, Party, PartyKind, TransferRoute
from . import parties, transfers
from .crud import _searchable, register_pages
from .fields import party_label

bp = Blueprint("records", __name__)
ALL_PAGES = [*parties.ALL_PAGES, *transfers.ALL_PAGES]
for pages in ALL_PAGES:
    register_pages(bp, pages)

LOOKUP_LIMIT = 20


@bp.route("/lookup/parties")
@login_required
def lookup_parties():
    """Parties whose name contains the typed text, for the choosers' suggestions."""
    text = _searchable(" ".join((request.args.get("q") or "").split()).casefold())[:100]
    kinds = [PartyKind(kind) for kind in (request.args.get("kinds") or "").split(",") if kind in PartyKind._value2member_map_]
    if len(text) < 2:
        return jsonify([])
    query = select(Party).where(Party.name_key.contains(text))
    if kinds:
        query = query.where(Party.kind.in_(kinds))
    found = db.session.scalars(query.order_by(Party.status, Party.name_key).limit(LOOKUP_LIMIT)).all()
    return jsonify([{"id": party.id, "label": party_label(party), "kind": party.kind.value,
                     "status": party.status.value} for party in found])


def route_defaults(exporter_id: int | None, importer_id: int | None, source_route_id: int | None = None) -> dict:
    """What a new route between two parties usually is: destination, regimes, roles, engagement."""
    exporter = db.session.get(Party, exporter_id) if exporter_id else None
    importer = db.session.get(Party, importer_id) if importer_id else None
    defaults: dict = {"reasons": []}
    if importer is not None:
        if importer.kind == PartyKind.INTERNATIONAL_ORGANISATION:
            defaults["destination"] = f"io:{importer.id}"
        elif importer.country_code:
            defaults["destination"] = importer.country_code
    source = db.session.get(TransferRoute, source_route_id) if source_route_id else None
    if source is not None:
        defaults["regimes"] = [regime.value for regime in source.regimes]
        defaults["reasons"].append(f"Onward transfer: the data keeps the regimes of route #{source.id} (Art. 44 GDPR).")
    elif exporter is not None:
        found = rules.first_hop_regimes(exporter.country_code, countries.current())
        defaults["regimes"] = [item.regime for item in found]
        defaults["reasons"] += [item.reason for item in found]
    if exporter is not None and importer is not None:
        engagement = db.session.scalar(
            select(Engagement).where(Engagement.engager_id == exporter.id, Engagement.engaged_id == importer.id,
                                     Engagement.status != Lifecycle.RETIRED).order_by(Engagement.id).limit(1)
        )
        if engagement is not None:
            exporter_role, importer_role = rules.ROLES_BY_RELATIONSHIP[engagement.relationship_type.value]
            defaults.update(engagement_id=engagement.id, exporter_role=exporter_role, importer_role=importer_role,
                            purpose=engagement.purpose or engagement.service)
    return defaults


@bp.route("/lookup/route-defaults")
@login_required
def lookup_route_defaults():
    return jsonify(route_defaults(request.args.get("exporter_id", type=int), request.args.get("importer_id", type=int),
                                  request.args.get("source_route_id", type=int)))
