"""Exports: the auditor workbook and the processor list - exact, safe (no cell executes), real spreadsheets."""

import csv
import io
import os
import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime

import pytest
from helpers import post_form
from openpyxl import load_workbook

from register import countries, rules, services
from register.assessments import load_facts
from register.exports.workbook import RISKY_STARTS
from register.extensions import db
from register.models import Certificate, DpfCertification, Engagement, GroupEntity, Role, ThirdParty, TransferRoute
from register.seed import load_demo

# Names a spreadsheet would execute. (A leading tab or carriage return never reaches the register: the
# services strip input; the writer's handling of them is tested directly below.)
HOSTILE = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(1,2)"]
# The auditor's sheets first, then the rest of the register (with them the workbook imports as it is).
SHEETS = ["Summary", "Group entities", "Third parties", "Engagements", "Instruments", "Transfer routes",
          "Gaps and attention", "Certificates", "Legal reference", "Clients", "International organisations",
          "BCR approvals", "BCR memberships", "DPF certifications", "Scope facts", "Vendor statements", "Transfer impact assessments",
          "Change notices", "Regions"]


@pytest.fixture
def hostile(writer):
    """Vendors whose names a spreadsheet would execute, each processing data for a French entity."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        for index, name in enumerate(HOSTILE):
            vendor = services.create(ThirdParty, {"legal_name": name, "country_code": "US", "contact_email": f"ops{index}@vendor.example"})
            services.create(Certificate, {"third_party_id": vendor.id, "edition": "2022", "certificate_number": f"=SECRET{index}",
                                          "certification_body": "BSI", "issued_on": "2024-01-01", "expires_on": "2027-01-01"})
            engagement = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": f"=cmd|' /C calc'!A{index}",
                                                      "relationship_type": "processor", "locations": ["US"]})
            services.create(TransferRoute, {"exporter_id": hq.id, "importer_id": vendor.id, "destination_country": "US",
                                            "carries_eu_data": True, "exporter_role": "controller", "importer_role": "processor",
                                            "engagement_id": engagement.id, "purpose": "-Claims", "starts_on": "2025-01-01"})
        return hq

    return writer(build)


def workbook_bytes(client, query: str = "") -> bytes:
    response = client.get(f"/exports/register.xlsx{query}")
    assert response.status_code == 200, response.status_code
    return response.data


def rows_of(sheet) -> list[dict]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row)) for row in values[1:]]


def test_the_workbook_has_every_sheet_a_header_that_stays_and_filters(logged_in, hostile, writer):
    vendor_id = db.session.scalar(db.select(ThirdParty.id).order_by(ThirdParty.id))
    writer(lambda: services.create(DpfCertification, {"third_party_id": vendor_id, "framework": "eu_us", "covers_hr_data": True,
                                                      "certified_entity_name": HOSTILE[0], "verified_on": "2026-01-05"}))
    response = logged_in(Role.AUDITOR).get("/exports/register.xlsx")
    assert response.headers["Content-Disposition"] == f"attachment; filename=transfer-register-{date.today().isoformat()}.xlsx"
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == SHEETS
    assert book["Transfer routes"].max_row == 1 + len(HOSTILE)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold, sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}", sheet.title
    # the new sheets read as the others: dates as dates, Yes/No, a name that would execute as text
    dpf = book["DPF certifications"]
    assert dpf["G2"].value == HOSTILE[0] and dpf["G2"].data_type == "s" and dpf["G2"].quotePrefix
    assert rows_of(dpf)[0] | {"ID": None, "Third party ID": None} == {
        "ID": None, "Third party": HOSTILE[0], "Third party ID": None, "Framework": "EU-US DPF", "HR data": "Yes",
        "Non-HR data": "Yes", "Certified entity": HOSTILE[0], "Active": "Yes", "Verified": datetime(2026, 1, 5), "Notes": None}


def test_route_rows_are_exact_and_verdicts_come_from_the_rules(logged_in, hostile):
    book = load_workbook(io.BytesIO(workbook_bytes(logged_in(Role.AUDITOR), "?on=2026-06-01")))
    rows = {row["ID"]: row for row in rows_of(book["Transfer routes"])}
    law = countries.current()
    for facts in load_facts(db.session()):
        route = db.session.get(TransferRoute, facts.id)
        expected = rules.assess_route(facts, date(2026, 6, 1), law)
        row = rows[route.uid]
        assert row["Exporter"] == "Meridian Assist SA" and row["Importer"] == route.importer.legal_name
        assert row["Importer ID"] == route.importer.uid and row["Destination code"] == "US"
        assert row["EU mechanism"] == expected.regimes[0].mechanism and row["Status"] == expected.status
        assert row["EU legal reference"] == expected.regimes[0].legal_reference
        assert row["Third country or international organisation (Art. 30(1)(e))"] == "Yes"
        assert row["Special-category data"] == "No"
        assert row["Starts"] == datetime(2025, 1, 1)  # a real date, not text
        assert row["Purpose"] == "-Claims"
    summary = {row["Item"]: row for row in rows_of(book["Summary"])}
    assert summary["Routes"]["Count"] == len(HOSTILE)
    assert summary["Routes assessed on"]["Value"] == datetime(2026, 6, 1)


def test_no_exported_cell_can_execute(logged_in, hostile):
    data = workbook_bytes(logged_in(Role.AUDITOR))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/sheet")]
        xml = {name: archive.read(name).decode() for name in sheets}
        styles = archive.read("xl/styles.xml").decode()
    assert all("<f>" not in body and "<f " not in body for body in xml.values())
    assert 'quotePrefix="1"' in styles
    book = load_workbook(io.BytesIO(data))
    names = {cell.value: cell for cell in book["Third parties"]["B"][1:]}
    for name in HOSTILE:
        cell = names[name]
        assert cell.data_type == "s" and cell.quotePrefix, name
    certificate_numbers = [cell.value for cell in book["Certificates"]["E"][1:]]
    assert sorted(certificate_numbers) == sorted(f"=SECRET{index}" for index in range(len(HOSTILE)))


def test_a_real_spreadsheet_program_reads_the_same_values(logged_in, hostile, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (libreoffice-calc-nogui) is not installed; .ci/run installs it")
        pytest.skip("LibreOffice is not installed")
    path = tmp_path / "register.xlsx"
    path.write_bytes(workbook_bytes(logged_in(Role.AUDITOR)))
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                    "--outdir", str(tmp_path), str(path)], check=True, capture_output=True, timeout=180)
    with open(tmp_path / "register-Transfer routes.csv", encoding="utf-8") as handle:
        calc_rows = {row["ID"]: row for row in csv.DictReader(handle)}
    ours = {row["ID"]: row for row in rows_of(load_workbook(path)["Transfer routes"])}
    assert set(calc_rows) == set(ours)
    for uid, row in ours.items():
        for column in ("Exporter", "Importer", "Importer ID", "Destination", "EU mechanism", "Status", "Purpose"):
            assert calc_rows[uid][column] == row[column], column
        assert calc_rows[uid]["Starts"] == "2025-01-01"
    with open(tmp_path / "register-Third parties.csv", encoding="utf-8") as handle:
        names = [row["Legal name"] for row in csv.DictReader(handle)]
    for name in HOSTILE:
        assert name in names  # shown as text, never evaluated
    assert "2" not in names and "click" not in names


def test_the_processor_list_gives_what_a_person_may_receive_and_nothing_internal(logged_in, hostile):
    client = logged_in(Role.AUDITOR)
    text = client.get("/exports/processors.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(HOSTILE)
    assert set(rows[0]) == {"Processor", "Role", "What it does for us", "Categories of personal data", "Where it processes data",
                            "How transfers are safeguarded", "Planned start"}
    assert "SECRET" not in text and "vendor.example" not in text and "BSI" not in text
    for row in rows:
        for value in row.values():
            assert not value.startswith(RISKY_STARTS), value  # risky text gets a leading apostrophe
    assert {row["Processor"] for row in rows} == {"'" + name for name in HOSTILE}
    book = load_workbook(io.BytesIO(client.get("/exports/processors.xlsx").data))
    assert [cell.value for cell in book["Our processors"][1]][:2] == ["Processor", "Role"]


def test_the_processor_list_follows_the_chain_and_its_filters(logged_in, app, demo_register):
    db.session.rollback()
    client = logged_in(Role.AUDITOR)
    whole = list(csv.DictReader(io.StringIO(client.get("/exports/processors.csv").get_data(as_text=True))))
    assert any(row["Role"].startswith("Sub-processor") for row in whole)
    assert all(row["How transfers are safeguarded"] for row in whole)
    entity = db.session.scalar(db.select(GroupEntity).where(GroupEntity.country_code == "GB"))
    scoped = list(csv.DictReader(io.StringIO(client.get(f"/exports/processors.csv?entity={entity.id}").get_data(as_text=True))))
    assert 0 < len(scoped) < len(whole)
    page = client.get("/processors?purpose=zzz-no-such-purpose").get_data(as_text=True)
    assert "No processor for this choice." in page


def test_the_public_list_is_off_by_default_and_only_admins_switch_it(app, logged_in, hostile):
    assert app.test_client().get("/public/processors").status_code == 404
    editor = logged_in(Role.EDITOR)
    assert editor.get("/admin/settings").status_code == 403


def test_an_admin_publishes_and_withdraws_the_list(app, client, make_user, hostile):
    from helpers import login

    admin, password = make_user(Role.ADMIN)
    login(client, admin.email, password)
    anonymous = app.test_client()
    assert anonymous.get("/public/processors").status_code == 404
    post_form(client, "/admin/settings", {"publish_processor_list": "y"})
    page = anonymous.get("/public/processors")
    assert page.status_code == 200 and "@SUM(1,2)" in page.get_data(as_text=True)
    assert "SECRET" not in page.get_data(as_text=True)
    assert anonymous.get("/public/processors.csv").status_code == 200
    assert anonymous.get("/public/processors/changes.atom").status_code == 200
    assert anonymous.get("/public/processors/changes").status_code == 200
    assert anonymous.get("/exports/processors.csv").status_code == 302  # the internal download still needs a login
    post_form(client, "/admin/settings", {})
    assert anonymous.get("/public/processors").status_code == 404


def test_downloads_follow_the_list_filters_and_need_a_login(app, logged_in, hostile, writer):
    writer(lambda: services.create(TransferRoute, {
        "exporter_id": db.session.scalar(db.select(GroupEntity.id)), "importer_id": db.session.scalar(db.select(ThirdParty.id)),
        "destination_country": "GB", "carries_uk_data": True, "exporter_role": "controller", "importer_role": "processor"}))
    client = logged_in(Role.AUDITOR)
    book = load_workbook(io.BytesIO(workbook_bytes(client, "?regime=UK")))
    assert [row["Destination code"] for row in rows_of(book["Transfer routes"])] == ["GB"]
    assert "regime=UK" in rows_of(book["Summary"])[4]["Value"]
    assert client.get("/exports/register.xlsx?on=2026-02-30").status_code == 400
    assert app.test_client().get("/exports/register.xlsx").status_code == 302


def test_the_cli_exports_with_filters_and_refuses_bad_ones(runner, hostile, tmp_path):
    target = tmp_path / "gaps.xlsx"
    result = runner.invoke(args=["export", "register", str(target), "--on", "2026-06-01", "--filter", "regime=EU"])
    assert result.exit_code == 0, result.output
    assert re.search(rf"{len(HOSTILE)} routes assessed on 2026-06-01", result.output)
    assert load_workbook(target).sheetnames == SHEETS
    refused = runner.invoke(args=["export", "register", str(tmp_path / "x.xlsx"), "--filter", "colour=red"])
    assert refused.exit_code != 0 and "Unknown filter" in refused.output
    csv_target = tmp_path / "processors.csv"
    assert runner.invoke(args=["export", "processors", str(csv_target), "--entity", "Meridian Assist SA"]).exit_code == 0
    with open(csv_target, encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == len(HOSTILE)
    assert runner.invoke(args=["export", "processors", str(csv_target), "--entity", "Nobody"]).exit_code != 0
    # As of a past day: the register was empty on 2020-01-01; as of today it is what it is.
    past = runner.invoke(args=["export", "register", str(target), "--as-of", "2020-01-01"])
    assert past.exit_code == 0 and "0 routes as of 2020-01-01 23:59 UTC" in past.output, past.output
    now = runner.invoke(args=["export", "register", str(target), "--as-of", date.today().isoformat()])
    assert f"{len(HOSTILE)} routes as of" in now.output, now.output
    assert runner.invoke(args=["export", "register", str(target), "--as-of", "2020-01-01", "--on", "2020-01-01"]).exit_code != 0
    midnight = runner.invoke(args=["export", "register", str(target), "--as-of", "2020-01-01T00:00"])
    assert "as of 2020-01-01 00:00 UTC" in midnight.output, midnight.output
    assert runner.invoke(args=["export", "register", str(target), "--as-of", "yesterday"]).exit_code == 2
    assert runner.invoke(args=["export", "processors", str(csv_target), "--as-of", "2020-01-01"]).exit_code == 0
    with open(csv_target, encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == []


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_every_risky_start_is_written_as_text(text, tmp_path):
    from register.exports.workbook import XlsxBook, csv_safe

    book = XlsxBook()
    sheet = book.sheet("Risky", [("Value", 10)])
    sheet.append([text])
    sheet.close()
    path = tmp_path / "risky.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    cell = load_workbook(path)["Risky"]["A2"]
    assert cell.value == text and cell.data_type == "s" and cell.quotePrefix
    assert csv_safe(text) == "'" + text


def test_the_processor_lists_changes_show_intended_additions_moves_and_removals(app, logged_in, writer):
    from xml.etree import ElementTree

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR"})
        vendor = services.create(ThirdParty, {"legal_name": "Lingua Translations SARL", "country_code": "FR"})
        hidden = services.create(ThirdParty, {"legal_name": "Internal Only Ltd", "country_code": "FR", "is_in_subject_list": False})
        services.create(Engagement, {"engager_id": hq.id, "engaged_id": hidden.id, "service": "Internal", "relationship_type": "processor"})
        insurer = services.create(ThirdParty, {"legal_name": "Big Insurer SA", "country_code": "FR"})
        services.create(Engagement, {"engager_id": hq.id, "engaged_id": insurer.id, "service": "Cover",
                                     "relationship_type": "independent_controller"})
        return services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Translation",
                                            "relationship_type": "processor", "status": "proposed",
                                            "planned_start_on": "2027-01-15", "locations": ["FR"]}).id

    engagement_id = writer(build)
    writer(lambda: services.update(db.session.get(Engagement, engagement_id), {"status": "active", "locations": ["FR", "IN"]},
                                   expected_version=1))
    writer(lambda: services.retire(db.session.get(Engagement, engagement_id), expected_version=2))
    client = logged_in(Role.AUDITOR)
    page = client.get("/processors/changes").get_data(as_text=True)
    for words in ("Intended addition", "planned to start on 2027-01-15", "the intended addition took effect",
                  "now also in India", "Removal", "Lingua Translations SARL"):
        assert words in page, words
    assert "Internal Only" not in page and "Big Insurer" not in page  # not listed / not a processor
    feed = client.get("/processors/changes.atom")
    assert feed.headers["Content-Type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(feed.data)
    atom = "{http://www.w3.org/2005/Atom}"
    assert root.tag == f"{atom}feed"
    rfc3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")  # RFC 4287 s. 3.3
    iri = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$")  # s. 4.2.6: an absolute IRI
    for name in ("id", "title", "updated"):  # s. 4.1.1: exactly one of each in a feed
        assert len(root.findall(f"{atom}{name}")) == 1, name
    assert rfc3339.match(root.find(f"{atom}updated").text) and iri.match(root.find(f"{atom}id").text)
    assert root.find(f"{atom}author/{atom}name").text  # s. 4.1.1: an author, unless every entry has one
    assert root.find(f"{atom}link[@rel='self']") is not None
    entries = root.findall(f"{atom}entry")
    assert len(entries) == 4
    for entry in entries:  # s. 4.1.2: exactly one id, title and updated per entry
        assert all(len(entry.findall(f"{atom}{name}")) == 1 for name in ("id", "title", "updated"))
        assert rfc3339.match(entry.find(f"{atom}updated").text) and iri.match(entry.find(f"{atom}id").text)
    assert len({entry.find(f"{atom}id").text for entry in entries}) == 4
    anonymous = app.test_client()
    assert anonymous.get("/public/processors/changes.atom").status_code == 404
    assert anonymous.get("/processors/changes").status_code == 302
