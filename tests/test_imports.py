"""Import: a register comes in from a spreadsheet validated, all or nothing, and audited as an import."""

import gc
import io
import json
import re
import time
import zipfile
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
from helpers import csrf_token, generated_register
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bench.generate import SCALES

from register import bulk as bulk_engine
from register import create_app, services
from register.audit import Actor
from register.collector import RARE_FULL_COLLECTIONS
from register.exports.auditor import write_auditor_workbook
from register.extensions import db
from register.imports import countries as aliases
from register.imports import plan
from register.api import resources as api_resources
from register.api.openapi import COLLECTION_SCHEMAS
from register.imports.formats import BCR_MEMBERSHIPS, BY_NAME, ENGAGEMENTS, FORMATS, GROUP_ENTITIES, ROUTES, THIRD_PARTIES
from register.imports.plan import run_import
from register.imports import reader
from register.imports.reader import Limits
from register.imports.template import country_labels
from register.models import (
    AuditAction,
    AuditEvent,
    AuditSource,
    ChangeNotice,
    Client,
    Engagement,
    GroupEntity,
    Job,
    Lifecycle,
    Party,
    PartyKind,
    Role,
    RouteVerdict,
    ThirdParty,
    TransferInstrument,
    TransferRoute,
)
from register.seed import load_demo
from register.timeline import REGISTER_MODELS

ACTOR = Actor(AuditSource.IMPORT, label="test import")


def table_counts() -> dict[str, int]:
    """Rows of every table: what 'nothing was written' means."""
    return {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables}


def write_book(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def party_rows(sheet_format, rows: list[dict]) -> list[list]:
    """A sheet in the import format: every column, values by header."""
    headers = list(sheet_format.required)
    return [headers] + [[row.get(header) for header in headers] for row in rows]


def entity(name: str = "Meridian Assist SAS", country: str = "FR", **more) -> dict:
    return {"Legal name": name, "Country code": country, "Controller": "Yes", "Status": "active", **more}


def do_import(path: Path, dry_run: bool = False, limits: Limits = Limits()):
    outcome = run_import(path, path.name, ACTOR, dry_run=dry_run, limits=limits)
    db.session.rollback()
    return outcome


# --- the round trip ----------------------------------------------------------------------------

# The collections the services record as strings of ids (their readers): the ids, as IDs.
def _signatory(item: str, uids: dict) -> str:
    side, party_id = item.split(":")
    return f"{side}:{uids[('parties', int(party_id))]}"


def _membership(item: str, uids: dict) -> str:
    entity_id, rest = item.split(":", 1)
    return f"{uids[('parties', int(entity_id))]}:{rest}"


COLLECTION_IDS = {
    "signatories": lambda items, uids: sorted(_signatory(item, uids) for item in items),
    "memberships": lambda items, uids: sorted(_membership(item, uids) for item in items),
    "instrument_ids": lambda items, uids: sorted(uids[("transfer_instruments", item)] for item in items),
    "locations": lambda items, uids: items,
}


def register_content() -> dict[str, dict[str, dict]]:
    """Every record of the register by table and ID: each field its write spec defines (fixed ones
    too), references to other records by their IDs (database ids and timestamps left out)."""
    uids = {(model.__table__.name, record_id): uid for model in REGISTER_MODELS
            for record_id, uid in db.session.execute(select(model.id, model.uid))}
    content: dict[str, dict[str, dict]] = {}
    for model in REGISTER_MODELS:
        table = model.__table__
        references = {column.key: next(iter(column.foreign_keys)).column.table.name
                      for column in table.columns if column.foreign_keys}
        records = content.setdefault(table.name, {})
        for record in db.session.scalars(select(model)):
            spec = services.spec_for(type(record))
            values = {**spec.snapshot(record), **{name: getattr(record, name) for name in spec.fixed}}
            for key, value in values.items():
                if key in references and value is not None:
                    values[key] = uids[(references[key], value)]
                elif key in COLLECTION_IDS:
                    values[key] = COLLECTION_IDS[key](value, uids)
            records[record.uid] = values
    return content


def export_workbook(path: Path, sess=None) -> Path:
    with open(path, "wb") as target:
        write_auditor_workbook(target, date.today(), None, "test", {}, sess=sess)
    return path


def workbook_cells(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's cells, but the Summary's generation time (the only cell that may differ between
    two exports of the same register by the same person)."""
    book = load_workbook(path, read_only=True)
    cells = {sheet.title: [row for row in sheet.iter_rows(values_only=True)
                           if not (sheet.title == "Summary" and row[0] == "Generated at (UTC)")]
             for sheet in book.worksheets}
    book.close()
    return cells


def imported_rows(cells: dict[str, list[tuple]]) -> int:
    """The rows of a workbook's importable sheets (each a record, or a BCR membership)."""
    return sum(len(rows) - 1 for name, rows in cells.items() if name in BY_NAME)


@contextmanager
def empty_register(database, app, tmp_path: Path, name: str = "second"):
    """Another, empty register (SQLite: another file; PostgreSQL: the schema emptied)."""
    if database.backend == "sqlite":
        folder = tmp_path / name
        folder.mkdir()
        other = create_app({**database.config(folder), "TESTING": True})
        with other.app_context():
            yield
            db.session.remove()
            db.engine.dispose()
    else:
        db.session.remove()
        database.empty(app)
        yield


def assert_imports_as_it_is(workbook: Path, into_empty_register, tmp_path: Path) -> None:
    """The register's promise (README, Import): its workbook imports back into the register it came from
    changing nothing, and into an empty register rebuilds every record, which exports the same workbook."""
    before, cells = register_content(), workbook_cells(workbook)
    assert all(before[model.__table__.name] for model in REGISTER_MODELS), \
        [name for name, records in before.items() if not records]  # every kind of record is there to carry
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    same = do_import(workbook)
    assert same.ok and {row.action for row in same.rows} == {"unchanged"} and len(same.rows) == imported_rows(cells)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    with into_empty_register():
        # in batches (services.Bulk), as a large file is: a batch the database refused would raise here,
        # where run_import would quietly go through the file again a row at a time
        outcome = plan._run(workbook, workbook.name, ACTOR, False, lambda *_: None, Limits(), None, bulk=True)
        db.session.rollback()
        assert outcome.ok, [(row.sheet, row.row, row.errors) for row in outcome.errors][:5]
        assert outcome.applied and outcome.counts()["create"] == len(outcome.rows) == imported_rows(cells)
        assert register_content() == before
        assert set(db.session.scalars(select(AuditEvent.source))) == {AuditSource.IMPORT}
        again = workbook_cells(export_workbook(tmp_path / "again.xlsx"))
        assert list(again) == list(cells)
        for name in cells:
            assert again[name] == cells[name], name


def test_the_demo_registers_workbook_imports_as_it_is(app, database, tmp_path, demo_register):
    with services.write_unit(ACTOR):  # what the processor list says of an engagement travels with it
        engagement = db.session.scalar(select(Engagement).order_by(Engagement.id).limit(1))
        services.update(engagement, {"data_categories": "Contact details; case files", "condition": "only if you use the app"},
                        expected_version=engagement.version)
    workbook = export_workbook(tmp_path / "register.xlsx")
    assert_imports_as_it_is(workbook, lambda: empty_register(database, app, tmp_path), tmp_path)


@contextmanager
def migrated_register(folder: Path):
    """An empty register of its own: a migrated SQLite file in `folder`, its app context pushed."""
    folder.mkdir()
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'register.sqlite'}", "TESTING": True})
    with other.app_context():
        flask_migrate.upgrade()
        yield
        db.session.remove()
        db.engine.dispose()


def test_a_generated_registers_workbook_imports_as_it_is(tmp_path):
    """bench/'s generated register: every party kind, thousands of rows, retired and proposed records."""
    with generated_register(tmp_path / "generated", SCALES["tiny"], date.today()):
        # The generator writes no change notices (its sub-processors serve no client): one of the demo's kind.
        assert not db.session.scalar(select(func.count()).select_from(ChangeNotice))
        with services.write_unit(ACTOR):
            notice_for_a_generated_client()
        workbook = export_workbook(tmp_path / "register.xlsx")
        assert_imports_as_it_is(workbook, lambda: migrated_register(tmp_path / "empty"), tmp_path)


def notice_for_a_generated_client() -> None:
    """A sub-processor below a group entity a generated client engages, and the notice the client was sent."""
    client_engagement = db.session.scalar(select(Engagement).join(Party, Party.id == Engagement.engager_id).where(
        Party.kind == PartyKind.CLIENT, Engagement.status == Lifecycle.ACTIVE).order_by(Engagement.id).limit(1))
    vendor = db.session.scalar(select(ThirdParty).where(ThirdParty.status == Lifecycle.ACTIVE).order_by(ThirdParty.id).limit(1))
    engagement = services.create(Engagement, {
        "engager_id": client_engagement.engaged_id, "engaged_id": vendor.id, "service": "Case file scanning",
        "relationship_type": "sub_processor", "status": "proposed", "planned_start_on": date.today() + timedelta(days=40),
        "authorisation": "general", "locations": [{"country_code": vendor.country_code, "activity": "access"}]})
    services.create(ChangeNotice, {"client_id": client_engagement.engager_id, "engagement_id": engagement.id,
                                   "sent_on": date.today(), "sent_to": "privacy@client.example", "outcome": "pending"})


# What the workbook held before it carried the whole register: these sheets and columns came later.
ADDED_SHEETS = ("Clients", "International organisations", "BCR approvals", "BCR memberships", "DPF certifications",
                "Scope facts", "Transfer impact assessments", "Change notices")
ADDED_COLUMNS = {"Group entities": ("Website", "Contact", "Contact email", "Notes"),
                 "Third parties": ("Registration number", "Address", "DPO", "DPO email", "Since", "Until", "Vetting notes", "Notes"),
                 "Engagements": ("Override reason", "Data categories", "Condition", "Notes"),
                 "Instruments": ("BCR approval ID", "Notes"),
                 "Transfer routes": ("Service", "Consent mechanism", "Notes"), "Certificates": ("Notes",)}


def _without(book, sheet_name: str, header: str) -> None:
    sheet = book[sheet_name]
    sheet.delete_cols([cell.value for cell in sheet[1]].index(header) + 1)


def test_a_workbook_made_before_it_carried_the_whole_register_imports_keeping_what_it_does_not_say(app, tmp_path, demo_register):
    workbook = export_workbook(tmp_path / "register.xlsx")
    before = register_content()
    book = load_workbook(workbook)
    for name in ADDED_SHEETS:
        del book[name]
    for name, headers in ADDED_COLUMNS.items():
        for header in headers:
            _without(book, name, header)
    engagements = book["Engagements"]
    places = [cell.value for cell in engagements[1]].index("Processing locations")
    for row in engagements.iter_rows(min_row=2):  # countries only, as then
        row[places].value = ", ".join(item.split(":")[0] for item in (row[places].value or "").split(", ") if item) or None
    book.save(tmp_path / "older.xlsx")
    older = do_import(tmp_path / "older.xlsx")
    assert older.ok and {row.action for row in older.rows} == {"unchanged"}, [row.changes for row in older.rows if row.changes][:3]
    assert register_content() == before  # websites, notes, activities, clients, TIAs... all kept
    # A sheet the file holds still needs all its columns: a renamed or deleted one drops nothing silently.
    book = load_workbook(workbook)
    _without(book, "Clients", "Notice period (days)")
    book.save(tmp_path / "no-notice-period.xlsx")
    refused = do_import(tmp_path / "no-notice-period.xlsx")
    assert refused.file_error == "Sheet 'Clients': missing column 'Notice period (days)'. Use the template's column names."


def test_a_sub_processor_that_took_effect_after_its_clients_notice_comes_in_as_it_took_effect(app, database, writer, tmp_path):
    """Art. 28(2): a sub-processor takes effect for a client's data once the client was told and did not
    object. An empty register can record the notice only once the engagement exists: the import creates
    it proposed, records the notices, then lets it take effect, checked as a page's save would be. A notice
    stays about the sub-processor it told of, though another has since replaced it (with an override)."""
    today = date.today()

    def build():
        client = services.create(Client, {"legal_name": "Globex Insurance plc", "country_code": "GB", "notice_period_days": 30})
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SAS", "country_code": "FR", "is_processor": True})
        services.create(Engagement, {"engager_id": client.id, "engaged_id": hq.id, "service": "Assistance",
                                     "relationship_type": "processor", "authorisation": "general"})
        archivum, scanfast = (services.create(ThirdParty, {"legal_name": name, "country_code": "IE"})
                              for name in ("Archivum Records NV", "Scanfast Ltd"))
        ids = {"scanfast": scanfast.id}
        for service in ("Scanning", "Archiving"):
            engagement = services.create(Engagement, {
                "engager_id": hq.id, "engaged_id": archivum.id, "service": service, "relationship_type": "sub_processor",
                "status": "proposed", "planned_start_on": today - timedelta(days=20)})
            services.create(ChangeNotice, {"client_id": client.id, "engagement_id": engagement.id,
                                           "sent_on": today - timedelta(days=60), "outcome": "no_objection"})
            ids[service] = engagement.id
        return ids

    ids = writer(build)
    for service in ("Scanning", "Archiving"):
        writer(lambda: services.update(db.session.get(Engagement, ids[service]), {"status": "active", "starts_on": today - timedelta(days=20)},
                                       expected_version=1))
    writer(lambda: services.update(db.session.get(Engagement, ids["Archiving"]), {
        "engaged_id": ids["scanfast"], "activation_override_reason": "Archivum's site closed: Scanfast took over at once"},
        expected_version=2))
    workbook = export_workbook(tmp_path / "register.xlsx")
    before = register_content()
    with empty_register(database, app, tmp_path):
        outcome = do_import(workbook)
        assert outcome.ok and outcome.applied, [(row.sheet, row.row, row.errors) for row in outcome.errors]
        assert register_content() == before
        scanning = db.session.scalar(select(Engagement).where(Engagement.service == "Scanning"))
        trail = [(event.action, event.changes.get("status")) for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.record_type == "engagements", AuditEvent.record_id == scanning.id).order_by(AuditEvent.id))]
        assert trail == [(AuditAction.CREATE, [None, "proposed"]), (AuditAction.UPDATE, ["proposed", "active"])]
        archiving = db.session.scalar(select(ChangeNotice).join(Engagement).where(Engagement.service == "Archiving"))
        assert archiving.sub_processor.legal_name == "Archivum Records NV" and archiving.engagement.engaged.legal_name == "Scanfast Ltd"


# The fields the API takes that a sheet's row does not, and those a row gives that the API refuses; each
# with why. Any other difference fails: the import and the API accept the same fields.
API_ONLY = {("bcr-approvals", "memberships"): "one row per member, in the BCR memberships sheet (compared below)"}
IMPORT_ONLY = {("change-notices", "sub_processor_id"): "set by the register from the engagement; an exported notice "
                                                       "keeps the sub-processor it told of when imported back"}


@pytest.mark.parametrize("resource", api_resources.RESOURCES, ids=lambda item: item.name)
def test_the_import_template_and_the_api_take_the_same_fields(resource):
    # every kind of record has its sheet and its API resource
    assert {item.model for item in FORMATS if item.identified} == {item.model for item in api_resources.RESOURCES}
    [sheet_format] = [item for item in FORMATS if item.model is resource.model]
    in_the_api, in_the_sheet = set(resource.writable), set(sheet_format.field_names)
    assert in_the_api - in_the_sheet == {name for (kind, name) in API_ONLY if kind == resource.name}
    assert in_the_sheet - in_the_api == {name for (kind, name) in IMPORT_ONLY if kind == resource.name}
    if resource.name == "bcr-approvals":  # a membership row has what an API membership has
        members = COLLECTION_SCHEMAS["memberships"]["items"]["properties"]
        assert set(BCR_MEMBERSHIPS.field_names) == set(members)


def audit_trail() -> list[tuple]:
    """Every audit event but its id and time: who, which record, which action, what changed."""
    return sorted((event.record_type, event.record_id, event.record_uid, event.record_label, event.record_version,
                   event.action.value, event.source.value, event.actor_label, json.dumps(event.changes, sort_keys=True))
                  for event in db.session.scalars(select(AuditEvent)))


def stored_verdicts() -> list[tuple]:
    return sorted(db.session.execute(select(RouteVerdict.route_id, RouteVerdict.status, RouteVerdict.mechanisms,
                                            RouteVerdict.importer_vetting, RouteVerdict.destination)).all())


def _changed_copy(workbook: Path, target: Path) -> Path:
    """The workbook with routes' purposes changed, a new engagement, and routes moved to it."""
    book = load_workbook(workbook)
    engagements, routes = book["Engagements"], book["Transfer routes"]
    heads = {sheet.title: [cell.value for cell in sheet[1]] for sheet in (engagements, routes)}
    source = [cell.value for cell in engagements[2]]
    new_uid = "6a1f1e1e-0000-4000-8000-000000000001"
    copy = list(source)
    copy[heads["Engagements"].index("ID")] = new_uid
    copy[heads["Engagements"].index("Service")] = "Second-line support"
    engagements.append(copy)
    route_head = heads["Transfer routes"]
    for number, row in enumerate(routes.iter_rows(min_row=2), start=2):
        if number % 3 == 0:
            row[route_head.index("Purpose")].value = "Medical and travel assistance (revised)"
        if number % 11 == 0:
            row[route_head.index("Engagement ID")].value = new_uid
    book.save(target)
    return target


def test_a_bulk_import_writes_the_same_register_and_trail_as_one_row_at_a_time(app, database, tmp_path, monkeypatch):
    """An import writes in batches (services.Bulk); one row at a time (the fallback) is the reference.
    Batches of 7 here, so that rows refer to records of earlier batches, of their own, and of the next."""
    monkeypatch.setattr(bulk_engine, "BULK_BATCH", 7)
    # PostgreSQL ids one at a time, so that both imports number their records alike (a block a unit
    # leaves half used is a gap in the sequence, as a rolled-back insert's id is)
    monkeypatch.setattr(bulk_engine, "BULK_IDS", 1)
    # the routes sheet (the largest) read in a process of its own, as a large sheet is
    monkeypatch.setattr(reader, "PARALLEL_PART_BYTES", 300_000)
    load_demo()
    workbook = export_workbook(tmp_path / "register.xlsx")
    changed = _changed_copy(workbook, tmp_path / "changed.xlsx")
    results = []
    for bulk in (True, False):
        with empty_register(database, app, tmp_path, f"bulk-{bulk}"):
            outcome = plan._run(workbook, workbook.name, ACTOR, False, lambda *_: None, Limits(), None, bulk=bulk)
            db.session.rollback()
            assert outcome.ok and outcome.applied, [(row.sheet, row.row, row.errors) for row in outcome.errors][:5]
            # then updates, some pointing at records the same file creates
            again = plan._run(changed, changed.name, ACTOR, False, lambda *_: None, Limits(), None, bulk=bulk)
            db.session.rollback()
            assert again.ok and again.applied, [(row.sheet, row.row, row.errors) for row in again.errors][:5]
            assert {row.action for row in again.rows} == {"create", "update", "unchanged"}
            results.append((outcome.rows + again.rows, register_content(), audit_trail(), stored_verdicts()))
    batched, one_by_one = results
    assert len(batched[2]) > 400 and len(batched[3]) > 200
    for part, name in enumerate(("rows", "register", "trail", "verdicts")):
        assert batched[part] == one_by_one[part], name


def test_a_row_the_database_refuses_in_a_batch_is_named_by_going_through_the_file_again(app, writer, tmp_path, monkeypatch):
    """A batch cannot say which row the database refused: the import then goes through the file one
    row at a time. Here the importer's matching by name and the batch's duplicate check are switched
    off, as if both had missed a party the register already holds."""
    writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SAS", "country_code": "FR"}))
    monkeypatch.setattr(plan._Importer, "_match_party", lambda *args: None)
    monkeypatch.setattr(services.Bulk, "name_taken", lambda *args: False)
    path = write_book(tmp_path / "in.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, [
        entity("Meridian Assist GmbH", "DE"), entity("Meridian Assist SAS", "FR")])})
    before = table_counts()
    preview = do_import(path, dry_run=True)  # the preview writes its last batch too, then rolls back
    assert [(row.row, row.action) for row in preview.rows] == [(2, "create"), (3, "error")]
    outcome = do_import(path)
    assert not outcome.applied and [(row.row, row.action) for row in outcome.rows] == [(2, "create"), (3, "error")]
    assert outcome.errors[0].errors == [("Legal name", "A record with this legal name already exists in this country.")]
    assert table_counts() == before


def test_an_engagement_that_closes_a_loop_in_the_file_is_refused(app, tmp_path):
    vendors = [{"Legal name": name, "Country code": "US", "Status": "active"} for name in ("Alpha Cloud Inc", "Beta Mail Inc")]
    engagements = [{"Engaged by": first, "Engages": second, "Service": "Hosting", "Relationship": "sub_processor",
                    "Status": "active"} for first, second in (("Alpha Cloud Inc", "Beta Mail Inc"), ("Beta Mail Inc", "Alpha Cloud Inc"))]
    path = write_book(tmp_path / "loop.xlsx", {"Third parties": party_rows(THIRD_PARTIES, vendors),
                                               "Engagements": party_rows(ENGAGEMENTS, engagements)})
    before = table_counts()
    outcome = do_import(path)
    assert [(row.sheet, row.row) for row in outcome.errors] == [("Engagements", 3)]
    assert ("Engages ID", "Alpha Cloud Inc already engages Beta Mail Inc down the chain: this would make a cycle.") \
        in outcome.errors[0].errors
    assert table_counts() == before


def test_a_sub_processor_of_a_client_engagement_made_earlier_in_the_file_waits_for_the_client(app, writer, tmp_path):
    """Art. 28(2) reads the processing chain as the file builds it: the client's engagement two rows
    up makes the sub-processor concern the client, who was not told."""
    writer(lambda: services.create(Client, {"legal_name": "Globex Insurance plc", "country_code": "GB"}))
    entities = [entity("Meridian Assist SAS", "FR")]
    vendors = [{"Legal name": name, "Country code": "US", "Status": "active"} for name in ("Alpha Cloud Inc", "Beta Mail Inc")]
    engagements = [
        {"Engaged by": "Meridian Assist SAS", "Engages": "Alpha Cloud Inc", "Service": "Hosting", "Relationship": "sub_processor"},
        {"Engaged by": "Globex Insurance plc", "Engages": "Meridian Assist SAS", "Service": "Assistance",
         "Relationship": "processor", "Authorisation": "general"},
        {"Engaged by": "Meridian Assist SAS", "Engages": "Beta Mail Inc", "Service": "Mail", "Relationship": "sub_processor"},
    ]
    path = write_book(tmp_path / "chain.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, entities),
                                                "Third parties": party_rows(THIRD_PARTIES, vendors),
                                                "Engagements": party_rows(ENGAGEMENTS, engagements)})
    outcome = do_import(path)
    assert [(row.sheet, row.row) for row in outcome.errors] == [("Engagements", 4)]
    messages = " ".join(message for _column, message in outcome.errors[0].errors)
    assert "Cannot take effect yet" in messages and "Globex Insurance plc" in messages


# --- matching and updating ---------------------------------------------------------------------


def test_a_row_without_id_updates_the_record_of_the_same_name_and_country_and_lists_the_fields(app, writer, tmp_path):
    party = writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SAS", "country_code": "FR",
                                                         "is_controller": True}))
    uid = party.uid
    path = write_book(tmp_path / "in.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, [
        entity("meridian  assist sas", "France", **{"DPO": "Ana Lima", "Registration number": "RCS 123"}),
        entity("Meridian Assist GmbH", "Deutschland")])})
    preview = do_import(path, dry_run=True)
    assert preview.ok and not preview.applied
    update, create = preview.rows
    assert (update.action, create.action) == ("update", "create")
    assert update.changes == {"DPO": ["", "Ana Lima"], "Registration number": ["", "RCS 123"],
                              "Legal name": ["Meridian Assist SAS", "meridian  assist sas"]}
    assert db.session.scalar(select(func.count()).select_from(Party)) == 1
    outcome = do_import(path)
    assert outcome.applied and outcome.digest() == preview.digest()
    updated = db.session.scalar(select(Party).where(Party.uid == uid))
    assert updated.dpo_name == "Ana Lima" and updated.legal_name == "meridian  assist sas"
    german = db.session.scalar(select(Party).where(Party.country_code == "DE"))
    assert german.is_controller and german.kind == PartyKind.GROUP_ENTITY
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.source == AuditSource.IMPORT)).all()
    assert sorted(event.action.value for event in events) == ["create", "update"]
    assert next(event for event in events if event.action.value == "update").changes["dpo_name"] == [None, "Ana Lima"]


@pytest.mark.parametrize(("typed", "code"), [
    ("UK", "GB"), ("England", "GB"), ("Great Britain", "GB"), ("Turkey", "TR"), ("Türkiye", "TR"), ("Holland", "NL"),
    ("EL", "GR"), ("the Netherlands", "NL"), ("fr", "FR"), ("Germany", "DE"), ("DEU", "DE"), ("United States", "US"),
    ("South Korea", "KR"), ("Norge", "NO"), ("  czech   republic ", "CZ"),
])
def test_countries_are_read_from_iso_codes_english_names_and_aliases(app, typed, code):
    assert aliases.resolve(typed) == (code, None)


@pytest.mark.parametrize(("typed", "message"), [
    ("Congo", "'Congo' is ambiguous: it could be Congo (CG) or"),
    ("Korea", "'Korea' is ambiguous"),
    ("Atlantis", "Unknown country 'Atlantis'"),
    ("XX", "Unknown country 'XX'"),
])
def test_an_ambiguous_or_unknown_country_is_refused_with_the_candidates(app, typed, message):
    code, problem = aliases.resolve(typed)
    assert code is None and message in problem


def test_international_organisations_are_destinations_by_their_id(app):
    assert aliases.resolve("EPO", organisations=True) == ("EPO", None)
    assert aliases.resolve("EPO")[0] is None


def test_aliases_in_a_file_become_iso_codes(app, tmp_path):
    names = {"UK": "GB", "Holland": "NL", "Turkey": "TR", "EL": "GR", "England": "GB"}
    rows = [{"Legal name": f"Vendor {typed}", "Country": typed, "Status": "active"} for typed in names]
    path = write_book(tmp_path / "vendors.xlsx", {"Third parties": party_rows(THIRD_PARTIES, rows)})
    assert do_import(path).applied
    stored = dict(db.session.execute(select(Party.legal_name, Party.country_code)).all())
    assert stored == {f"Vendor {typed}": code for typed, code in names.items()}


# --- reading cells -----------------------------------------------------------------------------


def _rows_by_openpyxl(path: Path, name: str) -> list[tuple[int, list]]:
    book = load_workbook(path, read_only=True)
    try:
        found = []
        for number, values in enumerate(book[name].iter_rows(values_only=True), start=1):
            values = list(values)
            while values and values[-1] is None:
                values.pop()
            if any(value not in (None, "") for value in values):
                found.append((number, values))
        return found
    finally:
        book.close()


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PACKAGE_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/'
    'sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets><sheet name="Group entities" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>',
    # style 1 shows a built-in date (14), style 2 a custom one, style 3 a plain number
    "xl/styles.xml": f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="170" '
    'formatCode="dd/mm/yyyy hh:mm"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills '
    'count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/>'
    '<diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0"/>'
    '<xf numFmtId="14"/><xf numFmtId="170"/><xf numFmtId="2"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
    'builtinId="0"/></cellStyles></styleSheet>',
    # as Excel writes them: shared strings with rich-text runs and a phonetic reading
    "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="5" uniqueCount="5"><si><t>ID</t></si>'
    '<si><t>Legal name</t></si><si><t>Since</t></si><si><r><rPr><b/></rPr><t>Kaveri </t></r><r><t xml:space="preserve">Data '
    '&amp; Co</t></r><rPh sb="0" eb="1"><t>KAVERI</t></rPh></si><si><t/></si></sst>',
    "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><dimension ref="A1:E6"/><sheetData>'
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
    '<row r="2"><c r="B2" t="s"><v>3</v></c><c r="C2" s="1"><v>45351</v></c><c r="D2" s="2"><v>45351.75</v></c>'
    '<c r="E2" s="3"><v>2.5E3</v></c></row>'
    '<row><c t="s"><v>4</v></c><c t="b"><v>0</v></c><c t="e"><v>#N/A</v></c><c t="str"><v>text result</v></c>'
    '<c t="d"><v>2024-02-29T10:00:00</v></c></row><row r="6"><c r="C6" t="inlineStr"><is><t>inline</t></is></c></row>'
    '</sheetData></worksheet>',
}


@pytest.mark.parametrize("kind", ["as Excel writes it", "as openpyxl writes it", "write-only", "1904 dates",
                                  "in a process of its own"])
def test_cells_are_read_as_openpyxl_reads_them(tmp_path, kind, monkeypatch):
    """The import streams cells itself (register/imports/reader.py); openpyxl is the reference."""
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    from register.imports import reader
    from register.imports.reader import open_book

    rows = [
        ["ID", "Legal name", "Since", "Count", "Flag", "Note"],
        ["", "Société Générale & <Co> \"quoted\"", date(2024, 2, 29), 12, True, "  two\nlines  "],
        [None, "Ünïcode ✓ 数据", datetime(2023, 1, 1, 12, 30), 1.5, False, None],
        [],
        [None, None, None, None, None, "after a blank row and empty cells"],
        ["x", 1e20, date(1900, 3, 1), -3, 0, "#N/A"],
        [None, "'=1+1 kept as text", None, 0.1, None, "   "],
    ]
    if kind == "as Excel writes it":
        path = tmp_path / "excel.xlsx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
            for name, content in PACKAGE_PARTS.items():
                package.writestr(name, content)
        expected = _rows_by_openpyxl(path, "Group entities")
        opened = open_book(path, path.name, {"Group entities"})
        try:
            assert [text for _letter, text in opened.sheets[0].headers] == ["ID", "Legal name", "Since"]
            assert list(opened.sheets[0].rows) == expected[1:]
        finally:
            opened.close()
        assert expected[1][1][1] == "Kaveri Data & Co" and [number for number, _values in expected] == [1, 2, 3, 6]
        return
    if kind == "write-only":
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Group entities")
    else:
        book = Workbook()
        sheet = book.active
        sheet.title = "Group entities"
        if kind == "1904 dates":
            book.epoch = CALENDAR_MAC_1904
    for row in rows:
        sheet.append(row)
    if kind == "in a process of its own":
        monkeypatch.setattr(reader, "PARALLEL_PART_BYTES", 0)  # as a large sheet is read
    if kind in ("as openpyxl writes it", "in a process of its own"):
        sheet["G2"] = CellRichText([TextBlock(InlineFont(b=True), "Bold"), " and plain"])
        sheet["G3"] = 45000
        sheet["G3"].number_format = "yyyy-mm-dd hh:mm"
    path = book.save(tmp_path / "cells.xlsx") or tmp_path / "cells.xlsx"
    expected = _rows_by_openpyxl(path, "Group entities")
    opened = open_book(path, path.name, {"Group entities"})
    try:
        (sheet_read,) = opened.sheets
        header, *body = expected
        assert [text for _letter, text in sheet_read.headers] == header[1]
        assert [(number, values) for number, values in sheet_read.rows] == body
    finally:
        opened.close()
    assert len(body) == 5 and any(isinstance(value, datetime) for _number, values in body for value in values)


# --- hostile and broken files: a clear message, nothing written --------------------------------


def _good_book(path: Path) -> Path:
    return write_book(path, {"Group entities": party_rows(GROUP_ENTITIES, [entity()])})


def _replace_part(source: Path, target: Path, part: str, content: bytes) -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            copy.writestr(item.filename, content if item.filename == part else original.read(item.filename))
    return target


def _sheet_part(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return next(name for name in archive.namelist() if name.startswith("xl/worksheets/sheet"))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">
<c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>"""


def hostile_file(case: str, tmp_path: Path) -> tuple[Path, Limits]:
    good = _good_book(tmp_path / "good.xlsx")
    limits = Limits()
    if case == "not a spreadsheet":
        path = tmp_path / "photo.xlsx"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    elif case == "binary named csv":
        path = tmp_path / "data.csv"
        path.write_bytes(b"\x00\x01\x02binary\x00" * 50)
    elif case == "password-protected":
        path = tmp_path / "secret.xlsx"
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096)
    elif case == "truncated":
        path = tmp_path / "cut.xlsx"
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif case == "zip bomb":
        path = _replace_part(good, tmp_path / "bomb.xlsx", _sheet_part(good), b" " * (60 * 1024 * 1024))
    elif case == "uncompressed cap":
        path, limits = good, Limits(max_uncompressed=2000)
    elif case == "xml bomb":
        path = _replace_part(good, tmp_path / "laughs.xlsx", _sheet_part(good), BILLION_LAUGHS)
    elif case == "formula":
        book = load_workbook(good)
        book["Group entities"]["L2"] = "=1+1"
        path = tmp_path / "formula.xlsx"
        book.save(path)
    elif case == "merged cells":
        book = load_workbook(good)
        book["Group entities"].merge_cells("A2:B2")
        path = tmp_path / "merged.xlsx"
        book.save(path)
    elif case == "hidden sheet":
        book = load_workbook(good)
        book.create_sheet("Transfer routes").sheet_state = "hidden"
        path = tmp_path / "hidden.xlsx"
        book.save(path)
    elif case == "renamed column":
        rows = party_rows(GROUP_ENTITIES, [entity()])
        rows[0][rows[0].index("Legal name")] = "Company"
        path = write_book(tmp_path / "renamed.xlsx", {"Group entities": rows})
    elif case == "missing column":
        rows = [row[:-1] for row in party_rows(GROUP_ENTITIES, [entity()])]
        path = write_book(tmp_path / "missing.xlsx", {"Group entities": rows})
    elif case == "unknown sheet":
        path = write_book(tmp_path / "sheets.xlsx", {"Routes": [["ID", "Exporter"]]})
    elif case == "corrupted part":
        path = tmp_path / "damaged.xlsx"
        data = bytearray(good.read_bytes())
        with zipfile.ZipFile(good) as archive:
            member = archive.getinfo(_sheet_part(good))
        start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
        for offset in range(start + 8, start + member.compress_size - 8):
            data[offset] ^= 0x5A  # the deflated bytes scrambled, the zip's directory intact
        path.write_bytes(bytes(data))
    elif case == "value far to the right":
        rows = party_rows(GROUP_ENTITIES, [entity()])
        rows[1] += [None] * 300 + ["stray"]
        path = write_book(tmp_path / "wide.xlsx", {"Group entities": rows})
    elif case == "latin-1 csv":
        path = tmp_path / "Group entities.csv"
        path.write_bytes(",".join(GROUP_ENTITIES.required).encode() + "\r\n,Société Générale,,,FR\r\n".encode("latin-1"))
    else:
        raise AssertionError(case)
    return path, limits


@pytest.mark.parametrize(("case", "message"), [
    ("not a spreadsheet", "not an Excel workbook (.xlsx): it is not a zip package"),
    ("binary named csv", "not a spreadsheet"),
    ("password-protected", "password-protected (encrypted) workbook"),
    ("truncated", "corrupted or incomplete"),
    ("zip bomb", "a decompression bomb?"),
    ("uncompressed cap", "once decompressed (at most 0 MiB): refused"),
    ("xml bomb", "declares a DTD or XML entities"),
    ("formula", "formula in cell L2: formulas are refused"),
    ("merged cells", "has merged cells (A2:B2)"),
    ("hidden sheet", "The sheet 'Transfer routes' is hidden"),
    ("renamed column", "'Company' is not a column of this sheet (renamed?); missing column 'Legal name'"),
    ("missing column", "Sheet 'Group entities': missing column 'Country'."),
    ("unknown sheet", "Unknown sheet 'Routes'"),
    ("latin-1 csv", "not UTF-8 text"),
    ("corrupted part", "The workbook is corrupted"),
    ("value far to the right", "past column IV: the register's sheets have fewer columns"),
])
def test_a_hostile_or_broken_file_is_refused_with_a_clear_message_and_nothing_written(app, writer, tmp_path, case, message):
    writer(lambda: services.create(ThirdParty, {"legal_name": "Existing Vendor", "country_code": "US"}))
    path, limits = hostile_file(case, tmp_path)
    before = table_counts()
    outcome = do_import(path, limits=limits)
    assert not outcome.ok and not outcome.applied
    assert outcome.file_error is not None and message in outcome.file_error, outcome.file_error
    assert table_counts() == before


def test_a_formula_in_a_sheet_read_in_a_process_of_its_own_is_refused_naming_the_cell(app, tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "PARALLEL_PART_BYTES", 0)
    path, _limits = hostile_file("formula", tmp_path)
    before = table_counts()
    outcome = do_import(path)
    assert outcome.file_error is not None and "formula in cell L2: formulas are refused" in outcome.file_error
    assert table_counts() == before


@pytest.mark.parametrize(("rows", "column", "message"), [
    ([entity(), entity("Meridian Assist SAS", "France")], "", "The same legal name and country as row 2"),
    ([entity(), entity("Other SA", "Atlantis")], "Country code", "Unknown country 'Atlantis'"),
    ([entity(), entity("Other SA", "Congo")], "Country code", "'Congo' is ambiguous"),
    ([entity(), entity("Other SA", "FR", Status="dormant")], "Status", "'dormant' is not one of: active, proposed, retired."),
    ([entity(), entity("Other SA", "FR", Since="2025-01-01", Until="2024-01-01")], "Until", "cannot be before the start"),
    ([entity(), entity("Other SA", "FR", Controller="perhaps")], "Controller", "Must be yes or no."),
    ([entity(), entity("Other SA", "FR", ID="not-an-id")], "ID", "is not a record ID of the register"),
])
def test_one_bad_row_and_nothing_is_written_the_error_names_row_and_column(app, writer, tmp_path, rows, column, message):
    writer(lambda: services.create(ThirdParty, {"legal_name": "Existing Vendor", "country_code": "US"}))
    path = write_book(tmp_path / "rows.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, rows)})
    before = table_counts()
    outcome = do_import(path)
    assert not outcome.applied and table_counts() == before
    [bad] = outcome.errors
    assert bad.sheet == "Group entities" and bad.row == 3
    assert any(found_column == column and message in text for found_column, text in bad.errors), bad.errors
    assert outcome.rows[0].action == "create"  # the good row would have been created: the preview says so


@pytest.mark.parametrize("rows", [[entity()], [entity(), entity("Other SA", "Atlantis")]], ids=["written", "refused"])
def test_an_import_keeps_full_collections_rare_while_it_runs_and_restores_them(app, tmp_path, rows):
    # register/collector.py: full collections took a quarter of a large import's time.
    found = gc.get_threshold()
    seen = []
    path = write_book(tmp_path / "rows.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, rows)})
    outcome = run_import(path, path.name, ACTOR, dry_run=False, progress=lambda *_: seen.append(gc.get_threshold()))
    db.session.rollback()
    assert outcome.applied == (len(rows) == 1)
    assert seen and all(threshold[2] >= RARE_FULL_COLLECTIONS for threshold in seen)
    assert gc.get_threshold() == found


def test_a_csv_file_is_one_sheet_named_by_its_file_or_recognised_by_its_columns(app, tmp_path):
    header = ",".join(f'"{name}"' for name in GROUP_ENTITIES.required)
    values = {**entity(), "Legal name": "'=Meridian \"Holding\"", "Country code": "UK"}
    line = ",".join('"' + str(values.get(name) or "").replace('"', '""') + '"' for name in GROUP_ENTITIES.required)
    path = tmp_path / "export.csv"
    path.write_text(f"\ufeff{header}\r\n{line}\r\n", encoding="utf-8")
    outcome = do_import(path)
    assert outcome.applied, outcome.errors or outcome.file_error
    party = db.session.scalar(select(Party))
    # The export's protection of a risky cell (a leading apostrophe) is undone.
    assert (party.legal_name, party.country_code, party.kind) == ('=Meridian "Holding"', "GB", PartyKind.GROUP_ENTITY)


# --- the command line --------------------------------------------------------------------------


def test_cli_dry_run_writes_nothing_then_import_writes_and_audits(app, runner, tmp_path):
    path = write_book(tmp_path / "entities.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, [entity(), entity("Meridian UK Ltd", "UK")])})
    before = table_counts()
    dry = runner.invoke(args=["import", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run, nothing written: 2 to create, 0 to update, 0 unchanged" in dry.output
    assert "Checking Group entities: 2 rows" in dry.output  # progress (stderr, mixed in by the runner)
    db.session.rollback()
    assert table_counts() == before
    done = runner.invoke(args=["import", str(path)])
    assert done.exit_code == 0 and "Imported: 2 created" in done.output, done.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Party)) == 2
    assert set(db.session.scalars(select(AuditEvent.source))) == {AuditSource.IMPORT}


def test_cli_exits_non_zero_naming_each_error(app, runner, tmp_path):
    path = write_book(tmp_path / "bad.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, [entity("X", "Atlantis")])})
    result = runner.invoke(args=["import", str(path), "--dry-run"])
    assert result.exit_code == 1
    assert "ERROR Group entities, row 2, column 'Country code': Unknown country 'Atlantis'" in result.output
    assert "Nothing was written: 1 rows with errors" in result.output
    refused = runner.invoke(args=["import", str(hostile_file("password-protected", tmp_path)[0])])
    assert refused.exit_code == 1 and "Refused: This file is a password-protected" in refused.output


# --- the pages ---------------------------------------------------------------------------------

def upload(client, path: Path):
    token = csrf_token(client, "/imports")
    with open(path, "rb") as handle:
        response = client.post("/imports", data={"csrf_token": token, "spreadsheet": (handle, path.name)},
                               content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"].rsplit("/", 1)[1]


def finished_page(client, token: str) -> str:
    """The preview once the background check (or apply) is done; it showed progress meanwhile."""
    for _ in range(400):
        status = client.get(f"/imports/{token}/status").get_json()
        if status["state"] != "running":
            break
        time.sleep(0.05)
    assert status["state"] == "done", status
    page = client.get(f"/imports/{token}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def confirm(client, token: str, page: str):
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]+)"', page).group(1)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(f"/imports/{token}/confirm", data={"csrf_token": csrf, "digest": digest})
    assert response.status_code == 302


def test_import_pages_are_for_editors_and_admins_only(client, logged_in):
    assert client.get("/imports").status_code == 302  # anonymous: to the login page
    auditor = logged_in(Role.AUDITOR)
    assert auditor.get("/imports").status_code == 403
    assert auditor.get("/imports/template.xlsx").status_code == 403
    assert auditor.post("/imports", data={}).status_code in (400, 403)


def test_upload_preview_confirm_writes_and_audits_as_the_user(logged_in, tmp_path):
    client = logged_in(Role.EDITOR)
    path = write_book(tmp_path / "entities.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, [entity(), entity("Other SA", "Spain")])})
    token = upload(client, path)
    page = finished_page(client, token)
    assert "To create: <strong>2</strong>" in page and "Confirm: write these changes" in page
    assert db.session.scalar(select(func.count()).select_from(Party)) == 0
    confirm(client, token, page)
    done = finished_page(client, token)
    assert "Imported: 2 created, 0 updated" in done
    events = db.session.scalars(select(AuditEvent)).all()
    parties = [event for event in events if event.record_type == "parties"]
    assert len(parties) == 2 and {(e.source, e.user_id) for e in parties} == {(AuditSource.IMPORT, client.user.id)}
    assert client.get(f"/imports/{token}").status_code == 404  # finished: the upload is gone


def test_a_preview_is_only_its_uploaders_and_a_bad_file_writes_nothing(client, logged_in, make_user, tmp_path):
    editor = logged_in(Role.EDITOR)
    path, _limits = hostile_file("zip bomb", tmp_path)
    token = upload(editor, path)
    page = finished_page(editor, token)
    assert "The file was refused; nothing was written." in page and "decompression bomb" in page
    assert "Confirm" not in page
    bad_rows = write_book(tmp_path / "rows.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, [entity(), entity("X", "Congo")])})
    page = finished_page(editor, upload(editor, bad_rows))
    assert "1 rows have errors: nothing will be written." in page and "&#39;Congo&#39; is ambiguous" in page
    assert db.session.scalar(select(func.count()).select_from(Party)) == 0
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    other = logged_in(Role.EDITOR)
    assert other.get(f"/imports/{token}").status_code == 404
    assert other.get(f"/imports/{token}/status").status_code == 404


def test_confirm_refuses_when_the_register_changed_since_the_preview(logged_in, writer, tmp_path):
    client = logged_in(Role.ADMIN)
    party = writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SAS", "country_code": "FR"}))
    path = write_book(tmp_path / "in.xlsx", {"Group entities": party_rows(GROUP_ENTITIES, [entity(DPO="Ana Lima")])})
    token = upload(client, path)
    page = finished_page(client, token)
    assert "To update: <strong>1</strong>" in page
    writer(lambda: services.update(party, {"dpo_name": "Someone Else"}, expected_version=party.version))
    confirm(client, token, page)
    again = finished_page(client, token)
    assert "The register changed since the preview, so nothing was written." in again
    db.session.rollback()
    assert db.session.get(Party, party.id).dpo_name == "Someone Else"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.source == AuditSource.IMPORT)) == 0
    confirm(client, token, again)  # confirming the new preview applies it
    assert "Imported: 0 created, 1 updated" in finished_page(client, token)


def test_the_blank_template_has_instructions_dropdowns_and_imports_cleanly(logged_in, tmp_path):
    client = logged_in(Role.EDITOR)
    response = client.get("/imports/template.xlsx")
    assert response.status_code == 200
    path = tmp_path / "template.xlsx"
    path.write_bytes(response.data)
    book = load_workbook(path)
    # the sheets in the order their rows refer to each other (parties first), between instructions and lists
    assert book.sheetnames == ["Instructions", "Regions", "Group entities", "Third parties", "Clients", "International organisations",
                               "Certificates", "DPF certifications", "Scope facts", "Engagements", "Change notices",
                               "Vendor statements", "BCR memberships", "BCR approvals", "Instruments", "Transfer routes",
                               "Transfer impact assessments", "Lists"]
    validations = {str(item.sqref): item.formula1 for item in book["Third parties"].data_validations.dataValidation}
    country_column = next(cell.column_letter for cell in book["Third parties"][1] if cell.value == "Country")
    assert validations[f"{country_column}2:{country_column}5000"].startswith("Lists!$A$2:$A$")
    lists = {column[0].value: (column[0].column_letter, [cell.value for cell in column[1:] if cell.value])
             for column in book["Lists"].iter_cols()}
    assert "Sub-processor" in lists["Relationship"][1]
    # the new sheets' choices too: a TIA's outcome from its list
    letter, outcomes = lists["TIA outcome"]
    assert "Can comply with supplementary measures" in outcomes
    assert f"Lists!${letter}$2:${letter}${len(outcomes) + 1}" in {
        item.formula1 for item in book["Transfer impact assessments"].data_validations.dataValidation}
    assert do_import(path).ok  # the blank template itself (with its Lists and Instructions sheets)
    headers = [cell.value for cell in book["Third parties"][1]]
    book["Third parties"].append([{"Legal name": "Kaveri Data Services", "Country": "India"}.get(header) for header in headers])
    book["Third parties"]["C2"] = "Kaveri"  # a value typed over the dropdown columns is still read as text
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    outcome = do_import(filled)
    assert outcome.applied, outcome.errors or outcome.file_error
    assert db.session.scalar(select(Party.country_code)) == "IN"


def test_every_country_the_template_lists_reads_back_as_its_code(app):
    labels = country_labels()
    assert len(labels) == len(set(labels)) >= 249
    codes = [aliases.resolve(label) for label in labels]
    assert all(problem is None for _code, problem in codes)
    assert len({code for code, _problem in codes}) == len(labels)
    assert "Congo (CG)" in labels and "Türkiye" in labels


def test_an_upload_over_the_size_limit_is_refused_with_a_message(app, logged_in, tmp_path):
    client = logged_in(Role.EDITOR)
    token = csrf_token(client, "/imports")
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = client.post("/imports", data={"csrf_token": token, "spreadsheet": (io.BytesIO(b"x" * 10_000), "big.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "The largest file accepted is 0 MB (MAX_UPLOAD_MB); nothing was imported." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Party)) == 0


def test_an_upload_without_the_form_token_is_refused(logged_in, tmp_path):
    client = logged_in(Role.EDITOR)
    path = _good_book(tmp_path / "good.xlsx")
    with open(path, "rb") as handle:
        response = client.post("/imports", data={"spreadsheet": (handle, path.name)}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert not list((Path(client.application.instance_path) / "imports").glob("*/meta.json"))


def _register_with_a_route(writer):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SAS", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Kaveri Data Services", "country_code": "IN"})
        engagement = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Claims handling",
                                                  "relationship_type": "processor",
                                                  "locations": [{"country_code": "IN", "activity": "access"}]})
        scc = services.create(TransferInstrument, {"kind": "eu_scc", "title": "EU SCCs", "scc_decision": "2021/914",
                                                   "scc_modules": "2", "signatories": [
                                                       {"party_id": hq.id, "side": "exporter"},
                                                       {"party_id": vendor.id, "side": "importer"}]})
        other = services.create(ThirdParty, {"legal_name": "Other Vendor", "country_code": "US"})
        services.create(TransferInstrument, {"kind": "eu_scc", "title": "EU SCCs", "scc_decision": "2021/914",
                                             "scc_modules": "2", "signatories": [
                                                 {"party_id": hq.id, "side": "exporter"},
                                                 {"party_id": other.id, "side": "importer"}]})
        route = services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "IN",
                                                "carries_eu_data": True, "exporter_role": "controller",
                                                "importer_role": "processor", "engagement_id": engagement.id,
                                                "instrument_ids": [scc.id]})
        return route.id, scc.id, engagement.id

    return writer(build)


def test_an_import_that_changes_a_routes_instruments_writes_and_audits_the_change(app, writer, tmp_path):
    route_id, scc_id, _engagement_id = _register_with_a_route(writer)
    other_scc = db.session.scalar(select(TransferInstrument).where(TransferInstrument.id != scc_id))
    other_uid = other_scc.uid
    book = tmp_path / "export.xlsx"
    with open(book, "wb") as target:
        write_auditor_workbook(target, date.today(), None, "test", {})
    workbook = load_workbook(book)
    sheet = workbook["Transfer routes"]
    headers = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=headers.index("Instrument IDs") + 1).value = other_uid
    changed = tmp_path / "changed.xlsx"
    workbook.save(changed)
    outcome = do_import(changed)
    assert outcome.applied, [row.errors for row in outcome.errors] or outcome.file_error
    route = db.session.get(TransferRoute, route_id)
    assert [instrument.uid for instrument in route.instruments] == [other_uid]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.record_type == "transfer_routes",
                                                       AuditEvent.source == AuditSource.IMPORT))
    assert event.changes["instrument_ids"] == [[scc_id], [other_scc.id]]


def test_routes_and_engagements_without_ids_update_by_natural_key_keeping_what_the_file_does_not_say(app, writer, tmp_path):
    route_id, scc_id, engagement_id = _register_with_a_route(writer)
    book = tmp_path / "export.xlsx"
    with open(book, "wb") as target:
        write_auditor_workbook(target, date.today(), None, "test", {})
    workbook = load_workbook(book)
    for name in ("Engagements", "Transfer routes"):
        sheet = workbook[name]
        headers = [cell.value for cell in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            row[headers.index("ID")].value = None
            if name == "Transfer routes":
                row[headers.index("Purpose")].value = "Medical claims"
                row[headers.index("Instrument IDs")].value = None  # as in files made before the column existed
                row[headers.index("Engagement ID")].value = None  # the Service column still names it
                # computed columns are ignored, whatever they say
                row[headers.index("Status")].value, row[headers.index("EU mechanism")].value = "covered", "adequacy"
                row[headers.index("Reasons")].value = "[gap] whatever a spreadsheet says"
            else:
                row[headers.index("Processing locations")].value = "India, Singapore"
    for name in ("Group entities", "Third parties", "Instruments", "Summary", "Gaps and attention", "Certificates", "Legal reference"):
        del workbook[name]
    changed = tmp_path / "changed.xlsx"
    workbook.save(changed)
    outcome = do_import(changed)
    assert outcome.applied, [row.errors for row in outcome.errors] or outcome.file_error
    assert [(row.sheet, row.action) for row in outcome.rows] == [("Engagements", "update"), ("Transfer routes", "update")]
    # a country the file keeps keeps its recorded activity; a new one is storage and access
    assert outcome.rows[0].changes == {"Processing locations": ["IN: Remote access", "IN: Remote access; SG: Storage and access"]}
    assert set(outcome.rows[1].changes) == {"Purpose"}
    route, engagement = db.session.get(TransferRoute, route_id), db.session.get(Engagement, engagement_id)
    assert route.purpose == "Medical claims" and [item.id for item in route.instruments] == [scc_id]
    # Without its ID, the route is matched by its key, its service included (the Service column names
    # the engagement): it keeps its engagement.
    assert route.engagement_id == engagement_id
    assert {(item.country_code, item.activity.value) for item in engagement.locations} == {("IN", "access"), ("SG", "storage_and_access")}


def test_routes_with_blank_destination_regimes_and_roles_take_the_defaults_the_api_gives_and_the_preview_says_so(app, tmp_path):
    """A German entity's first hop to an Indian vendor, and the vendor's onward transfer to Singapore, with
    no regimes: EU data both (the exporter's establishment; the source route's, Art. 44), so gaps, not
    'out of scope'. 'none' says the data is under no regime."""
    first, onward = "0e0a7f3c-0000-4000-8000-000000000001", "0e0a7f3c-0000-4000-8000-000000000002"
    hosting, backups = "0e0a7f3c-0000-4000-8000-0000000000e1", "0e0a7f3c-0000-4000-8000-0000000000e2"
    path = write_book(tmp_path / "routes.xlsx", {
        "Group entities": party_rows(GROUP_ENTITIES, [entity("Meridian Assist GmbH", "DE")]),
        "Third parties": party_rows(THIRD_PARTIES, [{"Legal name": "Kaveri Data Services", "Country code": "IN"},
                                                    {"Legal name": "Lion City Backups Pte. Ltd.", "Country code": "SG"}]),
        "Engagements": party_rows(ENGAGEMENTS, [
            {"ID": hosting, "Engaged by": "Meridian Assist GmbH", "Engages": "Kaveri Data Services", "Service": "Claims processing",
             "Relationship": "processor", "Processing locations": "IN"},
            {"ID": backups, "Engaged by": "Kaveri Data Services", "Engages": "Lion City Backups Pte. Ltd.", "Service": "Backups",
             "Relationship": "sub_processor", "Processing locations": "SG"}]),
        "Transfer routes": party_rows(ROUTES, [
            {"ID": first, "Exporter": "Meridian Assist GmbH", "Importer": "Kaveri Data Services", "Engagement ID": hosting},
            {"ID": onward, "Exporter": "Kaveri Data Services", "Importer": "Lion City Backups Pte. Ltd.", "Engagement ID": backups,
             "Onward transfer of": first},
            {"Exporter": "Meridian Assist GmbH", "Importer": "Lion City Backups Pte. Ltd.", "Regimes": "none",
             "Exporter role": "controller", "Importer role": "processor"}]),
    })
    outcome = do_import(path)
    assert outcome.applied, [(row.row, row.errors) for row in outcome.errors]
    routes = {route.uid: route for route in db.session.scalars(select(TransferRoute))}
    shown = {(route.exporter.legal_name, route.importer.legal_name): (route.regimes, route.destination_country, route.exporter_role.value,
                                                                      route.importer_role.value, route.verdict.status)
             for route in routes.values()}
    assert shown == {
        ("Meridian Assist GmbH", "Kaveri Data Services"): (["EU"], "IN", "controller", "processor", "gap"),
        ("Kaveri Data Services", "Lion City Backups Pte. Ltd."): (["EU"], "SG", "processor", "processor", "gap"),
        ("Meridian Assist GmbH", "Lion City Backups Pte. Ltd."): ([], "SG", "controller", "processor", "out_of_scope"),
    }
    rows = {row.label: row for row in outcome.rows if row.sheet == "Transfer routes"}
    said = rows["Meridian Assist GmbH \u2192 Kaveri Data Services (IN)"].changes
    assert said["Regimes"][1].startswith("EU (derived: The exporter is established in the EEA (DE)")
    assert said["Destination code"][1].startswith("IN (derived:") and said["Exporter role"][1].startswith("controller (derived:")
    assert rows["Kaveri Data Services \u2192 Lion City Backups Pte. Ltd. (SG)"].changes["Regimes"][1].startswith(
        f"EU (derived: Onward transfer of route #{routes[first].id}")
    assert "Regimes" not in rows["Meridian Assist GmbH \u2192 Lion City Backups Pte. Ltd. (SG)"].changes
    # A later file moves the first route to a UK exporter, its Regimes still blank: the regimes it took from
    # its exporter follow the new one (as through the API); what the file states stays as stated.
    moved = write_book(tmp_path / "moved.xlsx", {
        "Group entities": party_rows(GROUP_ENTITIES, [entity("Meridian Assist UK Ltd", "GB")]),
        "Transfer routes": party_rows(ROUTES, [{"ID": first, "Exporter": "Meridian Assist UK Ltd", "Importer": "Kaveri Data Services",
                                                "Engagement ID": hosting, "Exporter role": "controller"}])})
    again = do_import(moved)
    assert again.applied, [(row.row, row.errors) for row in again.errors]
    update = next(row for row in again.rows if row.sheet == "Transfer routes")
    assert update.action == "update" and set(update.changes) == {"Exporter ID", "Regimes"}
    assert update.changes["Regimes"][0] == "EU" and update.changes["Regimes"][1].startswith(
        "UK (derived: The exporter is established in the United Kingdom (GB)")
    assert db.session.get(TransferRoute, routes[first].id).regimes == ["UK"]


def test_a_bulk_import_derives_the_defaults_from_memory_the_same_queries_for_20_routes_as_for_60(app, database, tmp_path):
    from sqlalchemy import event

    def queries_for(routes: int) -> tuple[int, set]:
        uid = "0e0a7f3c-0000-4000-8000-{:012d}".format
        importers = [{"Legal name": f"Vendor {number}", "Country code": "IN"} for number in range(routes)]
        rows = [{"ID": uid(number), "Exporter": "Meridian Assist GmbH", "Importer": f"Vendor {number}",
                 "Engagement ID": uid(10_000 + number), **({"Onward transfer of": uid(number - 1)} if number % 2 else {})}
                for number in range(routes)]
        engagements = [{"ID": uid(10_000 + number), "Engaged by": "Meridian Assist GmbH", "Engages": f"Vendor {number}",
                        "Service": "Claims", "Relationship": "processor", "Processing locations": "IN"} for number in range(routes)]
        path = write_book(tmp_path / f"routes-{routes}.xlsx", {
            "Group entities": party_rows(GROUP_ENTITIES, [entity("Meridian Assist GmbH", "DE")]),
            "Third parties": party_rows(THIRD_PARTIES, importers), "Engagements": party_rows(ENGAGEMENTS, engagements),
            "Transfer routes": party_rows(ROUTES, rows)})
        statements = []
        listen = lambda _conn, _cursor, statement, *_args: statements.append(statement)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            outcome = do_import(path, dry_run=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        assert outcome.ok and {frozenset(row.changes) for row in outcome.rows if row.sheet == "Transfer routes"} == {
            frozenset({"Regimes", "Destination code", "Exporter role", "Importer role"})}
        reads = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
        return len(reads), {" ".join(statement.split())[:60] for statement in reads}

    (few, what), (many, _what) = queries_for(20), queries_for(60)
    assert few == many, what


def test_the_csv_export_imports_sheet_by_sheet_into_an_empty_register(app, database, writer, tmp_path, demo_register):
    from register.exports.workbook import CsvBook

    folder = tmp_path / "csv"
    folder.mkdir()
    write_auditor_workbook(None, date.today(), None, "test", {}, CsvBook(folder))
    before = register_content()
    # One file at a time, each after those it refers to; the memberships after their approvals (a
    # membership's file then binds entities to approvals the register holds).
    order = [item.name for item in FORMATS if item.name != "BCR memberships"]
    order.insert(order.index("BCR approvals") + 1, "BCR memberships")
    with empty_register(database, app, tmp_path):
        for name in order:
            outcome = do_import(folder / f"{name}.csv")
            assert outcome.applied and outcome.rows, (name, outcome.file_error, [row.errors for row in outcome.errors][:3])
        assert register_content() == before


def test_the_progress_page_follows_the_work_until_the_preview(logged_in, tmp_path):
    from register.imports import jobs
    from register.jobs.queue import files_root, write_json

    client = logged_in(Role.EDITOR)
    token = upload(client, _good_book(tmp_path / "good.xlsx"))
    finished_page(client, token)
    # As the worker leaves it mid-check: its job running, its progress file just written.
    with client.application.app_context():
        job = db.session.get(Job, jobs.read_json(jobs.root() / token, "meta.json")["job"])
        job.state = "running"
        db.session.commit()
        write_json(files_root() / job.id / "progress.json", {"stage": "Checking Transfer routes", "done": 12000,
                                                             "total": 50001, "beat": time.time()})
    page = client.get(f"/imports/{token}").get_data(as_text=True)
    assert "Checking Transfer routes: 12,000 rows of ~50,001" in page and "js/import-progress.js" in page
    assert client.get(f"/imports/{token}/status").get_json()["done"] == 12000


def test_a_file_from_another_register_matches_by_name_and_its_ids_still_link_its_rows(app, writer, tmp_path):
    existing = writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SAS", "country_code": "FR"}))
    their_entity, their_vendor = "11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-000000000000"
    path = write_book(tmp_path / "theirs.xlsx", {
        "Group entities": party_rows(GROUP_ENTITIES, [entity(ID=their_entity)]),
        "Third parties": party_rows(THIRD_PARTIES, [{"ID": their_vendor, "Legal name": "Kaveri Data Services", "Country": "India"}]),
        "Engagements": party_rows(ENGAGEMENTS, [{"Engaged by ID": their_entity, "Engages ID": their_vendor, "Service": "Claims",
                                                 "Relationship": "Processor", "Processing locations": "IN"}]),
    })
    outcome = do_import(path)
    assert outcome.applied, [row.errors for row in outcome.errors]
    assert [row.action for row in outcome.rows] == ["update", "create", "create"]
    engagement = db.session.scalar(select(Engagement))
    assert engagement.engager_id == existing.id and engagement.engaged.uid == their_vendor
    assert db.session.get(Party, existing.id).uid == existing.uid  # a record keeps its own ID


def test_parties_sharing_a_legal_name_are_told_apart_by_their_ids_and_refused_by_name_alone(app, database, writer, tmp_path):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SAS", "country_code": "FR"})
        for country in ("GB", "US"):
            vendor = services.create(ThirdParty, {"legal_name": "Heliotrip Ltd", "country_code": country})
            services.create(TransferInstrument, {"kind": "eu_scc", "title": f"EU SCCs {country}", "scc_decision": "2021/914",
                                                 "scc_modules": "2", "signatories": [{"party_id": hq.id, "side": "exporter"},
                                                                                     {"party_id": vendor.id, "side": "importer"}]})

    writer(build)
    workbook = tmp_path / "register.xlsx"
    with open(workbook, "wb") as target:
        write_auditor_workbook(target, date.today(), None, "test", {})
    before = register_content()
    book = load_workbook(workbook)
    sheet = book["Instruments"]
    importers = [cell.value for cell in sheet[1]].index("Importer IDs")
    for row in sheet.iter_rows(min_row=2):
        row[importers].value = None
    by_name = tmp_path / "by-name.xlsx"
    book.save(by_name)
    with empty_register(database, app, tmp_path):
        refused = do_import(by_name)
        assert not refused.applied and {row.row for row in refused.errors} == {2, 3}
        assert ("Importers", "2 parties are named 'Heliotrip Ltd': give the ID instead.") in refused.errors[0].errors
        assert db.session.scalar(select(func.count()).select_from(Party)) == 0
        assert do_import(workbook).applied
        assert register_content() == before


def test_an_upload_that_is_not_xlsx_or_csv_by_name_is_refused_at_the_form(logged_in, tmp_path):
    client = logged_in(Role.EDITOR)
    token = csrf_token(client, "/imports")
    response = client.post("/imports", data={"csrf_token": token, "spreadsheet": (io.BytesIO(b"PK\x03\x04"), "register.xls")},
                           content_type="multipart/form-data")
    assert response.status_code == 200 and "Upload an .xlsx workbook or a .csv file." in response.get_data(as_text=True)


def test_a_csv_longer_than_the_sample_with_a_character_cut_at_its_end_is_read(app, tmp_path):
    header = ",".join(GROUP_ENTITIES.required)
    line = ",Société Générale Assistance NUMBER " + "é" * 200 + ",,,,,,,,,,,,FR\n"
    rows = "".join(line.replace("NUMBER", str(number)) for number in range(400))
    data = (header + "\n" + rows).encode()
    if not 0x80 <= data[65536] < 0xC0:  # make the reader's 64 KiB sample end inside a two-byte character
        data = (header + "\n" + rows.replace("Société", "xSociété", 1)).encode()
    assert 0x80 <= data[65536] < 0xC0
    path = tmp_path / "Group entities.csv"
    path.write_bytes(data)
    outcome = do_import(path, dry_run=True)
    assert outcome.ok and outcome.counts()["create"] == 400, outcome.file_error
