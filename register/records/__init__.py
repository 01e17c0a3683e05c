"""The pages legal staff use to keep the register, and the look-ups their forms use."""

from flask import Blueprint, jsonify, request
from flask_login import login_required
from sqlalchemy import select

from .. import services
from ..audit import plain
from ..extensions import db, id_or_none
from ..models import Party, PartyKind
from ..record_types import ALL_PAGES
from ..record_types.fields import DestinationField, party_label
from .crud import _searchable, register_pages

bp = Blueprint("records", __name__)
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
    query = select(Party).where(Party.name_key.contains(text, autoescape=True))  # `%` and `_` as typed
    if kinds:
        query = query.where(Party.kind.in_(kinds))
    found = db.session.scalars(query.order_by(Party.status, Party.name_key).limit(LOOKUP_LIMIT)).all()
    return jsonify([{"id": party.id, "label": party_label(party), "kind": party.kind.value,
                     "status": party.status.value} for party in found])


def route_defaults(exporter_id: int | None, importer_id: int | None, source_route_id: int | None = None) -> dict:
    """What the route form pre-fills for these parties: the defaults every write path uses
    (services.route_defaults), in the form's words, with their reasons."""
    found = services.route_defaults(db.session(), exporter_id, importer_id, source_route_id)
    defaults: dict = {"reasons": []}
    for name in ("destination_country", "destination_organisation_id"):
        if name in found:
            item = found[name]
            defaults["destination"] = DestinationField.value_of(*((item.value, None) if name == "destination_country" else (None, item.value)))
            defaults["reasons"].append(item.reason)
    regimes = [(code, found[name]) for code, name in zip(("EU", "UK", "CH"), services.ROUTE_REGIME_FIELDS) if name in found]
    if regimes:
        defaults["regimes"] = [code for code, item in regimes if item.value]
        defaults["reasons"] += [item.reason for _code, item in regimes if item.value] or [regimes[0][1].reason]
    if "engagement_id" in found:
        defaults["engagement_id"] = found["engagement_id"].value
        defaults["reasons"].append(found["engagement_id"].reason)
    for name in ("exporter_role", "importer_role", "purpose"):
        if name in found:
            defaults[name] = plain(found[name].value)
    if "exporter_role" in found:
        defaults["reasons"].append(found["exporter_role"].reason)
    return defaults


@bp.route("/lookup/route-defaults")
@login_required
def lookup_route_defaults():
    ids = [id_or_none(request.args.get(name)) for name in ("exporter_id", "importer_id", "source_route_id")]
    return jsonify(route_defaults(*ids))
