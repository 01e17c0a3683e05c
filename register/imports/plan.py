"""Importing a workbook: match each row to a record, write the differences, all or nothing.

`run_import` reads the sheets in dependency order (group entities, third parties, engagements,
instruments, routes), and for each row: converts the cells (countries through the alias table,
choices by value or label), resolves its references (by ID, else by name), matches it to a record
(by ID, else by natural key) and creates or updates that record through the audited services, all
inside ONE write unit. Any error anywhere, or a dry run, rolls the whole unit back: the outcome lists
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

from .. import services
from ..audit import Actor, plain
from ..exports.auditor import NO_REGIMES, REGIMES
from ..models import (
    BcrApproval,
    Engagement,
    InstrumentParty,
    InstrumentSide,
    LocationActivity,
    Party,
    PartyKind,
    TransferInstrument,
    TransferRoute,
)
from ..services import DomainError, coercer, name_key
from . import countries as aliases
from .formats import BY_NAME, ENGAGEMENTS, FORMATS, GROUP_ENTITIES, INSTRUMENTS, ROUTES, SKIPPED_SHEETS, THIRD_PARTIES, SheetFormat
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
            importer = _Importer(sess, outcome, progress)
            for sheet_format, sheet in sheets:
                importer.sheet(sheet_format, sheet)
            importer.finish()
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


class _Importer:
    def __init__(self, sess, outcome: Outcome, progress: Progress):
        self.sess = sess
        self.outcome = outcome
        self.progress = progress
        # where each ID of the file was given (sheet, row), and the IDs of rows that failed
        self.file_uids: dict[str, tuple[str, int]] = {}
        self.failed: set[str] = set()
        self.natural_keys: dict[tuple, int] = {}
        self.deferred_routes: list[tuple[int, dict, list]] = []
        self.failed_titles: dict[str, int] = {}
        self.resolved: dict[tuple, tuple[Optional[str], Optional[str]]] = {}
        self._load_indexes()

    # indexes of what the register already holds, kept up to date as rows are written
    def _load_indexes(self) -> None:
        sess = self.sess
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
        self.engagement_key = {(row.engager_id, row.engaged_id, name_key(row.service)): row.id
                               for row in sess.execute(select(Engagement.id, Engagement.engager_id, Engagement.engaged_id,
                                                              Engagement.service))}
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
        self.route_key: dict[tuple, list[int]] = {}
        for row in sess.execute(select(TransferRoute.id, TransferRoute.exporter_id, TransferRoute.importer_id,
                                       TransferRoute.destination_country, TransferRoute.destination_organisation_id)):
            destination = row.destination_country or f"#{row.destination_organisation_id}"
            self.route_key.setdefault((row.exporter_id, row.importer_id, destination), []).append(row.id)
        self.bcr_labels: dict[str, set[int]] = {}
        for approval in sess.scalars(select(BcrApproval)):
            for text in (approval.label, approval.name):
                self.bcr_labels.setdefault(text.casefold(), set()).add(approval.id)

    def _resolve(self, text: Any, organisations: bool = False) -> tuple[Optional[str], Optional[str]]:
        """A country (or organisation) as typed, resolved once per import: files repeat the same few."""
        key = (text, organisations)
        if key not in self.resolved:
            self.resolved[key] = aliases.resolve(text, organisations=organisations)
        return self.resolved[key]

    def _index_party(self, party_id: int, uid: str, kind: PartyKind, legal_name: str, country: Optional[str]) -> None:
        self.party_uid[uid] = (party_id, kind)
        self.party_key[(kind, name_key(legal_name), country)] = party_id
        self.party_names.setdefault(name_key(legal_name), set()).add(party_id)
        self.party_label[party_id] = legal_name

    def _index_instrument(self, instrument_id: int, uid: str, title: str, kind: Any) -> None:
        self.instrument_title[instrument_id] = title
        self.instrument_uid[uid] = instrument_id
        self.instrument_titles.setdefault(title.casefold(), set()).add(instrument_id)

    # --- one sheet ---

    def sheet(self, sheet_format: SheetFormat, sheet: Sheet) -> None:
        handler = {
            GROUP_ENTITIES.name: self._party_row, THIRD_PARTIES.name: self._party_row,
            ENGAGEMENTS.name: self._engagement_row, INSTRUMENTS.name: self._instrument_row, ROUTES.name: self._route_row,
        }[sheet_format.name]
        # the columns read (not the computed ones), and how each field's cell is converted
        read = [(index, header) for index, header in enumerate(header for _letter, header in sheet.headers)
                if header not in sheet_format.ignored]
        columns = sheet_format.model.__table__.columns
        converters = [(header, field_name, _converter(columns[field_name])) for header, field_name in sheet_format.fields.items()]
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

    def finish(self) -> None:
        """Routes whose source route came later in the file; a loop of onward transfers is an error."""
        pending = self.deferred_routes
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
                values: dict, errors: list, own_uid: Optional[str] = None) -> Any:
        """Create or update the row's record (unless it has errors) and note the outcome."""
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
                                          uid=uid or str(uuid.uuid4()), derived=derived)
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
            return "; ".join(sorted(item["country_code"] for item in value))
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
        kind = PartyKind.GROUP_ENTITY if sheet_format is GROUP_ENTITIES else PartyKind.THIRD_PARTY
        values["country_code"] = self._country(cells, errors)
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
        written = self._record(sheet_format, number, record, label, uid, values, errors)
        if written is not None:
            self.engagement_uid[written.uid] = written.id
            if uid:
                self.engagement_uid[uid] = written.id
            self.engagement_key[(written.engager_id, written.engaged_id, name_key(written.service))] = written.id

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
                try:
                    activity = LocationActivity(activity_text.strip().lower())
                except ValueError:
                    errors.append(("Processing locations", f"Unknown activity {activity_text!r}: storage, access or storage_and_access."))
            if code not in [seen for seen, _ in found]:
                found.append((code, activity))
        return found

    def _instrument_row(self, sheet_format: SheetFormat, number: int, uid: Optional[str], cells: dict, values: dict,
                        errors: list) -> None:
        title, kind = values.get("title"), values.get("kind")
        label = title or f"row {number}"
        bcr_text = _text(cells.get("BCR approval"))
        values["bcr_approval_id"] = None
        if bcr_text:
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
            elif len(code) == 2:
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
                values["engagement_id"] = self.engagement_uid[engagement_uid]
            else:
                errors.append(("Engagement ID", _missing(engagement_uid, "engagement", self)))
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
        key = (values["exporter_id"], values["importer_id"], context["destination"])
        if uid and uid in self.route_uid:
            record = self.sess.get(TransferRoute, self.route_uid[uid])
        elif not uid and None not in key:
            matches = self.route_key.get(key, [])
            if len(matches) > 1:
                errors.append(("ID", f"{len(matches)} routes of the register have this exporter, importer and destination: "
                                     "give the route's ID."))
            elif matches:
                record = self.sess.get(TransferRoute, matches[0])
            self._duplicate(("route",) + key, ROUTES, number, errors, "exporter, importer and destination (and no ID)")
        _drop_blank_defaults(ROUTES, values, record)
        written = self._record(ROUTES, number, record, context["label"], uid, values, errors)
        if written is not None:
            self.route_uid[written.uid] = written.id
            if uid:
                self.route_uid[uid] = written.id
            if record is None and None not in key:
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


def _differs(record: Any, key: str, value: Any) -> bool:
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
    return getattr(record, key, None)


__all__ = ["Outcome", "RowOutcome", "run_import"]
