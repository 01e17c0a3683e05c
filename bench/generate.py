"""A large, realistic and deterministic register for the benchmarks, bulk-loaded with SQLAlchemy Core.

Every write to the register goes through `register.services` (validated, audited). This bulk fixture
loader is the one allowed exception: writing 100,000 routes one audited unit at a time would take
longer than everything the benchmark measures. So the rows are built to look exactly like what the
services write (uuid4 uids, `name_key`, version 1, aware UTC timestamps through `UTCDateTime`, enum
values as strings, column defaults) and to satisfy every constraint and validator; tests/test_bench.py
feeds a sample back through the services' validators. The loader writes no audit events: no user
made these records.

The same seed gives the same register; only the dates move with `today`.
"""

import enum
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

import pycountry
from sqlalchemy import Connection, Table, func, select

from register import countries
from register.models import (
    Answer,
    Authorisation,
    BcrApproval,
    BcrMembership,
    BcrType,
    Certificate,
    DerogationGround,
    DpfCertification,
    DpfFramework,
    Engagement,
    EngagementLocation,
    InstrumentKind,
    InstrumentParty,
    InstrumentSide,
    IsoEdition,
    Lifecycle,
    LocationActivity,
    Party,
    PartyKind,
    PartyRole,
    Regime,
    Relationship,
    ScopeFact,
    SpecialCategoryBasis,
    TiaOutcome,
    TransferImpactAssessment,
    TransferInstrument,
    TransferRoute,
    Region,
    VendorStatement,
    VettingStatus,
    route_instruments,
)
from register.services import name_key

DEFAULT_SEED = 20261125
CHUNK_ROWS = 2_000


@dataclass(frozen=True)
class Scale:
    """How big a register to generate; the other record counts follow from these three."""

    name: str
    group_entities: int
    third_parties: int
    routes: int

    @property
    def clients(self) -> int:
        return max(2, self.group_entities // 2)

    @property
    def engagements(self) -> int:
        return self.third_parties * 3 // 2

    @property
    def instruments(self) -> int:
        return max(4, self.third_parties // 5)

    def describe(self) -> str:
        return (f"{self.name}: {self.group_entities:,} group entities, {self.third_parties:,} third parties, "
                f"{self.routes:,} routes")


SCALES: dict[str, Scale] = {
    "full": Scale("full", group_entities=500, third_parties=10_000, routes=100_000),
    "small": Scale("small", group_entities=50, third_parties=1_000, routes=10_000),
    # For tests: every kind of record, in a second.
    "tiny": Scale("tiny", group_entities=8, third_parties=60, routes=300),
}


# --- where things are -------------------------------------------------------------------------

EEA = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
       "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO")
# Territories nobody processes data in.
UNINHABITED = {"AQ", "BV", "HM", "TF", "UM", "IO", "GS", "PN"}


class Countries:
    """A weighted choice of ISO 3166-1 alpha-2 codes, with a thin tail of every other country."""

    def __init__(self, weights: dict[str, float], tail: float = 0.0):
        codes = dict(weights)
        if tail:
            for country in pycountry.countries:
                if country.alpha_2 not in codes and country.alpha_2 not in UNINHABITED:
                    codes[country.alpha_2] = tail
        for code in codes:
            if pycountry.countries.get(alpha_2=code) is None:
                raise ValueError(f"not an ISO 3166-1 code: {code}")
        self.codes = list(codes)
        total, self.cumulative = 0.0, []
        for code in self.codes:
            total += codes[code]
            self.cumulative.append(total)

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.codes, cum_weights=self.cumulative)[0]


_EEA_REST = {code: 0.6 for code in EEA}
# A European medical and travel assistance group with offices worldwide.
GROUP_COUNTRIES = Countries({**_EEA_REST, "DE": 8, "FR": 8, "NL": 4, "IE": 4, "ES": 5, "IT": 5, "BE": 3, "PL": 3,
                             "SE": 2, "AT": 2, "PT": 2, "DK": 1.5, "CZ": 1.5, "GB": 8, "CH": 4, "US": 7, "IN": 3,
                             "CA": 1.5, "SG": 1.5, "JP": 1, "AU": 1.5, "BR": 1, "MX": 1, "AE": 1, "ZA": 1,
                             "CN": 1, "TH": 0.8, "TR": 0.8, "MA": 0.6, "AR": 0.6, "KR": 0.5, "IL": 0.5})
CLIENT_COUNTRIES = Countries({**_EEA_REST, "DE": 6, "FR": 6, "NL": 3, "IT": 3, "ES": 3, "BE": 2, "GB": 6, "CH": 3,
                              "US": 3, "CA": 1})
# Vendors: heavy in the US, India and Europe, a long tail everywhere else.
THIRD_PARTY_COUNTRIES = Countries({**_EEA_REST, "US": 24, "GB": 8, "IN": 7, "DE": 6, "FR": 4, "IE": 4, "NL": 4,
                                   "ES": 2, "IT": 2, "PL": 2, "SE": 1.5, "CH": 3, "CA": 2, "IL": 1.5, "JP": 1.5,
                                   "SG": 2, "AU": 1.5, "PH": 1.5, "CN": 1.5, "BR": 1.2, "KR": 1, "UA": 1,
                                   "MX": 0.8, "AR": 0.6, "ZA": 0.8, "AE": 0.7, "NZ": 0.4, "UY": 0.3, "RS": 0.6,
                                   "TR": 0.6, "EG": 0.5, "MY": 0.6, "VN": 0.6, "PK": 0.5, "MA": 0.4},
                                  tail=0.03)
# Where processors store or access data (data centres, support desks).
LOCATION_COUNTRIES = Countries({"US": 20, "IE": 8, "DE": 8, "NL": 6, "FR": 4, "GB": 6, "IN": 7, "SG": 3, "JP": 2,
                                "AU": 2, "CA": 2, "BR": 1, "PH": 2, "CH": 2, "SE": 2, "FI": 1, "PL": 1.5,
                                "ZA": 0.7, "KR": 0.7, "IL": 0.8, "UA": 0.5, "CN": 0.5, "MX": 0.5},
                               tail=0.01)

LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "DE": ("GmbH", "AG", "SE"), "AT": ("GmbH",), "CH": ("AG", "GmbH", "SA"), "LI": ("AG",),
    "FR": ("SAS", "SA", "SARL"), "BE": ("SA", "NV", "BV"), "NL": ("B.V.", "N.V."), "LU": ("S.à r.l.", "S.A."),
    "IE": ("Limited", "DAC"), "GB": ("Ltd", "Limited", "plc"), "US": ("Inc.", "LLC", "Corp."),
    "CA": ("Inc.", "Ltd."), "IN": ("Private Limited",), "ES": ("S.L.", "S.A."), "IT": ("S.r.l.", "S.p.A."),
    "PT": ("Lda.", "S.A."), "PL": ("sp. z o.o.", "S.A."), "SE": ("AB",), "DK": ("A/S", "ApS"), "NO": ("AS",),
    "FI": ("Oy",), "IS": ("ehf.",), "CZ": ("s.r.o.", "a.s."), "SK": ("s.r.o.",), "HU": ("Kft.", "Zrt."),
    "RO": ("S.R.L.",), "BG": ("EOOD", "OOD"), "GR": ("S.A.", "IKE"), "JP": ("K.K.", "G.K."),
    "CN": ("Co., Ltd.",), "SG": ("Pte. Ltd.",), "AU": ("Pty Ltd",), "NZ": ("Limited",), "BR": ("Ltda.", "S.A."),
    "MX": ("S.A. de C.V.",), "AR": ("S.R.L.", "S.A."), "ZA": ("(Pty) Ltd",), "IL": ("Ltd.",),
    "KR": ("Co., Ltd.",), "PH": ("Inc.",), "AE": ("FZ-LLC", "LLC"), "UA": ("LLC",), "TR": ("A.Ş.",),
}

# --- what things are called -------------------------------------------------------------------

GROUP_NAME = "Oriel"
GROUP_DIVISIONS = ("Assistance", "Medical Assistance", "Travel Assistance", "Claims Services", "Shared Services",
                   "Holding", "Digital", "Care", "Insurance Services", "Health Services", "Roadside Assistance",
                   "Concierge", "Technology", "Services", "Repatriation", "Contact Centre")
BRAND_HEADS = ("Nord", "Alta", "Blue", "Cedar", "Orion", "Vertex", "Helio", "Lumen", "Stratus", "Quanta", "Atlas",
               "Nova", "Pioneer", "Summit", "Harbor", "Meridian", "Zenith", "Apex", "Cobalt", "Crescent", "Iris",
               "Kestrel", "Lynx", "Maple", "Nimbus", "Onyx", "Pixel", "Radiant", "Sierra", "Tandem", "Umbra",
               "Vela", "Willow", "Xeno", "Yarrow", "Zephyr", "Aurora", "Beacon", "Cirrus", "Delta")
BRAND_TAILS = ("data", "soft", "net", "logic", "works", "labs", "cloud", "link", "path", "point", "sense",
               "stack", "ware", "bridge", "gate", "care", "pay", "med", "trip", "desk")
SECTORS = ("", "Solutions", "Services", "Technologies", "Systems", "Consulting", "Analytics", "Health", "Travel",
           "Software", "Networks", "Digital", "Partners")
CLIENT_SECTORS = ("Insurance", "Assurance", "Mutual", "Bank", "Airlines", "Travel", "Motor Club", "Health Fund")
INTERNATIONAL_ORGANISATIONS = {
    "EPO": "European Patent Organisation", "WHO": "World Health Organization", "ICRC": "International Committee "
    "of the Red Cross", "IOM": "International Organization for Migration", "UNHCR": "Office of the United "
    "Nations High Commissioner for Refugees", "OECD": "Organisation for Economic Co-operation and Development",
}
FIRST_NAMES = ("Anna", "Lukas", "Sofia", "Jan", "Marie", "Pierre", "Giulia", "Marco", "Laura", "Carlos", "Emma",
               "Oliver", "Priya", "Rahul", "Wei", "Yuki", "Aisha", "Omar", "Fatima", "Jonas", "Eva", "Tomasz",
               "Ingrid", "Sean", "Niamh", "Ana", "João", "Olga", "Mehmet", "Chloé", "David", "Sarah", "Michael")
LAST_NAMES = ("Müller", "Schmidt", "Dubois", "Martin", "Rossi", "Bianchi", "García", "López", "Smith", "Jones",
              "Sharma", "Patel", "Wang", "Tanaka", "Kowalski", "Nowak", "Jensen", "Andersson", "Murphy", "Silva",
              "Costa", "Ivanova", "Yılmaz", "Cohen", "Brown", "Novák", "Horváth", "Popescu", "Papadopoulos")
STREETS = ("Main Street", "Harbour Road", "Rue de la Paix", "Hauptstraße", "Via Roma", "Calle Mayor",
           "Park Avenue", "Station Road", "Kungsgatan", "Nørregade", "Rua Augusta", "Market Square")
CERTIFICATION_BODIES = ("BSI", "TÜV SÜD", "TÜV Rheinland", "DNV", "Bureau Veritas", "SGS", "LRQA", "Schellman",
                        "A-LIGN", "DEKRA", "Intertek")
DATA_SUBJECTS = ("Customers", "Policyholders; claimants", "Patients; travellers", "Employees", "Job applicants",
                 "Website visitors", "Customers' family members", "Suppliers' staff")
DATA_CATEGORIES = ("Identification and contact data", "Contact data; policy data", "Contact data; travel itinerary",
                   "Identification data; claims data; bank details", "Contact data; usage data",
                   "Employment data; bank details", "Contact data; call recordings")


@dataclass(frozen=True)
class Service:
    name: str
    purpose: str
    is_hr: bool = False
    is_medical: bool = False


SERVICES = (
    Service("Cloud hosting", "Hosting of the case management platform"),
    Service("Email delivery", "Sending service emails to customers"),
    Service("Payroll", "Payroll and HR administration", is_hr=True),
    Service("Recruitment platform", "Recruiting staff", is_hr=True),
    Service("CRM", "Customer relationship management"),
    Service("Customer support", "Answering customers' calls and messages"),
    Service("IT helpdesk", "Supporting employees' workstations", is_hr=True),
    Service("Medical provider network", "Arranging medical care abroad", is_medical=True),
    Service("Claims handling", "Handling insurance and assistance claims", is_medical=True),
    Service("Medical translation", "Translating medical reports", is_medical=True),
    Service("Backup", "Off-site backup of the platforms"),
    Service("Analytics", "Usage analytics of the customer portal"),
    Service("Security monitoring", "Security operations centre", is_hr=True),
    Service("Video conferencing", "Meetings with customers and staff"),
    Service("Document scanning", "Scanning incoming post"),
    Service("Travel booking", "Booking travel for assisted customers"),
    Service("Air ambulance", "Medical repatriation flights", is_medical=True),
    Service("E-signature", "Signing contracts electronically"),
    Service("Telephony", "Contact centre telephony"),
    Service("Learning platform", "Training employees", is_hr=True),
)
SCOPE_FACT_BY_COUNTRY = {"CA": "ca_pipeda", "JP": "jp_appi_private_sector", "KR": "kr_excluded_sector",
                         "IL": "il_automated_processing", "BR": "br_lgpd"}


def country_label(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or country.name


# --- rows -------------------------------------------------------------------------------------


def row_template(table: Table) -> dict[str, Any]:
    """Every column of the table, set to its scalar Python default (what the ORM would write) or None.

    Core executemany needs the same keys in every row; callable defaults (uid, timestamps) are set
    by the generator itself so that they are deterministic.
    """
    template: dict[str, Any] = {}
    for column in table.columns:
        default, value = column.default, None
        if default is not None and default.is_scalar:
            value = default.arg.value if isinstance(default.arg, enum.Enum) else default.arg
        template[column.key] = value
    return template


@dataclass
class _EngagementInfo:
    id: int
    engager_id: int
    engaged_id: int
    pattern: str  # "ge_tp", "tp_tp", "client_ge", "ge_ge"
    relationship: str
    service: Service
    status: str
    locations: tuple[str, ...]


@dataclass
class _Approval:
    id: int
    regime: str
    members: set[int] = field(default_factory=set)
    instrument_ids: list[int] = field(default_factory=list)


class RegisterGenerator:
    """Yields the register's rows table by table, in foreign-key order, in chunks ready for executemany."""

    def __init__(self, scale: Scale, seed: int = DEFAULT_SEED, today: Optional[date] = None,
                 chunk_rows: int = CHUNK_ROWS):
        self.scale = scale
        self.rng = random.Random(seed)
        self.today = today or date.today()
        self.midnight = datetime(self.today.year, self.today.month, self.today.day, tzinfo=timezone.utc)
        self.chunk_rows = chunk_rows
        self.templates = {table.name: row_template(table) for table in TABLES}
        self.next_id = {table.name: 1 for table in TABLES}
        self.country_of: dict[int, str] = {}
        self.group_entities: list[int] = []
        self.third_parties: list[int] = []
        self.is_third_party: set[int] = set()
        self.legal_name_of: dict[int, str] = {}
        self.clients: list[int] = []
        self.organisations: list[int] = []
        self.retired_parties: set[int] = set()
        self.approvals: list[_Approval] = []
        self.engagements: dict[str, list[_EngagementInfo]] = {"ge_tp": [], "tp_tp": [], "client_ge": [], "ge_ge": []}
        self.pair_instruments: dict[tuple[int, int], list[int]] = {}
        # A few recent routes into each third party, the sources of its onward transfers.
        self.routes_into: dict[int, list[tuple[int, bool, bool, bool]]] = {}

    # --- helpers

    def chunks(self) -> Iterator[tuple[Table, list[dict]]]:
        """The whole register, as (table, rows) in an order the foreign keys accept."""
        yield from self._chunked(Party.__table__, self._parties())
        yield from self._chunked(BcrApproval.__table__, self._bcr_approvals())
        yield from self._chunked(BcrMembership.__table__, self._bcr_memberships())
        yield from self._chunked(Certificate.__table__, self._certificates())
        yield from self._chunked(DpfCertification.__table__, self._dpf_certifications())
        yield from self._chunked(ScopeFact.__table__, self._scope_facts())
        for table, rows in self._engagements():
            yield from self._chunked(table, rows)
        for table, rows in self._instruments():
            yield from self._chunked(table, rows)
        yield from self._routes()
        # Last, so that the rest of the register is the one the same seed always gave.
        yield from self._chunked(VendorStatement.__table__, self._vendor_statements())
        # One region of the register's own (no draw of the random source: the rest stays as it was).
        yield Region.__table__, [self._record(Region.__table__, code="APAC", name="Asia-Pacific", country_codes="AU,IN,JP,SG")]

    def _chunked(self, table: Table, rows: Iterable[dict]) -> Iterator[tuple[Table, list[dict]]]:
        chunk: list[dict] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= self.chunk_rows:
                yield table, chunk
                chunk = []
        if chunk:
            yield table, chunk

    def _new_id(self, table: Table) -> int:
        value = self.next_id[table.name]
        self.next_id[table.name] = value + 1
        return value

    def _record(self, table: Table, **values: Any) -> dict:
        """A row of an audited record: id, uuid4 uid, version 1, aware UTC timestamps, then the values."""
        created = self.midnight - timedelta(seconds=self.rng.randrange(3 * 365 * 86_400))
        row = dict(self.templates[table.name])
        row.update(id=self._new_id(table), uid=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                   version=1, created_at=created, updated_at=created)
        row.update(values)
        return row

    def _row(self, table: Table, **values: Any) -> dict:
        row = dict(self.templates[table.name])
        if "id" in row:
            row["id"] = self._new_id(table)
        row.update(values)
        return row

    def _days_ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def _chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def _pick(self, weighted: dict[Any, float]) -> Any:
        return self.rng.choices(list(weighted), weights=list(weighted.values()))[0]

    def _popular(self, items: list) -> Any:
        """A skewed choice: a few vendors serve much of the group (the big cloud providers)."""
        return items[int(len(items) * self.rng.random() ** 2.2)]

    def _lifecycle(self, starts_on: date, proposed: float = 0.04, retired: float = 0.06) -> tuple[str, Optional[date]]:
        draw = self.rng.random()
        if draw < proposed:
            return Lifecycle.PROPOSED.value, None
        if draw < proposed + retired:
            return Lifecycle.RETIRED.value, min(self.today, starts_on + timedelta(days=self.rng.randint(30, 1500)))
        return Lifecycle.ACTIVE.value, None

    def _person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    # --- parties

    def _unique_name(self, taken: set, kind: PartyKind, country: Optional[str], make: Callable[[], str],
                     legal_form: str) -> str:
        for attempt in range(12):
            base = make()
            name = f"{base} {legal_form}".strip() if attempt < 8 else f"{base} {attempt - 6} {legal_form}".strip()
            key = (kind.value, name_key(name), country)
            if key not in taken:
                taken.add(key)
                return name
        raise RuntimeError(f"no free name for a {kind.value} in {country}")

    def _party(self, kind: PartyKind, country: Optional[str], legal_name: str, **values: Any) -> dict:
        rng = self.rng
        slug = "".join(ch for ch in legal_name.lower() if ch.isascii() and ch.isalnum())[:24] or "org"
        starts_on: Optional[date] = self._days_ago(90, 7_000)
        status, ends_on = self._lifecycle(starts_on)
        if status == Lifecycle.PROPOSED.value:
            starts_on = None
        row = self._record(
            Party.__table__, kind=kind.value, legal_name=legal_name, name_key=name_key(legal_name),
            country_code=country, address=f"{rng.randint(1, 240)} {rng.choice(STREETS)}, {rng.randint(1000, 99999)}",
            website=f"https://www.{slug}.example", contact_name=self._person(),
            contact_email=f"privacy@{slug}.example", status=status, starts_on=starts_on, ends_on=ends_on,
        )
        row.update(values)
        if row["status"] == Lifecycle.RETIRED.value:
            self.retired_parties.add(row["id"])
        self.country_of[row["id"]] = country or ""
        return row

    def _parties(self) -> Iterator[dict]:
        rng, taken = self.rng, set()
        for _ in range(self.scale.group_entities):
            country = GROUP_COUNTRIES.pick(rng)
            name = self._unique_name(
                taken, PartyKind.GROUP_ENTITY, country,
                lambda: f"{GROUP_NAME} {rng.choice(GROUP_DIVISIONS)} {country_label(country)}",
                rng.choice(LEGAL_FORMS.get(country, ("Ltd",))))
            row = self._party(PartyKind.GROUP_ENTITY, country, name,
                              registration_number=f"{country}-{rng.randint(100_000, 9_999_999)}",
                              dpo_name=self._person(), dpo_email="dpo@oriel-group.example",
                              is_controller=self._chance(0.95), is_processor=self._chance(0.4))
            self.group_entities.append(row["id"])
            yield row
        for _ in range(self.scale.clients):
            country = CLIENT_COUNTRIES.pick(rng)
            name = self._unique_name(
                taken, PartyKind.CLIENT, country,
                lambda: f"{rng.choice(BRAND_HEADS)}{rng.choice(BRAND_TAILS)} {rng.choice(CLIENT_SECTORS)}",
                rng.choice(LEGAL_FORMS.get(country, ("Ltd",))))
            row = self._party(PartyKind.CLIENT, country, name,
                              registration_number=f"{country}-{rng.randint(100_000, 9_999_999)}",
                              notice_period_days=rng.choice((14, 30, 30, 30, 60, 90)))
            self.clients.append(row["id"])
            yield row
        for _ in range(self.scale.third_parties):
            country = THIRD_PARTY_COUNTRIES.pick(rng)

            def make() -> str:
                sector = rng.choice(SECTORS)
                return f"{rng.choice(BRAND_HEADS)}{rng.choice(BRAND_TAILS)}{' ' + sector if sector else ''}"

            name = self._unique_name(taken, PartyKind.THIRD_PARTY, country, make,
                                     rng.choice(LEGAL_FORMS.get(country, ("Ltd",))))
            vetting = self._pick({VettingStatus.APPROVED: 60, VettingStatus.CONDITIONAL: 15,
                                  VettingStatus.PENDING: 20, VettingStatus.REJECTED: 5})
            last_review = None if vetting == VettingStatus.PENDING else self._days_ago(0, 900)
            next_review = None if last_review is None else last_review + timedelta(days=rng.choice((180, 365, 730)))
            row = self._party(
                PartyKind.THIRD_PARTY, country, name,
                trading_name=name.split(" ")[0] if self._chance(0.3) else None,
                registration_number=f"{country}-{rng.randint(100_000, 99_999_999)}",
                dpo_name=self._person() if self._chance(0.5) else None,
                vetting_status=vetting.value, vetting_last_review_on=last_review, vetting_next_review_on=next_review,
                vetting_notes="Reviewed with the security questionnaire." if last_review and self._chance(0.3) else None,
                is_subject_to_gdpr_art3_2=country not in EEA and self._chance(0.05),
                is_in_subject_list=self._chance(0.9),
            )
            self.third_parties.append(row["id"])
            self.is_third_party.add(row["id"])
            self.legal_name_of[row["id"]] = name
            yield row
        # Only organisations the country data knows (organisation_code is unique).
        for code, legal_name in INTERNATIONAL_ORGANISATIONS.items():
            if countries.is_organisation(code):
                row = self._party(PartyKind.INTERNATIONAL_ORGANISATION, None, legal_name, organisation_code=code,
                                  status=Lifecycle.ACTIVE.value, starts_on=None, ends_on=None)
                self.organisations.append(row["id"])
                yield row

    # --- BCR

    def _bcr_approvals(self) -> Iterator[dict]:
        table = BcrApproval.__table__
        for regime, authority, years in ((Regime.EU, "Commission nationale de l'informatique et des libertés "
                                          "(CNIL), lead authority", 7),
                                         (Regime.UK, "Information Commissioner's Office (ICO)", 3)):
            approved_on = self.today - timedelta(days=365 * years + self.rng.randint(0, 200))
            row = self._record(table, name=f"{GROUP_NAME} Group Binding Corporate Rules", regime=regime.value,
                               bcr_type=BcrType.BCR_C.value, authority=authority,
                               reference=f"{regime.value}-BCR-{approved_on.year}-{self.rng.randint(10, 99)}",
                               approved_on=approved_on)
            self.approvals.append(_Approval(row["id"], regime.value))
            yield row

    def _bcr_memberships(self) -> Iterator[dict]:
        table = BcrMembership.__table__
        for approval, share in zip(self.approvals, (0.7, 0.45)):
            approved_on = self.today - timedelta(days=365 * (7 if approval.regime == "EU" else 3))
            for entity_id in self.group_entities:
                if not self._chance(share):
                    continue
                bound_from = approved_on + timedelta(days=self.rng.randint(0, 900))
                bound_from = min(bound_from, self.today)
                bound_to = None
                if entity_id in self.retired_parties or self._chance(0.03):
                    bound_to = bound_from + timedelta(days=self.rng.randint(0, 700))
                else:
                    approval.members.add(entity_id)
                yield self._row(table, approval_id=approval.id, group_entity_id=entity_id,
                                bound_from=bound_from, bound_to=bound_to)

    # --- vetting records of third parties

    def _certificates(self) -> Iterator[dict]:
        table, rng = Certificate.__table__, self.rng
        for party_id in self.third_parties:
            if not self._chance(0.5):
                continue
            issued_on = self._days_ago(0, 1_000)
            editions = [(IsoEdition.E2022, issued_on)]
            if self._chance(0.15):  # the previous certificate, under the old edition
                editions.append((IsoEdition.E2013, issued_on - timedelta(days=3 * 365)))
            body = rng.choice(CERTIFICATION_BODIES)
            for edition, issued in editions:
                expires_on = issued + timedelta(days=3 * 365 - 1)
                yield self._record(
                    table, third_party_id=party_id, edition=edition.value,
                    certificate_number=f"IS {rng.randint(100_000, 999_999)}", certification_body=body,
                    scope="Information security management of the services provided to customers",
                    issued_on=issued, expires_on=expires_on,
                    last_verified_on=self._days_ago(0, 365) if self._chance(0.7) else None,
                    withdrawn_on=issued + timedelta(days=rng.randint(30, 700)) if self._chance(0.02) else None,
                )

    def _dpf_certifications(self) -> Iterator[dict]:
        table = DpfCertification.__table__
        for party_id in self.third_parties:
            if self.country_of[party_id] != "US" or not self._chance(0.7):
                continue
            frameworks = [DpfFramework.EU_US]
            if self._chance(0.6):
                frameworks.append(DpfFramework.UK_EXTENSION)
            if self._chance(0.4):
                frameworks.append(DpfFramework.SWISS_US)
            covers_hr = self._chance(0.4)
            # Sometimes only the parent is on the DPF List, which does not cover this entity.
            certified = None if self._chance(0.95) else "Parent Holdings Inc."
            for framework in frameworks:
                yield self._record(table, third_party_id=party_id, framework=framework.value,
                                   covers_hr_data=covers_hr, covers_non_hr_data=True,
                                   certified_entity_name=certified or self.legal_name_of[party_id],
                                   is_active=self._chance(0.95), verified_on=self._days_ago(0, 400))

    def _scope_facts(self) -> Iterator[dict]:
        table = ScopeFact.__table__
        for party_id in self.third_parties:
            key = SCOPE_FACT_BY_COUNTRY.get(self.country_of[party_id])
            if key and countries.is_scope_fact(key) and self._chance(0.6):
                answer = self._pick({Answer.YES: 70, Answer.NO: 15, Answer.UNKNOWN: 15})
                yield self._record(table, party_id=party_id, fact_key=key, answer=answer.value,
                                   verified_on=None if answer == Answer.UNKNOWN else self._days_ago(0, 600))

    def _vendor_statements(self) -> Iterator[dict]:
        """What one vendor in twenty states on its sub-processor list (SCCs, or the DPF)."""
        table = VendorStatement.__table__
        for party_id in self.third_parties[::20]:
            mechanism = "dpf" if self.country_of[party_id] == "US" and self._chance(0.5) else "scc"
            yield self._record(table, party_id=party_id, mechanism=mechanism, source="vendor's sub-processor list",
                               stated_on=self._days_ago(0, 400))

    # --- engagements

    def _engagements(self) -> Iterator[tuple[Table, Iterable[dict]]]:
        total = self.scale.engagements
        counts = {"client_ge": min(total // 20, self.scale.clients * 4),
                  "ge_ge": total // 20 if len(self.group_entities) > 1 else 0, "tp_tp": total // 5}
        counts["ge_tp"] = total - sum(counts.values())
        patterns = [pattern for pattern, count in counts.items() for _ in range(count)]
        self.rng.shuffle(patterns)
        rows, locations, taken = [], [], set()
        for pattern in patterns:
            info, row = self._engagement(pattern, taken)
            rows.append(row)
            for code in info.locations:
                activity = self._pick({LocationActivity.STORAGE_AND_ACCESS: 6, LocationActivity.STORAGE: 2,
                                       LocationActivity.ACCESS: 2})
                locations.append(self._row(EngagementLocation.__table__, engagement_id=info.id, country_code=code,
                                           activity=activity.value))
            if len(rows) >= self.chunk_rows:
                yield Engagement.__table__, rows
                yield EngagementLocation.__table__, locations
                rows, locations = [], []
        yield Engagement.__table__, rows
        yield EngagementLocation.__table__, locations

    def _engagement(self, pattern: str, taken: set) -> tuple[_EngagementInfo, dict]:
        rng = self.rng
        for _ in range(1_000):
            if pattern == "ge_tp":
                engager, engaged = rng.choice(self.group_entities), self._popular(self.third_parties)
            elif pattern == "client_ge":
                engager, engaged = rng.choice(self.clients), rng.choice(self.group_entities)
            else:
                # Only from an earlier to a later party of the same kind: the chain has no cycle.
                pool = self.group_entities if pattern == "ge_ge" else self.third_parties
                first, second = sorted(rng.sample(range(len(pool)), 2))
                engager, engaged = pool[first], pool[second]
            service = rng.choice(SERVICES)
            if (engager, engaged, service.name) not in taken:
                taken.add((engager, engaged, service.name))
                break
        else:
            raise RuntimeError(f"no free {pattern} engagement: the scale is too small")
        if pattern == "tp_tp":
            relationship = Relationship.SUB_PROCESSOR
        elif pattern == "ge_tp":
            relationship = self._pick({Relationship.PROCESSOR: 80, Relationship.INDEPENDENT_CONTROLLER: 15,
                                       Relationship.JOINT_CONTROLLER: 5})
        else:
            relationship = Relationship.PROCESSOR
        if relationship in (Relationship.PROCESSOR, Relationship.SUB_PROCESSOR):
            authorisation = self._pick({Authorisation.GENERAL: 70, Authorisation.SPECIFIC: 30})
        else:
            authorisation = Authorisation.NOT_REQUIRED
        starts_on = self._days_ago(0, 3_000)
        status, ends_on = self._lifecycle(starts_on, proposed=0.04, retired=0.07)
        if engager in self.retired_parties or engaged in self.retired_parties:
            status, ends_on = Lifecycle.RETIRED.value, min(self.today, starts_on + timedelta(days=rng.randint(30, 900)))
        planned_start_on = None
        if status == Lifecycle.PROPOSED.value:
            planned_start_on, starts_on = self.today + timedelta(days=rng.randint(14, 120)), None
        codes = [self.country_of[engaged]]
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            code = LOCATION_COUNTRIES.pick(rng)
            if code not in codes:
                codes.append(code)
        signed_on = None if starts_on is None else starts_on - timedelta(days=rng.randint(0, 60))
        row = self._record(
            Engagement.__table__, engager_id=engager, engaged_id=engaged, service=service.name,
            purpose=service.purpose, relationship_type=relationship.value,
            contract_reference=f"C-{rng.randint(10_000, 99_999)}" if signed_on else None,
            contract_signed_on=signed_on, authorisation=authorisation.value,
            authorised_on=signed_on if authorisation != Authorisation.NOT_REQUIRED else None,
            status=status, planned_start_on=planned_start_on, starts_on=starts_on, ends_on=ends_on,
        )
        info = _EngagementInfo(row["id"], engager, engaged, pattern, relationship.value, service, status, tuple(codes))
        self.engagements[pattern].append(info)
        return info, row

    # --- transfer instruments

    def _instruments(self) -> Iterator[tuple[Table, Iterable[dict]]]:
        instruments, signatories = [], []
        bcr_ready = [approval for approval in self.approvals if len(approval.members) >= 2]
        outside = [info for info in self.engagements["ge_tp"] if self.country_of[info.engaged_id] not in EEA]
        candidates = outside or self.engagements["ge_tp"]
        for _ in range(self.scale.instruments):
            kind = self._pick({InstrumentKind.EU_SCC: 62, InstrumentKind.UK_IDTA: 8, InstrumentKind.UK_ADDENDUM: 12,
                               InstrumentKind.BCR: 3, InstrumentKind.DEROGATION: 6,
                               InstrumentKind.CODE_OF_CONDUCT: 4, InstrumentKind.CERTIFICATION: 5})
            if kind == InstrumentKind.BCR and not bcr_ready:
                kind = InstrumentKind.EU_SCC
            if kind == InstrumentKind.BCR:
                approval = self.rng.choice(bcr_ready)
                row = self._instrument(kind, None, approval)
                approval.instrument_ids.append(row["id"])
                sides = [(member, InstrumentSide.EXPORTER) for member in sorted(approval.members)[:2]]
                sides.append((sorted(approval.members)[-1], InstrumentSide.IMPORTER))
            else:
                info = self.rng.choice(candidates)
                row = self._instrument(kind, info, None)
                exporters = {info.engager_id}
                if self._chance(0.2):  # a group framework agreement signed by several entities
                    exporters.update(self.rng.sample(self.group_entities, min(2, len(self.group_entities))))
                sides = [(party, InstrumentSide.EXPORTER) for party in sorted(exporters)]
                sides.append((info.engaged_id, InstrumentSide.IMPORTER))
                for exporter in exporters:
                    self.pair_instruments.setdefault((exporter, info.engaged_id), []).append(row["id"])
            instruments.append(row)
            for party_id, side in dict.fromkeys(sides):
                signatories.append(self._row(InstrumentParty.__table__, instrument_id=row["id"], party_id=party_id,
                                             side=side.value))
        yield TransferInstrument.__table__, instruments
        yield InstrumentParty.__table__, signatories

    def _instrument(self, kind: InstrumentKind, info: Optional[_EngagementInfo], approval: Optional[_Approval]) -> dict:
        rng = self.rng
        signed_on = self._days_ago(30, 2_500)
        status, terminated_on = self._lifecycle(signed_on, proposed=0.02, retired=0.08)
        if status == Lifecycle.PROPOSED.value:
            signed_on = None
        values: dict[str, Any] = {}
        if kind == InstrumentKind.EU_SCC:
            old = signed_on is not None and signed_on < date(2021, 9, 27) and self._chance(0.5)
            modules = {Relationship.PROCESSOR.value: ("2", "2", "2,3"), Relationship.INDEPENDENT_CONTROLLER.value:
                       ("1",), Relationship.JOINT_CONTROLLER.value: ("1",)}[info.relationship]
            values = {"scc_decision": "2010/87/EU" if old else "2021/914",
                      "scc_modules": None if old else rng.choice(modules),
                      "has_swiss_adaptation": self._chance(0.15)}
            title = "EU SCCs"
        elif kind == InstrumentKind.UK_IDTA:
            title = "UK IDTA"
        elif kind == InstrumentKind.UK_ADDENDUM:
            values = {"uk_addendum_version": "B1.0"}
            title = "UK Addendum"
        elif kind == InstrumentKind.BCR:
            values = {"bcr_approval_id": approval.id}
            title = f"Reliance on the {approval.regime} BCR"
        elif kind == InstrumentKind.DEROGATION:
            values = {"derogation_ground": rng.choice(list(DerogationGround)).value,
                      "derogation_justification": "Occasional transfer needed to assist the data subject abroad."}
            title = "Art. 49 derogation"
        else:
            scheme = "EU Cloud Code of Conduct" if kind == InstrumentKind.CODE_OF_CONDUCT else "Europrivacy"
            values = {"scheme_name": scheme}
            title = scheme
        if info is not None:
            title = f"{title}: {info.service.name} (engagement {info.id})"
        return self._record(TransferInstrument.__table__, kind=kind.value, title=title,
                            document_reference=f"DOC-{rng.randint(100_000, 999_999)}", signed_on=signed_on,
                            terminated_on=terminated_on, status=status, **values)

    # --- routes, their instruments and their assessments

    def _routes(self) -> Iterator[tuple[Table, list[dict]]]:
        routes, links, assessments = [], [], []
        shapes = {"ge_tp": 55, "tp_tp": 10, "client_ge": 5, "ge_ge": 28, "organisation": 2}
        for _ in range(self.scale.routes):
            shape = self._pick(shapes)
            route, instrument_ids = self._route(shape)
            routes.append(route)
            for instrument_id in dict.fromkeys(instrument_ids):
                links.append({"route_id": route["id"], "instrument_id": instrument_id})
            if instrument_ids and self._chance(0.3):
                assessments.extend(self._assessments(route))
            if len(routes) >= self.chunk_rows:
                yield TransferRoute.__table__, routes
                yield route_instruments, links
                if assessments:
                    yield TransferImpactAssessment.__table__, assessments
                routes, links, assessments = [], [], []
        for table, rows in ((TransferRoute.__table__, routes), (route_instruments, links),
                            (TransferImpactAssessment.__table__, assessments)):
            if rows:
                yield table, rows

    def _route(self, shape: str) -> tuple[dict, list[int]]:
        rng = self.rng
        engagement: Optional[_EngagementInfo] = None
        source: Optional[tuple[int, bool, bool, bool]] = None
        destination_organisation = None
        if shape == "ge_ge" and self._chance(0.3):
            shape = "ge_ge_engaged"  # an intra-group service under an engagement
        pattern = shape.removesuffix("_engaged")
        if shape in ("ge_tp", "tp_tp", "client_ge", "ge_ge_engaged") and self.engagements[pattern]:
            engagement = rng.choice(self.engagements[pattern])
            exporter, importer = engagement.engager_id, engagement.engaged_id
            if engagement.relationship in (Relationship.PROCESSOR.value,):
                roles = (PartyRole.CONTROLLER, PartyRole.PROCESSOR)
            elif engagement.relationship == Relationship.SUB_PROCESSOR.value:
                roles = (PartyRole.PROCESSOR, PartyRole.PROCESSOR)
            else:
                roles = (PartyRole.CONTROLLER, PartyRole.CONTROLLER)
            if shape == "tp_tp" and self.routes_into.get(exporter):
                source = rng.choice(self.routes_into[exporter])
            service = engagement.service
        elif shape == "organisation" and self.organisations:
            exporter = rng.choice(self.group_entities)
            importer = destination_organisation = rng.choice(self.organisations)
            roles = (PartyRole.CONTROLLER, PartyRole.CONTROLLER)
            service = SERVICES[7]
        else:
            exporter, importer = rng.sample(self.group_entities, 2) if len(self.group_entities) > 1 else (
                self.group_entities[0], rng.choice(self.third_parties))
            roles = (PartyRole.CONTROLLER, self._pick({PartyRole.CONTROLLER: 60, PartyRole.PROCESSOR: 40}))
            service = rng.choice(SERVICES)
        if destination_organisation is None:
            destination = self.country_of[importer]
            if engagement is not None and len(engagement.locations) > 1 and self._chance(0.3):
                destination = rng.choice(engagement.locations[1:])
        else:
            destination = None
        if source is not None:
            # Art. 44: an onward transfer carries the regimes of the data it received.
            source_id, eu, uk, ch = source
        else:
            source_id = None
            origin = self.country_of[exporter]
            eu, uk, ch = origin in EEA, origin == "GB", origin == "CH"
        starts_on = self._days_ago(0, 2_500)
        status, ends_on = self._lifecycle(starts_on, proposed=0.05, retired=0.07)
        if engagement is not None and engagement.status == Lifecycle.RETIRED.value:
            status, ends_on = Lifecycle.RETIRED.value, min(self.today, starts_on + timedelta(days=rng.randint(30, 900)))
        if status == Lifecycle.PROPOSED.value:
            starts_on = self.today + timedelta(days=rng.randint(7, 120))
        special = service.is_medical and self._chance(0.6) or self._chance(0.03)
        basis = None
        if special:
            basis = self._pick({SpecialCategoryBasis.EXPLICIT_CONSENT: 60, SpecialCategoryBasis.VITAL_INTERESTS: 20,
                                None: 20})
        hr = service.is_hr or (pattern == "ge_ge" and self._chance(0.5))
        route = self._record(
            TransferRoute.__table__, exporter_id=exporter, importer_id=importer, destination_country=destination,
            destination_organisation_id=destination_organisation, carries_eu_data=eu, carries_uk_data=uk,
            carries_ch_data=ch, source_route_id=source_id, exporter_role=roles[0].value, importer_role=roles[1].value,
            engagement_id=engagement.id if engagement else None, purpose=service.purpose,
            data_subject_categories="Employees" if hr else rng.choice(DATA_SUBJECTS),
            data_categories="Employment data; bank details" if hr else rng.choice(DATA_CATEGORIES),
            has_special_category_data=special, special_category_basis=basis.value if basis else None,
            consent_mechanism="Consent form in the assistance app" if basis == SpecialCategoryBasis.EXPLICIT_CONSENT
            else None,
            has_hr_data=hr, status=status, starts_on=starts_on, ends_on=ends_on,
        )
        if importer in self.is_third_party and (eu or uk or ch):
            known = self.routes_into.setdefault(importer, [])
            entry = (route["id"], eu, uk, ch)
            if len(known) < 6:
                known.append(entry)
            else:
                known[rng.randrange(6)] = entry
        instrument_ids = list(self.pair_instruments.get((exporter, importer), ()))[:3]
        if pattern == "ge_ge":
            for approval in self.approvals:
                carried = {"EU": eu, "UK": uk}.get(approval.regime, False)
                if (carried and approval.instrument_ids and exporter in approval.members
                        and importer in approval.members):
                    instrument_ids.append(rng.choice(approval.instrument_ids))
        return route, instrument_ids

    def _assessments(self, route: dict) -> list[dict]:
        rng = self.rng
        regimes = [regime for regime, carried in (("EU", route["carries_eu_data"]), ("UK", route["carries_uk_data"]),
                                                  ("CH", route["carries_ch_data"])) if carried]
        anchor = min(route["starts_on"], self.today)
        rows = []
        for index in range(2 if self._chance(0.1) else 1):
            assessed_on = anchor - timedelta(days=rng.randint(0, 60) + 365 * index)
            outcome = self._pick({TiaOutcome.CAN_COMPLY: 50, TiaOutcome.CAN_COMPLY_WITH_MEASURES: 45,
                                  TiaOutcome.CANNOT_COMPLY: 5})
            rows.append(self._record(
                TransferImpactAssessment.__table__, route_id=route["id"],
                regime=rng.choice(regimes) if regimes and self._chance(0.5) else None,
                assessed_on=assessed_on, outcome=outcome.value,
                next_review_on=assessed_on + timedelta(days=365) if self._chance(0.9) else None,
                document_reference=f"TIA-{rng.randint(10_000, 99_999)}",
            ))
        return rows


TABLES: tuple[Table, ...] = (
    Party.__table__, BcrApproval.__table__, BcrMembership.__table__, Certificate.__table__,
    DpfCertification.__table__, ScopeFact.__table__, Engagement.__table__, EngagementLocation.__table__,
    TransferInstrument.__table__, InstrumentParty.__table__, TransferRoute.__table__, route_instruments,
    TransferImpactAssessment.__table__, VendorStatement.__table__, Region.__table__,
)


# --- loading ----------------------------------------------------------------------------------


@dataclass
class LoadReport:
    scale: Scale
    rows: dict[str, int]
    seconds: float
    insert_seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def load_register(connection: Connection, scale: Scale, seed: int = DEFAULT_SEED,
                  today: Optional[date] = None) -> LoadReport:
    """Generate the register and insert it through `connection` (the caller commits); times both."""
    if connection.scalar(select(func.count()).select_from(Party.__table__)):
        raise RuntimeError("the benchmark register is loaded into an empty database only")
    started = time.perf_counter()
    generator = RegisterGenerator(scale, seed, today)
    rows: dict[str, int] = {table.name: 0 for table in TABLES}
    insert_seconds = 0.0
    for table, chunk in generator.chunks():
        before = time.perf_counter()
        connection.execute(table.insert(), chunk)
        insert_seconds += time.perf_counter() - before
        rows[table.name] += len(chunk)
    if connection.dialect.name == "postgresql":
        _advance_sequences(connection)
    return LoadReport(scale, rows, time.perf_counter() - started, insert_seconds)


def _advance_sequences(connection: Connection) -> None:
    """Explicit ids do not move PostgreSQL's sequences; move them so later inserts get fresh ids."""
    for table in TABLES:
        if "id" in table.c:
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), COALESCE(MAX(id), 1), "
                f"MAX(id) IS NOT NULL) FROM {table.name}"
            )
