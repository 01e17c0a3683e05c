"""The blank import template: the import sheets' columns, an instructions sheet, and dropdown lists.

The dropdowns read a visible "Lists" sheet (the importer skips it, and the "Instructions" sheet): a
hidden sheet would be refused by the importer, which treats hidden sheets as a risk in any file.
"""

from typing import IO

import pycountry
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .. import countries
from ..models import Answer, Authorisation, BcrType, DerogationGround, DpfFramework, InstrumentKind, IsoEdition, Lifecycle, \
    NoticeOutcome, PartyRole, Regime, Relationship, SpecialCategoryBasis, StatedMechanism, TiaOutcome, VettingStatus
from ..services import SCC_DECISIONS
from . import countries as aliases
from .formats import (
    BCR_APPROVALS,
    BCR_MEMBERSHIPS,
    CERTIFICATES,
    CHANGE_NOTICES,
    CLIENTS,
    DPF_CERTIFICATIONS,
    ENGAGEMENTS,
    FORMATS,
    REGIONS,
    GROUP_ENTITIES,
    INSTRUMENTS,
    ORGANISATIONS,
    ROUTES,
    SCOPE_FACTS,
    THIRD_PARTIES,
    TIAS,
    VENDOR_STATEMENTS,
)

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
ROWS_WITH_DROPDOWNS = 5000
SCC_MODULES = ["1", "2", "3", "4", "1,2", "1,3", "2,3", "1,4", "2,4", "3,4", "1,2,3", "2,3,4", "1,2,3,4"]

INSTRUCTIONS = [
    "How to fill in this template",
    "",
    "One sheet per kind of record: " + ", ".join(item.name for item in FORMATS) + ".",
    "Keep the sheet names and the column headings as they are; you may leave sheets you do not need empty or delete them.",
    "ID: leave blank for a new record. A row with the ID of a record updates that record; without an ID, a row updates the",
    "  record with the same legal name and country (engagements: engager, engaged party and service; instruments: kind",
    "  and title; routes: exporter, importer, destination, service and onward transfer of; certificates, DPF entries, scope",
    "  facts, TIAs, notices: their party or route and what tells them apart, e.g. a certificate's standard and number), and",
    "  otherwise creates one.",
    "Several services of one vendor to one place (Google Cloud, Google Workspace, Google Analytics to US): one engagement per",
    "  service, and one route per service, its Service column naming the engagement's service (or give its Engagement ID).",
    "  The same exporter, importer, destination and service twice is one route: a second row for it is refused.",
    "Engagements: Data categories (the categories of personal data it processes) and Condition (in words, e.g. 'only if you",
    "  use the AI features'; blank: always) are what the processor list shows of it.",
    "Notes: every sheet whose records have notes has a Notes column (scope facts: Note); it is imported as it is.",
    "Countries: an ISO code (FR), an English name (France) or a common alias (UK, England, Holland, Turkey, EL).",
    "Regions: a route's Destination and a processing location may be a region instead of a country, by its code or",
    "  name: WORLD (Worldwide; 'Global' too), EEA, EU, or a region of the Regions sheet or the register (Code, Name,",
    "  Countries as ISO codes separated by commas, e.g. 'AU, IN, JP'). A route to a region is assessed as its worst country.",
    "  UK and EL are taken as GB and GR here as in the forms and the API, which accept the same codes.",
    "  The dropdowns offer the names. An ambiguous name (Congo, Korea) is refused: give the code.",
    "Parties in other sheets (Engaged by, Exporter, Instrument signatories, Third party...) by their ID, or their exact legal name.",
    "  Engagements (of a change notice, a route) and routes (of a TIA, an onward transfer) by their ID.",
    "Several values in one cell (processing locations, instruments, signatories): separate them with ';' (locations also ',').",
    "  A processing location may give its activity after a colon: 'IN: Remote access' (storage, remote access, or storage",
    "  and access, the default).",
    "BCR memberships: one row per group entity bound by an approval, with its dates; they replace the approval's members.",
    "Yes/No columns: Yes or No. Dates: YYYY-MM-DD or a date cell.",
    "Transfer routes: leave Destination, Regimes or the roles blank and a new route takes the register's defaults",
    "  (the importer's country; the exporter's regimes, or the source route's for an onward transfer; the roles of",
    "  its engagement): the preview shows what was filled in. Regimes 'none': the data is under none of them.",
    "An exported auditor workbook imports as it is: its other sheets (Summary, Gaps and attention, Legal reference) are skipped.",
    "Not accepted: formulas (paste values), merged cells, hidden sheets, renamed or extra columns, password protection.",
    "All or nothing: the preview lists every row's change and every error by row and column; nothing is written until",
    "  every row is right and you confirm.",
]


def country_labels() -> list[str]:
    """Country names for the dropdown; a name the importer finds ambiguous carries its code."""
    labels = []
    for country in pycountry.countries:
        name = countries.country_name(country.alpha_2)
        code, _problem = aliases.resolve(name)
        labels.append(name if code == country.alpha_2 else f"{name} ({country.alpha_2})")
    return sorted(labels, key=countries._sort_key)


def _lists() -> dict[str, list[str]]:
    return {
        "Countries": country_labels(),
        "Destinations": country_labels() + sorted(item.id for item in countries.current().organisations.values()),
        "Yes/No": ["Yes", "No"],
        "Status": [item.value for item in Lifecycle],
        "Vetting status": [item.value for item in VettingStatus],
        "Relationship": [item.label for item in Relationship],
        "Authorisation": [item.label for item in Authorisation],
        "Kind": [item.label for item in InstrumentKind],
        "SCC decision": list(SCC_DECISIONS),
        "SCC modules": SCC_MODULES,
        "Derogation ground": [item.label for item in DerogationGround],
        "Role": [item.value for item in PartyRole],
        "Special-category basis": [item.label for item in SpecialCategoryBasis],
        "Regimes": ["EU", "UK", "CH", "EU UK", "EU CH", "UK CH", "EU UK CH", "none"],
        "Regime": [item.value for item in Regime],
        "BCR type": [item.label for item in BcrType],
        "Standard": [item.label for item in IsoEdition],
        "Framework": [item.label for item in DpfFramework],
        "Question": sorted(countries.current().scope_facts),
        "Answer": [item.label for item in Answer],
        "TIA outcome": [item.label for item in TiaOutcome],
        "Notice outcome": [item.label for item in NoticeOutcome],
        "Stated mechanism": [item.label for item in StatedMechanism],
        "Organisation": sorted(item.id for item in countries.current().organisations.values()),
    }


# column heading -> list it draws from, per sheet
DROPDOWNS = {
    REGIONS.name: {},
    GROUP_ENTITIES.name: {"Country": "Countries", "Controller": "Yes/No", "Processor for clients": "Yes/No", "Status": "Status"},
    THIRD_PARTIES.name: {"Country": "Countries", "Vetting status": "Vetting status", "Subject to GDPR Art. 3(2)": "Yes/No",
                         "In subject list": "Yes/No", "Status": "Status"},
    ENGAGEMENTS.name: {"Relationship": "Relationship", "Authorisation": "Authorisation", "Status": "Status"},
    INSTRUMENTS.name: {"Kind": "Kind", "SCC decision": "SCC decision", "SCC modules": "SCC modules",
                       "Swiss adaptation": "Yes/No", "Derogation ground": "Derogation ground", "Status": "Status"},
    ROUTES.name: {"Destination": "Destinations", "Regimes": "Regimes", "Exporter role": "Role", "Importer role": "Role",
                  "Special-category data": "Yes/No", "Special-category basis": "Special-category basis",
                  "HR data": "Yes/No", "Lifecycle": "Status"},
    CLIENTS.name: {"Country": "Countries", "Status": "Status"},
    ORGANISATIONS.name: {"Organisation code": "Organisation", "Status": "Status"},
    CERTIFICATES.name: {"Standard": "Standard"},
    DPF_CERTIFICATIONS.name: {"Framework": "Framework", "HR data": "Yes/No", "Non-HR data": "Yes/No", "Active": "Yes/No"},
    SCOPE_FACTS.name: {"Question": "Question", "Answer": "Answer"},
    CHANGE_NOTICES.name: {"Outcome": "Notice outcome"},
    BCR_MEMBERSHIPS.name: {},
    BCR_APPROVALS.name: {"Regime": "Regime", "BCR type": "BCR type", "Status": "Status"},
    TIAS.name: {"Regime": "Regime", "Outcome": "TIA outcome"},
    VENDOR_STATEMENTS.name: {"Mechanism": "Stated mechanism", "DPF framework": "Framework", "Regime": "Regime"},
}


def write_template(target: IO[bytes]) -> None:
    book = Workbook()
    instructions = book.active
    instructions.title = "Instructions"
    instructions.column_dimensions["A"].width = 130
    for line in INSTRUCTIONS:
        instructions.append([line])
    instructions["A1"].font = Font(bold=True, size=14)
    lists = _lists()
    list_sheet = book.create_sheet("Lists")
    ranges = {}
    for index, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(index)
        list_sheet.cell(1, index, name).font = Font(bold=True)
        list_sheet.column_dimensions[letter].width = 28
        for row, value in enumerate(values, start=2):
            list_sheet.cell(row, index, value).data_type = "s"
        ranges[name] = f"Lists!${letter}$2:${letter}${len(values) + 1}"
    for sheet_format in FORMATS:
        sheet = book.create_sheet(sheet_format.name, index=len(book.sheetnames) - 1)
        headers = sheet_format.columns
        for index, header in enumerate(headers, start=1):
            cell = sheet.cell(1, index, header)
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, Alignment(wrap_text=True, vertical="top")
            sheet.column_dimensions[get_column_letter(index)].width = 40 if header == "ID" else 22
        sheet.freeze_panes = "A2"
        for header, list_name in DROPDOWNS[sheet_format.name].items():
            letter = get_column_letter(headers.index(header) + 1)
            validation = DataValidation(type="list", formula1=ranges[list_name], allow_blank=True,
                                        showErrorMessage=list_name not in ("Countries", "Destinations"))
            validation.error = f"Choose from the list ({list_name})."
            validation.prompt = f"Choose from the list ({list_name})."
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{ROWS_WITH_DROPDOWNS}")
    book.save(target)
