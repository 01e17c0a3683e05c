"""Importing a workbook: match each row to a record, write the differences, all or nothing.

`run_import` reads the sheets in dependency order (formats.FORMATS: parties, what they own,
engagements and their notices, BCR approvals, instruments, routes, TIAs), and for each row: converts
the cells (countries through the alias table, choices by value or label), resolves its references (by
ID, else by name), matches it to a record (by ID, else by natural key) and creates or updates that
record through the audited services, all inside ONE write unit. Any error anywhere, or a dry run, rolls the whole unit back: the outcome lists
per row what was (or would be) created, updated (with the fields) or left unchanged, and every error
by row and column.
"""

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import countries, regions, services
from ..audit import Actor, plain
from ..exports.auditor import NO_REGIMES, REGIMES
from ..models import (
    BcrApproval,
    Engagement,
    InstrumentParty,
    InstrumentSide,
    Lifecycle,
    LocationActivity,
    Party,
    PartyKind,
    Region,
    TransferInstrument,
    TransferRoute,
)
from ..services import DomainError, coercer, name_key
from ..services.codes import member_codes
from . import countries as aliases
from .formats import (
    BCR_APPROVALS,
    BCR_MEMBERSHIPS,
    BY_NAME,
    CERTIFICATES,
    CHANGE_NOTICES,
    CLIENTS,
    DPF_CERTIFICATIONS,
    ENGAGEMENTS,
    FORMATS,
    GROUP_ENTITIES,
    INSTRUMENTS,
    ORGANISATIONS,
    ROUTES,
    SCOPE_FACTS,
    SKIPPED_SHEETS,
    THIRD_PARTIES,
    TIAS,
    VENDOR_STATEMENTS,
    REGIONS,
    SheetFormat,
)
from .reader import ImportFileError, Limits, Sheet, describe, open_book

Progress = Callable[[str, int, Optional[int]], None]
UID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LIST_SEPARATOR = re.compile(r"\s*[;\n]\s*")
EXPUNGE_EVERY = 500


_NONE: dict = {}  # the changes of most rows: shared, never changed (an import has 100,000 rows)


@dataclass(slots=True)
class RowOutcome:
    sheet: str
    row: int
    action: str  # create, update, unchanged, error
    label: str
    changes: dict[str, list] = field(default_factory=lambda: _NONE)  # column -> [before, after]
    errors: list[tuple[str, str]] = field(default_factory=tuple)  # (column or "", message)


@dataclass
class Outcome:
    """What an import did (or would do): per row, and the file's own refusal if any."""

    rows: list[RowOutcome] = field(default_factory=list)
    file_error: Optional[str] = None
    applied: bool = False
    # The register changed between the preview and the confirmation: nothing written, this is the new preview.
    stale: bool = False

    @property
    def errors(self) -> list[RowOutcome]:
        return [row for row in self.rows if row.action == "error"]

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.errors

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            counts[row.action] += 1
        return counts

    def digest(self) -> str:
        """What the import would change, as a fingerprint: confirm refuses when it moved since the preview."""
        digest = hashlib.sha256()
        for row in self.rows:
            if row.action in ("create", "update"):
                digest.update(json.dumps([row.sheet, row.row, row.action, row.changes], sort_keys=True, default=str).encode())
        return digest.hexdigest()

    def to_json(self) -> dict:
        return {"file_error": self.file_error, "applied": self.applied, "stale": self.stale, "digest": self.digest(),
                "counts": self.counts(),
                "rows": [[r.sheet, r.row, r.action, r.label, r.changes, r.errors] for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> "Outcome":
        rows = [RowOutcome(sheet, row, action, label, changes, [tuple(e) for e in errors])
                for sheet, row, action, label, changes, errors in data["rows"]]
        return cls(rows, data.get("file_error"), data.get("applied", False), data.get("stale", False))


class _Abort(Exception):
    """Raised inside the write unit so that it rolls back."""


class _Waits(Exception):
    """A new engagement refused only because it would take effect before its clients were told."""


# The fields the Art. 28(2) check of a sub-processor taking effect reports on (services._check_activation).
ACTIVATION_FIELDS = frozenset({"status", "activation_override_reason"})


def run_import(path: Path, filename: str, actor: Actor, *, dry_run: bool, progress: Optional[Progress] = None,
               limits: Limits = Limits(), expected_digest: Optional[str] = None) -> Outcome:
    """Check and apply (or only check, when `dry_run`) a whole file; nothing is written unless every row is right.

    With `expected_digest` (a confirmed preview's), the import is applied only if it would make exactly
    the changes previewed; otherwise nothing is written and the outcome is the new preview (`stale`).
    """
    progress = progress or (lambda stage, done, total: None)
    try:
        return _run(path, filename, actor, dry_run, progress, limits, expected_digest, bulk=True)
    except IntegrityError:
        # The database refused a batch (a check the rows passed missed something): nothing was
        # written. Going through the file again a row at a time names the row.
        return _run(path, filename, actor, dry_run, progress, limits, expected_digest, bulk=False)


def _run(path: Path, filename: str, actor: Actor, dry_run: bool, progress: Progress, limits: Limits,
         expected_digest: Optional[str], *, bulk: bool) -> Outcome:
    outcome = Outcome()
    try:
        book = open_book(Path(path), filename, set(BY_NAME), limits)
    except ImportFileError as error:
        outcome.file_error = str(error)
        return outcome
    try:
        sheets = _arrange(book)
        with services.write_unit(actor, dry_run=dry_run, bulk=bulk) as sess:
            importer = _Importer(sess, outcome, progress, {sheet_format.name for sheet_format, _sheet in sheets})
            for sheet_format, sheet in sheets:
                importer.settle(sheet_format)
                importer.sheet(sheet_format, sheet)
            importer.settle(None)
            if not outcome.ok:
                raise _Abort
            if expected_digest is not None and outcome.digest() != expected_digest:
                outcome.stale = True
                raise _Abort
            del importer  # its indexes, before the commit brings 100,000 verdicts up to date
            progress("Saving", 0, None)
        outcome.applied = not dry_run
    except ImportFileError as error:
        outcome.file_error = str(error)
    except services.ConflictError:
        outcome.file_error = ("Someone changed a record this file touches while it was being imported; nothing was written. "
                              "Import the file again.")
    except _Abort:
        pass
    finally:
        if book.close:
            book.close()
    return outcome


def _arrange(book) -> list[tuple[SheetFormat, Sheet]]:
    """The sheets to import, in dependency order; unknown sheets and columns are refused."""
    found: dict[str, Sheet] = {}
    for sheet in book.sheets:
        if book.kind == "csv":
            sheet_format = _format_of_csv(sheet)
            found[sheet_format.name] = sheet
            continue
        if sheet.name in SKIPPED_SHEETS:
            continue
        if sheet.name not in BY_NAME:
            raise ImportFileError(f"Unknown sheet {sheet.name!r}: the sheets imported are "
                                  f"{', '.join(repr(item.name) for item in FORMATS)} (see the template).")
        found[sheet.name] = sheet
    if not found:
        raise ImportFileError("The file has none of the sheets imported: "
                              f"{', '.join(repr(item.name) for item in FORMATS)} (see the template).")
    arranged = []
    for sheet_format in FORMATS:
        if sheet_format.name in found:
            sheet = found[sheet_format.name]
            _check_headers(sheet_format, sheet)
            arranged.append((sheet_format, sheet))
    return arranged


def _format_of_csv(sheet: Sheet) -> SheetFormat:
    """A CSV file holds one sheet: named by the file (as the export names them) or recognised by its columns."""
    if sheet.name in BY_NAME:
        return BY_NAME[sheet.name]
    headers = {header for _letter, header in sheet.headers}
    best = max(FORMATS, key=lambda item: len(headers & set(item.required)))
    if len(headers & set(best.required)) < 3:
        raise ImportFileError("The CSV file's columns match none of the sheets imported; its first row must hold the "
                              "column names of one sheet of the template (e.g. 'ID', 'Legal name', 'Country code').")
    return best


def _check_headers(sheet_format: SheetFormat, sheet: Sheet) -> None:
    headers = [header for _letter, header in sheet.headers]
    problems = []
    seen: set[str] = set()
    for letter, header in sheet.headers:
        if not header:
            problems.append(f"column {letter} has no name")
        elif header in seen:
            problems.append(f"column {letter} repeats the column {header!r}")
        elif header not in sheet_format.required and header not in sheet_format.ignored and header not in sheet_format.optional:
            problems.append(f"column {letter} {header!r} is not a column of this sheet (renamed?)")
        seen.add(header)
    missing = [header for header in sheet_format.required if header not in headers]
    if missing:
        problems.append("missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(repr(h) for h in missing))
    if problems:
        raise ImportFileError(f"Sheet {sheet_format.name!r}: " + "; ".join(problems) + ". Use the template's column names.")
    # The computed columns (status, mechanisms, reasons...) are not read: the reader skips their cells.
    sheet.wanted = {index + 1 for index, header in enumerate(headers) if header not in sheet_format.ignored}


# --- cell values ------------------------------------------------------------------------------


def _text(value: Any) -> Optional[str]:
    """A cell as text (numbers without a spurious .0, dates as YYYY-MM-DD); blank is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return describe(value)
    text = str(value).strip()
    return text or None


def _choices(column: Any) -> Optional[dict[str, Any]]:
    enum_class = getattr(column.type, "enum_class", None)
    return None if enum_class is None else _enum_choices(enum_class)


@functools.cache
def _enum_choices(enum_class: type) -> dict[str, Any]:
    found = {}
    for member in enum_class:
        found[member.value.casefold()] = member
        found[getattr(member, "label", member.value).casefold()] = member
    return found


def _converter(column: Any) -> Callable[[Any], Any]:
    """What turns a cell into its column's type (raising ValueError with a readable message); made
    once per column of a sheet."""
    choices = _choices(column)
    if choices is not None:
        allowed = ", ".join(sorted({member.value for member in choices.values()}))

        def choose(value: Any) -> Any:
            text = _text(value)
            if text is None:
                return None
            if text.casefold() in choices:
                return choices[text.casefold()]
            raise ValueError(f"{text!r} is not one of: {allowed}.")

        return choose
    type_name = type(column.type).__name__
    coerce = coercer(column)
    if type_name in ("String", "Text"):
        return lambda value: coerce(_text(value))
    if type_name == "Date":
        def to_date(value: Any) -> Any:
            if isinstance(value, str) and MIDNIGHT_DATE.fullmatch(value):
                value = value.strip()[:10]
            return coerce(value)

        return to_date
    return coerce


MIDNIGHT_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}([ T]00:00(:00)?)?\s*")


# --- the importer -----------------------------------------------------------------------------


# Records owned by a party (or a route) and matched by it: (owner field, owner's ID column, owner's name
# column or None, natural key fields after the owner, whether the database holds the key unique).
OWNED = {
    CERTIFICATES.name: ("third_party_id", "Third party ID", "Third party", ("edition", "certificate_number"), False),
    DPF_CERTIFICATIONS.name: ("third_party_id", "Third party ID", "Third party", ("framework",), True),
    SCOPE_FACTS.name: ("party_id", "Party ID", "Party", ("fact_key",), True),
    TIAS.name: ("route_id", "Route ID", None, ("regime", "assessed_on"), False),
    CHANGE_NOTICES.name: ("client_id", "Client ID", "Client", ("engagement_id", "sub_processor_id"), True),
    VENDOR_STATEMENTS.name: ("party_id", "Party ID", "Party", ("mechanism", "source", "stated_on"), False),
}
PARTY_KINDS = {GROUP_ENTITIES.name: PartyKind.GROUP_ENTITY, THIRD_PARTIES.name: PartyKind.THIRD_PARTY,
               CLIENTS.name: PartyKind.CLIENT}


class _Importer:
    def __init__(self, sess, outcome: Outcome, progress: Progress, present: set[str]):
        self.sess = sess
        self.outcome = outcome
        self.progress = progress
        self.present = present  # the sheets the file holds
        # sub-processor engagements created as proposed until the file's change notices are in:
        # (engagement id, row, its outcome, the values that make it take effect)
        self.deferred_activations: list[tuple[int, int, RowOutcome, dict]] = []
        # BCR memberships by their approval (("uid", ID) or ("label", name)): [(row, label, membership)]
        self.memberships: dict[tuple[str, str], list[tuple[int, str, dict]]] = {}
        # where each ID of the file was given (sheet, row), and the IDs of rows that failed
        self.file_uids: dict[str, tuple[str, int]] = {}
        self.failed: set[str] = set()
        self.natural_keys: dict[tuple, int] = {}
        self.deferred_routes: list[tuple[int, dict, list]] = []
        self.failed_titles: dict[str, int] = {}
        self.resolved: dict[tuple, tuple[Optional[str], Optional[str]]] = {}
        # third parties whose vendor (Affiliate of) a later row of their sheet may be: (id, its outcome, the cells)
        self.deferred_parents: list[tuple[int, RowOutcome, tuple[Optional[str], Optional[str]]]] = []
        self._load_indexes()

    # indexes of what the register already holds, kept up to date as rows are written
    def _load_indexes(self) -> None:
        sess = self.sess
        # Regions by code and by name (casefolded), the built-in ones and the register's own.
        self.regions: dict[str, str] = {}
        for info in regions.all_regions(sess).values():
            self._index_region(info.code, info.name)
        for alias, code in regions.REGION_ALIASES.items():
            self.regions[alias.casefold()] = code
        self.party_uid: dict[str, tuple[int, PartyKind]] = {}
        self.party_key: dict[tuple, int] = {}
        self.party_names: dict[str, set[int]] = {}
        self.party_label: dict[int, str] = {}
        self.organisations: dict[str, int] = {}
        for row in sess.execute(select(Party.id, Party.uid, Party.kind, Party.name_key, Party.legal_name,
                                       Party.country_code, Party.organisation_code)):
            self._index_party(row.id, row.uid, row.kind, row.legal_name, row.country_code)
            if row.organisation_code:
                self.organisations[row.organisation_code] = row.id
        self.engagement_uid = dict(sess.execute(select(Engagement.uid, Engagement.id)).all())
        self.engagement_key: dict[tuple, int] = {}
        # (engaged party, service) -> engagements: a route's Service cell names the engagement it serves
        self.engagement_service: dict[tuple, set[int]] = {}
        for row in sess.execute(select(Engagement.id, Engagement.engager_id, Engagement.engaged_id, Engagement.service)):
            self._index_engagement(row.id, row.engager_id, row.engaged_id, row.service)
        self.instrument_uid: dict[str, int] = {}
        self.instrument_title: dict[int, str] = {}
        self.instrument_titles: dict[str, set[int]] = {}
        kind_titles = []
        for row in sess.execute(select(TransferInstrument.id, TransferInstrument.uid, TransferInstrument.title,
                                       TransferInstrument.kind)):
            self._index_instrument(row.id, row.uid, row.title, row.kind)
            kind_titles.append((row.id, row.kind, row.title.casefold()))
        # who signed each instrument: a title shared by several instruments is told apart by its signatories
        self.instrument_parties: dict[int, set[int]] = {}
        sides: dict[int, set[tuple[int, str]]] = {}
        for instrument_id, party_id, side in sess.execute(select(InstrumentParty.instrument_id, InstrumentParty.party_id,
                                                                 InstrumentParty.side)):
            self.instrument_parties.setdefault(instrument_id, set()).add(party_id)
            sides.setdefault(instrument_id, set()).add((party_id, side.value))
        # An instrument's natural key: its kind, title and signatories ("EU SCCs" is the title of many).
        self.instrument_key = {(kind, title, frozenset(sides.get(instrument_id, ()))): instrument_id
                               for instrument_id, kind, title in kind_titles}
        self.route_uid = dict(sess.execute(select(TransferRoute.uid, TransferRoute.id)).all())
        # A route's key (services.route_key): its parties, destination, service (engagement) and source route.
        self.route_key: dict[tuple, list[int]] = {}
        for row in sess.execute(select(TransferRoute.id, TransferRoute.exporter_id, TransferRoute.importer_id,
                                       TransferRoute.destination_country, TransferRoute.destination_organisation_id,
                                       TransferRoute.engagement_id, TransferRoute.source_route_id)):
            destination = row.destination_country or f"#{row.destination_organisation_id}"
            self.route_key.setdefault((row.exporter_id, row.importer_id, destination, row.engagement_id, row.source_route_id),
                                      []).append(row.id)
        self.bcr_labels: dict[str, set[int]] = {}
        self.bcr_uid: dict[str, int] = {}
        self.bcr_key: dict[tuple, int] = {}
        for approval in sess.scalars(select(BcrApproval)):
            self._index_approval(approval)
        self.engagement_parties = {row.id: (row.engager_id, row.engaged_id) for row in sess.execute(
            select(Engagement.id, Engagement.engager_id, Engagement.engaged_id))}
        # owned records (certificates, DPF entries, scope facts, TIAs, notices): by ID and by natural key
        self.owned_uid: dict[str, dict[str, int]] = {}
        self.owned_key: dict[str, dict[tuple, int]] = {}
        for name, (owner, _id_column, _name_column, key, _unique) in OWNED.items():
            model = BY_NAME[name].model
            rows = sess.execute(select(model.id, model.uid, getattr(model, owner), *(getattr(model, item) for item in key))).all()
            self.owned_uid[name] = {row[1]: row[0] for row in rows}
            self.owned_key[name] = {tuple(row[2:]): row[0] for row in rows}

    def _index_approval(self, approval: BcrApproval) -> None:
        for text in (approval.label, approval.name):
            self.bcr_labels.setdefault(text.casefold(), set()).add(approval.id)
        self.bcr_uid[approval.uid] = approval.id
        self.bcr_key[(approval.regime, approval.bcr_type, approval.name)] = approval.id

    def _resolve(self, text: Any, organisations: bool = False) -> tuple[Optional[str], Optional[str]]:
        """A country, a region (by code or name: "WORLD", "Worldwide") or an organisation as typed,
        resolved once per import: files repeat the same few."""
        key = (text, organisations)
        if key not in self.resolved:
            typed = " ".join(str(text).split()).casefold()
            region = self.regions.get(typed) or self.regions.get(regions.region_code(typed).casefold())
            self.resolved[key] = (region, None) if region else aliases.resolve(text, organisations=organisations)
        return self.resolved[key]

    def _index_region(self, code: str, name: str) -> None:
        self.regions[code.casefold()] = code
        self.regions.setdefault(" ".join(name.split()).casefold(), code)
        self.resolved.clear()

    def _region_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                    errors: list) -> None:
        """A region of the register's own, matched by its ID or its code."""
        code = values.get("code")
        if values.get("country_codes") is not None:
            values["country_codes"] = member_codes(values["country_codes"])  # "AU, IN" is AU,IN as stored
        if isinstance(code, str):
            code = values["code"] = code.strip().upper()
            self._duplicate(("region", code), sheet_format, number, errors, "region code")
        record = None
        if uid:
            record = self.sess.scalar(select(Region).where(Region.uid == uid))
        if record is None and code:
            record = self.sess.scalar(select(Region).where(Region.code == code))
        written = self._record(sheet_format, number, record, code or f"row {number}", uid, values, errors)
        if written is not None:
            self.sess.flush()  # the routes and locations of this file look it up by its code
            self._index_region(written.code, written.name)

    def _index_party(self, party_id: int, uid: str, kind: PartyKind, legal_name: str, country: Optional[str]) -> None:
        self.party_uid[uid] = (party_id, kind)
        self.party_key[(kind, name_key(legal_name), country)] = party_id
        self.party_names.setdefault(name_key(legal_name), set()).add(party_id)
        self.party_label[party_id] = legal_name

    def _index_engagement(self, engagement_id: int, engager_id: int, engaged_id: int, service: str) -> None:
        self.engagement_key[(engager_id, engaged_id, name_key(service))] = engagement_id
        self.engagement_service.setdefault((engaged_id, name_key(service)), set()).add(engagement_id)

    def _engagement_by_service(self, exporter: Optional[int], importer: Optional[int], cell: Any, errors: list) -> Optional[int]:
        """The engagement a route's Service cell names: the exporter's engagement of the importer for that
        service, else the one engagement of the importer for it (an onward transfer's, say)."""
        service = _text(cell)
        if service is None or importer is None:
            return None
        found = self.engagement_key.get((exporter, importer, name_key(service)))
        if found is not None:
            return found
        ids = self.engagement_service.get((importer, name_key(service)), set())
        if len(ids) == 1:
            return next(iter(ids))
        importer_name = self.party_label.get(importer, "the importer")
        errors.append(("Service", f"No engagement of {importer_name} for the service {service!r} in the file or the register: "
                                  "record it on the Engagements sheet, or give the Engagement ID." if not ids else
                                  f"{len(ids)} engagements of {importer_name} are for the service {service!r}: give the Engagement ID."))
        return None

    def _index_instrument(self, instrument_id: int, uid: str, title: str, kind: Any) -> None:
        self.instrument_title[instrument_id] = title
        self.instrument_uid[uid] = instrument_id
        self.instrument_titles.setdefault(title.casefold(), set()).add(instrument_id)

    # --- one sheet ---

    def sheet(self, sheet_format: SheetFormat, sheet: Sheet) -> None:
        handler = {
            GROUP_ENTITIES.name: self._party_row, THIRD_PARTIES.name: self._party_row, CLIENTS.name: self._party_row,
            ORGANISATIONS.name: self._organisation_row, ENGAGEMENTS.name: self._engagement_row,
            BCR_MEMBERSHIPS.name: self._membership_row, BCR_APPROVALS.name: self._approval_row,
            INSTRUMENTS.name: self._instrument_row, ROUTES.name: self._route_row, REGIONS.name: self._region_row,
        }.get(sheet_format.name, self._owned_row)
        # Two rows for one record are rows of one sheet: the previous sheet's keys (its deferred rows
        # written by now, `settle`) are not looked up again.
        self.natural_keys.clear()
        # the columns read (not the computed ones), and how each field's cell is converted; a field
        # whose (optional) column the file lacks is not written: the register keeps its value
        read = [(index, header) for index, header in enumerate(header for _letter, header in sheet.headers)
                if header not in sheet_format.ignored]
        given = {header for _index, header in read}
        columns = sheet_format.model.__table__.columns
        converters = [(header, field_name, _converter(columns[field_name])) for header, field_name in sheet_format.fields.items()
                      if header in given]
        count = 0
        for number, values in sheet.rows:
            cells = {header: (values[index] if index < len(values) else None) for index, header in read}
            errors: list[tuple[str, str]] = []
            converted = {}
            for header, field_name, convert in converters:
                try:
                    converted[field_name] = convert(cells.get(header))
                except ValueError as error:
                    errors.append((header, str(error)))
            uid = _text(cells.get("ID"))
            if uid is not None:
                uid = uid.lower()
                if not UID.match(uid):
                    errors.append(("ID", f"{uid!r} is not a record ID of the register (leave it blank for a new record)."))
                    uid = None
                elif uid in self.file_uids:
                    where = self.file_uids[uid]
                    errors.append(("ID", f"The same ID as {where[0]} row {where[1]}: a record can have only one row."))
                    uid = None
                else:
                    self.file_uids[uid] = (sheet_format.name, number)
            handler(sheet_format, number, uid, cells, converted, errors)
            count += 1
            if count % EXPUNGE_EVERY == 0:
                # Written rows stay in the transaction; the session forgets them, so that its work (and
                # memory) per row stays the same however large the file is.
                if services.bulk_unit(self.sess):
                    services.flush_pending(self.sess)
                else:
                    self.sess.expunge_all()
                self.progress(f"Checking {sheet_format.name}", count, sheet.approximate_rows)
        self.progress(f"Checking {sheet_format.name}", count, count)
        if self.deferred_parents:
            self._settle_parents()
        # What only this sheet's rows look up: an owned record is matched by its own sheet's rows alone.
        if sheet_format.name in OWNED:
            self.owned_uid[sheet_format.name].clear()
            self.owned_key[sheet_format.name].clear()

    def settle(self, upto: Optional[SheetFormat]) -> None:
        """Before the sheet `upto` (None: at the end), what waited for the sheets before it: sub-processors
        taking effect once the change notices are in, memberships of approvals only the register holds,
        routes whose source route came later in their sheet."""
        position = FORMATS.index(upto) if upto is not None else len(FORMATS)
        if upto in (CHANGE_NOTICES, VENDOR_STATEMENTS, TIAS):
            # A bulk unit inserts engagements and routes as rows after the records its session flushes:
            # those that notices and TIAs point at are written first (and a notice's checks read its engagement).
            services.flush_pending(self.sess)
        if position > FORMATS.index(CHANGE_NOTICES) and self.deferred_activations:
            self._activate()
        if position > FORMATS.index(BCR_APPROVALS) and self.memberships:
            self._memberships_of_register_approvals()
        if position > FORMATS.index(ROUTES) and self.deferred_routes:
            self._finish_routes()

    def _finish_routes(self) -> None:
        """Routes whose source route came later in the file; a loop of onward transfers is an error."""
        pending, self.deferred_routes = self.deferred_routes, []
        while pending:
            still = []
            for number, context, errors in pending:
                source = context["source_uid"]
                if source in self.route_uid or source in self.failed:
                    self._write_route(number, context, errors)
                else:
                    still.append((number, context, errors))
            if len(still) == len(pending):
                for number, context, errors in still:
                    errors.append(("Onward transfer of", "The onward transfers of these rows form a loop."))
                    self._record(ROUTES, number, None, context["label"], None, {}, errors, context["uid"])
                return
            pending = still

    # --- outcomes ---

    def _record(self, sheet_format: SheetFormat, number: int, record: Any, label: str, uid: Optional[str],
                values: dict, errors: list, own_uid: Optional[str] = None, recorded: Optional[dict] = None,
                quiet_on: frozenset = frozenset()) -> Any:
        """Create or update the row's record (unless it has errors) and note the outcome. `recorded`: the
        fixed fields a new record takes as the file gives them (a notice's sub-processor)."""
        own_uid = own_uid if own_uid is not None else uid
        if errors:
            return self._failed(sheet_format, number, label, errors, own_uid)
        model = sheet_format.model
        # A blank cell is no value, except where the record would derive one: there (an engagement, a
        # purpose) blank says "none", as the export writes it. Cells blank for "not given" are left
        # out before (a destination, regimes, roles).
        derivable = services.spec_for(model).derivable
        derived: dict = {}
        try:
            if record is None:
                created = services.create(model, {k: v for k, v in values.items() if v is not None or k in derivable},
                                          uid=uid or str(uuid.uuid4()), derived=derived, as_recorded=recorded)
                self.outcome.rows.append(RowOutcome(sheet_format.name, number, "create", label,
                                                    self._derived_changes(sheet_format, derived) if derived else _NONE))
                return created
            changed = {key: value for key, value in values.items() if _differs(record, key, value)}
            if not changed:
                self.outcome.rows.append(RowOutcome(sheet_format.name, number, "unchanged", label))
                return record
            before = {key: self._shown(key, _current(record, key)) for key in changed}
            # What the row states of the fields the record derives counts as given, changed or not (only
            # what it leaves out may follow a new exporter, importer or engagement).
            stated = {key: value for key, value in values.items() if key in derivable}
            prior = {key: _current(record, key) for key in derivable}
            services.update(record, {**stated, **changed}, expected_version=record.version, derived=derived)
            changes = {sheet_format.column_of(key): [before[key], self._shown(key, value)] for key, value in changed.items()}
            if derived:
                changes.update(self._derived_changes(sheet_format, derived, prior))
            self.outcome.rows.append(RowOutcome(sheet_format.name, number, "update", label, changes))
            return record
        except DomainError as error:
            if quiet_on and set(error.errors) <= quiet_on:
                raise _Waits from None  # the caller tries another way (see _create_until_notices)
            found = [(sheet_format.column_of(key) if key else "", message)
                     for key, messages in error.errors.items() for message in messages]
            return self._failed(sheet_format, number, label, found, own_uid)

    def _derived_changes(self, sheet_format: SheetFormat, derived: dict, prior: Optional[dict] = None) -> dict[str, list]:
        """The values the register filled in for a row, as the preview shows them: column -> [before (an
        update's `prior` values), after (why)]."""
        changes: dict[str, list] = {}
        regimes = [name for name in services.ROUTE_REGIME_FIELDS if name in derived]
        if regimes:
            carried = [code for code, name in zip(REGIMES, services.ROUTE_REGIME_FIELDS) if name in derived and derived[name].value]
            reasons = [derived[name].reason for name in regimes if derived[name].value] or [derived[regimes[0]].reason]
            before = " ".join(code for code, name in zip(REGIMES, services.ROUTE_REGIME_FIELDS)
                              if prior[name]) or NO_REGIMES if prior is not None else None
            changes["Regimes"] = [before, f"{' '.join(carried) or NO_REGIMES} (derived: {' '.join(reasons)})"]
        for name, item in derived.items():
            if name in services.ROUTE_REGIME_FIELDS or item.value is None and name in services.ROUTE_DESTINATION_FIELDS:
                continue
            column = "Destination code" if name in services.ROUTE_DESTINATION_FIELDS else sheet_format.column_of(name)
            shown = self.party_label.get(item.value, item.value) if name == "destination_organisation_id" else self._shown(name, item.value)
            before = self._shown(name, prior[name]) if prior is not None else None
            changes[column] = [before, f"{shown} (derived: {item.reason})"]
        return changes

    def _failed(self, sheet_format: SheetFormat, number: int, label: str, errors: list, uid: Optional[str]) -> None:
        if uid:
            self.failed.add(uid)
        self.outcome.rows.append(RowOutcome(sheet_format.name, number, "error", label, {}, list(errors)))
        return None

    def _duplicate(self, key: tuple, sheet_format: SheetFormat, number: int, errors: list, what: str) -> None:
        if key in self.natural_keys:
            errors.append(("", f"The same {what} as row {self.natural_keys[key]}: a record can have only one row."))
        else:
            self.natural_keys[key] = number

    def _shown(self, key: str, value: Any) -> Any:
        """A value as the preview shows it: collections by their codes, names and titles."""
        if key == "locations":
            return "; ".join(sorted(f"{item['country_code']}: {LocationActivity(item['activity']).label}" for item in value))
        if key == "memberships":
            return "; ".join(sorted(f"{self.party_label.get(item['group_entity_id'], item['group_entity_id'])} from "
                                    f"{item['bound_from']}" + (f" to {item['bound_to']}" if item["bound_to"] else "")
                                    for item in value))
        if key == "signatories":
            return "; ".join(sorted(f"{item['side']}: {self.party_label.get(item['party_id'], item['party_id'])}" for item in value))
        if key == "instrument_ids":
            return "; ".join(sorted(self.instrument_title.get(item, str(item)) for item in value))
        shown = plain(value)
        return "" if shown is None else shown

    # --- references ---

    def _party_ref(self, uid_cell: Any, name_cell: Any, uid_column: str, name_column: str, errors: list,
                   required: bool = True) -> Optional[int]:
        uid = _text(uid_cell)
        if uid is not None:
            uid = uid.lower()
            if uid in self.party_uid:
                return self.party_uid[uid][0]
            if uid in self.failed:
                where = self.file_uids.get(uid, ("", 0))
                errors.append((uid_column, f"Refers to {where[0]} row {where[1]}, which has errors."))
            else:
                errors.append((uid_column, f"No party with ID {uid} in the file or the register."))
            return None
        return self._party_by_name(name_cell, name_column, errors, required)

    def _party_by_name(self, name_cell: Any, column: str, errors: list, required: bool = True) -> Optional[int]:
        name = _text(name_cell)
        if name is None:
            if required:
                errors.append((column, "Give the party (its ID, or its exact legal name)."))
            return None
        ids = self.party_names.get(name_key(name), set())
        if len(ids) == 1:
            return next(iter(ids))
        if not ids:
            errors.append((column, f"No party named {name!r} in the file or the register."))
        else:
            errors.append((column, f"{len(ids)} parties are named {name!r}: give the ID instead."))
        return None

    def _country(self, cells: dict, errors: list) -> Optional[str]:
        code_text, name_text = _text(cells.get("Country code")), _text(cells.get("Country"))
        code = name = None
        if code_text:
            code, problem = self._resolve(code_text)
            if problem:
                errors.append(("Country code", problem))
        if name_text:
            name, problem = self._resolve(name_text)
            if problem and not code_text:
                errors.append(("Country", problem))
        if code and name and code != name:
            errors.append(("Country", f"{name_text!r} is not the country of code {code_text!r}: correct one of them."))
        if not (code_text or name_text):
            errors.append(("Country code", "Give the country (ISO code or English name)."))
        return code or name

    # --- rows of each sheet ---

    def _party_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                   errors: list) -> None:
        kind = PARTY_KINDS[sheet_format.name]
        values["country_code"] = self._country(cells, errors)
        later = None
        if kind == PartyKind.THIRD_PARTY and ("Affiliate of ID" in cells or "Affiliate of" in cells):
            # The vendor a local entity belongs to (blank: none); the register checks it is a live third party.
            # A vendor not known yet may be a row further down this sheet: looked up once the sheet is read.
            uid_text, name_text = _text(cells.get("Affiliate of ID")), _text(cells.get("Affiliate of"))
            if uid_text is not None:
                unknown = uid_text.lower() not in self.party_uid and uid_text.lower() not in self.failed
            else:
                unknown = name_text is not None and not self.party_names.get(name_key(name_text))
            if unknown:
                later = (uid_text, name_text)
            else:
                values["parent_id"] = self._party_ref(uid_text, name_text, "Affiliate of ID", "Affiliate of", errors,
                                                      required=False)
        legal_name = values.get("legal_name")
        label = legal_name or f"row {number}"
        if legal_name is None:
            errors.append(("Legal name", "This field is required."))
        record = self._match_party(kind, uid, legal_name, values["country_code"], errors)
        if legal_name and values["country_code"]:
            self._duplicate((kind, name_key(legal_name), values["country_code"]), sheet_format, number, errors,
                            "legal name and country")
        _drop_blank_defaults(sheet_format, values, record)
        written = self._record(sheet_format, number, record, label, uid, values, errors)
        if written is not None:
            self._index_party(written.id, written.uid, kind, written.legal_name, written.country_code)
            if uid:  # the file's ID of a record matched by name: other sheets may refer to it
                self.party_uid[uid] = (written.id, kind)
            if later is not None:
                self.deferred_parents.append((written.id, self.outcome.rows[-1], later))

    def _settle_parents(self) -> None:
        """Affiliates whose vendor came later in their sheet: each takes its vendor now, or its row fails."""
        pending, self.deferred_parents = self.deferred_parents, []
        services.flush_pending(self.sess)  # a bulk unit's new parties are rows: written first
        for party_id, outcome, (uid_text, name_text) in pending:
            errors: list = []
            parent_id = self._party_ref(uid_text, name_text, "Affiliate of ID", "Affiliate of", errors)
            party = self.sess.get(Party, party_id)
            if not errors and party.parent_id != parent_id:
                try:
                    services.update(party, {"parent_id": parent_id}, expected_version=party.version)
                except DomainError as error:
                    errors = [(THIRD_PARTIES.column_of(key) if key else "", message)
                              for key, messages in error.errors.items() for message in messages]
            if errors:
                outcome.action, outcome.errors = "error", errors
            elif outcome.action != "create":
                outcome.action = "update"
                outcome.changes = {**outcome.changes, "Affiliate of ID": ["", self.party_label.get(parent_id, parent_id)]}

    def _match_party(self, kind: PartyKind, uid: Optional[str], legal_name: Optional[str], country: Optional[str],
                     errors: list) -> Optional[Party]:
        party_id = None
        if uid and uid in self.party_uid:
            party_id, found_kind = self.party_uid[uid]
            if found_kind != kind:
                errors.append(("ID", f"This ID is a {found_kind.label.lower()} of the register, not a {kind.label.lower()}."))
                return None
        elif legal_name and country:
            party_id = self.party_key.get((kind, name_key(legal_name), country))
        return self.sess.get(Party, party_id) if party_id is not None else None

    def _organisation_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                          errors: list) -> None:
        """An international organisation: a destination of its own, known by its id in countries.yaml."""
        kind = PartyKind.INTERNATIONAL_ORGANISATION
        code = _text(cells.get("Organisation code"))
        if code is not None:
            code = next((known for known in countries.current().organisations if known.upper() == code.upper()), code)
        else:
            errors.append(("Organisation code", "Give the organisation's id in data/countries.yaml (e.g. EPO)."))
        values["organisation_code"] = code
        legal_name = values.get("legal_name")
        if legal_name is None:
            errors.append(("Legal name", "This field is required."))
        record = None
        if uid and uid in self.party_uid:
            party_id, found_kind = self.party_uid[uid]
            if found_kind != kind:
                errors.append(("ID", f"This ID is a {found_kind.label.lower()} of the register, not a {kind.label.lower()}."))
            else:
                record = self.sess.get(Party, party_id)
        elif code in self.organisations:
            record = self.sess.get(Party, self.organisations[code])
        if code:
            self._duplicate(("organisation", code), sheet_format, number, errors, "organisation code")
        _drop_blank_defaults(sheet_format, values, record)
        written = self._record(sheet_format, number, record, legal_name or code or f"row {number}", uid, values, errors)
        if written is not None:
            self._index_party(written.id, written.uid, kind, written.legal_name, None)
            self.organisations[written.organisation_code] = written.id
            if uid:
                self.party_uid[uid] = (written.id, kind)

    def _owned_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                   errors: list) -> None:
        """A record owned by a party or a route (a certificate, a DPF entry, a scope fact, a TIA, a
        change notice): its owner by ID (or a party by its exact legal name), matched by ID, else by
        its owner and natural key."""
        owner_field, id_column, name_column, key_fields, unique = OWNED[sheet_format.name]
        recorded = None
        if name_column is None:  # a TIA's route, by its ID
            route_uid = (_text(cells.get(id_column)) or "").lower()
            owner = self.route_uid.get(route_uid)
            if owner is None:
                errors.append((id_column, _missing(route_uid, "route", self) if route_uid else "Give the route's ID."))
            owner_label = f"route {route_uid}"
        else:
            owner = self._party_ref(cells.get(id_column), cells.get(name_column), id_column, name_column, errors)
            owner_label = self.party_label.get(owner, "?")
        values[owner_field] = owner
        if sheet_format is CHANGE_NOTICES:
            recorded = self._notice_references(cells, values, errors)
        if sheet_format is VENDOR_STATEMENTS:
            # Optional: a statement about one engagement of the vendor only.
            engagement_uid = (_text(cells.get("Engagement ID")) or "").lower()
            values["engagement_id"] = self.engagement_uid.get(engagement_uid) if engagement_uid else None
            if engagement_uid and values["engagement_id"] is None:
                errors.append(("Engagement ID", _missing(engagement_uid, "engagement", self)))
        record = None
        known = {**values, **(recorded or {})}
        key = (owner, *(known.get(item) for item in key_fields))
        # a TIA's regime may be blank (all the route's regimes); the rest of a key must be given
        keyed = (unique or not uid) and owner is not None and all(known.get(item) is not None for item in key_fields
                                                                  if item != "regime")
        if uid and uid in self.owned_uid[sheet_format.name]:
            record = self.sess.get(sheet_format.model, self.owned_uid[sheet_format.name][uid])
        elif keyed and key in self.owned_key[sheet_format.name]:
            record = self.sess.get(sheet_format.model, self.owned_key[sheet_format.name][key])
        if keyed:
            self._duplicate((sheet_format.name,) + key, sheet_format, number, errors,
                            "owner and " + ", ".join(sheet_format.column_of(item) for item in key_fields).lower())
        if record is not None and recorded is not None and recorded["sub_processor_id"] != record.sub_processor_id:
            errors.append(("Sub-processor ID", "A notice stays about the sub-processor it was logged for: log another notice."))
        label = f"{owner_label}: " + " ".join(str(plain(known.get(item)) or "") for item in key_fields
                                               if item not in ("engagement_id", "sub_processor_id"))
        if sheet_format is CHANGE_NOTICES:
            label = f"Notice to {owner_label}: {self.party_label.get(recorded and recorded['sub_processor_id'], '?')}"
        _drop_blank_defaults(sheet_format, values, record)
        written = self._record(sheet_format, number, record, label.strip(), uid, values, errors, recorded=recorded)
        if written is not None:
            self.owned_uid[sheet_format.name][written.uid] = written.id
            if uid:
                self.owned_uid[sheet_format.name][uid] = written.id
            self.owned_key[sheet_format.name][(getattr(written, owner_field), *(getattr(written, item) for item in key_fields))] = written.id

    def _notice_references(self, cells: dict, values: dict, errors: list) -> Optional[dict]:
        """A change notice's engagement (by ID) and the sub-processor it told of (by default the
        engagement's engaged party): the fixed field a new notice takes from the file."""
        engagement_uid = (_text(cells.get("Engagement ID")) or "").lower()
        engagement_id = self.engagement_uid.get(engagement_uid)
        if engagement_id is None:
            errors.append(("Engagement ID", _missing(engagement_uid, "engagement", self) if engagement_uid
                           else "Give the engagement's ID."))
        values["engagement_id"] = engagement_id
        sub_processor = self._party_ref(cells.get("Sub-processor ID"), cells.get("Sub-processor"), "Sub-processor ID",
                                        "Sub-processor", errors, required=False)
        if sub_processor is None and engagement_id is not None:
            sub_processor = self.engagement_parties[engagement_id][1]
        return {"sub_processor_id": sub_processor}

    def _membership_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                        errors: list) -> None:
        """A group entity bound by an approval: kept for its approval's row (memberships are part of it)."""
        approval_uid = (_text(cells.get("BCR approval ID")) or "").lower()
        approval_label = _text(cells.get("BCR approval"))
        entity = self._party_ref(cells.get("Group entity ID"), cells.get("Group entity"), "Group entity ID", "Group entity", errors)
        if not (approval_uid or approval_label):
            errors.append(("BCR approval ID", "Give the BCR approval (its ID, or its name as the register shows it)."))
        if values.get("bound_from") is None:
            errors.append(("Bound from", "Give the date the entity is bound from."))
        label = f"{self.party_label.get(entity, '?')} bound by {approval_label or approval_uid}"
        key = ("uid", approval_uid) if approval_uid else ("label", (approval_label or "").casefold())
        if entity is not None and values.get("bound_from") is not None:
            self._duplicate(("membership", key, entity, values["bound_from"]), sheet_format, number, errors,
                            "approval, group entity and start")
        if errors:
            self._failed(sheet_format, number, label, errors, None)
            return
        self.memberships.setdefault(key, []).append(
            (number, label, {"group_entity_id": entity, "bound_from": values["bound_from"], "bound_to": values.get("bound_to")}))

    def _approval_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                      errors: list) -> None:
        name, regime, bcr_type = values.get("name"), values.get("regime"), values.get("bcr_type")
        record = None
        if uid and uid in self.bcr_uid:
            record = self.sess.get(BcrApproval, self.bcr_uid[uid])
        elif (regime, bcr_type, name) in self.bcr_key:
            record = self.sess.get(BcrApproval, self.bcr_key[(regime, bcr_type, name)])
        if name and regime and bcr_type:
            self._duplicate(("approval", regime, bcr_type, name), sheet_format, number, errors, "name, regime and BCR type")
        # its memberships, when the file has the sheet: by the approval's ID, or its name as the register shows it
        members = None
        if BCR_MEMBERSHIPS.name in self.present:
            keys = [("uid", uid)] if uid else []
            if name:
                keys.append(("label", name.casefold()))
                if regime and bcr_type:
                    keys.append(("label", f"{name} ({regime.value}, {bcr_type.label})".casefold()))
            members = [item for key in keys for item in self.memberships.pop(key, [])]
            values["memberships"] = [membership for _number, _label, membership in members]
        before = _membership_map(record)
        _drop_blank_defaults(sheet_format, values, record)
        written = self._record(sheet_format, number, record, name or f"row {number}", uid, values, errors)
        if written is not None:
            self._index_approval(written)
            if uid:
                self.bcr_uid[uid] = written.id
        self._membership_outcomes(members or [], before, written, number)

    def _membership_outcomes(self, members: list, before: dict, approval: Optional[BcrApproval], approval_row: int) -> None:
        """Each membership row's outcome: created, updated (its end) or unchanged, with its approval."""
        for number, label, membership in members:
            if approval is None:
                self._failed(BCR_MEMBERSHIPS, number, label, [("BCR approval ID", f"Refers to {BCR_APPROVALS.name} row "
                                                                                  f"{approval_row}, which has errors.")], None)
                continue
            key = (membership["group_entity_id"], membership["bound_from"])
            if key not in before:
                self.outcome.rows.append(RowOutcome(BCR_MEMBERSHIPS.name, number, "create", label))
            elif before[key] != membership["bound_to"]:
                self.outcome.rows.append(RowOutcome(BCR_MEMBERSHIPS.name, number, "update", label,
                                                    {"Bound to": [self._shown("", before[key]), self._shown("", membership["bound_to"])]}))
            else:
                self.outcome.rows.append(RowOutcome(BCR_MEMBERSHIPS.name, number, "unchanged", label))

    def _memberships_of_register_approvals(self) -> None:
        """Memberships of approvals the file's BCR approvals sheet does not hold: each approval of the
        register they name gets them (those the file does not list are kept)."""
        pending, self.memberships = self.memberships, {}
        for (how, text), members in pending.items():
            ids = {self.bcr_uid[text]} if how == "uid" and text in self.bcr_uid else self.bcr_labels.get(text, set()) if how == "label" else set()
            if len(ids) != 1:
                message = (f"No BCR approval {text!r} in the file or the register (record it first)." if not ids
                           else f"{text!r} names several BCR approvals: give its ID.")
                for number, label, _membership in members:
                    self._failed(BCR_MEMBERSHIPS, number, label, [("BCR approval ID" if how == "uid" else "BCR approval", message)], None)
                continue
            approval = self.sess.get(BcrApproval, next(iter(ids)))
            before = _membership_map(approval)
            wanted = {**{key: to for key, to in before.items()},
                      **{(item["group_entity_id"], item["bound_from"]): item["bound_to"] for _n, _l, item in members}}
            value = [{"group_entity_id": entity, "bound_from": start, "bound_to": end} for (entity, start), end in wanted.items()]
            try:
                if _differs(approval, "memberships", value):
                    services.update(approval, {"memberships": value}, expected_version=approval.version)
            except DomainError as error:
                found = [("", message) for messages in error.errors.values() for message in messages]
                for number, label, _membership in members:
                    self._failed(BCR_MEMBERSHIPS, number, label, found, None)
                continue
            self._membership_outcomes(members, before, approval, 0)

    def _engagement_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                        errors: list) -> None:
        engager = self._party_ref(cells.get("Engaged by ID"), cells.get("Engaged by"), "Engaged by ID", "Engaged by", errors)
        engaged = self._party_ref(cells.get("Engages ID"), cells.get("Engages"), "Engages ID", "Engages", errors)
        values.update(engager_id=engager, engaged_id=engaged)
        locations = self._locations(cells.get("Processing locations"), errors)
        service = values.get("service")
        label = f"{self.party_label.get(engager, '?')} \u2192 {self.party_label.get(engaged, '?')}: {service or ''}"
        record = None
        if uid and uid in self.engagement_uid:
            record = self.sess.get(Engagement, self.engagement_uid[uid])
        elif engager and engaged and service:
            key = (engager, engaged, name_key(service))
            if key in self.engagement_key:
                record = self.sess.get(Engagement, self.engagement_key[key])
        if engager and engaged and service:
            self._duplicate(("engagement", engager, engaged, name_key(service)), sheet_format, number, errors,
                            "engager, engaged party and service")
        if locations is not None:
            if record is not None:
                # The workbook lists countries only: a country kept keeps the activity recorded for it.
                activities = {location.country_code: location.activity for location in record.locations}
                locations = [{"country_code": code, "activity": (activity or activities.get(code, LocationActivity.STORAGE_AND_ACCESS)).value}
                             for code, activity in locations]
            else:
                locations = [{"country_code": code, "activity": (activity or LocationActivity.STORAGE_AND_ACCESS).value}
                             for code, activity in locations]
            values["locations"] = locations
        _drop_blank_defaults(sheet_format, values, record)
        if record is None and not errors and CHANGE_NOTICES.name in self.present:
            written = self._create_until_notices(number, label, uid, values)
        else:
            written = self._record(sheet_format, number, record, label, uid, values, errors)
        if written is not None:
            self.engagement_uid[written.uid] = written.id
            if uid:
                self.engagement_uid[uid] = written.id
            self._index_engagement(written.id, written.engager_id, written.engaged_id, written.service)
            self.engagement_parties[written.id] = (written.engager_id, written.engaged_id)

    def _create_until_notices(self, number: int, label: str, uid: Optional[str], values: dict) -> Any:
        """A new sub-processor engagement that may take effect (Art. 28(2)) only with the notices to its
        clients, which the file's Change notices sheet holds and which can only be recorded once the
        engagement exists: it is created as the register first knew it, proposed, and takes effect with
        the row's values once the notices are in (`_activate`), as it did in the register it comes from."""
        try:
            return self._record(ENGAGEMENTS, number, None, label, uid, values, [], quiet_on=ACTIVATION_FIELDS)
        except _Waits:
            pass
        proposed = {**values, "status": Lifecycle.PROPOSED,
                    "planned_start_on": values.get("planned_start_on") or values.get("starts_on") or date.today()}
        written = self._record(ENGAGEMENTS, number, None, label, uid, proposed, [])
        if written is not None:
            self.deferred_activations.append((written.id, number, self.outcome.rows[-1],
                                              {key: values.get(key) for key in ("status", "planned_start_on")}))
        return written

    def _activate(self) -> None:
        """The deferred sub-processors take effect, checked against the notices now recorded."""
        pending, self.deferred_activations = self.deferred_activations, []
        services.flush_pending(self.sess)  # a bulk unit's new engagements are rows: written first
        for engagement_id, number, outcome, wanted in pending:
            engagement = self.sess.get(Engagement, engagement_id)
            try:
                services.update(engagement, wanted, expected_version=engagement.version)
            except DomainError as error:
                outcome.action, outcome.errors = "error", [(ENGAGEMENTS.column_of(key) if key else "", message)
                                                           for key, messages in error.errors.items() for message in messages]

    def _locations(self, cell: Any, errors: list) -> Optional[list[tuple[str, Optional[LocationActivity]]]]:
        text = _text(cell)
        found: list[tuple[str, Optional[LocationActivity]]] = []
        for item in re.split(r"\s*[,;\n]\s*", text or ""):
            if not item:
                continue
            place, _, activity_text = item.partition(":")
            code, problem = self._resolve(place)
            if problem:
                errors.append(("Processing locations", problem))
                continue
            activity = None
            if activity_text:
                # by value or label: "access" or "Remote access", as the export writes it
                activity = _enum_choices(LocationActivity).get(" ".join(activity_text.split()).casefold())
                if activity is None:
                    errors.append(("Processing locations", f"Unknown activity {activity_text.strip()!r}: "
                                                           "storage, remote access, or storage and access."))
            if code not in [seen for seen, _ in found]:
                found.append((code, activity))
        return found

    def _instrument_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                        errors: list) -> None:
        title, kind = values.get("title"), values.get("kind")
        label = title or f"row {number}"
        bcr_text = _text(cells.get("BCR approval"))
        bcr_uid = (_text(cells.get("BCR approval ID")) or "").lower()
        values["bcr_approval_id"] = None
        if bcr_uid:  # the ID, when given, says exactly which approval
            if bcr_uid in self.bcr_uid:
                values["bcr_approval_id"] = self.bcr_uid[bcr_uid]
            else:
                errors.append(("BCR approval ID", f"No BCR approval with ID {bcr_uid} in the file or the register."))
        elif bcr_text:
            ids = self.bcr_labels.get(bcr_text.casefold(), set())
            if len(ids) == 1:
                values["bcr_approval_id"] = next(iter(ids))
            else:
                errors.append(("BCR approval", f"No BCR approval {bcr_text!r} in the register (record it first)." if not ids
                               else f"{bcr_text!r} names several BCR approvals: use the full name shown in the register."))
        signatories = []
        for column, id_column, side in (("Exporters", "Exporter IDs", InstrumentSide.EXPORTER),
                                        ("Importers", "Importer IDs", InstrumentSide.IMPORTER)):
            given_ids = _text(cells.get(id_column))
            # The IDs, when given, say exactly who signed (two parties may share a legal name).
            for item in LIST_SEPARATOR.split(given_ids or _text(cells.get(column)) or ""):
                if item:
                    party_id = (self._party_ref(item, None, id_column, column, errors) if given_ids
                                else self._party_by_name(item, column, errors))
                    if party_id is not None:
                        signatories.append({"party_id": party_id, "side": side.value})
        values["signatories"] = signatories
        record = None
        if uid and uid in self.instrument_uid:
            record = self.sess.get(TransferInstrument, self.instrument_uid[uid])
        key = (kind, (title or "").casefold(), frozenset((item["party_id"], item["side"]) for item in signatories))
        if record is None and not uid and title and kind and key in self.instrument_key:
            record = self.sess.get(TransferInstrument, self.instrument_key[key])
        if title and kind and not uid:
            self._duplicate(("instrument",) + key, sheet_format, number, errors, "kind, title and signatories (and no ID)")
        _drop_blank_defaults(sheet_format, values, record)
        written = self._record(sheet_format, number, record, label, uid, values, errors)
        if written is not None:
            self._index_instrument(written.id, written.uid, written.title, written.kind)
            self.instrument_parties[written.id] = {item["party_id"] for item in signatories}
            self.instrument_key[key] = written.id
            if uid:
                self.instrument_uid[uid] = written.id
        elif title:
            self.failed_titles[title.casefold()] = number

    def _route_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                   errors: list) -> None:
        exporter = self._party_ref(cells.get("Exporter ID"), cells.get("Exporter"), "Exporter ID", "Exporter", errors)
        importer = self._party_ref(cells.get("Importer ID"), cells.get("Importer"), "Importer ID", "Importer", errors)
        values.update(exporter_id=exporter, importer_id=importer)
        destination_text = _text(cells.get("Destination code")) or _text(cells.get("Destination"))
        column = "Destination code" if _text(cells.get("Destination code")) else "Destination"
        destination = None
        if destination_text is None:
            # Not given: the route's default (the importer's country or organisation), as through the API;
            # the route is matched by it too.
            derived = services.destination_default(self.sess, importer)
            if "destination_country" in derived:
                destination = destination_text = derived["destination_country"].value
            elif "destination_organisation_id" in derived:
                destination = f"#{derived['destination_organisation_id'].value}"
                destination_text = self.party_label.get(derived["destination_organisation_id"].value)
        else:
            values.update(destination_country=None, destination_organisation_id=None)
            code, problem = self._resolve(destination_text, organisations=True)
            if problem:
                errors.append((column, problem))
            elif code in self.organisations:
                values["destination_organisation_id"] = self.organisations[code]
                destination = f"#{self.organisations[code]}"
            elif len(code) == 2 or code in self.regions.values():
                values["destination_country"] = destination = code
            else:
                errors.append((column, f"The international organisation {code} is not in the register: record it first."))
        regimes_text = _text(cells.get("Regimes"))
        if regimes_text is not None:  # blank: not given, the route's default (as through the API)
            regimes = [] if regimes_text.casefold() == NO_REGIMES else regimes_text.upper().replace(",", " ").split()
            for regime in regimes:
                if regime not in ("EU", "UK", "CH"):
                    errors.append(("Regimes", f"Unknown regime {regime!r}: EU, UK or CH separated by spaces, or "
                                              f"{NO_REGIMES!r}."))
            values.update(carries_eu_data="EU" in regimes, carries_uk_data="UK" in regimes, carries_ch_data="CH" in regimes)
        for role in ("exporter_role", "importer_role"):
            if values.get(role) is None:
                values.pop(role, None)  # blank: not given, the role the route's engagement gives
        engagement_uid = _text(cells.get("Engagement ID"))
        values["engagement_id"] = None
        if engagement_uid:
            engagement_uid = engagement_uid.lower()
            if engagement_uid in self.engagement_uid:
                values["engagement_id"] = self.engagement_uid[engagement_uid]  # the ID wins, as a party's does
            else:
                errors.append(("Engagement ID", _missing(engagement_uid, "engagement", self)))
        elif _text(cells.get("Service")):  # the engagement by the service it is for (files made by hand)
            values["engagement_id"] = self._engagement_by_service(exporter, importer, cells.get("Service"), errors)
        instrument_ids = []
        wanted_titles: dict[str, int] = {}
        for instrument_uid in LIST_SEPARATOR.split((_text(cells.get("Instrument IDs")) or "").lower()):
            # The IDs, when given, say exactly which instruments (titles need not be unique).
            if instrument_uid in self.instrument_uid:
                instrument_ids.append(self.instrument_uid[instrument_uid])
            elif instrument_uid:
                errors.append(("Instrument IDs", _missing(instrument_uid, "instrument", self)))
        for title in LIST_SEPARATOR.split(_text(cells.get("Instruments")) or "") if not _text(cells.get("Instrument IDs")) else ():
            if title:
                wanted_titles[title] = wanted_titles.get(title, 0) + 1
        for title, times in wanted_titles.items():
            ids = self.instrument_titles.get(title.casefold(), set())
            if len(ids) > times and exporter and importer:
                # The same title for several instruments (e.g. "EU SCCs"): those both parties signed.
                ids = {item for item in ids if {exporter, importer} <= self.instrument_parties.get(item, set())} or ids
            if ids and len(ids) == times:
                instrument_ids.extend(ids)
            elif title.casefold() in self.failed_titles:
                errors.append(("Instruments", f"{title!r} refers to Instruments row {self.failed_titles[title.casefold()]}, "
                                              "which has errors."))
            elif not ids:
                errors.append(("Instruments", f"No instrument titled {title!r} in the file or the register."))
            else:
                errors.append(("Instruments", f"{len(ids)} instruments titled {title!r} could be meant: give them "
                                              "distinct titles, or record their exporter and importer as signatories."))
        values["instrument_ids"] = sorted(set(instrument_ids))
        label = f"{self.party_label.get(exporter, '?')} \u2192 {self.party_label.get(importer, '?')} ({destination_text or '?'})"
        context = {"uid": uid, "values": values, "label": label, "destination": destination,
                   "source_uid": (_text(cells.get("Onward transfer of")) or "").lower() or None}
        source = context["source_uid"]
        if source and source not in self.route_uid and source not in self.failed and self.file_uids.get(source, ("",))[0] == ROUTES.name:
            self.deferred_routes.append((number, context, errors))
            return
        self._write_route(number, context, errors)

    def _write_route(self, number: int, context: dict, errors: list) -> None:
        values, uid = context["values"], context["uid"]
        source = context["source_uid"]
        values["source_route_id"] = None
        if source:
            if source in self.route_uid:
                values["source_route_id"] = self.route_uid[source]
            else:
                errors.append(("Onward transfer of", _missing(source, "route", self)))
        record = None
        # The route's key (services.route_key): a second route between the same parties to the same place
        # is another route when its service (engagement) or its source route differs.
        parties = (values["exporter_id"], values["importer_id"], context["destination"])
        key = parties + (values.get("engagement_id"), values["source_route_id"])
        if uid and uid in self.route_uid:
            record = self.sess.get(TransferRoute, self.route_uid[uid])
        elif not uid and None not in parties:
            matches = self.route_key.get(key, [])
            if len(matches) > 1:
                errors.append(("ID", f"{len(matches)} routes of the register have this exporter, importer, destination and "
                                     "service: give the route's ID."))
            elif matches:
                record = self.sess.get(TransferRoute, matches[0])
            self._duplicate(("route",) + key, ROUTES, number, errors,
                            "exporter, importer, destination and service (and no ID)")
        _drop_blank_defaults(ROUTES, values, record)
        written = self._record(ROUTES, number, record, context["label"], uid, values, errors)
        if written is not None:
            self.route_uid[written.uid] = written.id
            if uid:
                self.route_uid[uid] = written.id
            if record is None and None not in parties:
                self.route_key.setdefault(key, []).append(written.id)


def _missing(uid: str, what: str, importer: _Importer) -> str:
    if uid in importer.failed:
        where = importer.file_uids.get(uid, ("", 0))
        return f"Refers to {where[0]} row {where[1]}, which has errors."
    return f"No {what} with ID {uid} in the file or the register."


def _drop_blank_defaults(sheet_format: SheetFormat, values: dict, record: Any) -> None:
    """A blank cell where the register always holds a value (a status, a role) keeps the current value or the default."""
    spec = services.spec_for(sheet_format.model)
    columns = sheet_format.model.__table__.columns
    for key in list(values):
        if values[key] is None and key in columns and not columns[key].nullable and key not in spec.required:
            del values[key]


def _membership_map(approval: Optional[BcrApproval]) -> dict[tuple[int, date], Optional[date]]:
    """An approval's memberships: (group entity, bound from) -> bound to."""
    if approval is None:
        return {}
    return {(item.group_entity_id, item.bound_from): item.bound_to for item in approval.memberships}


def _differs(record: Any, key: str, value: Any) -> bool:
    if key == "memberships":
        return {(item["group_entity_id"], item["bound_from"]): item["bound_to"] for item in value} != _membership_map(record)
    if key == "locations":
        return sorted(f"{item['country_code']}:{item['activity']}" for item in value) != \
            sorted(f"{location.country_code}:{location.activity.value}" for location in record.locations)
    if key == "signatories":
        return {(item["party_id"], item["side"]) for item in value} != \
            {(item.party_id, item.side.value) for item in record.signatories}
    if key == "instrument_ids":
        return sorted(value) != sorted(instrument.id for instrument in record.instruments)
    return getattr(record, key) != value


def _current(record: Any, key: str) -> Any:
    """A field's current value in the form the import gives it (collections as the writers take them)."""
    if key == "locations":
        return [{"country_code": item.country_code, "activity": item.activity.value} for item in record.locations]
    if key == "signatories":
        return [{"party_id": item.party_id, "side": item.side.value} for item in record.signatories]
    if key == "instrument_ids":
        return [instrument.id for instrument in record.instruments]
    if key == "memberships":
        return [{"group_entity_id": entity, "bound_from": start, "bound_to": end}
                for (entity, start), end in _membership_map(record).items()]
    return getattr(record, key, None)


__all__ = ["Outcome", "RowOutcome", "run_import"]
