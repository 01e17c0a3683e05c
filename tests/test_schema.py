"""The schema: built only by migrations, in step with the models, enforced by the database."""

import threading
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from register import services
from register.audit import Actor
from register.extensions import db
from register.models import AuditSource, GroupEntity, ThirdParty


def test_the_migrations_build_exactly_the_models_schema(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_the_migrations_go_down_to_an_empty_database_and_up_again(app, database):
    downgrade(revision="base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert "transfer_routes" in inspect(db.engine).get_table_names()


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(app, database):
    if database.backend != "sqlite":
        pytest.skip("SQLite settings")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("INSERT INTO transfer_routes (uid, exporter_id, importer_id, destination_country, carries_eu_data, carries_uk_data, carries_ch_data, exporter_role, importer_role, has_special_category_data, has_hr_data, status, created_at, updated_at, version) VALUES ('u1', 1, 1, 'US', true, false, false, 'controller', 'processor', false, false, 'active', '2026-01-01', '2026-01-01', 1)", "not_self"),
        ("INSERT INTO transfer_routes (uid, exporter_id, importer_id, carries_eu_data, carries_uk_data, carries_ch_data, exporter_role, importer_role, has_special_category_data, has_hr_data, status, created_at, updated_at, version) VALUES ('u2', 1, 2, true, false, false, 'controller', 'processor', false, false, 'active', '2026-01-01', '2026-01-01', 1)", "one_destination"),
        ("INSERT INTO transfer_routes (uid, exporter_id, importer_id, destination_country, carries_eu_data, carries_uk_data, carries_ch_data, exporter_role, importer_role, has_special_category_data, has_hr_data, status, created_at, updated_at, version) VALUES ('u3', 1, 999, 'US', true, false, false, 'controller', 'processor', false, false, 'active', '2026-01-01', '2026-01-01', 1)", "foreign key"),
        ("INSERT INTO parties (uid, kind, legal_name, name_key, is_controller, is_processor, status, is_subject_to_gdpr_art3_2, is_in_subject_list, created_at, updated_at, version) VALUES ('u4', 'third_party', 'X', 'x', false, false, 'active', false, true, '2026-01-01', '2026-01-01', 1)", "location"),
        ("INSERT INTO parties (uid, kind, legal_name, name_key, country_code, is_controller, is_processor, status, is_subject_to_gdpr_art3_2, is_in_subject_list, created_at, updated_at, version) VALUES ('u5', 'group_entity', 'Meridian SA', 'meridian sa', 'FR', false, false, 'active', false, true, '2026-01-01', '2026-01-01', 1)", "natural_key"),
    ],
    ids=["exporter-is-importer", "no-destination", "missing-party", "third-party-without-country", "duplicate-natural-key"],
)
def test_the_database_itself_refuses_inconsistent_rows(app, writer, statement, constraint):
    """Even a write that bypasses the services (a bad import script) cannot store these."""
    writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian SA", "country_code": "FR"}))
    writer(lambda: services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US"}))
    with pytest.raises(IntegrityError):
        with db.engine.begin() as connection:
            connection.execute(text(statement))


def test_concurrent_read_modify_writes_never_lose_an_update(app, writer, database):
    """Two writers append to the same record at once: both changes survive, or one gets a conflict."""
    entity = writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian SA", "country_code": "FR", "notes": ""}))
    entity_id = entity.id
    both_read = threading.Barrier(2, timeout=5)
    outcomes: dict[str, str] = {}

    def append(tag: str) -> None:
        with app.app_context():
            try:
                with services.write_unit(Actor(AuditSource.CLI, label=tag)):
                    record = db.session.get(GroupEntity, entity_id)
                    notes = record.notes or ""
                    try:
                        both_read.wait(timeout=1)  # on SQLite the second writer waits for the lock instead
                    except threading.BrokenBarrierError:
                        pass
                    services.update(record, {"notes": notes + tag}, expected_version=record.version)
                outcomes[tag] = "saved"
            except services.ConflictError:
                outcomes[tag] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=append, args=(tag,)) for tag in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    db.session.rollback()
    final = db.session.get(GroupEntity, entity_id).notes
    saved = sorted(tag for tag, outcome in outcomes.items() if outcome == "saved")
    assert sorted(final) == saved, (final, outcomes)  # every saved change is in the record
    assert len(outcomes) == 2
    if database.backend == "sqlite":
        assert saved == ["A", "B"]  # BEGIN IMMEDIATE serialises the two writers


def test_dates_come_back_as_dates_and_timestamps_as_utc(app, writer):
    entity = writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian SA", "country_code": "FR", "starts_on": "2019-04-01"}))
    db.session.expire_all()
    fresh = db.session.get(GroupEntity, entity.id)
    assert fresh.starts_on == date(2019, 4, 1)
    assert fresh.created_at.utcoffset().total_seconds() == 0
