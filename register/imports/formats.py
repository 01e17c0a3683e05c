"""The import format: the auditor workbook's sheets and columns (register/exports/auditor.py).

Each importable sheet names the columns that are read (all must be present, but for the optional
ones, which files made before they existed lack), and the computed columns of the export that are
accepted and ignored (status, mechanisms, reasons...). A column that is none of these is refused as
unknown, so that a renamed column never silently drops data.
"""

from dataclasses import dataclass, field

from ..exports.auditor import REGIMES
from ..models import (
    BcrApproval,
    BcrMembership,
    Certificate,
    ChangeNotice,
    Client,
    DpfCertification,
    Engagement,
    GroupEntity,
    InternationalOrganisation,
    Party,
    ScopeFact,
    ThirdParty,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    Region,
    VendorStatement,
)


@dataclass(frozen=True)
class SheetFormat:
    name: str
    model: type
    # header -> field, for columns whose value is written as it is (after the column's coercion)
    fields: dict[str, str]
    # headers read by the importer itself (identifiers, countries, references, collections)
    special: tuple[str, ...]
    ignored: frozenset[str] = field(default_factory=frozenset)
    # the fields each special header feeds (to show a services error in the right column); with the
    # `fields`, every field the API takes for the record (tests/test_list_facts.py compares them)
    special_fields: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    # headers (of `fields` or `special`, or only read when present) that older files lack: a field
    # whose column is absent keeps the value the register holds
    optional: tuple[str, ...] = ()
    # whether rows carry their record's ID (a BCR membership is part of its approval: none)
    identified: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column read, in the template's order."""
        found = (*(("ID",) if self.identified else ()), *self.fields, *self.special)
        return found + tuple(header for header in self.optional if header not in found)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(header for header in self.columns if header not in self.optional)

    @property
    def field_names(self) -> frozenset[str]:
        """Every field of the record a row can give (through its plain or its special columns)."""
        fed = [names if isinstance(names, tuple) else (names,) for names in self.special_fields.values()]
        return frozenset(self.fields.values()) | {name for names in fed for name in names}

    def column_of(self, field_name: str) -> str:
        for header, name in self.fields.items():
            if name == field_name:
                return header
        for header, names in self.special_fields.items():
            if field_name == names or field_name in names and isinstance(names, tuple):
                return header
        return field_name


CONTACT = {"Website": "website", "Contact": "contact_name", "Contact email": "contact_email"}
LIFECYCLE = {"Status": "status", "Since": "starts_on", "Until": "ends_on"}

GROUP_ENTITIES = SheetFormat(
    "Group entities", GroupEntity,
    {"Legal name": "legal_name", "Trading name": "trading_name", "Registration number": "registration_number",
     "Address": "address", "Controller": "is_controller", "Processor for clients": "is_processor", "DPO": "dpo_name",
     "DPO email": "dpo_email", **LIFECYCLE, **CONTACT, "Also known as": "aliases", "Notes": "notes"},
    ("Country code", "Country"),
    frozenset({"BCR memberships"}),
    {"Country code": "country_code"},
    (*CONTACT, "Also known as", "Notes"),
)

THIRD_PARTIES = SheetFormat(
    "Third parties", ThirdParty,
    {"Legal name": "legal_name", "Trading name": "trading_name", **CONTACT, "Vetting status": "vetting_status",
     "Last review": "vetting_last_review_on", "Next review": "vetting_next_review_on",
     "Subject to GDPR Art. 3(2)": "is_subject_to_gdpr_art3_2", "In subject list": "is_in_subject_list", "Status": "status",
     "Registration number": "registration_number", "Address": "address", "DPO": "dpo_name", "DPO email": "dpo_email",
     "Since": "starts_on", "Until": "ends_on", "Vetting notes": "vetting_notes", "Also known as": "aliases", "Notes": "notes"},
    # An affiliate names its vendor (another third party) by ID or by exact legal name.
    ("Country code", "Country", "Affiliate of", "Affiliate of ID"),
    frozenset({"ISO 27001 state", "ISO 27001 certificate", "Certificate expires", "Review overdue",
               "DPF certifications", "Scope facts"}),
    {"Country code": "country_code", "Affiliate of ID": "parent_id"},
    ("Registration number", "Address", "DPO", "DPO email", "Since", "Until", "Vetting notes", "Also known as", "Notes",
     "Affiliate of", "Affiliate of ID"),
)

CLIENTS = SheetFormat(
    "Clients", Client,
    {"Legal name": "legal_name", "Trading name": "trading_name", "Registration number": "registration_number",
     "Address": "address", **CONTACT, "DPO": "dpo_name", "DPO email": "dpo_email",
     "Notice period (days)": "notice_period_days", **LIFECYCLE, "Notes": "notes"},
    ("Country code", "Country"),
    frozenset(),
    {"Country code": "country_code"},
)

ORGANISATIONS = SheetFormat(
    "International organisations", InternationalOrganisation,
    {"Legal name": "legal_name", "Trading name": "trading_name", "Address": "address", **CONTACT, **LIFECYCLE,
     "Notes": "notes"},
    ("Organisation code",),
    frozenset(),
    {"Organisation code": "organisation_code"},
)

CERTIFICATES = SheetFormat(
    "Certificates", Certificate,
    {"Standard": "edition", "Certificate number": "certificate_number", "Certification body": "certification_body",
     "Scope": "scope", "Issued": "issued_on", "Expires": "expires_on", "Last verified": "last_verified_on",
     "Withdrawn": "withdrawn_on", "Notes": "notes"},
    ("Third party", "Third party ID"),
    frozenset(),
    {"Third party ID": "third_party_id"},
    ("Notes",),
)

DPF_CERTIFICATIONS = SheetFormat(
    "DPF certifications", DpfCertification,
    {"Framework": "framework", "HR data": "covers_hr_data", "Non-HR data": "covers_non_hr_data",
     "Certified entity": "certified_entity_name", "Active": "is_active", "Verified": "verified_on", "Notes": "notes"},
    ("Third party", "Third party ID"),
    frozenset(),
    {"Third party ID": "third_party_id"},
)

SCOPE_FACTS = SheetFormat(
    "Scope facts", ScopeFact,
    {"Question": "fact_key", "Answer": "answer", "Verified": "verified_on", "Note": "note"},
    ("Party", "Party ID"),
    frozenset(),
    {"Party ID": "party_id"},
)

ENGAGEMENTS = SheetFormat(
    "Engagements", Engagement,
    {"Service": "service", "Purpose": "purpose", "Relationship": "relationship_type",
     "Contract reference": "contract_reference", "Contract signed": "contract_signed_on",
     "Authorisation": "authorisation", "Authorised on": "authorised_on", "Status": "status",
     "Planned start": "planned_start_on", "Started": "starts_on", "Ended": "ends_on",
     "Override reason": "activation_override_reason", "Data categories": "data_categories", "Condition": "condition",
     "Notes": "notes"},
    ("Engaged by", "Engaged by ID", "Engages", "Engages ID", "Processing locations"),
    frozenset(),
    {"Engaged by ID": "engager_id", "Engages ID": "engaged_id", "Processing locations": "locations"},
    ("Override reason", "Data categories", "Condition", "Notes"),
)

CHANGE_NOTICES = SheetFormat(
    "Change notices", ChangeNotice,
    {"Sent": "sent_on", "Sent to": "sent_to", "Objection deadline": "objection_deadline",
     "Objection received": "objection_received_on", "Objection details": "objection_details", "Outcome": "outcome",
     "Outcome date": "outcome_on", "Notes": "notes"},
    ("Client", "Client ID", "Engagement ID", "Sub-processor", "Sub-processor ID"),
    frozenset({"Engagement"}),
    {"Client ID": "client_id", "Engagement ID": "engagement_id", "Sub-processor ID": "sub_processor_id"},
)

# What vendors state about their transfers; a new sheet, which files made before it lack.
VENDOR_STATEMENTS = SheetFormat(
    "Vendor statements", VendorStatement,
    {"Mechanism": "mechanism", "DPF framework": "dpf_framework", "Vendor's words": "stated_text", "Regime": "regime",
     "Source": "source", "Source web address": "source_url", "Dated": "stated_on", "Notes": "notes"},
    ("Party", "Party ID", "Engagement ID"),
    frozenset({"Engagement"}),
    {"Party ID": "party_id", "Engagement ID": "engagement_id"},
)

BCR_MEMBERSHIPS = SheetFormat(
    "BCR memberships", BcrMembership,
    {"Bound from": "bound_from", "Bound to": "bound_to"},
    ("BCR approval ID", "BCR approval", "Group entity ID", "Group entity"),
    frozenset(),
    {"Group entity ID": "group_entity_id"},
    identified=False,
)

BCR_APPROVALS = SheetFormat(
    "BCR approvals", BcrApproval,
    {"Name": "name", "Regime": "regime", "BCR type": "bcr_type", "Authority": "authority", "Reference": "reference",
     "Approved": "approved_on", "Withdrawn": "withdrawn_on", "Status": "status", "Notes": "notes"},
    (),
)

INSTRUMENTS = SheetFormat(
    "Instruments", TransferInstrument,
    {"Title": "title", "Kind": "kind", "Document reference": "document_reference", "SCC decision": "scc_decision",
     "SCC modules": "scc_modules", "Swiss adaptation": "has_swiss_adaptation",
     "UK Addendum version": "uk_addendum_version", "Derogation ground": "derogation_ground",
     "Derogation justification": "derogation_justification", "Scheme": "scheme_name", "Signed": "signed_on",
     "Terminated": "terminated_on", "Status": "status", "Notes": "notes"},
    ("BCR approval", "Exporters", "Importers"),
    frozenset(),
    {"BCR approval": "bcr_approval_id", "Exporters": "signatories"},
    ("Exporter IDs", "Importer IDs", "BCR approval ID", "Notes"),
)

ROUTES = SheetFormat(
    "Transfer routes", TransferRoute,
    {"Exporter role": "exporter_role", "Importer role": "importer_role", "Purpose": "purpose",
     "Data subject categories": "data_subject_categories", "Data categories": "data_categories",
     "Special-category data": "has_special_category_data", "Special-category basis": "special_category_basis",
     "HR data": "has_hr_data", "Lifecycle": "status", "Starts": "starts_on", "Ends": "ends_on",
     "Consent mechanism": "consent_mechanism", "Notes": "notes"},
    ("Exporter", "Exporter ID", "Importer", "Importer ID", "Destination", "Destination code", "Regimes",
     "Onward transfer of", "Engagement ID", "Service", "Instruments"),
    frozenset({"Exporter country", "Third country or international organisation (Art. 30(1)(e))",
               "Safeguards (Art. 30(1)(e))", "Vendor statements", "Status", "Reasons", "Review notes", "Breaks the notice's promise",
               "Importer ISO 27001"}
              | {f"{regime} {part}" for regime in REGIMES for part in ("mechanism", "status", "legal reference", "TIA")}),
    {"Exporter ID": "exporter_id", "Importer ID": "importer_id",
     "Destination code": ("destination_country", "destination_organisation_id"),
     "Regimes": ("carries_eu_data", "carries_uk_data", "carries_ch_data"),
     "Onward transfer of": "source_route_id", "Engagement ID": "engagement_id", "Instruments": "instrument_ids"},
    ("Service", "Instrument IDs", "Consent mechanism", "Notes"),
)

TIAS = SheetFormat(
    "Transfer impact assessments", TransferImpactAssessment,
    {"Regime": "regime", "Assessed": "assessed_on", "Outcome": "outcome", "Next review": "next_review_on",
     "Document reference": "document_reference", "Notes": "notes"},
    ("Route ID",),
    frozenset({"Route"}),
    {"Route ID": "route_id"},
)

# The register's own regions (a new sheet, which files made before it lack): read first, as routes and
# processing locations name them by code.
REGIONS = SheetFormat(
    "Regions", Region,
    {"Code": "code", "Name": "name", "Countries": "country_codes", "Notes": "notes"},
    (),
)

# In dependency order: what a row refers to is read before it (parties before what they own and
# engage; engagements before their notices and the statements about them; memberships and approvals before instruments; routes
# before their TIAs).
FORMATS = (REGIONS, GROUP_ENTITIES, THIRD_PARTIES, CLIENTS, ORGANISATIONS, CERTIFICATES, DPF_CERTIFICATIONS, SCOPE_FACTS,
           ENGAGEMENTS, CHANGE_NOTICES, VENDOR_STATEMENTS, BCR_MEMBERSHIPS, BCR_APPROVALS, INSTRUMENTS, ROUTES, TIAS)
BY_NAME = {item.name: item for item in FORMATS}
# Sheets of the export (and of the blank template) that are not imported: accepted and skipped.
SKIPPED_SHEETS = frozenset({"Summary", "Gaps and attention", "Legal reference", "Instructions", "Lists"})
ROUTE_DESTINATION_FIELDS = ("destination_country", "destination_organisation_id")
PARTY = Party
