"""The record types of the parties of the register and their vetting records (what the pages and the API show)."""

from collections.abc import Callable
from functools import cache

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.validators import Optional as OptionalValue

from .. import countries
from ..extensions import db
from ..forms import OptionalSelectField, RecordForm, email_address, enum_choices, values_choices
from ..models import (
    Answer,
    BcrMembership,
    Certificate,
    Client,
    DpfCertification,
    DpfFramework,
    Engagement,
    GroupEntity,
    InternationalOrganisation,
    IsoEdition,
    Lifecycle,
    Party,
    PartyKind,
    Regime,
    ScopeFact,
    StatedMechanism,
    ThirdParty,
    TransferRoute,
    VendorStatement,
    VettingStatus,
)
from .base import Column, Filter, RecordType, badge, link, status_filter
from .fields import CountryField, PartyField, country_choices

ROUTES_SHOWN = 100


def optional_email(label: str) -> StringField:
    return StringField(label, validators=[OptionalValue(), email_address, Length(max=254)])


# Every party field once; each kind's form takes the ones it has.
PARTY_FIELDS: dict[str, Callable[[], object]] = {
    "legal_name": lambda: StringField("Legal name", validators=[DataRequired(), Length(max=300)]),
    "trading_name": lambda: StringField("Trading name", validators=[OptionalValue(), Length(max=300)]),
    "aliases": lambda: TextAreaField("Also known as (one name per line: as vendor lists and the DPF List name it)",
                                     validators=[OptionalValue()]),
    "country_code": lambda: CountryField("Country", validators=[DataRequired(message="Choose a country.")]),
    "organisation_code": lambda: OptionalSelectField(
        "Identifier in countries.yaml", validators=[DataRequired()], validate_choice=False,
        choices=values_choices(((code, f"{code}: {org.name}") for code, org in countries.current().organisations.items()), "Choose")),
    "registration_number": lambda: StringField("Registration number", validators=[OptionalValue(), Length(max=100)]),
    "address": lambda: TextAreaField("Address", validators=[OptionalValue()]),
    "website": lambda: StringField("Website", validators=[OptionalValue(), Length(max=300)]),
    "contact_name": lambda: StringField("Contact person", validators=[OptionalValue(), Length(max=200)]),
    "contact_email": lambda: optional_email("Contact email"),
    "dpo_name": lambda: StringField("DPO", validators=[OptionalValue(), Length(max=200)]),
    "dpo_email": lambda: optional_email("DPO email"),
    "is_controller": lambda: BooleanField("Controller in its own right"),
    "is_processor": lambda: BooleanField("Processor for client organisations"),
    "status": lambda: SelectField("Status", choices=enum_choices(Lifecycle), default=Lifecycle.ACTIVE.value),
    "starts_on": lambda: DateField("Since", validators=[OptionalValue()]),
    "ends_on": lambda: DateField("Until", validators=[OptionalValue()]),
    "vetting_status": lambda: OptionalSelectField("Vetting status", choices=enum_choices(VettingStatus, "Not vetted")),
    "vetting_last_review_on": lambda: DateField("Last review", validators=[OptionalValue()]),
    "vetting_next_review_on": lambda: DateField("Next review", validators=[OptionalValue()]),
    "vetting_notes": lambda: TextAreaField("Review notes", validators=[OptionalValue()]),
    "is_subject_to_gdpr_art3_2": lambda: BooleanField("Itself subject to the GDPR (Art. 3(2))"),
    "is_in_subject_list": lambda: BooleanField("Shown in the processor list given to data subjects", default=True),
    "notice_period_days": lambda: IntegerField("Notice period for sub-processor changes (days)", validators=[OptionalValue(), NumberRange(min=0, max=365)]),
    "parent_id": lambda: PartyField("Affiliate of (the vendor this legal entity belongs to; blank: it is the vendor)",
                                    kinds=[PartyKind.THIRD_PARTY]),
    "notes": lambda: TextAreaField("Notes", validators=[OptionalValue()]),
}

FIELDSETS: dict[PartyKind, list[tuple[str, list[str]]]] = {
    PartyKind.GROUP_ENTITY: [
        ("Identity", ["legal_name", "trading_name", "aliases", "country_code", "registration_number", "address", "website"]),
        ("Roles", ["is_controller", "is_processor"]),
        ("Contacts", ["contact_name", "contact_email", "dpo_name", "dpo_email"]),
        ("Lifecycle", ["status", "starts_on", "ends_on", "notes"]),
    ],
    PartyKind.THIRD_PARTY: [
        ("Identity", ["legal_name", "trading_name", "aliases", "country_code", "parent_id", "registration_number", "address",
                      "website"]),
        ("Contacts (EDPB Opinion 22/2024: kept for the whole chain)", ["contact_name", "contact_email", "dpo_name", "dpo_email"]),
        ("Vetting", ["vetting_status", "vetting_last_review_on", "vetting_next_review_on", "vetting_notes"]),
        ("Scope", ["is_subject_to_gdpr_art3_2", "is_in_subject_list"]),
        ("Lifecycle", ["status", "starts_on", "ends_on", "notes"]),
    ],
    PartyKind.CLIENT: [
        ("Identity", ["legal_name", "trading_name", "country_code", "registration_number", "address", "website"]),
        ("Contacts and notices", ["contact_name", "contact_email", "dpo_name", "dpo_email", "notice_period_days"]),
        ("Lifecycle", ["status", "starts_on", "ends_on", "notes"]),
    ],
    PartyKind.INTERNATIONAL_ORGANISATION: [
        ("Identity", ["legal_name", "trading_name", "organisation_code", "address", "website"]),
        ("Contacts", ["contact_name", "contact_email"]),
        ("Lifecycle", ["status", "starts_on", "ends_on", "notes"]),
    ],
}


def party_form(kind: PartyKind) -> type[RecordForm]:
    names = [name for _legend, names in FIELDSETS[kind] for name in names]
    return type(f"{kind.name.title().replace('_', '')}Form", (RecordForm,), {name: PARTY_FIELDS[name]() for name in names})


@cache
def every_country() -> list[tuple[str, str]]:
    """Every country by name: a constant list (no query over a large table)."""
    return [(choice.value, choice.label) for choice in country_choices(None)]


def country_filter(column) -> Filter:
    def choices() -> list[tuple[str, str]]:
        present = db.session.scalars(select(column).where(column.is_not(None)).distinct()).all()
        return sorted(((code, countries.country_name(code)) for code in present), key=lambda pair: pair[1])

    return Filter("country", "Country", choices, lambda query, value: query.where(column == value))


def party_columns(kind: PartyKind) -> list[Column]:
    columns = [
        Column("Legal name", lambda p: link(p.legal_name, party_url(p)), Party.name_key, "name"),
        Column("Country" if kind != PartyKind.INTERNATIONAL_ORGANISATION else "Identifier",
               lambda p: countries.country_name(p.country_code) if p.country_code else p.organisation_code,
               Party.country_code if kind != PartyKind.INTERNATIONAL_ORGANISATION else Party.organisation_code, "country"),
    ]
    if kind == PartyKind.GROUP_ENTITY:
        columns.append(Column("Roles", lambda p: ", ".join(r for r, on in (("controller", p.is_controller), ("processor", p.is_processor)) if on)))
    if kind == PartyKind.THIRD_PARTY:
        columns.append(Column("Vetting", lambda p: badge(p.vetting_status) if p.vetting_status else "not vetted", Party.vetting_status, "vetting"))
        columns.append(Column("Next review", lambda p: p.vetting_next_review_on or "", Party.vetting_next_review_on, "review"))
    if kind == PartyKind.CLIENT:
        columns.append(Column("Notice (days)", lambda p: p.notice_period_days if p.notice_period_days is not None else ""))
    columns.append(Column("Status", lambda p: badge(p.status), Party.status, "status"))
    return columns


def party_filters(kind: PartyKind, model: type) -> list[Filter]:
    filters = [status_filter(model)]
    if kind != PartyKind.INTERNATIONAL_ORGANISATION:
        filters.insert(0, country_filter(Party.country_code))
    if kind == PartyKind.GROUP_ENTITY:
        filters.append(Filter("role", "Role", lambda: [("controller", "Controller"), ("processor", "Processor for clients")],
                              lambda query, value: query.where(Party.is_controller if value == "controller" else Party.is_processor)))
    if kind == PartyKind.THIRD_PARTY:
        filters.append(Filter("vetting", "Vetting", lambda: [(v.value, v.label) for v in VettingStatus] + [("none", "Not vetted")],
                              lambda query, value: query.where(Party.vetting_status.is_(None) if value == "none" else Party.vetting_status == VettingStatus(value))))
        filters.append(Filter("relationship", "Engaged as", lambda: [(r.value, r.label) for r in Engagement.relationship_type.type.enum_class],
                              lambda query, value: query.where(Party.id.in_(select(Engagement.engaged_id).where(Engagement.relationship_type == value)))))
    return filters


PAGES_BY_KIND: dict[PartyKind, RecordType] = {}


def party_url(party: Party) -> str:
    return PAGES_BY_KIND[party.kind].view_url(party.id)


def party_path(kind: str, party_id: int) -> str:
    """A party's page under the app's root, from its kind as stored and its id (for lists read as plain
    rows; PartyKind is a str enumeration, so the stored value finds its pages)."""
    return PAGES_BY_KIND[kind].path(party_id)


def party_view_context(party: Party) -> dict:
    """The chain up and down, the routes in and out, and what else the party's page shows."""
    engaged_by = db.session.scalars(
        select(Engagement).where(Engagement.engaged_id == party.id)
        .options(selectinload(Engagement.engager), selectinload(Engagement.locations)).order_by(Engagement.id)
    ).all()
    engages = db.session.scalars(
        select(Engagement).where(Engagement.engager_id == party.id)
        .options(selectinload(Engagement.engaged), selectinload(Engagement.locations)).order_by(Engagement.id)
    ).all()
    route_filter = or_(TransferRoute.exporter_id == party.id, TransferRoute.importer_id == party.id,
                       TransferRoute.destination_organisation_id == party.id)
    routes = db.session.scalars(
        select(TransferRoute).where(route_filter)
        .options(selectinload(TransferRoute.exporter), selectinload(TransferRoute.importer),
                 selectinload(TransferRoute.destination_organisation))
        .order_by(TransferRoute.id).limit(ROUTES_SHOWN)
    ).all()
    route_count = db.session.scalar(select(func.count()).select_from(TransferRoute).where(route_filter))
    memberships = db.session.scalars(
        select(BcrMembership).where(BcrMembership.group_entity_id == party.id).options(selectinload(BcrMembership.approval))
    ).all()
    vetting = None
    if party.kind == PartyKind.THIRD_PARTY:
        from datetime import date

        from .. import assessments

        vetting = assessments.vetting(db.session(), party.id, date.today())
    notices = []
    if party.kind == PartyKind.CLIENT:
        from ..models import ChangeNotice

        notices = db.session.scalars(select(ChangeNotice).where(ChangeNotice.client_id == party.id)
                                     .options(selectinload(ChangeNotice.engagement), selectinload(ChangeNotice.sub_processor))
                                     .order_by(ChangeNotice.id.desc())).all()
    statements = db.session.scalars(select(VendorStatement).where(VendorStatement.party_id == party.id)
                                    .order_by(VendorStatement.stated_on.desc(), VendorStatement.id.desc())).all()
    affiliates = db.session.scalars(select(Party).where(Party.parent_id == party.id).order_by(Party.name_key)).all() \
        if party.kind == PartyKind.THIRD_PARTY else []
    return {"affiliates": affiliates, "statements": statements, "engaged_by": engaged_by, "engages": engages, "routes": routes, "route_count": route_count,
            "routes_shown": ROUTES_SHOWN, "memberships": memberships, "vetting": vetting, "notices": notices}


def _party_pages(kind: PartyKind, model: type, name: str, title: str, singular: str) -> RecordType:
    pages = RecordType(
        name=name, title=title, singular=singular, model=model, form=party_form(kind),
        columns=party_columns(kind), search=[Party.legal_name, Party.trading_name],
        filters=party_filters(kind, model), default_sort="name",
        view_template="records/party_view.html", view_context=party_view_context,
        fieldsets=FIELDSETS[kind],
    )
    PAGES_BY_KIND[kind] = pages
    return pages


GROUP_ENTITY_PAGES = _party_pages(PartyKind.GROUP_ENTITY, GroupEntity, "group_entities", "Group entities", "group entity")
THIRD_PARTY_PAGES = _party_pages(PartyKind.THIRD_PARTY, ThirdParty, "third_parties", "Third parties", "third party")
CLIENT_PAGES = _party_pages(PartyKind.CLIENT, Client, "clients", "Clients", "client")
ORGANISATION_PAGES = _party_pages(PartyKind.INTERNATIONAL_ORGANISATION, InternationalOrganisation,
                                  "organisations", "International organisations", "international organisation")


# --- vetting records, reached from a third party's page ----------------------------------------


class CertificateForm(RecordForm):
    third_party_id = PartyField("Third party", validators=[InputRequired()], kinds=[PartyKind.THIRD_PARTY])
    edition = SelectField("Edition", choices=enum_choices(IsoEdition), default=IsoEdition.E2022.value)
    certificate_number = StringField("Certificate number", validators=[DataRequired(), Length(max=100)])
    certification_body = StringField("Certification body", validators=[DataRequired(), Length(max=200)])
    scope = TextAreaField("Scope", validators=[OptionalValue()])
    issued_on = DateField("Issued", validators=[DataRequired()])
    expires_on = DateField("Expires", validators=[DataRequired()])
    last_verified_on = DateField("Last verified by us", validators=[OptionalValue()])
    withdrawn_on = DateField("Withdrawn", validators=[OptionalValue()])
    notes = TextAreaField("Notes", validators=[OptionalValue()])


class DpfForm(RecordForm):
    third_party_id = PartyField("Third party", validators=[InputRequired()], kinds=[PartyKind.THIRD_PARTY])
    framework = SelectField("Framework", choices=enum_choices(DpfFramework))
    certified_entity_name = StringField("Certified legal entity (as on the DPF List)", validators=[DataRequired(), Length(max=300)])
    covers_hr_data = BooleanField("Covers HR data")
    covers_non_hr_data = BooleanField("Covers non-HR data", default=True)
    is_active = BooleanField("Active on the DPF List when verified", default=True)
    verified_on = DateField("Verified on", validators=[OptionalValue()])
    notes = TextAreaField("Notes", validators=[OptionalValue()])


class ScopeFactForm(RecordForm):
    party_id = PartyField("Party", validators=[InputRequired()], kinds=[PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY, PartyKind.CLIENT])
    fact_key = SelectField("Scope condition", validate_choice=False, choices=[])
    answer = SelectField("Answer", choices=enum_choices(Answer), default=Answer.UNKNOWN.value)
    verified_on = DateField("Verified on", validators=[OptionalValue()])
    note = TextAreaField("Note", validators=[OptionalValue()])


def _scope_fact_choices(form: ScopeFactForm, _record) -> None:
    form.fact_key.choices = values_choices(
        ((key, question.question) for key, question in countries.current().scope_facts.items()), "Choose")


def _owner_view(record) -> dict:
    owner = getattr(record, "third_party", None) or getattr(record, "party", None)
    return {"owner": owner, "owner_url": party_url(owner) if owner else None}


CERTIFICATE_PAGES = RecordType(
    name="certificates", title="ISO 27001 certificates", singular="certificate", model=Certificate, form=CertificateForm,
    columns=[
        Column("Number", lambda c: link(c.certificate_number, CERTIFICATE_PAGES.url("view", record_id=c.id)), Certificate.certificate_number, "number"),
        Column("Third party", lambda c: link(c.third_party.legal_name, party_url(c.third_party))),
        Column("Edition", lambda c: c.edition.label, Certificate.edition, "edition"),
        Column("Expires", lambda c: c.expires_on, Certificate.expires_on, "expires"),
        Column("Last verified", lambda c: c.last_verified_on or "", Certificate.last_verified_on, "verified"),
    ],
    search=[Certificate.certificate_number, Certificate.certification_body],
    filters=[Filter("edition", "Edition", lambda: [(e.value, e.label) for e in IsoEdition],
                    lambda query, value: query.where(Certificate.edition == IsoEdition(value)))],
    list_options=[selectinload(Certificate.third_party)], default_sort="expires", can_retire=False,
    view_template="records/owned_view.html", view_context=_owner_view,
    fieldsets=[("ISO/IEC 27001 certificate", [
        "third_party_id", "edition", "certificate_number", "certification_body", "scope", "issued_on", "expires_on",
        "last_verified_on", "withdrawn_on", "notes"])],
)
DPF_PAGES = RecordType(
    name="dpf_certifications", title="DPF certifications", singular="DPF certification", model=DpfCertification, form=DpfForm,
    columns=[
        Column("Certified entity", lambda d: link(d.certified_entity_name, DPF_PAGES.url("view", record_id=d.id)), DpfCertification.certified_entity_name, "entity"),
        Column("Third party", lambda d: link(d.third_party.legal_name, party_url(d.third_party))),
        Column("Framework", lambda d: d.framework.label, DpfCertification.framework, "framework"),
        Column("HR / non-HR", lambda d: f"{'HR' if d.covers_hr_data else ''}{' + ' if d.covers_hr_data and d.covers_non_hr_data else ''}{'non-HR' if d.covers_non_hr_data else ''}"),
        Column("Verified", lambda d: d.verified_on or "", DpfCertification.verified_on, "verified"),
    ],
    search=[DpfCertification.certified_entity_name], list_options=[selectinload(DpfCertification.third_party)],
    default_sort="entity", can_retire=False, view_template="records/owned_view.html", view_context=_owner_view,
    fieldsets=[("DPF List entry", ["third_party_id", "framework", "certified_entity_name", "covers_hr_data",
                                   "covers_non_hr_data", "is_active", "verified_on", "notes"])],
)
SCOPE_FACT_PAGES = RecordType(
    name="scope_facts", title="Scope facts", singular="scope fact", model=ScopeFact, form=ScopeFactForm,
    columns=[
        Column("Party", lambda s: link(s.party.legal_name, SCOPE_FACT_PAGES.url("view", record_id=s.id))),
        Column("Condition", lambda s: s.fact_key, ScopeFact.fact_key, "key"),
        Column("Answer", lambda s: badge(s.answer), ScopeFact.answer, "answer"),
        Column("Verified", lambda s: s.verified_on or "", ScopeFact.verified_on, "verified"),
    ],
    search=[ScopeFact.fact_key], list_options=[selectinload(ScopeFact.party)], default_sort="key", can_retire=False,
    prepare_form=_scope_fact_choices, view_template="records/owned_view.html", view_context=_owner_view,
    fieldsets=[("Answer to a scope condition of a partial adequacy decision", ["party_id", "fact_key", "answer", "verified_on", "note"])],
)



class VendorStatementForm(RecordForm):
    party_id = PartyField("Vendor", validators=[InputRequired()], kinds=[PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY])
    engagement_id = IntegerField("Only about engagement # (blank: every transfer to the vendor)",
                                 validators=[OptionalValue(), NumberRange(min=1)])
    mechanism = SelectField("Mechanism stated", choices=enum_choices(StatedMechanism))
    dpf_framework = OptionalSelectField("DPF framework named", choices=enum_choices(DpfFramework, "None named"))
    stated_text = StringField("The vendor's own words", validators=[OptionalValue(), Length(max=300)])
    regime = OptionalSelectField("About data under", choices=enum_choices(Regime, "Every regime"))
    source = StringField("Source (e.g. vendor's sub-processor list)", validators=[DataRequired(), Length(max=300)])
    source_url = StringField("Source web address", validators=[OptionalValue(), Length(max=500)])
    stated_on = DateField("Date of the source", validators=[DataRequired()])
    notes = TextAreaField("Notes", validators=[OptionalValue()])


def _statement_view(statement) -> dict:
    return {"owner": statement.party, "owner_url": party_url(statement.party)}


STATEMENT_PAGES = RecordType(
    name="vendor_statements", title="Vendor statements", singular="vendor statement", model=VendorStatement,
    form=VendorStatementForm,
    columns=[
        Column("Vendor", lambda v: link(v.party.legal_name, STATEMENT_PAGES.url("view", record_id=v.id))),
        Column("Stated", lambda v: v.stated_text or v.mechanism.label, VendorStatement.mechanism, "mechanism"),
        Column("Source", lambda v: v.source, VendorStatement.source, "source"),
        Column("Dated", lambda v: v.stated_on, VendorStatement.stated_on, "dated"),
    ],
    search=[VendorStatement.source, VendorStatement.stated_text],
    filters=[Filter("mechanism", "Mechanism", lambda: [(m.value, m.label) for m in StatedMechanism],
                    lambda query, value: query.where(VendorStatement.mechanism == StatedMechanism(value)))],
    list_options=[selectinload(VendorStatement.party)], default_sort="dated", can_retire=False,
    view_template="records/owned_view.html", view_context=_statement_view,
    fieldsets=[("What the vendor states about its transfers (evidence to verify, not an instrument)", [
        "party_id", "engagement_id", "mechanism", "dpf_framework", "stated_text", "regime", "source", "source_url",
        "stated_on", "notes"])],
)

ALL_PAGES = [GROUP_ENTITY_PAGES, THIRD_PARTY_PAGES, CLIENT_PAGES, ORGANISATION_PAGES,
             CERTIFICATE_PAGES, DPF_PAGES, SCOPE_FACT_PAGES, STATEMENT_PAGES]
