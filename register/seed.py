"""The demo register: Meridian Assist, a fictional global medical and travel assistance group.

The demo is data, in data/demo/*.yaml (data/demo/README.md says how to read it), so that legal staff
can review it. `load_demo()` reads it and fills an empty register through the audited services only
(audit source "seed"), so every demo record has its creation in the trail like a record a person
entered. A file, field or reference the loader does not know stops the load, naming where it is.
"""

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Optional

import click
import yaml
from sqlalchemy import Date, String, func, select

from . import services
from .audit import Actor
from .auth import generate_password
from .config import PROJECT_ROOT
from .extensions import db
from .models import (
    AuditSource, BcrApproval, Certificate, ChangeNotice, Client, DpfCertification, Engagement, GroupEntity,
    InternationalOrganisation, Party, Role, ScopeFact, ThirdParty, TransferImpactAssessment, TransferInstrument,
    Region, TransferRoute, User, VendorStatement,
)
from .users import create_user

DEMO_DIR = PROJECT_ROOT / "data" / "demo"

# What is read, in the order it is written: one write unit per line (each refers only to what the
# lines before it, or its own earlier records, wrote). A keyed section names its records for others.
UNITS = (
    (("regions.yaml", "regions", Region), ("group.yaml", "group_entities", GroupEntity),
     ("third-parties.yaml", "third_parties", ThirdParty),
     ("clients.yaml", "clients", Client), ("clients.yaml", "international_organisations", InternationalOrganisation),
     ("vetting.yaml", "certificates", Certificate), ("vetting.yaml", "dpf_certifications", DpfCertification),
     ("vetting.yaml", "scope_facts", ScopeFact), ("vetting.yaml", "vendor_statements", VendorStatement)),
    (("engagements.yaml", "engagements", Engagement), ("engagements.yaml", "change_notices", ChangeNotice),
     ("instruments.yaml", "bcr_approvals", BcrApproval), ("instruments.yaml", "instruments", TransferInstrument)),
    (("routes.yaml", "routes", TransferRoute), ("assessments.yaml", "assessments", TransferImpactAssessment)),
    (("users.yaml", "users", User),),
)
KEYED = {"group_entities", "third_parties", "clients", "international_organisations", "engagements",
         "bcr_approvals", "instruments", "routes"}
# Fields that are not columns of the record, by the model they shape.
EXTRA_FIELDS = {
    Engagement: {"locations", "ends_on"}, BcrApproval: {"members"},
    TransferInstrument: {"exporters", "importers", "ends_on"},
    TransferRoute: {"carries", "instruments", "special_category_basis", "ends_on", "destination"}, Party: {"ends_on"},
}
# Fields a record must give: a route's regimes, roles and purpose would otherwise be guessed.
REQUIRED = {TransferRoute: {"carries", "exporter_role", "importer_role", "purpose"}, User: {"role", "email", "name"}}
# Settings of a file rather than records (routes.yaml: the shared wording, the consent mechanism).
SETTINGS = {"routes.yaml": {"wording", "consent_mechanism"}}
NOT_FIELDS = {"id", "uid", "version", "created_at", "updated_at", "password_hash", "session_nonce",
              "destination_country", "destination_organisation_id", "carries_eu_data", "carries_uk_data",
              "carries_ch_data", "has_special_category_data", "consent_mechanism"}
# A route's values when it leaves them out (given, so that the services guess none of them).
ROUTE_DEFAULTS = {"source_route_id": None, "engagement_id": None, "has_hr_data": False, "status": "active",
                  "starts_on": None, "notes": None}
RELATIVE_DAY = re.compile(r"today([+-]\d+)d")
REGIMES = {"EU": "carries_eu_data", "UK": "carries_uk_data", "CH": "carries_ch_data"}
BASES = {"explicit_consent", "vital_interests", "none"}
BOUND = {"bound_from", "bound_to"}
# Fields that list records of another table by key.
LISTED_REFERENCES = {"exporters": "parties", "importers": "parties", "members": "parties",
                     "instruments": "transfer_instruments"}


class RegisterNotEmpty(click.ClickException):
    """The demo loads only into an empty register (a ClickException so `flask seed-demo` says so plainly)."""


class DemoDataError(click.ClickException):
    """A demo file the loader cannot read as it stands: what is wrong, and where."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=True) for key, _value in node.value]
        doubled = sorted({str(key) for key in keys if keys.count(key) > 1})
        if doubled:
            raise DemoDataError(f"line {node.start_mark.line + 1}: {', '.join(doubled)} given twice")
        return super().construct_mapping(node, deep)


def _references(model: type) -> dict[str, tuple[str, str]]:
    """field -> (column, table referred to): `engager: fr` stands for engager_id."""
    return {column.name[:-3]: (column.name, next(iter(column.foreign_keys)).column.table.name)
            for column in model.__table__.columns if column.foreign_keys and column.name.endswith("_id")}


def _fields(model: type) -> set[str]:
    if model is User:
        return REQUIRED[User]
    extra = set().union(*(names for base, names in EXTRA_FIELDS.items() if issubclass(model, base)))
    columns = {column.name for column in model.__table__.columns} - NOT_FIELDS
    references = _references(model)
    return (columns - {column for column, _table in references.values()}) | set(references) | extra


def _records(section: Any, where: str) -> Iterator[tuple[Any, dict]]:
    """The records of a section: a mapping (or list) of records, or groups of them sharing `common` values."""
    grouped = isinstance(section, list) and section and isinstance(section[0], dict) and "records" in section[0]
    for group in section if grouped else [{"records": section}]:
        if not isinstance(group, dict) or set(group) - {"common", "records"}:
            raise DemoDataError(f"{where}: a group holds `common` and `records` only")
        records = group["records"] or {}
        for key, fields in records.items() if isinstance(records, dict) else enumerate(records, 1):
            yield key, {**(group.get("common") or {}), **(fields or {})}


def _read(path: Path) -> dict:
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), _UniqueKeyLoader) or {}
    except (yaml.YAMLError, DemoDataError) as error:
        raise DemoDataError(f"{path.name}: {getattr(error, 'message', error)}") from error
    if not isinstance(content, dict):
        raise DemoDataError(f"{path.name}: sections by name, each holding its records")
    return content


def read_demo(directory: Path = DEMO_DIR) -> tuple[list[list[tuple[type, str, Any, dict]]], Optional[str]]:
    """Every record of the demo files, checked, per write unit (model, where, key, fields); the consent
    mechanism of routes on explicit consent."""
    files = {path.name: _read(path) for path in sorted(directory.glob("*.yaml"))}
    known = {name for unit in UNITS for name, _section, _model in unit}
    if set(files) != known:
        raise DemoDataError(f"{directory}: unknown files {sorted(set(files) - known)}, "
                            f"missing {sorted(known - set(files))}")
    for name, content in files.items():
        unknown = set(content) - SETTINGS.get(name, set()) - {s for unit in UNITS for f, s, _m in unit if f == name}
        if unknown:
            raise DemoDataError(f"{name}: unknown sections {sorted(unknown)}")
    keys: dict[str, set] = {}  # table -> keys written so far
    plan = []
    for unit in UNITS:
        steps = []
        for name, section, model in unit:
            for key, fields in _records(files[name].get(section) or {}, f"{name} {section}"):
                where = f"{name}: {section} {key}"
                _check(model, where, fields, keys)
                if section in KEYED:
                    if key in keys.setdefault(model.__table__.name, set()):
                        raise DemoDataError(f"{where}: the key {key} is given twice")
                    keys[model.__table__.name].add(key)
                steps.append((model, where, key, fields))
        plan.append(steps)
    return plan, files["routes.yaml"].get("consent_mechanism")


def _check(model: type, where: str, fields: dict, keys: dict[str, set]) -> None:
    """A record's fields are the loader's, its references to records written before
    it, and its text is text (YAML reads an unquoted NO as false)."""
    unknown, missing = set(fields) - _fields(model), REQUIRED.get(model, set()) - set(fields)
    if unknown or missing:
        raise DemoDataError(f"{where}: unknown fields {sorted(map(str, unknown))}, missing {sorted(missing)}")
    if not set(fields.get("carries", ())) <= set(REGIMES) or fields.get("special_category_basis", "none") not in BASES:
        raise DemoDataError(f"{where}: carries is a list of {', '.join(REGIMES)}; "
                            f"special_category_basis one of {sorted(BASES)}")
    if any(set(bound) - BOUND for bound in fields.get("members", {}).values()):
        raise DemoDataError(f"{where}: a member is bound_from a day (and bound_to one)")
    for field, (_column, table) in _references(model).items():
        _check_keys(where, field, [fields[field]] if fields.get(field) is not None else [], keys.get(table, set()))
    for field, table in LISTED_REFERENCES.items():
        _check_keys(where, field, fields.get(field, ()), keys.get(table, set()))
    for field, value in fields.items():
        column = model.__table__.columns.get(field)
        if column is not None and isinstance(column.type, String) and value is not None and not isinstance(value, str):
            raise DemoDataError(f"{where}: {field} must be text (quote {value!r})")


def _check_keys(where: str, field: str, wanted, known: set) -> None:
    missing = [key for key in wanted if key not in known]
    if missing:
        raise DemoDataError(f"{where}: {field} refers to {', '.join(map(str, missing))}, not written before it")


class DemoLoader:
    """Writes the demo's records through the services, remembering each one by its key."""

    def __init__(self, today: date, consent_mechanism: Optional[str]):
        self.today = today
        self.consent_mechanism = consent_mechanism
        # The session's identity map holds records weakly: keeping them (here, by key) spares the
        # validators a reload of every party, engagement and route they look up (half the loading time).
        self.records: dict[str, dict[Any, Any]] = {}
        self.to_retire: list[tuple[Any, date]] = []

    def day(self, value: Any) -> Optional[date]:
        """An ISO date as YAML reads it, or `today+60d` / `today-40d` from the day of loading."""
        if isinstance(value, str):
            match = RELATIVE_DAY.fullmatch(value)
            return self.today + timedelta(days=int(match[1])) if match else date.fromisoformat(value)
        return value

    def id_of(self, table: str, key: Any) -> Optional[int]:
        return None if key is None else self.records[table][key].id

    def write(self, model: type, where: str, key: Any, fields: dict) -> None:
        """One record; a day that is no date, or a value the register refuses, names the record."""
        try:
            self._write(model, key, fields)
        except (ValueError, services.DomainError) as error:
            raise DemoDataError(f"{where}: {error}") from error

    def _write(self, model: type, key: Any, fields: dict) -> None:
        fields = dict(fields)
        ends_on = self.day(fields.pop("ends_on", None))
        values: dict[str, Any] = {}
        references = _references(model)
        for field, value in fields.items():
            if field in references:
                column, table = references[field]
                values[column] = self.id_of(table, value)
            elif field in model.__table__.columns and isinstance(model.__table__.columns[field].type, Date):
                values[field] = self.day(value)
            else:
                values[field] = value
        shape = getattr(self, f"_{model.__tablename__}", None)
        if shape is not None:
            shape(values)
        record = services.create(model, values)
        self.records.setdefault(model.__table__.name, {})[key] = record
        if ends_on is not None:
            self.to_retire.append((record, ends_on))

    def _engagements(self, values: dict) -> None:
        """"IE storage" -> {"country_code": "IE", "activity": "storage"}; a bare code is storage and access."""
        values["locations"] = [{"country_code": code, "activity": activity or "storage_and_access"}
                               for code, _, activity in (item.partition(" ") for item in values["locations"])]

    def _bcr_approvals(self, values: dict) -> None:
        values["memberships"] = [
            {"group_entity_id": self.id_of("parties", entity), "bound_from": self.day(bound.get("bound_from")),
             "bound_to": self.day(bound.get("bound_to"))}
            for entity, bound in values.pop("members").items()
        ]

    def _transfer_instruments(self, values: dict) -> None:
        values["signatories"] = [{"party_id": self.id_of("parties", party), "side": side[:-1]}
                                 for side in ("exporters", "importers") for party in values.pop(side)]

    def _transfer_routes(self, values: dict) -> None:
        """The route's destination is its importer's, or the region it names; the services would guess what it leaves out."""
        importer = db.session.get(Party, values["importer_id"])  # held: no query
        region = values.pop("destination", None)
        if region is not None:
            values["destination_country"] = region  # a region's code (WORLD, APAC...): register/regions.py
        elif isinstance(importer, InternationalOrganisation):
            values["destination_organisation_id"] = importer.id
        else:
            values["destination_country"] = importer.country_code
        carries = values.pop("carries")
        for regime, field in REGIMES.items():
            values[field] = regime in carries
        basis = values.pop("special_category_basis", None)
        values["has_special_category_data"] = basis is not None
        values["special_category_basis"] = basis if basis != "none" else None
        values["consent_mechanism"] = self.consent_mechanism if basis == "explicit_consent" else None
        for field, default in ROUTE_DEFAULTS.items():
            values.setdefault(field, default)
        values["instrument_ids"] = [self.id_of("transfer_instruments", key) for key in values.pop("instruments", ())]

    def retirements(self) -> None:
        """Retire what ended, through the services so the trail shows when."""
        for record, ends_on in self.to_retire:
            services.retire(record, expected_version=record.version, ends_on=ends_on)
        self.to_retire.clear()


def load_demo(directory: Path = DEMO_DIR) -> list[tuple[str, str, str]]:
    """Fill an empty register with the Meridian Assist demo; returns the demo logins (role, email, password)."""
    plan, consent_mechanism = read_demo(directory)
    emails = [fields["email"] for _model, _where, _key, fields in plan[-1]]
    if db.session.scalar(select(func.count()).select_from(Party)) or db.session.scalar(
        select(func.count()).select_from(User).where(User.email.in_(emails))
    ):
        raise RegisterNotEmpty("The register already holds records: the demo loads only into an empty register.")
    demo = DemoLoader(date.today(), consent_mechanism)
    actor = Actor(AuditSource.SEED, label="seed")
    *records, users = plan
    for number, steps in enumerate(records, 1):
        with services.write_unit(actor):
            for step in steps:
                demo.write(*step)
            if number == len(records):
                demo.retirements()  # once everything is written, as a person would record the ends
    logins = []
    with services.write_unit(actor):
        for _model, _where, _key, fields in users:
            password = generate_password()
            create_user(fields["email"], fields["name"], Role(fields["role"]), password)
            logins.append((fields["role"], fields["email"], password))
    return logins
