"""The benchmark's generated register is one the register itself accepts (nothing is timed here)."""

import uuid
from datetime import date, timezone

import pytest
from helpers import generated_register
from sqlalchemy import func, select, text

from bench.generate import SCALES, TABLES, row_template
from register import services
from register.audit import Actor
from register.extensions import db
from register.models import (
    AuditSource,
    BcrApproval,
    Certificate,
    Client,
    DpfCertification,
    Engagement,
    GroupEntity,
    Party,
    PartyKind,
    ScopeFact,
    ThirdParty,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
)

TINY = SCALES["tiny"]
TODAY = date(2026, 11, 25)


@pytest.fixture
def bench_app(tmp_path):
    """An app on its own migrated SQLite file, holding a tiny generated register."""
    with generated_register(tmp_path, TINY, TODAY) as (app, report):
        app.extensions["bench_report"] = report
        yield app


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def sample(model, size: int = 4) -> list:
    """The first, last and a few records between (by id) of a model."""
    ids = db.session.scalars(select(model.id).order_by(model.id)).all()
    step = max(1, len(ids) // size)
    return [db.session.get(model, record_id) for record_id in sorted({*ids[::step], ids[-1]})]


def test_the_tiny_register_has_the_requested_counts(bench_app):
    kinds = dict(db.session.execute(select(Party.kind, func.count()).group_by(Party.kind)).all())
    assert kinds[PartyKind.GROUP_ENTITY] == TINY.group_entities
    assert kinds[PartyKind.THIRD_PARTY] == TINY.third_parties
    assert kinds[PartyKind.CLIENT] == TINY.clients
    assert count(TransferRoute) == TINY.routes
    assert count(Engagement) == TINY.engagements
    assert count(TransferInstrument) == TINY.instruments
    assert count(BcrApproval) == 2
    for model in (Certificate, DpfCertification, TransferImpactAssessment):
        assert count(model) > 0, model.__name__
    report = bench_app.extensions["bench_report"]
    for table in TABLES:
        assert db.session.scalar(select(func.count()).select_from(table)) == report.rows[table.name], table.name


def test_the_same_seed_generates_the_same_register(tmp_path, bench_app):
    first = db.session.execute(select(Party.uid, Party.legal_name).order_by(Party.id)).all()
    (tmp_path / "again").mkdir()
    with generated_register(tmp_path / "again", TINY, TODAY):
        second = db.session.execute(select(Party.uid, Party.legal_name).order_by(Party.id)).all()
    assert first == second


def test_every_route_joins_parties_that_exist(bench_app):
    parties = select(Party.id)
    orphans = select(func.count()).select_from(TransferRoute).where(
        TransferRoute.exporter_id.not_in(parties) | TransferRoute.importer_id.not_in(parties)
    )
    assert db.session.scalar(orphans) == 0
    assert db.session.execute(text("PRAGMA foreign_key_check")).all() == []


def test_rows_look_like_what_the_services_write(bench_app):
    for party in db.session.scalars(select(Party)):
        assert party.name_key == services.name_key(party.legal_name)
        assert uuid.UUID(party.uid).version == 4
        assert party.version == 1
        assert party.created_at.tzinfo == timezone.utc
        # Fields that are not the kind's are left at the column default, as a create would leave them.
        allowed = services.PARTY_FIELDS_BY_KIND[party.kind]
        for column in Party.__table__.columns:
            if column.key not in allowed and column.key not in services.SYSTEM_FIELDS | {"kind"}:
                default = row_template(Party.__table__)[column.key]
                assert getattr(party, column.key) == default, (party.kind, column.key)


def test_routes_load_through_the_orm_with_their_relationships(bench_app):
    routes = db.session.scalars(select(TransferRoute).order_by(TransferRoute.id)).all()
    assert len(routes) == TINY.routes
    onward = with_instruments = 0
    for route in routes:
        assert isinstance(route.exporter, (GroupEntity, ThirdParty, Client))
        assert route.importer.id != route.exporter.id
        assert route.destination_code
        if route.engagement is not None:
            assert (route.engagement.engager_id, route.engagement.engaged_id) == (route.exporter_id, route.importer_id)
        if route.source_route is not None:
            onward += 1
            assert route.source_route.importer_id == route.exporter_id
            assert route.regimes == route.source_route.regimes
        with_instruments += bool(route.instruments)
        assert all(tia.route_id == route.id for tia in route.assessments)
    assert onward > 0 and with_instruments > 0


def test_the_services_validators_accept_a_sample(bench_app):
    actor = Actor(AuditSource.CLI, label="bench test")
    for model in (TransferRoute, Party, Certificate, DpfCertification, TransferImpactAssessment, ScopeFact,
                  Engagement, TransferInstrument, BcrApproval):
        for record in sample(model):
            with services.write_unit(actor):
                record = db.session.get(model, record.id)
                values = {"note": "checked"} if model is ScopeFact else {"notes": "checked"}
                if model is TransferRoute:
                    values = {"purpose": "x"}
                # services.update() validates its snapshot of these collections in the readers' format
                # and refuses it (reported); pass them in the writers' format as a form would.
                values.update(collections_of(record))
                services.update(record, values, expected_version=record.version)
            assert db.session.get(model, record.id).version == 2


def test_the_services_would_create_the_same_parties(bench_app):
    """A create validates what an update does not: the fields a party of its kind may have."""
    with services.write_unit(Actor(AuditSource.CLI, label="bench test")):
        # Not international organisations: their organisation_code is unique, so no copy can exist.
        for kind in (PartyKind.GROUP_ENTITY, PartyKind.THIRD_PARTY, PartyKind.CLIENT):
            for party in db.session.scalars(select(Party).where(Party.kind == kind).limit(3)):
                values = {key: getattr(party, key) for key in services.PARTY_FIELDS_BY_KIND[kind]}
                values["legal_name"] = f"Copy of {party.legal_name}"
                services.create(type(party), values)


def collections_of(record) -> dict:
    if isinstance(record, Engagement):
        return {"locations": [{"country_code": item.country_code, "activity": item.activity.value}
                              for item in record.locations]}
    if isinstance(record, TransferInstrument):
        return {"signatories": [{"party_id": item.party_id, "side": item.side.value} for item in record.signatories]}
    if isinstance(record, BcrApproval):
        return {"memberships": [{"group_entity_id": item.group_entity_id, "bound_from": item.bound_from,
                                 "bound_to": item.bound_to} for item in record.memberships]}
    return {}
