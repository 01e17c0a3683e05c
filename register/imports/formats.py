"""The import format: the auditor workbook's sheets and columns (register/exports/auditor.py).

Each importable sheet names the columns that are read (all must be present), and the computed
columns of the export that are accepted and ignored (status, mechanisms, reasons...). A column that
is neither is refused as unknown, so that a renamed column never silently drops data.
"""

from dataclasses import dataclass, field

from ..exports.auditor import REGIMES
from ..models import Engagement, GroupEntity, Party, ThirdParty, TransferInstrument, TransferRoute


@dataclass(frozen=True)
class SheetFormat:
    name: str
    model: type
    # header -> field, for columns whose value is written as it is (after the column's coercion)
    fields: dict[str, str]
    # headers read by the importer itself (identifiers, countries, references, collections)
    special: tuple[str, ...]
    ignored: frozenset[str] = field(default_factory=frozenset)
    # the fields each special header feeds (to show a services error in the right column)
    special_fields: dict[str, str] = field(default_factory=dict)
    # headers read when present, not required (older exports lack them)
    optional: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        return ("ID", *self.fields, *self.special)

    def column_of(self, field_name: str) -> str:
        for header, name in self.fields.items():
            if name == field_name:
                return header
        for header, name in self.special_fields.items():
            if name == field_name:
                return header
        return field_name


GROUP_ENTITIES = SheetFormat(
    "Group entities", GroupEntity,
    {"Legal name": "legal_name", "Trading name": "trading_name", "Registration number": "registration_number",
     "Address": "address", "Controller": "is_controller", "Processor for clients": "is_processor", "DPO": "dpo_name",
     "DPO email": "dpo_email", "Status": "status", "Since": "starts_on", "Until": "ends_on"},
    ("Country code", "Country"),
    frozenset({"BCR memberships"}),
    {"Country code": "country_code"},
)

THIRD_PARTIES = SheetFormat(
    "Third parties", ThirdParty,
    {"Legal name": "legal_name", "Trading name": "trading_name", "Website": "website", "Contact": "contact_name",
     "Contact email": "contact_email", "Vetting status": "vetting_status", "Last review": "vetting_last_review_on",
     "Next review": "vetting_next_review_on", "Subject to GDPR Art. 3(2)": "is_subject_to_gdpr_art3_2",
     "In subject list": "is_in_subject_list", "Status": "status"},
    ("Country code", "Country"),
    frozenset({"ISO 27001 state", "ISO 27001 certificate", "Certificate expires", "Review overdue",
               "DPF certifications", "Scope facts"}),
    {"Country code": "country_code"},
)

ENGAGEMENTS = SheetFormat(
    "Engagements", Engagement,
    {"Service": "service", "Purpose": "purpose", "Relationship": "relationship_type",
     "Contract reference": "contract_reference", "Contract signed": "contract_signed_on",
     "Authorisation": "authorisation", "Authorised on": "authorised_on", "Status": "status",
     "Planned start": "planned_start_on", "Started": "starts_on", "Ended": "ends_on"},
    ("Engaged by", "Engaged by ID", "Engages", "Engages ID", "Processing locations"),
    frozenset(),
    {"Engaged by ID": "engager_id", "Engages ID": "engaged_id", "Processing locations": "locations"},
)

INSTRUMENTS = SheetFormat(
    "Instruments", TransferInstrument,
    {"Title": "title", "Kind": "kind", "Document reference": "document_reference", "SCC decision": "scc_decision",
     "SCC modules": "scc_modules", "Swiss adaptation": "has_swiss_adaptation",
     "UK Addendum version": "uk_addendum_version", "Derogation ground": "derogation_ground",
     "Derogation justification": "derogation_justification", "Scheme": "scheme_name", "Signed": "signed_on",
     "Terminated": "terminated_on", "Status": "status"},
    ("BCR approval", "Exporters", "Importers"),
    frozenset(),
    {"BCR approval": "bcr_approval_id", "Exporters": "signatories"},
    ("Exporter IDs", "Importer IDs"),
)

ROUTES = SheetFormat(
    "Transfer routes", TransferRoute,
    {"Exporter role": "exporter_role", "Importer role": "importer_role", "Purpose": "purpose",
     "Data subject categories": "data_subject_categories", "Data categories": "data_categories",
     "Special-category data": "has_special_category_data", "Special-category basis": "special_category_basis",
     "HR data": "has_hr_data", "Lifecycle": "status", "Starts": "starts_on", "Ends": "ends_on"},
    ("Exporter", "Exporter ID", "Importer", "Importer ID", "Destination", "Destination code", "Regimes",
     "Onward transfer of", "Engagement ID", "Instruments"),
    frozenset({"Exporter country", "Third country or international organisation (Art. 30(1)(e))",
               "Safeguards (Art. 30(1)(e))", "Status", "Reasons", "Review notes", "Breaks the notice's promise",
               "Importer ISO 27001"}
              | {f"{regime} {part}" for regime in REGIMES for part in ("mechanism", "status", "legal reference", "TIA")}),
    {"Exporter ID": "exporter_id", "Importer ID": "importer_id", "Destination code": "destination_country",
     "Onward transfer of": "source_route_id", "Engagement ID": "engagement_id", "Instruments": "instrument_ids"},
    ("Instrument IDs",),
)

FORMATS = (GROUP_ENTITIES, THIRD_PARTIES, ENGAGEMENTS, INSTRUMENTS, ROUTES)
BY_NAME = {item.name: item for item in FORMATS}
# Sheets of the export (and of the blank template) that are not imported: accepted and skipped.
SKIPPED_SHEETS = frozenset({"Summary", "Gaps and attention", "Certificates", "Legal reference", "Instructions", "Lists"})
ROUTE_DESTINATION_FIELDS = ("destination_country", "destination_organisation_id")
PARTY = Party
