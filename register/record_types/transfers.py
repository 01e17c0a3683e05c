"""The record types of engagements, transfer instruments, BCR approvals, routes and their TIAs (what the pages and the API show)."""

import json
from collections import namedtuple
from typing import Any

from sqlalchemy import String, bindparam, exists, func, or_, select, type_coerce
from sqlalchemy.orm import aliased, selectinload
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.validators import Optional as OptionalValue

from .. import countries, regions, rules, services, vocabulary
from ..extensions import db
from ..forms import OptionalSelectField, RecordForm, enum_choices, values_choices
from ..models import (
    Authorisation,
    BcrApproval,
    ChangeNotice,
    BcrType,
    DerogationGround,
    Engagement,
    InstrumentKind,
    InstrumentParty,
    InstrumentSide,
    Lifecycle,
    NoticeOutcome,
    Party,
    PartyKind,
    PartyRole,
    Regime,
    Relationship,
    SpecialCategoryBasis,
    TiaOutcome,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    RouteRegimeVerdict,
    RouteVerdict,
    VettingStatus,
    route_instruments,
)
from .base import Column, Filter, RecordType, badge, link, status_filter
from .fields import DestinationField, PartyField, country_choices, place_choices, region_choices
from .parties import every_country, party_path, party_url

SIGNATORY_ROWS = 3
MEMBER_ROWS_EXTRA = 3


def _status_field(default: Lifecycle = Lifecycle.ACTIVE) -> SelectField:
    return SelectField("Status", choices=enum_choices(Lifecycle), default=default.value)


# --- engagements ------------------------------------------------------------------------------


class EngagementForm(RecordForm):
    engager_id = PartyField("Engaged by", validators=[InputRequired()],
                            kinds=[PartyKind.GROUP_ENTITY, PartyKind.THIRD_PARTY, PartyKind.CLIENT])
    engaged_id = PartyField("Engages", validators=[InputRequired()], kinds=[PartyKind.THIRD_PARTY, PartyKind.GROUP_ENTITY])
    service = StringField("Service", validators=[DataRequired(), Length(max=300)])
    purpose = StringField("Purpose", validators=[OptionalValue(), Length(max=300)])
    data_categories = TextAreaField("Categories of personal data it processes (shown on the processor list)",
                                    validators=[OptionalValue()])
    condition = StringField("Only under a condition (in words, e.g. \"only if you use the AI features\"; blank: always)",
                            validators=[OptionalValue(), Length(max=300)])
    relationship_type = SelectField("Relationship", choices=enum_choices(Relationship))
    locations = SelectMultipleField("Processing locations (every country or region where data is stored or accessed)",
                                    choices=country_choices(None), validate_choice=False)
    contract_reference = StringField("DPA / contract reference", validators=[OptionalValue(), Length(max=200)])
    contract_signed_on = DateField("Contract signed", validators=[OptionalValue()])
    authorisation = OptionalSelectField("Controller's authorisation (Art. 28(2))", choices=enum_choices(Authorisation, "Not recorded"))
    authorised_on = DateField("Authorised on", validators=[OptionalValue()])
    status = _status_field()
    planned_start_on = DateField("Planned start (for a proposed engagement)", validators=[OptionalValue()])
    starts_on = DateField("Started", validators=[OptionalValue()])
    ends_on = DateField("Ended", validators=[OptionalValue()])
    activation_override_reason = TextAreaField(
        "Override: why it becomes active before every client's objection window closed (Art. 28(2))",
        validators=[OptionalValue()])
    notes = TextAreaField("Notes", validators=[OptionalValue()])
    # What each location does (storage, access or both), as the form was built: the form picks the
    # countries only, and saving must not set an activity the API or the import recorded back to both.
    location_activities = HiddenField()


def _engagement_to_form(engagement: Engagement) -> dict:
    data = {name: getattr(engagement, name) for name in EngagementForm.__dict__ if not name.startswith("_") and hasattr(engagement, name)}
    data["locations"] = [location.country_code for location in engagement.locations]
    data["location_activities"] = json.dumps({location.country_code: location.activity.value for location in engagement.locations})
    for key in ("relationship_type", "authorisation", "status"):
        data[key] = data[key].value if data.get(key) else ""
    return data


def _engagement_to_values(form: EngagementForm) -> dict:
    values = {name: field.data for name, field in form._fields.items()
              if name not in ("csrf_token", "version", "location_activities")}
    try:
        activities = json.loads(form.location_activities.data or "{}")
    except ValueError:
        activities = {}
    if not isinstance(activities, dict):
        activities = {}
    # A country kept keeps its activity; a country added is stored and accessed there (the default).
    values["locations"] = [{"country_code": code, "activity": activities[code]} if isinstance(activities.get(code), str)
                           else code for code in values.get("locations") or []]
    return values


def _engagement_choices(form: EngagementForm, record) -> None:
    """Processing locations: the regions the register knows, then every country."""
    form.locations.choices = place_choices()


Engager, Engaged = aliased(Party), aliased(Party)

ENGAGEMENT_PAGES = RecordType(
    name="engagements", title="Engagements", singular="engagement", model=Engagement, form=EngagementForm,
    prepare_form=_engagement_choices,
    fieldsets=[
        ("Who engages whom", ["engager_id", "engaged_id", "service", "purpose", "relationship_type", "locations"]),
        ("What the processor list says of it", ["data_categories", "condition"]),
        ("Contract and authorisation", ["contract_reference", "contract_signed_on", "authorisation", "authorised_on"]),
        ("Lifecycle", ["status", "planned_start_on", "starts_on", "ends_on", "activation_override_reason", "notes"]),
    ],
    columns=[
        Column("Engaged by", lambda e: link(e.engager.legal_name, party_url(e.engager)), Engager.name_key, "engager"),
        Column("Engages", lambda e: link(e.engaged.legal_name, party_url(e.engaged)), Engaged.name_key, "engaged"),
        Column("Service", lambda e: link(e.service, ENGAGEMENT_PAGES.view_url(e.id)), Engagement.service, "service"),
        Column("Relationship", lambda e: e.relationship_type.label, Engagement.relationship_type, "relationship"),
        Column("Locations", lambda e: ", ".join(location.country_code for location in e.locations)),
        Column("Status", lambda e: badge(e.status), Engagement.status, "status"),
    ],
    joins=lambda query: query.join(Engager, Engagement.engager_id == Engager.id).join(Engaged, Engagement.engaged_id == Engaged.id),
    join_sorts=frozenset({"engager", "engaged"}),
    list_options=[selectinload(Engagement.engager), selectinload(Engagement.engaged), selectinload(Engagement.locations)],
    search=[Engagement.service, Engager.legal_name, Engaged.legal_name],
    filters=[
        Filter("relationship", "Relationship", lambda: [(r.value, r.label) for r in Relationship],
               lambda query, value: query.where(Engagement.relationship_type == Relationship(value))),
        status_filter(Engagement),
    ],
    default_sort="engager", to_form=_engagement_to_form, to_values=_engagement_to_values, view_template="records/engagement_view.html",
    view_context=lambda engagement: {"client_states": _client_states(engagement)},
)


def _client_states(engagement: Engagement) -> list:
    from datetime import date

    from ..notices import client_states

    return client_states(db.session(), engagement.id, engagement.engager_id, engagement.engaged_id, engagement.relationship_type,
                         engagement.starts_on, date.today())


# --- sub-processor change notices (Art. 28(2)) ------------------------------------------------


class NoticeForm(RecordForm):
    client_id = PartyField("Client", validators=[InputRequired()], kinds=[PartyKind.CLIENT])
    engagement_id = SelectField("Intended change (a sub-processor engagement)", validators=[InputRequired()], validate_choice=False)
    sent_on = DateField("Notice sent on", validators=[OptionalValue()])
    sent_to = StringField("Sent to (contact)", validators=[OptionalValue(), Length(max=300)])
    objection_deadline = DateField("Objection deadline (blank: sent on + the client's notice period)", validators=[OptionalValue()])
    objection_received_on = DateField("Objection received on", validators=[OptionalValue()])
    objection_details = TextAreaField("The objection", validators=[OptionalValue()])
    outcome = SelectField("Outcome", choices=enum_choices(NoticeOutcome), default=NoticeOutcome.PENDING.value)
    outcome_on = DateField("Outcome on", validators=[OptionalValue()])
    notes = TextAreaField("Notes", validators=[OptionalValue()])


def _notice_choices(form: NoticeForm, _record) -> None:
    engager, engaged = aliased(Party), aliased(Party)
    rows = db.session.execute(
        select(Engagement.id, Engagement.service, Engagement.status, engager.legal_name, engaged.legal_name)
        .join(engager, Engagement.engager_id == engager.id).join(engaged, Engagement.engaged_id == engaged.id)
        .where(Engagement.relationship_type == Relationship.SUB_PROCESSOR, Engagement.status != Lifecycle.RETIRED)
        .order_by(Engagement.status.desc(), engaged.name_key)).all()
    form.engagement_id.choices = values_choices(
        ((str(row[0]), f"{row[4]} for {row[3]}: {row[1]} ({row[2].label.lower()})") for row in rows), "Choose the engagement")


def _notice_to_form(notice: ChangeNotice) -> dict:
    data = {name: getattr(notice, name) for name in NoticeForm.__dict__ if not name.startswith("_") and hasattr(notice, name)}
    data["engagement_id"] = str(notice.engagement_id)
    data["outcome"] = notice.outcome.value
    return data


def _notice_view(notice: ChangeNotice) -> dict:
    from datetime import date

    from ..notices import facts

    from ..notices import clients_served

    engagement = notice.engagement
    concerned = clients_served(db.session(), engagement.engager_id, engagement.relationship_type)
    authorisation = concerned[notice.client_id][1] if notice.client_id in concerned else None
    blockers = rules.activation_blockers(notice.client.legal_name, authorisation, facts(notice, db.session()), date.today(), engagement.starts_on)
    from ..models import OutboxMessage

    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.about_type == "change_notices",
                                                           OutboxMessage.about_id == notice.id).order_by(OutboxMessage.id)).all()
    return {"owner": engagement, "owner_url": ENGAGEMENT_PAGES.view_url(engagement.id), "blockers": blockers,
            "authorisation": authorisation, "concerned": notice.client_id in concerned,
            "current": notice.sub_processor_id == engagement.engaged_id, "mails": mails}


NOTICE_PAGES = RecordType(
    name="notices", title="Sub-processor change notices", singular="change notice", model=ChangeNotice, form=NoticeForm,
    fieldsets=[("The intended change and the client told of it (GDPR Art. 28(2))", ["client_id", "engagement_id"]),
               ("Notice", ["sent_on", "sent_to", "objection_deadline"]),
               ("The client's answer", ["objection_received_on", "objection_details", "outcome", "outcome_on", "notes"])],
    columns=[
        Column("Client", lambda n: link(n.client.legal_name, NOTICE_PAGES.view_url(n.id))),
        Column("Sub-processor", lambda n: link(n.sub_processor.legal_name, ENGAGEMENT_PAGES.view_url(n.engagement_id))),
        Column("Sent", lambda n: n.sent_on or "not yet", ChangeNotice.sent_on, "sent"),
        Column("Objection deadline", lambda n: n.objection_deadline or "", ChangeNotice.objection_deadline, "deadline"),
        Column("Objection", lambda n: n.objection_received_on or ""),
        Column("Outcome", lambda n: badge(n.outcome), ChangeNotice.outcome, "outcome"),
    ],
    search=[ChangeNotice.sent_to, ChangeNotice.objection_details],
    filters=[Filter("outcome", "Outcome", lambda: [(o.value, o.label) for o in NoticeOutcome],
                    lambda query, value: query.where(ChangeNotice.outcome == NoticeOutcome(value)))],
    list_options=[selectinload(ChangeNotice.client), selectinload(ChangeNotice.sub_processor)],
    default_sort="deadline", can_retire=False, prepare_form=_notice_choices, to_form=_notice_to_form,
    view_template="records/notice_view.html", view_context=_notice_view,
)


# --- BCR approvals ----------------------------------------------------------------------------


class MembershipForm(Form):
    group_entity_id = PartyField("Group entity", kinds=[PartyKind.GROUP_ENTITY])
    bound_from = DateField("Bound from", validators=[OptionalValue()])
    bound_to = DateField("Bound to", validators=[OptionalValue()])


class BcrForm(RecordForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=300)])
    regime = SelectField("Regime", choices=enum_choices(Regime))
    bcr_type = SelectField("Type", choices=enum_choices(BcrType))
    authority = StringField("Approving authority", validators=[DataRequired(), Length(max=300)])
    reference = StringField("Reference", validators=[OptionalValue(), Length(max=200)])
    approved_on = DateField("Approved on", validators=[DataRequired()])
    withdrawn_on = DateField("Withdrawn on", validators=[OptionalValue()])
    status = _status_field()
    members = FieldList(FormField(MembershipForm), min_entries=MEMBER_ROWS_EXTRA)
    notes = TextAreaField("Notes", validators=[OptionalValue()])


def _bcr_to_values(form: BcrForm) -> dict:
    values = {name: field.data for name, field in form._fields.items() if name not in ("csrf_token", "version", "members")}
    values["memberships"] = [
        {"group_entity_id": row.group_entity_id.data, "bound_from": row.bound_from.data, "bound_to": row.bound_to.data}
        for row in form.members if row.group_entity_id.data
    ]
    missing_start = [row for row in form.members if row.group_entity_id.data and not row.bound_from.data]
    if missing_start:
        raise services.DomainError({"members": ["Each bound entity needs the date it was bound from."]})
    return values


def _bcr_to_form(approval: BcrApproval) -> dict:
    data = {name: getattr(approval, name) for name in ("name", "authority", "reference", "approved_on", "withdrawn_on", "notes")}
    data.update(regime=approval.regime.value, bcr_type=approval.bcr_type.value, status=approval.status.value)
    data["members"] = [{"group_entity_id": m.group_entity_id, "bound_from": m.bound_from, "bound_to": m.bound_to}
                       for m in approval.memberships] + [{}] * MEMBER_ROWS_EXTRA
    return data


BCR_PAGES = RecordType(
    name="bcr_approvals", title="BCR approvals", singular="BCR approval", model=BcrApproval, form=BcrForm,
    fieldsets=[("Approval", ["name", "regime", "bcr_type", "authority", "reference", "approved_on", "withdrawn_on", "status", "notes"]),
               ("Bound group entities", ["members"])],
    columns=[
        Column("Name", lambda b: link(b.name, BCR_PAGES.url("view", record_id=b.id)), BcrApproval.name, "name"),
        Column("Regime", lambda b: b.regime.value, BcrApproval.regime, "regime"),
        Column("Type", lambda b: b.bcr_type.label, BcrApproval.bcr_type, "type"),
        Column("Authority", lambda b: b.authority, BcrApproval.authority, "authority"),
        Column("Approved", lambda b: b.approved_on, BcrApproval.approved_on, "approved"),
        Column("Members", lambda b: len(b.memberships)),
        Column("Status", lambda b: badge(b.status), BcrApproval.status, "status"),
    ],
    search=[BcrApproval.name, BcrApproval.authority, BcrApproval.reference],
    filters=[Filter("regime", "Regime", lambda: [(r.value, r.label) for r in Regime],
                    lambda query, value: query.where(BcrApproval.regime == Regime(value))), status_filter(BcrApproval)],
    list_options=[selectinload(BcrApproval.memberships)], default_sort="name",
    to_values=_bcr_to_values, to_form=_bcr_to_form, view_template="records/bcr_view.html",
    merge_fields={"memberships": ("members",)},
)


# --- transfer instruments ---------------------------------------------------------------------


class SignatoryForm(Form):
    party_id = PartyField("Party", kinds=[PartyKind.GROUP_ENTITY, PartyKind.THIRD_PARTY, PartyKind.CLIENT, PartyKind.INTERNATIONAL_ORGANISATION])


class InstrumentForm(RecordForm):
    kind = SelectField("Kind", choices=enum_choices(InstrumentKind))
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    document_reference = StringField("Document reference", validators=[OptionalValue(), Length(max=200)])
    scc_decision = OptionalSelectField("SCC decision", choices=values_choices(((d, d) for d in services.SCC_DECISIONS), "Not an EU SCC"))
    scc_modules = SelectMultipleField("SCC modules", choices=values_choices([
        ("1", "Module 1: controller to controller"), ("2", "Module 2: controller to processor"),
        ("3", "Module 3: processor to processor"), ("4", "Module 4: processor to controller")]), validate_choice=False)
    has_swiss_adaptation = BooleanField("With the Swiss adaptation (FDPIC)")
    uk_addendum_version = StringField("UK Addendum version", validators=[OptionalValue(), Length(max=40)])
    bcr_approval_id = SelectField("BCR approval relied on", validate_choice=False, choices=[])
    derogation_ground = OptionalSelectField("Art. 49 ground", choices=enum_choices(DerogationGround, "Not a derogation"))
    derogation_justification = TextAreaField("Why the derogation applies (documented)", validators=[OptionalValue()])
    scheme_name = StringField("Code of conduct or certification scheme", validators=[OptionalValue(), Length(max=300)])
    exporters = FieldList(FormField(SignatoryForm), min_entries=SIGNATORY_ROWS)
    importers = FieldList(FormField(SignatoryForm), min_entries=SIGNATORY_ROWS)
    signed_on = DateField("Signed on", validators=[OptionalValue()])
    terminated_on = DateField("Terminated on", validators=[OptionalValue()])
    status = _status_field()
    notes = TextAreaField("Notes", validators=[OptionalValue()])


def _bcr_choices(form: InstrumentForm, _record) -> None:
    approvals = db.session.scalars(select(BcrApproval).order_by(BcrApproval.name)).all()
    form.bcr_approval_id.choices = values_choices(((str(a.id), a.label) for a in approvals), "Not a BCR reliance")


def _instrument_to_values(form: InstrumentForm) -> dict:
    skip = {"csrf_token", "version", "exporters", "importers", "scc_modules", "bcr_approval_id"}
    values = {name: field.data for name, field in form._fields.items() if name not in skip}
    values["scc_modules"] = ",".join(sorted(form.scc_modules.data or [])) or None
    values["bcr_approval_id"] = form.bcr_approval_id.data or None
    values["signatories"] = [
        {"party_id": row.party_id.data, "side": side.value}
        for side, rows in ((InstrumentSide.EXPORTER, form.exporters), (InstrumentSide.IMPORTER, form.importers))
        for row in rows if row.party_id.data
    ]
    return values


def _instrument_to_form(instrument: TransferInstrument) -> dict:
    names = ("title", "document_reference", "has_swiss_adaptation", "uk_addendum_version", "derogation_justification",
             "scheme_name", "signed_on", "terminated_on", "notes")
    data = {name: getattr(instrument, name) for name in names}
    data.update(kind=instrument.kind.value, status=instrument.status.value, scc_decision=instrument.scc_decision or "",
                scc_modules=sorted(str(m) for m in instrument.module_numbers),
                bcr_approval_id=str(instrument.bcr_approval_id or ""),
                derogation_ground=instrument.derogation_ground.value if instrument.derogation_ground else "")
    for side, key in ((InstrumentSide.EXPORTER, "exporters"), (InstrumentSide.IMPORTER, "importers")):
        rows = [{"party_id": item.party_id} for item in instrument.signatories if item.side == side]
        data[key] = rows + [{}] * SIGNATORY_ROWS
    return data


def _instrument_view(instrument: TransferInstrument) -> dict:
    routes = db.session.scalars(
        select(TransferRoute).join(route_instruments).where(route_instruments.c.instrument_id == instrument.id)
        .options(selectinload(TransferRoute.exporter), selectinload(TransferRoute.importer),
                 selectinload(TransferRoute.destination_organisation)).order_by(TransferRoute.id).limit(200)
    ).all()
    count = db.session.scalar(select(func.count()).select_from(route_instruments).where(route_instruments.c.instrument_id == instrument.id))
    return {"routes": routes, "route_count": count, "routes_shown": 200}


INSTRUMENT_PAGES = RecordType(
    name="instruments", title="Transfer instruments", singular="instrument", model=TransferInstrument, form=InstrumentForm,
    fieldsets=[
        ("Instrument", ["kind", "title", "document_reference", "signed_on", "terminated_on", "status"]),
        ("EU SCCs (Decision (EU) 2021/914)", ["scc_decision", "scc_modules", "has_swiss_adaptation"]),
        ("UK", ["uk_addendum_version"]),
        ("BCR, derogations, codes and certifications", ["bcr_approval_id", "derogation_ground", "derogation_justification", "scheme_name"]),
        ("Signatories", ["exporters", "importers"]),
        ("Notes", ["notes"]),
    ],
    columns=[
        Column("Title", lambda i: link(i.title, INSTRUMENT_PAGES.url("view", record_id=i.id)), TransferInstrument.title, "title"),
        Column("Kind", lambda i: i.kind.label, TransferInstrument.kind, "kind"),
        Column("Details", lambda i: instrument_details(i)),
        Column("Signed", lambda i: i.signed_on or "", TransferInstrument.signed_on, "signed"),
        Column("Status", lambda i: badge(i.status), TransferInstrument.status, "status"),
    ],
    search=[TransferInstrument.title, TransferInstrument.document_reference],
    filters=[Filter("kind", "Kind", lambda: [(k.value, k.label) for k in InstrumentKind],
                    lambda query, value: query.where(TransferInstrument.kind == InstrumentKind(value))),
             status_filter(TransferInstrument)],
    default_sort="title", prepare_form=_bcr_choices, to_values=_instrument_to_values, to_form=_instrument_to_form,
    view_template="records/instrument_view.html", view_context=_instrument_view,
    merge_fields={"signatories": ("exporters", "importers")},
)


def instrument_details(instrument: TransferInstrument) -> str:
    if instrument.kind == InstrumentKind.EU_SCC:
        modules = ", ".join(f"M{m}" for m in sorted(instrument.module_numbers))
        return f"{instrument.scc_decision or ''} {modules}{' + Swiss adaptation' if instrument.has_swiss_adaptation else ''}".strip()
    if instrument.kind == InstrumentKind.UK_ADDENDUM:
        return f"version {instrument.uk_addendum_version or '?'}"
    if instrument.kind == InstrumentKind.DEROGATION and instrument.derogation_ground:
        return instrument.derogation_ground.label
    if instrument.kind in (InstrumentKind.CODE_OF_CONDUCT, InstrumentKind.CERTIFICATION):
        return instrument.scheme_name or ""
    return ""


# --- transfer routes --------------------------------------------------------------------------

ROUTE_PARTY_KINDS = [PartyKind.GROUP_ENTITY, PartyKind.THIRD_PARTY, PartyKind.CLIENT, PartyKind.INTERNATIONAL_ORGANISATION]


class RouteForm(RecordForm):
    exporter_id = PartyField("Exporter", validators=[InputRequired()], kinds=ROUTE_PARTY_KINDS)
    importer_id = PartyField("Importer", validators=[InputRequired()], kinds=ROUTE_PARTY_KINDS)
    destination = DestinationField("Destination", validators=[DataRequired(message="Choose the destination.")])
    carries_eu_data = BooleanField("EU data (EU GDPR)")
    carries_uk_data = BooleanField("UK data (UK GDPR)")
    carries_ch_data = BooleanField("Swiss data (FADP)")
    source_route_id = IntegerField("Onward transfer of route #", validators=[OptionalValue(), NumberRange(min=1)])
    engagement_id = IntegerField("Engagement # (the service it is for)", validators=[OptionalValue(), NumberRange(min=1)])
    exporter_role = SelectField("Exporter's role", choices=enum_choices(PartyRole))
    importer_role = SelectField("Importer's role", choices=enum_choices(PartyRole), default=PartyRole.PROCESSOR.value)
    purpose = StringField("Purpose", validators=[OptionalValue(), Length(max=300)])
    data_subject_categories = TextAreaField("Categories of data subjects", validators=[OptionalValue()])
    data_categories = TextAreaField("Categories of personal data", validators=[OptionalValue()])
    has_special_category_data = BooleanField("Special-category data (e.g. health)")
    special_category_basis = OptionalSelectField("Basis for special-category data", choices=enum_choices(SpecialCategoryBasis, "None recorded"))
    consent_mechanism = StringField("How explicit consent is collected", validators=[OptionalValue(), Length(max=300)])
    has_hr_data = BooleanField("HR data (employees)")
    instrument_ids = SelectMultipleField("Instruments relied on", validate_choice=False, choices=[])
    new_instrument_kind = OptionalSelectField("Add a new instrument", choices=enum_choices(InstrumentKind, "No new instrument"))
    new_instrument_title = StringField("New instrument's title", validators=[OptionalValue(), Length(max=300)])
    new_instrument_scc_modules = StringField("New EU SCC's modules (e.g. 2,3)", validators=[OptionalValue(), Length(max=16)])
    new_instrument_signed_on = DateField("New instrument signed on", validators=[OptionalValue()])
    status = _status_field()
    starts_on = DateField("Starts", validators=[OptionalValue()])
    ends_on = DateField("Ends", validators=[OptionalValue()])
    notes = TextAreaField("Notes", validators=[OptionalValue()])


def _instrument_choices(form: RouteForm, record) -> None:
    """Instruments signed by the exporter or importer (and those already relied on) come first."""
    form.destination.load_choices()
    party_ids = {pid for pid in (form.exporter_id.data, form.importer_id.data) if pid}
    linked = {instrument.id for instrument in record.instruments} if record is not None else set()
    query = select(TransferInstrument).where(TransferInstrument.status != Lifecycle.RETIRED)
    if party_ids:
        signed = exists().where(InstrumentParty.instrument_id == TransferInstrument.id, InstrumentParty.party_id.in_(party_ids))
        query = query.where(or_(signed, TransferInstrument.id.in_(linked or {0})))
    instruments = db.session.scalars(query.order_by(TransferInstrument.title).limit(300)).all()
    form.instrument_ids.choices = values_choices((str(i.id), f"{i.title} ({i.kind.label})") for i in instruments)


ROUTE_SKIP = {"csrf_token", "version", "destination", "instrument_ids", "new_instrument_kind", "new_instrument_title",
              "new_instrument_scc_modules", "new_instrument_signed_on"}


def _route_to_values(form: RouteForm) -> dict:
    values = {name: field.data for name, field in form._fields.items() if name not in ROUTE_SKIP}
    values["destination_country"] = form.destination.country
    values["destination_organisation_id"] = form.destination.organisation_id
    instrument_ids = [int(value) for value in form.instrument_ids.data or [] if str(value).isdigit()]
    if form.new_instrument_kind.data:
        # Added inline: created in the same audited unit as the route, then relied on by it.
        new_values = {"kind": form.new_instrument_kind.data, "title": form.new_instrument_title.data,
                      "signed_on": form.new_instrument_signed_on.data,
                      "signatories": [{"party_id": pid, "side": side} for pid, side in
                                      ((form.exporter_id.data, "exporter"), (form.importer_id.data, "importer")) if pid]}
        if form.new_instrument_kind.data == InstrumentKind.EU_SCC.value:
            new_values.update(scc_decision="2021/914", scc_modules=form.new_instrument_scc_modules.data)
        try:
            instrument_ids.append(services.create(TransferInstrument, new_values).id)
        except services.DomainError as error:
            raise services.DomainError({f"new_instrument_{key}" if key in ("title", "scc_modules", "kind") else "new_instrument_kind": messages
                                        for key, messages in error.errors.items()}) from None
    values["instrument_ids"] = instrument_ids
    return values


def _route_to_form(route: TransferRoute) -> dict:
    names = ("exporter_id", "importer_id", "carries_eu_data", "carries_uk_data", "carries_ch_data", "source_route_id",
             "engagement_id", "purpose", "data_subject_categories", "data_categories", "has_special_category_data",
             "consent_mechanism", "has_hr_data", "starts_on", "ends_on", "notes")
    data = {name: getattr(route, name) for name in names}
    data.update(destination=DestinationField.value_of(route.destination_country, route.destination_organisation_id),
                exporter_role=route.exporter_role.value, importer_role=route.importer_role.value, status=route.status.value,
                special_category_basis=route.special_category_basis.value if route.special_category_basis else "",
                instrument_ids=[str(i.id) for i in route.instruments])
    return data


Exporter, Importer = aliased(Party), aliased(Party)
RowExporter, RowImporter, RowOrganisation = aliased(Party), aliased(Party), aliased(Party)


def _route_rows_query():
    text = lambda column, name: type_coerce(column, String()).label(name)  # noqa: E731 - enumerations as stored
    return (
        select(TransferRoute.id, TransferRoute.destination_country, TransferRoute.carries_eu_data, TransferRoute.carries_uk_data,
               TransferRoute.carries_ch_data, text(TransferRoute.exporter_role, "exporter_role"),
               text(TransferRoute.importer_role, "importer_role"), TransferRoute.purpose, text(TransferRoute.status, "status"),
               RowExporter.id.label("exporter_id"), RowExporter.legal_name.label("exporter_name"), text(RowExporter.kind, "exporter_kind"),
               RowImporter.id.label("importer_id"), RowImporter.legal_name.label("importer_name"), text(RowImporter.kind, "importer_kind"),
               RowOrganisation.legal_name.label("organisation_name"), RouteVerdict.status.label("coverage"), RouteVerdict.mechanisms,
               Engagement.service.label("service"))
        .join(RowExporter, RowExporter.id == TransferRoute.exporter_id)
        .join(RowImporter, RowImporter.id == TransferRoute.importer_id)
        .outerjoin(RowOrganisation, RowOrganisation.id == TransferRoute.destination_organisation_id)
        .outerjoin(Engagement, Engagement.id == TransferRoute.engagement_id)
        .outerjoin(RouteVerdict, RouteVerdict.route_id == TransferRoute.id)
        .where(TransferRoute.id.in_(bindparam("route_ids", expanding=True)))
    )


# Built once: constructing this many-column statement on every page cost more than running it.
ROUTE_ROWS = _route_rows_query()
# Named tuples: the columns read each row's fields ~20 times, and a SQLAlchemy Row's attributes cost
# ten times a tuple's.
RouteRow = namedtuple("RouteRow", ROUTE_ROWS.selected_columns.keys())


def _route_rows(route_ids: list[int]) -> dict[int, Any]:
    """One page of the routes list as plain rows: what its columns show, in one query."""
    if not route_ids:
        return {}
    return {row[0]: RouteRow._make(row) for row in db.session.connection().execute(ROUTE_ROWS, {"route_ids": route_ids})}


# The regimes column for each (EU, UK, CH) combination of a route's flags.
REGIMES_SHOWN = {
    (eu, uk, ch): " ".join(code for code, carried in (("EU", eu), ("UK", uk), ("CH", ch)) if carried) or "none"
    for eu in (False, True) for uk in (False, True) for ch in (False, True)
}


def _regimes_of(row) -> str:
    return REGIMES_SHOWN[bool(row.carries_eu_data), bool(row.carries_uk_data), bool(row.carries_ch_data)]


# Badges by the value stored (built once: the list shows two on each of its rows).
LIFECYCLE_BADGES = {member.value: badge(member) for member in Lifecycle}
COVERAGE_BADGES = {status: badge(status.replace("_", " "), status) for status in rules.STATUSES}


def _coverage_of(row) -> Any:
    if not row.coverage:
        return "not assessed"
    return COVERAGE_BADGES.get(row.coverage) or badge(row.coverage.replace("_", " "), row.coverage)


def every_destination() -> list[tuple[str, str]]:
    """What a route's destination may be, as its filter offers it: the register's regions, then every
    country by name (a route to a region is found by the region, not by each of its members)."""
    return [(choice.value, choice.label) for choice in region_choices()] + every_country()


def _regime_filter(query, value):
    column = {"EU": TransferRoute.carries_eu_data, "UK": TransferRoute.carries_uk_data, "CH": TransferRoute.carries_ch_data}[value]
    return query.where(column.is_(True))


def _route_view(route: TransferRoute) -> dict:
    """The route's verdict: today's stored one, or any date's computed on the fly (?on=YYYY-MM-DD)."""
    from datetime import date

    from flask import request

    from .. import assessments

    onward = db.session.scalars(select(TransferRoute).where(TransferRoute.source_route_id == route.id)
                                .options(selectinload(TransferRoute.importer)).limit(50)).all()
    today = date.today()
    try:
        on = services.parse_day(request.args["on"]) if request.args.get("on") else today
    except ValueError:  # not a date, or out of the register's range: today's verdict
        on = today
    verdict = assessments.plain(assessments.assess(db.session(), on, [route.id])[route.id])
    verdict["vendor_statements"] = assessments.vendor_statements(db.session(), [route.id])[route.id]
    vetting = assessments.vetting(db.session(), route.importer_id, on) if route.importer.kind == PartyKind.THIRD_PARTY else None
    return {"onward_routes": onward, "verdict": verdict, "verdict_on": on, "today": today, "vetting": vetting}


ROUTE_PAGES = RecordType(
    name="routes", title="Transfer routes", singular="transfer route", model=TransferRoute, form=RouteForm,
    fieldsets=[
        ("Who sends what where", ["exporter_id", "importer_id", "destination", "engagement_id", "source_route_id"]),
        ("Regimes of the data carried", ["carries_eu_data", "carries_uk_data", "carries_ch_data"]),
        ("Roles", ["exporter_role", "importer_role"]),
        ("Data (Art. 30(1)(c))", ["purpose", "data_subject_categories", "data_categories", "has_hr_data",
                                  "has_special_category_data", "special_category_basis", "consent_mechanism"]),
        ("Safeguards", ["instrument_ids", "new_instrument_kind", "new_instrument_title", "new_instrument_scc_modules", "new_instrument_signed_on"]),
        ("Lifecycle", ["status", "starts_on", "ends_on", "notes"]),
    ],
    columns=[
        Column("#", lambda r: r.id, TransferRoute.id, "id", href=lambda r: ROUTE_PAGES.path(r.id)),
        Column("Exporter", lambda r: r.exporter_name, Exporter.name_key, "exporter", href=lambda r: party_path(r.exporter_kind, r.exporter_id)),
        Column("Importer", lambda r: r.importer_name, Importer.name_key, "importer", href=lambda r: party_path(r.importer_kind, r.importer_id)),
        Column("Destination", lambda r: r.organisation_name or regions.place_name(r.destination_country, sess=db.session()),
               TransferRoute.destination_country, "destination"),
        # The service of its engagement: what tells apart several routes between the same parties to one place.
        Column("Service", lambda r: r.service or ""),
        Column("Regimes", _regimes_of),
        Column("Roles", lambda r: f"{r.exporter_role} \u2192 {r.importer_role}"),
        Column("Purpose", lambda r: r.purpose or "", TransferRoute.purpose, "purpose"),
        Column("Coverage", _coverage_of,
               select(RouteVerdict.status).where(RouteVerdict.route_id == TransferRoute.id).correlate(TransferRoute)
               .scalar_subquery(), "coverage"),
        Column("Mechanism", lambda r: (r.mechanisms or "").replace(",", ", ")),
        Column("Status", lambda r: LIFECYCLE_BADGES[r.status], TransferRoute.status, "status"),
    ],
    joins=lambda query: query.join(Exporter, TransferRoute.exporter_id == Exporter.id).join(Importer, TransferRoute.importer_id == Importer.id),
    join_sorts=frozenset({"exporter", "importer"}),
    fetch_rows=_route_rows,
    search=[Exporter.legal_name, Importer.legal_name, TransferRoute.purpose],
    filters=[
        Filter("country", "Destination", every_destination, lambda query, value: query.where(TransferRoute.destination_country == value)),
        Filter("coverage", "Coverage", lambda: [(s, s.replace("_", " ").capitalize()) for s in rules.STATUSES],
               lambda query, value: query.where(TransferRoute.id.in_(select(RouteVerdict.route_id).where(RouteVerdict.status == value)))),
        Filter("mechanism", "Mechanism", lambda: [(m, vocabulary.mechanism_label(m)) for m in rules.MECHANISMS],
               lambda query, value: query.where(TransferRoute.id.in_(select(RouteRegimeVerdict.route_id).where(RouteRegimeVerdict.mechanism == value)))),
        Filter("regime", "Regime", lambda: [(r.value, r.label) for r in Regime], _regime_filter),
        Filter("vetting_state", "Importer's ISO 27001", lambda: [(v, v.replace("_", " ")) for v in rules.VETTING_STATES],
               lambda query, value: query.where(TransferRoute.id.in_(
                   select(RouteVerdict.route_id).where(RouteVerdict.importer_vetting == value)))),
        Filter("role", "Importer's role", lambda: [(r.value, r.label) for r in PartyRole],
               lambda query, value: query.where(TransferRoute.importer_role == PartyRole(value))),
        Filter("vetting", "Importer's vetting", lambda: [(v.value, v.label) for v in VettingStatus] + [("none", "Not vetted")],
               lambda query, value: query.where(TransferRoute.importer_id.in_(
                   select(Party.id).where(Party.vetting_status.is_(None) if value == "none" else Party.vetting_status == VettingStatus(value))))),
        status_filter(TransferRoute),
    ],
    default_sort="id", prepare_form=_instrument_choices, to_values=_route_to_values, to_form=_route_to_form, can_preview=True,
    view_template="records/route_view.html", view_context=_route_view,
    merge_fields={"destination_country": ("destination",), "destination_organisation_id": ("destination",)},
)


def route_destination(route: TransferRoute) -> str:
    if route.destination_organisation is not None:
        return route.destination_organisation.legal_name
    return regions.place_name(route.destination_country, sess=db.session())


class TiaForm(RecordForm):
    route_id = IntegerField("Route #", validators=[DataRequired(), NumberRange(min=1)])
    regime = OptionalSelectField("Regime", choices=enum_choices(Regime, "All regimes of the route"))
    assessed_on = DateField("Assessed on", validators=[DataRequired()])
    outcome = SelectField("Outcome", choices=enum_choices(TiaOutcome))
    next_review_on = DateField("Next review", validators=[OptionalValue()])
    document_reference = StringField("Document reference", validators=[OptionalValue(), Length(max=200)])
    notes = TextAreaField("Notes", validators=[OptionalValue()])


TIA_PAGES = RecordType(
    name="tias", title="Transfer impact assessments", singular="transfer impact assessment",
    model=TransferImpactAssessment, form=TiaForm,
    fieldsets=[("Transfer impact assessment (Schrems II; EDPB Recommendations 01/2020)",
                ["route_id", "regime", "assessed_on", "outcome", "next_review_on", "document_reference", "notes"])],
    columns=[
        Column("Route", lambda t: link(f"#{t.route_id}", ROUTE_PAGES.url("view", record_id=t.route_id)), TransferImpactAssessment.route_id, "route"),
        Column("Assessed", lambda t: link(t.assessed_on, TIA_PAGES.url("view", record_id=t.id)), TransferImpactAssessment.assessed_on, "assessed"),
        Column("Regime", lambda t: t.regime.value if t.regime else "all"),
        Column("Outcome", lambda t: badge(t.outcome), TransferImpactAssessment.outcome, "outcome"),
        Column("Next review", lambda t: t.next_review_on or "", TransferImpactAssessment.next_review_on, "review"),
    ],
    search=[TransferImpactAssessment.document_reference],
    filters=[Filter("outcome", "Outcome", lambda: [(o.value, o.label) for o in TiaOutcome],
                    lambda query, value: query.where(TransferImpactAssessment.outcome == TiaOutcome(value)))],
    default_sort="assessed", can_retire=False, view_template="records/owned_view.html",
    view_context=lambda tia: {"owner": tia.route, "owner_url": ROUTE_PAGES.url("view", record_id=tia.route_id)},
)

ALL_PAGES = [ENGAGEMENT_PAGES, INSTRUMENT_PAGES, BCR_PAGES, ROUTE_PAGES, TIA_PAGES, NOTICE_PAGES]
