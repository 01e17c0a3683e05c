"""The register's tables.

One `parties` table holds every organisation a route can start or end at (group entities, third
parties, clients, international organisations), so that routes and engagements reference a party
with a real foreign key. Enumerations are stored as short strings validated by the application
(no database CHECK on their values), so that a new value the law brings needs no migration.
"""

import enum
import uuid
from datetime import date, datetime, timezone
from typing import Any, Optional

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_uid() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def enum_column(enum_class: type[enum.Enum], **kwargs: Any):
    """A string column holding an enum's values; validated in Python, not by a CHECK."""
    return mapped_column(
        Enum(
            enum_class,
            native_enum=False,
            create_constraint=False,
            validate_strings=True,
            length=40,
            values_callable=lambda members: [member.value for member in members],
        ),
        **kwargs,
    )


class Choice(str, enum.Enum):
    """An enumeration whose members carry a human label."""

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:
        return self.value


# --- enumerations -----------------------------------------------------------------------------


class Role(Choice):
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    AUDITOR = "auditor", "Auditor"


class PartyKind(Choice):
    GROUP_ENTITY = "group_entity", "Group entity"
    THIRD_PARTY = "third_party", "Third party"
    CLIENT = "client", "Client"
    INTERNATIONAL_ORGANISATION = "international_organisation", "International organisation"


class Lifecycle(Choice):
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class Regime(Choice):
    EU = "EU", "EU GDPR"
    UK = "UK", "UK GDPR"
    CH = "CH", "Swiss FADP"


class VettingStatus(Choice):
    APPROVED = "approved", "Approved"
    CONDITIONAL = "conditional", "Conditional"
    PENDING = "pending", "Pending"
    REJECTED = "rejected", "Rejected"


class IsoEdition(Choice):
    E2013 = "2013", "ISO/IEC 27001:2013"
    E2022 = "2022", "ISO/IEC 27001:2022"


class DpfFramework(Choice):
    EU_US = "eu_us", "EU-US DPF"
    UK_EXTENSION = "uk_extension", "UK Extension to the EU-US DPF"
    SWISS_US = "swiss_us", "Swiss-US DPF"


class StatedMechanism(Choice):
    """A transfer mechanism as a vendor states it (its list, its DPA): evidence to check, not an instrument."""

    SCC = "scc", "EU standard contractual clauses"
    UK_IDTA = "uk_idta", "UK IDTA"
    UK_ADDENDUM = "uk_addendum", "UK Addendum to the EU SCCs"
    DPF = "dpf", "Data Privacy Framework certification"
    ADEQUACY = "adequacy", "Adequacy"
    BCR = "bcr", "Binding corporate rules"
    CODE_OF_CONDUCT = "code_of_conduct", "Code of conduct"
    CERTIFICATION = "certification", "Certification"
    OTHER = "other", "Other (as worded by the vendor)"


class Answer(Choice):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class Relationship(Choice):
    PROCESSOR = "processor", "Processor"
    SUB_PROCESSOR = "sub_processor", "Sub-processor"
    INDEPENDENT_CONTROLLER = "independent_controller", "Independent controller"
    JOINT_CONTROLLER = "joint_controller", "Joint controller"


class Authorisation(Choice):
    SPECIFIC = "specific", "Prior specific authorisation"
    GENERAL = "general", "General written authorisation"
    NOT_REQUIRED = "not_required", "Not required (not a processor)"


class LocationActivity(Choice):
    STORAGE = "storage", "Storage"
    ACCESS = "access", "Remote access"
    STORAGE_AND_ACCESS = "storage_and_access", "Storage and access"


class NoticeOutcome(Choice):
    PENDING = "pending", "Awaiting the client"
    NO_OBJECTION = "no_objection", "No objection"
    AUTHORISED = "authorised", "Authorised by the client"
    OBJECTION_RESOLVED = "objection_resolved", "Objection withdrawn or resolved"
    OBJECTION_UPHELD = "objection_upheld", "Objection upheld: not used for this client"


class InstrumentKind(Choice):
    EU_SCC = "eu_scc", "EU Standard Contractual Clauses"
    UK_IDTA = "uk_idta", "UK International Data Transfer Agreement"
    UK_ADDENDUM = "uk_addendum", "UK Addendum to the EU SCCs"
    BCR = "bcr", "Reliance on Binding Corporate Rules"
    DEROGATION = "derogation", "Art. 49 derogation"
    CODE_OF_CONDUCT = "code_of_conduct", "Code of conduct (Art. 46(2)(e))"
    CERTIFICATION = "certification", "Certification (Art. 46(2)(f))"


class DerogationGround(Choice):
    A = "a", "Art. 49(1)(a) explicit consent"
    B = "b", "Art. 49(1)(b) contract with the data subject"
    C = "c", "Art. 49(1)(c) contract in the data subject's interest"
    D = "d", "Art. 49(1)(d) important public interest"
    E = "e", "Art. 49(1)(e) legal claims"
    F = "f", "Art. 49(1)(f) vital interests"
    G = "g", "Art. 49(1)(g) public register"
    COMPELLING = "compelling_legitimate_interests", "Art. 49(1) second subpara. compelling legitimate interests"


class InstrumentSide(Choice):
    EXPORTER = "exporter", "Data exporter"
    IMPORTER = "importer", "Data importer"


class BcrType(Choice):
    BCR_C = "bcr_c", "BCR-C (controller)"
    BCR_P = "bcr_p", "BCR-P (processor)"


class PartyRole(Choice):
    CONTROLLER = "controller", "Controller"
    PROCESSOR = "processor", "Processor"


class SpecialCategoryBasis(Choice):
    EXPLICIT_CONSENT = "explicit_consent", "Explicit consent"
    VITAL_INTERESTS = "vital_interests", "Vital interests (Art. 9(2)(c))"


class TiaOutcome(Choice):
    CAN_COMPLY = "can_comply", "Can comply"
    CAN_COMPLY_WITH_MEASURES = "can_comply_with_measures", "Can comply with supplementary measures"
    CANNOT_COMPLY = "cannot_comply", "Cannot comply"


class AuditSource(Choice):
    WEB = "web", "Web"
    API = "api", "API"
    CLI = "cli", "Command line"
    IMPORT = "import", "Import"
    SEED = "seed", "Demo seed"
    SYSTEM = "system", "System"


class AuditAction(Choice):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    RETIRE = "retire", "Retired"
    DELETE = "delete", "Deleted"


class RequestType(Choice):
    PROCESSOR_LIST = "processor_list", "List of our processors (privacy notice)"
    RECIPIENTS = "recipients", "Access request: recipients (GDPR Art. 15(1)(c), 15(2))"


class RequestChannel(Choice):
    EMAIL = "email", "Email"
    WEB_FORM = "web_form", "Web form"
    POST = "post", "Post"
    PHONE = "phone", "Phone"
    IN_PERSON = "in_person", "In person"


class RequestStatus(Choice):
    RECEIVED = "received", "Received"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    IDENTITY_VERIFIED = "identity_verified", "Identity verified"
    AWAITING_CONTROLLER = "awaiting_controller", "Awaiting the controller"
    EXTENDED = "extended", "Extended"
    ANSWERED = "answered", "Answered"
    REFUSED = "refused", "Refused"


# --- mixins -----------------------------------------------------------------------------------


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Versioned:
    """A row two people may edit: the ORM refuses an UPDATE whose version moved meanwhile.

    That protects two overlapping sessions; two HTTP requests are protected by the services,
    which compare the version the user's form was built on (services.check_version).
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version}


class RegisterRecord(Timestamps, Versioned):
    """A record of the register: a stable identifier, a version, and audited writes."""

    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)

    # Label shown in audit trails and messages.
    @property
    def label(self) -> str:
        return f"{type(self).__name__} {self.id}"


# --- users and access -------------------------------------------------------------------------


class User(UserMixin, Timestamps, Versioned, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = enum_column(Role)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def label(self) -> str:
        return self.email

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.ADMIN, Role.EDITOR)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class UserSession(db.Model):
    """One login: the browser's cookie carries a random id, the register keeps only its SHA-256.

    Ending the row ends the session at once, wherever the cookie was copied to (logout, "log out
    everywhere", a password change or reset, deactivation). Not audited: it changes on every visit,
    like the login throttles; what ends sessions (a password or user change) is audited.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the account page shows to recognise a session (the browser, and where it came from).
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    user: Mapped["User"] = relationship()


class TokenScope(Choice):
    READ = "read", "Read"
    READ_WRITE = "read_write", "Read and write"


def token_scopes_for(role: Role) -> list[TokenScope]:
    """The scopes a user's token may have: never above the role (an auditor's token only reads)."""
    return [TokenScope.READ, TokenScope.READ_WRITE] if role in (Role.ADMIN, Role.EDITOR) else [TokenScope.READ]


class ApiToken(Timestamps, Versioned, db.Model):
    """A token an API client presents as `Authorization: Bearer ...`; it acts with its user's role,
    limited by its scope, until it expires or is revoked.

    Only a SHA-256 of the token is kept (tokens are 256-bit random, so a fast hash is enough); the
    token itself is shown once, when it is made.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, to recognise it in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    scope: Mapped[TokenScope] = enum_column(TokenScope)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Kept to the minute (not audited: it changes with every use).
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    user: Mapped["User"] = relationship()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.prefix}\u2026)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    @property
    def can_write(self) -> bool:
        """Writes need a read-and-write token and a role that edits (a role lowered later limits it too)."""
        return self.scope == TokenScope.READ_WRITE and self.user.can_edit


class Setting(Timestamps, Versioned, db.Model):
    """An admin's switch for the whole app (e.g. publishing the processor list)."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[str] = mapped_column(String(200), default="")

    @property
    def label(self) -> str:
        return self.key


class LoginThrottle(db.Model):
    """Login attempts per account (a SHA-256 of the email) in the window that began at
    `window_started_at`; a successful login deletes the row (register/throttle.py)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- parties ----------------------------------------------------------------------------------


class Party(RegisterRecord, db.Model):
    """Any organisation of the register; `kind` says which."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PartyKind] = enum_column(PartyKind, index=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    # Lower-cased, single-spaced legal name: the natural key with kind and country.
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    trading_name: Mapped[Optional[str]] = mapped_column(String(300))
    # ISO 3166-1 alpha-2; never set for an international organisation.
    country_code: Mapped[Optional[str]] = mapped_column(String(2), index=True)
    # An international organisation's identifier in data/countries.yaml (e.g. "EPO").
    organisation_code: Mapped[Optional[str]] = mapped_column(String(32), unique=True)
    registration_number: Mapped[Optional[str]] = mapped_column(String(100))
    address: Mapped[Optional[str]] = mapped_column(Text)
    website: Mapped[Optional[str]] = mapped_column(String(300))
    contact_name: Mapped[Optional[str]] = mapped_column(String(200))
    contact_email: Mapped[Optional[str]] = mapped_column(String(254))
    dpo_name: Mapped[Optional[str]] = mapped_column(String(200))
    dpo_email: Mapped[Optional[str]] = mapped_column(String(254))
    # Group entity roles: controller in its own right; processor for client organisations.
    is_controller: Mapped[bool] = mapped_column(Boolean, default=False)
    is_processor: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[Lifecycle] = enum_column(Lifecycle, default=Lifecycle.ACTIVE, index=True)
    starts_on: Mapped[Optional[date]] = mapped_column(Date)
    ends_on: Mapped[Optional[date]] = mapped_column(Date)
    # Third-party vetting (information security review).
    vetting_status: Mapped[Optional[VettingStatus]] = enum_column(VettingStatus, nullable=True, index=True)
    vetting_last_review_on: Mapped[Optional[date]] = mapped_column(Date)
    vetting_next_review_on: Mapped[Optional[date]] = mapped_column(Date)
    vetting_notes: Mapped[Optional[str]] = mapped_column(Text)
    # EDPB Guidelines 05/2021: an importer subject to the GDPR via Art. 3(2) still receives a transfer.
    is_subject_to_gdpr_art3_2: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether it appears in the list of processors given to data subjects.
    is_in_subject_list: Mapped[bool] = mapped_column(Boolean, default=True)
    # Clients: days of notice before a sub-processor change (Art. 28(2)).
    notice_period_days: Mapped[Optional[int]] = mapped_column(Integer)
    # Other names the party is known by (one per line: "AWS", "Amazon Web Services Inc (AWS)"); a DPF
    # entry naming one of them is the party's own (register/rules/adequacy.py).
    aliases: Mapped[Optional[str]] = mapped_column(Text)
    # A third party's own legal entity in another country (Microsoft's in Japan): the vendor it belongs to.
    # Routes and engagements name the affiliate that receives the data, so the law's questions (scope
    # facts, DPF entries, vetting) are asked of it; the subject list names it under its vendor.
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("parties.id"), index=True)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    parent: Mapped[Optional["Party"]] = relationship(remote_side="Party.id", foreign_keys=[parent_id])
    certificates: Mapped[list["Certificate"]] = relationship(
        back_populates="third_party", order_by="Certificate.expires_on.desc()"
    )
    dpf_certifications: Mapped[list["DpfCertification"]] = relationship(back_populates="third_party")
    scope_facts: Mapped[list["ScopeFact"]] = relationship(back_populates="party")

    __table_args__ = (
        UniqueConstraint("kind", "name_key", "country_code", name="uq_parties_natural_key"),
        CheckConstraint(
            "(kind = 'international_organisation' AND country_code IS NULL AND organisation_code IS NOT NULL)"
            " OR (kind <> 'international_organisation' AND country_code IS NOT NULL)",
            name="location",
        ),
        CheckConstraint("starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on", name="dates_ordered"),
    )
    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version, "polymorphic_on": cls.__table__.c.kind}

    @property
    def label(self) -> str:
        return self.legal_name

    @property
    def location_code(self) -> str:
        return self.country_code or self.organisation_code or ""

    @property
    def alias_list(self) -> list[str]:
        return alias_list(self.aliases)


def alias_list(text: Optional[str]) -> list[str]:
    """The names of an aliases text, one per line, blanks and repeats left out."""
    return list(dict.fromkeys(line.strip() for line in (text or "").splitlines() if line.strip()))


class GroupEntity(Party):
    __mapper_args__ = {"polymorphic_identity": PartyKind.GROUP_ENTITY}


class ThirdParty(Party):
    __mapper_args__ = {"polymorphic_identity": PartyKind.THIRD_PARTY}


class Client(Party):
    __mapper_args__ = {"polymorphic_identity": PartyKind.CLIENT}


class InternationalOrganisation(Party):
    __mapper_args__ = {"polymorphic_identity": PartyKind.INTERNATIONAL_ORGANISATION}


class Certificate(RegisterRecord, db.Model):
    """An ISO/IEC 27001 certificate held by a third party."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    third_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    edition: Mapped[IsoEdition] = enum_column(IsoEdition)
    certificate_number: Mapped[str] = mapped_column(String(100))
    certification_body: Mapped[str] = mapped_column(String(200))
    scope: Mapped[Optional[str]] = mapped_column(Text)
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    last_verified_on: Mapped[Optional[date]] = mapped_column(Date)
    withdrawn_on: Mapped[Optional[date]] = mapped_column(Date)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    third_party: Mapped[Party] = relationship(back_populates="certificates")

    __table_args__ = (CheckConstraint("issued_on <= expires_on", name="dates_ordered"),)

    @property
    def label(self) -> str:
        return f"ISO/IEC 27001:{self.edition} {self.certificate_number}"


class DpfCertification(RegisterRecord, db.Model):
    """A Data Privacy Framework List entry as verified for a third party."""

    __tablename__ = "dpf_certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    third_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    framework: Mapped[DpfFramework] = enum_column(DpfFramework)
    covers_hr_data: Mapped[bool] = mapped_column(Boolean, default=False)
    covers_non_hr_data: Mapped[bool] = mapped_column(Boolean, default=True)
    # The legal entity named on the DPF List: only that entity is covered.
    certified_entity_name: Mapped[str] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    verified_on: Mapped[Optional[date]] = mapped_column(Date)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    third_party: Mapped[Party] = relationship(back_populates="dpf_certifications")

    __table_args__ = (UniqueConstraint("third_party_id", "framework", name="uq_dpf_certifications_one_per_framework"),)

    @property
    def label(self) -> str:
        return f"{self.framework.label}: {self.certified_entity_name}"


class ScopeFact(RegisterRecord, db.Model):
    """A party's answer to a scope condition of a partial adequacy decision (keys in countries.yaml)."""

    __tablename__ = "scope_facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    fact_key: Mapped[str] = mapped_column(String(64))
    answer: Mapped[Answer] = enum_column(Answer, default=Answer.UNKNOWN)
    verified_on: Mapped[Optional[date]] = mapped_column(Date)
    note: Mapped[Optional[str]] = mapped_column(Text)

    party: Mapped[Party] = relationship(back_populates="scope_facts")

    __table_args__ = (UniqueConstraint("party_id", "fact_key", name="uq_scope_facts_one_per_key"),)

    @property
    def label(self) -> str:
        return f"{self.fact_key} = {self.answer}"


# --- engagements: the processor and sub-processor chain ---------------------------------------


class Engagement(RegisterRecord, db.Model):
    """A party engages another for a service; the sub-processor chain is this graph."""

    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    engager_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    engaged_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    service: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[Optional[str]] = mapped_column(String(300))
    relationship_type: Mapped[Relationship] = enum_column(Relationship)
    contract_reference: Mapped[Optional[str]] = mapped_column(String(200))
    contract_signed_on: Mapped[Optional[date]] = mapped_column(Date)
    # Art. 28(2): prior specific or general written authorisation of the controller.
    authorisation: Mapped[Optional[Authorisation]] = enum_column(Authorisation, nullable=True)
    authorised_on: Mapped[Optional[date]] = mapped_column(Date)
    status: Mapped[Lifecycle] = enum_column(Lifecycle, default=Lifecycle.ACTIVE, index=True)
    planned_start_on: Mapped[Optional[date]] = mapped_column(Date)
    starts_on: Mapped[Optional[date]] = mapped_column(Date)
    ends_on: Mapped[Optional[date]] = mapped_column(Date)
    # Why a proposed sub-processor became active before every client's objection window closed
    # (Art. 28(2)); who recorded it is in the trail.
    activation_override_reason: Mapped[Optional[str]] = mapped_column(Text)
    # What the subject-facing list says of it: the categories of personal data it processes, and the
    # condition under which it does, in words ("only if you use the AI features"; blank: always).
    data_categories: Mapped[Optional[str]] = mapped_column(Text)
    condition: Mapped[Optional[str]] = mapped_column(String(300))
    notes: Mapped[Optional[str]] = mapped_column(Text)

    engager: Mapped[Party] = relationship(foreign_keys=[engager_id])
    engaged: Mapped[Party] = relationship(foreign_keys=[engaged_id])
    locations: Mapped[list["EngagementLocation"]] = relationship(
        back_populates="engagement", cascade="all, delete-orphan", order_by="EngagementLocation.country_code"
    )

    __table_args__ = (
        UniqueConstraint("engager_id", "engaged_id", "service", name="uq_engagements_one_per_service"),
        CheckConstraint("engager_id <> engaged_id", name="not_self"),
        CheckConstraint("starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on", name="dates_ordered"),
    )

    @property
    def label(self) -> str:
        return f"{self.engager.legal_name} \u2192 {self.engaged.legal_name}: {self.service}"


class VendorStatement(RegisterRecord, db.Model):
    """What a vendor states about its transfers (a sub-processor list's "SCCs", "DPF-certified"), with its
    source and date: evidence to verify, never an instrument; the rules read it as attention."""

    __tablename__ = "vendor_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The vendor that states it; with an engagement, the statement is about that engagement's routes only.
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    engagement_id: Mapped[Optional[int]] = mapped_column(ForeignKey("engagements.id"), index=True)
    mechanism: Mapped[StatedMechanism] = enum_column(StatedMechanism)
    # For a DPF statement: the framework it names (none: whichever the route's regime needs).
    dpf_framework: Mapped[Optional[DpfFramework]] = enum_column(DpfFramework, nullable=True)
    # The vendor's own words ("Standard Contractual Clauses (Module 3)"); required for "other".
    stated_text: Mapped[Optional[str]] = mapped_column(String(300))
    # The regime the statement is about; none: every regime of the route's data.
    regime: Mapped[Optional[Regime]] = enum_column(Regime, nullable=True)
    source: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[Optional[str]] = mapped_column(String(500))
    stated_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    party: Mapped[Party] = relationship()
    engagement: Mapped[Optional["Engagement"]] = relationship()

    @property
    def label(self) -> str:
        return f"{self.party.legal_name}: {self.mechanism.label} ({self.source}, {self.stated_on})"


class ChangeNotice(RegisterRecord, db.Model):
    """A client told of an intended sub-processor change (GDPR Art. 28(2)), and what it answered."""

    __tablename__ = "change_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    # The intended change: an engagement of a sub-processor that will process the client's data.
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    # The sub-processor the client was told of (the engagement's engaged party then): a notice does
    # not cover another party swapped in later.
    sub_processor_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    sent_on: Mapped[Optional[date]] = mapped_column(Date)
    sent_to: Mapped[Optional[str]] = mapped_column(String(300))
    # The last day the client may object (by default: sent on + the client's notice period).
    objection_deadline: Mapped[Optional[date]] = mapped_column(Date)
    objection_received_on: Mapped[Optional[date]] = mapped_column(Date)
    objection_details: Mapped[Optional[str]] = mapped_column(Text)
    outcome: Mapped[NoticeOutcome] = enum_column(NoticeOutcome, default=NoticeOutcome.PENDING)
    outcome_on: Mapped[Optional[date]] = mapped_column(Date)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    client: Mapped[Party] = relationship(foreign_keys=[client_id])
    sub_processor: Mapped[Party] = relationship(foreign_keys=[sub_processor_id])
    engagement: Mapped["Engagement"] = relationship()

    __table_args__ = (
        UniqueConstraint("client_id", "engagement_id", "sub_processor_id", name="uq_change_notices_one_per_client"),
        CheckConstraint("sent_on IS NULL OR objection_deadline IS NULL OR sent_on <= objection_deadline", name="dates_ordered"),
    )

    @property
    def label(self) -> str:
        return f"Notice to {self.client.legal_name}: {self.sub_processor.legal_name} ({self.engagement.service})"


class EngagementLocation(db.Model):
    """A country (or a region: register/regions.py) where the engaged party stores or accesses the data;
    part of its engagement."""

    __tablename__ = "engagement_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"), index=True)
    # An ISO 3166-1 alpha-2 code, or a region's code ("WORLD", "EEA", a region of the register's own).
    country_code: Mapped[str] = mapped_column(String(32))
    activity: Mapped[LocationActivity] = enum_column(LocationActivity, default=LocationActivity.STORAGE_AND_ACCESS)

    engagement: Mapped[Engagement] = relationship(back_populates="locations")

    __table_args__ = (UniqueConstraint("engagement_id", "country_code", name="uq_engagement_locations_one_per_country"),)


class Region(RegisterRecord, db.Model):
    """A named set of countries the register's users define ("APAC", "AWS eu-central-1"), a processing
    location or a route's destination; EEA, EU and WORLD are the law's, built in (register/regions.py)."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Upper case letters, digits and hyphens, three characters at least (never a country's code).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The member countries: ISO 3166-1 alpha-2 codes, comma-separated, sorted.
    country_codes: Mapped[str] = mapped_column(Text)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def member_codes(self) -> tuple[str, ...]:
        return tuple(sorted({part.strip() for part in (self.country_codes or "").split(",") if part.strip()}))


# --- transfer instruments and BCR -------------------------------------------------------------


class BcrApproval(RegisterRecord, db.Model):
    """An approval of the group's BCR by one regime's authority (Art. 47)."""

    __tablename__ = "bcr_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    regime: Mapped[Regime] = enum_column(Regime)
    bcr_type: Mapped[BcrType] = enum_column(BcrType)
    authority: Mapped[str] = mapped_column(String(300))
    reference: Mapped[Optional[str]] = mapped_column(String(200))
    approved_on: Mapped[date] = mapped_column(Date)
    withdrawn_on: Mapped[Optional[date]] = mapped_column(Date)
    status: Mapped[Lifecycle] = enum_column(Lifecycle, default=Lifecycle.ACTIVE)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    memberships: Mapped[list["BcrMembership"]] = relationship(
        back_populates="approval", cascade="all, delete-orphan", order_by="BcrMembership.bound_from"
    )

    __table_args__ = (
        UniqueConstraint("regime", "bcr_type", "name", name="uq_bcr_approvals_one_per_regime"),
        CheckConstraint("withdrawn_on IS NULL OR approved_on <= withdrawn_on", name="dates_ordered"),
    )

    @property
    def label(self) -> str:
        return f"{self.name} ({self.regime}, {self.bcr_type.label})"


class BcrMembership(db.Model):
    """A group entity bound by an approved BCR, from and to a date; part of its approval."""

    __tablename__ = "bcr_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("bcr_approvals.id", ondelete="CASCADE"), index=True)
    group_entity_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    bound_from: Mapped[date] = mapped_column(Date)
    bound_to: Mapped[Optional[date]] = mapped_column(Date)

    approval: Mapped[BcrApproval] = relationship(back_populates="memberships")
    group_entity: Mapped[Party] = relationship()

    __table_args__ = (
        UniqueConstraint("approval_id", "group_entity_id", "bound_from", name="uq_bcr_memberships_one_per_period"),
        CheckConstraint("bound_to IS NULL OR bound_from <= bound_to", name="dates_ordered"),
    )


class InstrumentParty(db.Model):
    """A signatory of an instrument, on the exporter's or the importer's side."""

    __tablename__ = "instrument_parties"

    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("transfer_instruments.id", ondelete="CASCADE"), primary_key=True
    )
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True, index=True)
    side: Mapped[InstrumentSide] = enum_column(InstrumentSide, primary_key=True)

    party: Mapped[Party] = relationship()


class TransferInstrument(RegisterRecord, db.Model):
    """A signed transfer tool (or a documented derogation) that routes can rely on."""

    __tablename__ = "transfer_instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InstrumentKind] = enum_column(InstrumentKind, index=True)
    title: Mapped[str] = mapped_column(String(300))
    document_reference: Mapped[Optional[str]] = mapped_column(String(200))
    # EU SCCs: the Commission decision ("2021/914", or a pre-2021 set) and the modules used.
    scc_decision: Mapped[Optional[str]] = mapped_column(String(40))
    scc_modules: Mapped[Optional[str]] = mapped_column(String(16))  # e.g. "2,3"
    has_swiss_adaptation: Mapped[bool] = mapped_column(Boolean, default=False)
    uk_addendum_version: Mapped[Optional[str]] = mapped_column(String(40))
    bcr_approval_id: Mapped[Optional[int]] = mapped_column(ForeignKey("bcr_approvals.id"), index=True)
    derogation_ground: Mapped[Optional[DerogationGround]] = enum_column(DerogationGround, nullable=True)
    derogation_justification: Mapped[Optional[str]] = mapped_column(Text)
    # Codes of conduct and certifications: the scheme relied on.
    scheme_name: Mapped[Optional[str]] = mapped_column(String(300))
    signed_on: Mapped[Optional[date]] = mapped_column(Date)
    terminated_on: Mapped[Optional[date]] = mapped_column(Date)
    status: Mapped[Lifecycle] = enum_column(Lifecycle, default=Lifecycle.ACTIVE, index=True)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    bcr_approval: Mapped[Optional[BcrApproval]] = relationship()
    signatories: Mapped[list[InstrumentParty]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(
            "signed_on IS NULL OR terminated_on IS NULL OR signed_on <= terminated_on", name="dates_ordered"
        ),
    )

    @property
    def label(self) -> str:
        return self.title

    @property
    def module_numbers(self) -> frozenset[int]:
        return frozenset(int(part) for part in (self.scc_modules or "").split(",") if part.strip())


# --- transfer routes --------------------------------------------------------------------------

route_instruments = db.Table(
    "route_instruments",
    db.Column("route_id", ForeignKey("transfer_routes.id", ondelete="CASCADE"), primary_key=True),
    db.Column("instrument_id", ForeignKey("transfer_instruments.id"), primary_key=True, index=True),
)


class TransferRoute(RegisterRecord, db.Model):
    """Personal data flowing from an exporter to an importer in a destination."""

    __tablename__ = "transfer_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    exporter_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    importer_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    # Exactly one of: a country (ISO 3166-1 alpha-2) or a region's code ("WORLD", "EEA", a region of
    # the register's own: register/regions.py), or an international organisation.
    destination_country: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    destination_organisation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("parties.id"), index=True)
    # The regimes of the data carried: from the exporter's location for a first hop, inherited
    # from the source route for an onward transfer (Art. 44 "including onward transfers").
    carries_eu_data: Mapped[bool] = mapped_column(Boolean, default=False)
    carries_uk_data: Mapped[bool] = mapped_column(Boolean, default=False)
    carries_ch_data: Mapped[bool] = mapped_column(Boolean, default=False)
    source_route_id: Mapped[Optional[int]] = mapped_column(ForeignKey("transfer_routes.id"), index=True)
    exporter_role: Mapped[PartyRole] = enum_column(PartyRole)
    importer_role: Mapped[PartyRole] = enum_column(PartyRole)
    engagement_id: Mapped[Optional[int]] = mapped_column(ForeignKey("engagements.id"), index=True)
    purpose: Mapped[Optional[str]] = mapped_column(String(300))
    data_subject_categories: Mapped[Optional[str]] = mapped_column(Text)
    data_categories: Mapped[Optional[str]] = mapped_column(Text)
    has_special_category_data: Mapped[bool] = mapped_column(Boolean, default=False)
    special_category_basis: Mapped[Optional[SpecialCategoryBasis]] = enum_column(
        SpecialCategoryBasis, nullable=True
    )
    consent_mechanism: Mapped[Optional[str]] = mapped_column(String(300))
    has_hr_data: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[Lifecycle] = enum_column(Lifecycle, default=Lifecycle.ACTIVE, index=True)
    starts_on: Mapped[Optional[date]] = mapped_column(Date)
    ends_on: Mapped[Optional[date]] = mapped_column(Date)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    exporter: Mapped[Party] = relationship(foreign_keys=[exporter_id])
    importer: Mapped[Party] = relationship(foreign_keys=[importer_id])
    destination_organisation: Mapped[Optional[Party]] = relationship(foreign_keys=[destination_organisation_id])
    source_route: Mapped[Optional["TransferRoute"]] = relationship(remote_side=[id])
    engagement: Mapped[Optional[Engagement]] = relationship()
    instruments: Mapped[list[TransferInstrument]] = relationship(
        secondary=route_instruments, order_by=TransferInstrument.id
    )
    assessments: Mapped[list["TransferImpactAssessment"]] = relationship(
        back_populates="route", order_by="TransferImpactAssessment.assessed_on.desc()"
    )
    # Today's stored verdict (register/assessments.py keeps it up to date).
    verdict: Mapped[Optional["RouteVerdict"]] = relationship(viewonly=True, uselist=False)

    __table_args__ = (
        CheckConstraint("exporter_id <> importer_id", name="not_self"),
        CheckConstraint(
            "(destination_country IS NULL) <> (destination_organisation_id IS NULL)", name="one_destination"
        ),
        CheckConstraint("starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on", name="dates_ordered"),
        Index("ix_transfer_routes_status_destination", "status", "destination_country"),
    )

    @property
    def label(self) -> str:
        return f"{self.exporter.legal_name} \u2192 {self.importer.legal_name} ({self.destination_code})"

    @property
    def destination_code(self) -> str:
        if self.destination_country:
            return self.destination_country
        return self.destination_organisation.organisation_code if self.destination_organisation else ""

    @property
    def regimes(self) -> list[Regime]:
        flags = (
            (Regime.EU, self.carries_eu_data),
            (Regime.UK, self.carries_uk_data),
            (Regime.CH, self.carries_ch_data),
        )
        return [regime for regime, carried in flags if carried]


class TransferImpactAssessment(RegisterRecord, db.Model):
    """A TIA (UK: transfer risk assessment) for a route under one regime or all (Schrems II)."""

    __tablename__ = "transfer_impact_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("transfer_routes.id"), index=True)
    regime: Mapped[Optional[Regime]] = enum_column(Regime, nullable=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[TiaOutcome] = enum_column(TiaOutcome)
    next_review_on: Mapped[Optional[date]] = mapped_column(Date)
    document_reference: Mapped[Optional[str]] = mapped_column(String(200))
    notes: Mapped[Optional[str]] = mapped_column(Text)

    route: Mapped[TransferRoute] = relationship(back_populates="assessments")

    __table_args__ = (
        CheckConstraint("next_review_on IS NULL OR assessed_on <= next_review_on", name="dates_ordered"),
    )

    @property
    def label(self) -> str:
        return f"TIA of {self.assessed_on.isoformat()} ({self.outcome.label})"


# --- data subjects' requests (register/requests) -------------------------------------------


class SubjectRequest(RegisterRecord, db.Model):
    """A request for the list of our processors, or for the recipients of a person's data (Art. 15).

    Only what is not personal data: the requester's name and contact, and every free text of its steps
    (which may name the person), live in `RequestPersonalData`, erased 30 days after the answer, and the
    trail records only that they were given, changed or erased.
    """

    __tablename__ = "subject_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_type: Mapped[RequestType] = enum_column(RequestType)
    channel: Mapped[RequestChannel] = enum_column(RequestChannel)
    received_on: Mapped[date] = mapped_column(Date)
    status: Mapped[RequestStatus] = enum_column(RequestStatus, default=RequestStatus.RECEIVED, index=True)
    acknowledged_on: Mapped[Optional[date]] = mapped_column(Date)
    identity_verified_on: Mapped[Optional[date]] = mapped_column(Date)
    # Scope: group entities (comma-separated ids; empty = the whole group) and purposes (free text,
    # comma-separated; for Art. 15 the entities and purposes that hold the person's data).
    scope_entity_ids: Mapped[Optional[str]] = mapped_column(String(400))
    scope_purposes: Mapped[Optional[str]] = mapped_column(String(300))
    # We act as processor for the requester's organisation: its controller instructs us first.
    is_for_controller: Mapped[bool] = mapped_column(Boolean, default=False)
    controller_id: Mapped[Optional[int]] = mapped_column(ForeignKey("parties.id"), index=True)
    controller_asked_on: Mapped[Optional[date]] = mapped_column(Date)
    controller_answered_on: Mapped[Optional[date]] = mapped_column(Date)
    extension_told_on: Mapped[Optional[date]] = mapped_column(Date)
    answered_on: Mapped[Optional[date]] = mapped_column(Date)
    refused_on: Mapped[Optional[date]] = mapped_column(Date)
    personal_data_purged_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    controller: Mapped[Optional[Party]] = relationship()
    personal: Mapped[Optional["RequestPersonalData"]] = relationship(
        back_populates="request", uselist=False, cascade="all, delete-orphan"
    )
    answer: Mapped[Optional["RequestAnswer"]] = relationship(
        back_populates="request", uselist=False, cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        return f"Request #{self.id} ({self.request_type.label.split(' (')[0]}, received {self.received_on.isoformat()})"

    @property
    def entity_ids(self) -> list[int]:
        return [int(part) for part in (self.scope_entity_ids or "").split(",") if part.strip().isdigit()]

    @property
    def purposes(self) -> list[str]:
        return [part.strip() for part in (self.scope_purposes or "").split(",") if part.strip()]


class RequestPersonalData(db.Model):
    """The one place that holds a requester's personal data; erased 30 days after the answer.

    With the name and contact, the texts of the request's steps: they are told to or about the person
    and may name them ("Told Quentin ... on +41 79 ..."), so they are erased with them.
    """

    __tablename__ = "request_personal_data"

    request_id: Mapped[int] = mapped_column(ForeignKey("subject_requests.id", ondelete="CASCADE"), primary_key=True)
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_contact: Mapped[str] = mapped_column(String(300))
    notes: Mapped[Optional[str]] = mapped_column(Text)
    controller_instructions: Mapped[Optional[str]] = mapped_column(Text)
    extension_reason: Mapped[Optional[str]] = mapped_column(Text)
    refusal_reason: Mapped[Optional[str]] = mapped_column(Text)

    request: Mapped[SubjectRequest] = relationship(back_populates="personal")


class RequestAnswer(db.Model):
    """The answer as sent: register content only (never the requester's details), with its SHA-256."""

    __tablename__ = "request_answers"

    request_id: Mapped[int] = mapped_column(ForeignKey("subject_requests.id", ondelete="CASCADE"), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    sent_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[SubjectRequest] = relationship(back_populates="answer")


# --- the audit trail --------------------------------------------------------------------------


class AuditEvent(db.Model):
    """One write to the register: who, when (UTC), from where, which record, what changed."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    # Who acted when no user did (a CLI run without --as, the demo seed): kept as text.
    actor_label: Mapped[str] = mapped_column(String(254))
    source: Mapped[AuditSource] = enum_column(AuditSource)
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    record_uid: Mapped[Optional[str]] = mapped_column(String(36))
    record_label: Mapped[str] = mapped_column(String(300))
    # The record's version after this write: "what changed since version N" for conflict pages.
    record_version: Mapped[Optional[int]] = mapped_column(Integer)
    action: Mapped[AuditAction] = enum_column(AuditAction)
    # {field: [before, after]} for every field that changed (secrets redacted).
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    user: Mapped[Optional[User]] = relationship()

    __table_args__ = (Index("ix_audit_events_record", "record_type", "record_id"),)


AUDITED_MODELS: tuple[type, ...] = (
    User,
    ApiToken,
    Setting,
    Party,
    Certificate,
    DpfCertification,
    VendorStatement,
    ScopeFact,
    Engagement,
    BcrApproval,
    TransferInstrument,
    TransferRoute,
    TransferImpactAssessment,
    ChangeNotice,
    SubjectRequest,
    Region,
)
# Rows owned by an audited record: written only together with their owner's event.
OWNED_MODELS: dict[type, str] = {
    EngagementLocation: "engagement",
    BcrMembership: "approval",
    InstrumentParty: "instrument",
    RequestPersonalData: "request",
    RequestAnswer: "request",
}


# --- stored assessments (derived from the register and countries.yaml; not audited) -----------


class RouteVerdict(db.Model):
    """Today's verdict on a route, kept so that lists and the dashboard filter and count quickly.

    Derived data: recomputed on every write that can change it, daily, and when countries.yaml
    changes (register/assessments.py). The reasons are not stored: a route's page asks the rules
    (milliseconds for one route); what-if dates are computed on the fly too.
    """

    __tablename__ = "route_verdicts"

    route_id: Mapped[int] = mapped_column(ForeignKey("transfer_routes.id", ondelete="CASCADE"), primary_key=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    # Whether the route is live (not retired) - kept here so the dashboard's counts never join routes.
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    # The destination (ISO code, or the organisation's id in countries.yaml), for the dashboard's counts.
    destination: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    # Sorted, comma-separated mechanisms over the route's regimes (e.g. "adequacy,scc").
    mechanisms: Mapped[str] = mapped_column(String(200), default="")
    breaks_notice_promise: Mapped[bool] = mapped_column(Boolean, default=False)
    importer_vetting: Mapped[Optional[str]] = mapped_column(String(30), index=True)

    regimes: Mapped[list["RouteRegimeVerdict"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        Index("ix_route_verdicts_counts", "live", "status", "breaks_notice_promise"),
        Index("ix_route_verdicts_destinations", "live", "destination"),
    )


class RouteRegimeVerdict(db.Model):
    """One regime's verdict on a route: for filtering by regime and mechanism."""

    __tablename__ = "route_regime_verdicts"

    route_id: Mapped[int] = mapped_column(ForeignKey("route_verdicts.route_id", ondelete="CASCADE"), primary_key=True)
    regime: Mapped[str] = mapped_column(String(2), primary_key=True)
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    mechanism: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # The countries.yaml adequacy instrument relied on, if any: "which routes depend on this decision".
    adequacy_id: Mapped[Optional[str]] = mapped_column(String(60), index=True)

    __table_args__ = (Index("ix_route_regime_verdicts_counts", "live", "regime", "mechanism", "status", "adequacy_id"),)


class AssessmentRun(db.Model):
    """When the stored verdicts were last computed for the whole register, and under which law file."""

    __tablename__ = "assessment_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    law_digest: Mapped[str] = mapped_column(String(64))
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    route_count: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(db.Float, default=0.0)


class Job(db.Model):
    """Work done by the job worker (register/jobs): an import's check or apply, a large download, the
    daily assessment, purge and check. Its progress is in the shared job folder (JOB_FILES), written
    by the worker without a database write (an import holds SQLite's write lock); its result too.

    `dedup_key` names what the job does: while one such job is queued or running, asking again gives
    that job (a unique index on the active jobs' keys), and a job runs only if it can be claimed
    (queued → running), so a job queued twice runs once.
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(43), primary_key=True, autoincrement=False)  # a random token (URLs, files)
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    dedup_key: Mapped[Optional[str]] = mapped_column(String(250))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[Optional[str]] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    user = relationship("User")

    __table_args__ = (Index("uq_jobs_active_dedup_key", "dedup_key", unique=True,
                            sqlite_where=text("state IN ('queued', 'running')"),
                            postgresql_where=text("state IN ('queued', 'running')")),)


class OutboxMessage(db.Model):
    """A mail the register sends (register/mail): written in the same transaction as what causes it,
    sent by the job worker, retried with backoff, never sent twice (claimed pending -> sending before
    the SMTP conversation; a message whose sender vanished mid-send stays "unknown" for staff to look
    at, not sent again). `dedup_key` names the message's cause: one message per cause."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(250))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[Optional[str]] = mapped_column(Text)
    dedup_key: Mapped[Optional[str]] = mapped_column(String(250), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_error: Mapped[Optional[str]] = mapped_column(String(500))
    # What it is about (a change notice, a subscription ...), to show its deliveries there.
    about_type: Mapped[Optional[str]] = mapped_column(String(40))
    about_id: Mapped[Optional[int]] = mapped_column(Integer)

    deliveries = relationship("MailDelivery", order_by="MailDelivery.id", back_populates="message",
                              cascade="all, delete-orphan")

    __table_args__ = (Index("ix_mail_outbox_about", "about_type", "about_id"),)


class MailDelivery(db.Model):
    """One attempt to deliver an outbox message: when, to which server, and what it answered."""

    __tablename__ = "mail_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("mail_outbox.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(10))  # sent / failed / unknown
    detail: Mapped[Optional[str]] = mapped_column(String(500))

    message = relationship("OutboxMessage", back_populates="deliveries")


class ListSubscriber(db.Model):
    """Someone who asked to hear of changes to the public processor list (register/subscriptions.py).
    Personal data: confirmed by mail before anything is sent, erased on unsubscribe (with the mail
    sent to them), never in an export, not in the audit trail."""

    __tablename__ = "list_subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    frequency: Mapped[str] = mapped_column(String(10), default="each")  # each change / daily digest
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # The newest change (audit event id) already sent to them; and the day of their last digest.
    sent_up_to: Mapped[int] = mapped_column(Integer, default=0)
    last_digest_on: Mapped[Optional[date]] = mapped_column(Date)


class Notification(db.Model):
    """A reminder given to one user (register/reminders.py): the in-app list; `key` names what it is
    about and its threshold, so each is given once."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(250))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300))
    created_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_notifications_once_per_user"),)


class ReminderPreference(db.Model):
    """Which reminders a user wants, and how they are mailed (immediate / daily / none)."""

    __tablename__ = "reminder_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    frequency: Mapped[str] = mapped_column(String(10), default="daily")
