"""Reading a spreadsheet someone uploaded, safely: every refusal is a clear message, never a crash.

An XLSX file is checked as a zip before any XML is parsed: not a zip (a password-protected workbook
is an OLE compound file, magic D0 CF 11 E0), too many members, an encrypted member, more uncompressed
bytes than the cap or a member that inflates like a bomb, an XML part declaring a DTD or entities.
Then the workbook's own parts (read with defusedxml) name the sheets: a hidden sheet is refused, and
merged cells are found in the sheet parts. Cells are read with openpyxl in read-only mode (which
parses through defusedxml); a formula is refused, naming the cell (its cached value may be stale or
absent, and the register never stores what a spreadsheet computed).
"""

import codecs
import csv
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ..exports.workbook import RISKY_STARTS

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MERGE_CELL = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)\"")
DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """What an import accepts; the defaults take the large benchmark register with room to spare."""

    max_members: int = 1000
    max_uncompressed: int = 1024 * 1024 * 1024
    # A deflated part expanding more than this (and beyond 1 MiB) is treated as a decompression bomb.
    max_ratio: int = 200
    max_rows: int = 1_000_000


class ImportFileError(Exception):
    """The file as a whole is refused; the message says why and what to do."""


@dataclass
class Sheet:
    """One sheet's header (column letter, header text) and its rows as (row number, values)."""

    name: str
    headers: list[tuple[str, str]]
    rows: Iterator[tuple[int, list[Any]]]
    approximate_rows: Optional[int] = None


@dataclass
class Book:
    kind: str  # "xlsx" or "csv"
    sheets: list[Sheet] = field(default_factory=list)
    close: Any = None


def open_book(path: Path, filename: str, sheet_names: set[str], limits: Limits = Limits()) -> Book:
    """Open an XLSX or CSV file for reading the sheets named; raise ImportFileError when refused.

    Sheets of an XLSX workbook whose names are not in `sheet_names` are not read (their names are
    returned with no rows, so the caller can decide whether they are allowed).
    """
    with open(path, "rb") as handle:
        head = handle.read(8)
    suffix = Path(filename).suffix.lower()
    if head.startswith(CFB_MAGIC):
        raise ImportFileError(
            "This file is a password-protected (encrypted) workbook or an old Excel 97-2003 .xls file. "
            "Remove the password, or save it as an Excel workbook (.xlsx), and upload it again.")
    if head.startswith(ZIP_MAGIC) or suffix == ".xlsx":
        if not head.startswith(ZIP_MAGIC):
            raise ImportFileError("This file is not an Excel workbook (.xlsx): it is not a zip package. "
                                  "Save it as .xlsx or as CSV UTF-8 and upload it again.")
        return _open_xlsx(path, sheet_names, limits)
    if suffix in (".csv", ".txt", ""):
        return _open_csv(path, filename, limits)
    raise ImportFileError(f"Files of type {suffix or 'unknown'} cannot be imported: upload an .xlsx workbook or a .csv file.")


# --- XLSX -------------------------------------------------------------------------------------


def _check_zip(archive: zipfile.ZipFile, limits: Limits) -> None:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise ImportFileError(f"The workbook holds {len(members):,} parts (at most {limits.max_members:,}): refused.")
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise ImportFileError("The workbook is encrypted (password-protected): remove the password and upload it again.")
        total += member.file_size
        if member.file_size > 1024 * 1024 and member.file_size > limits.max_ratio * max(member.compress_size, 1):
            raise ImportFileError(
                f"The workbook part {member.filename} expands {member.file_size // max(member.compress_size, 1):,} times "
                "when decompressed (a decompression bomb?): refused.")
    if total > limits.max_uncompressed:
        raise ImportFileError(
            f"The workbook would take {total / 2**20:,.0f} MiB once decompressed (at most "
            f"{limits.max_uncompressed / 2**20:,.0f} MiB): refused. Split the file.")
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        raise ImportFileError("This zip file is not an Excel workbook (it has no xl/workbook.xml).")
    for member in members:
        if member.filename.endswith((".xml", ".rels")):
            with archive.open(member) as part:
                start = part.read(64 * 1024)
            if DECLARATION.search(start):
                raise ImportFileError(
                    f"The workbook part {member.filename} declares a DTD or XML entities (as an XML bomb does): refused.")


def _parse_part(archive: zipfile.ZipFile, name: str) -> Any:
    try:
        return SafeTree.fromstring(archive.read(name))
    except KeyError:
        raise ImportFileError(f"The workbook is incomplete: its part {name} is missing.") from None
    except DefusedXmlException:
        raise ImportFileError(f"The workbook part {name} declares XML entities (as an XML bomb does): refused.") from None
    except SafeTree.ParseError:
        raise ImportFileError(f"The workbook is corrupted: its part {name} is not well-formed XML.") from None


def _sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str, str]]:
    """(name, state, part path) of each sheet, in workbook order."""
    workbook = _parse_part(archive, "xl/workbook.xml")
    rels = _parse_part(archive, "xl/_rels/workbook.xml.rels")
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{PKG_REL_NS}Relationship")}
    sheets = []
    for sheet in workbook.iter(f"{MAIN_NS}sheet"):
        target = targets.get(sheet.get(f"{REL_NS}id"), "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        sheets.append((sheet.get("name", ""), sheet.get("state", "visible"), part))
    return sheets


def _merged_ranges(archive: zipfile.ZipFile, part: str) -> list[str]:
    """Merged ranges of a sheet part, found by streaming its bytes (a mergeCells block follows the data)."""
    found: list[str] = []
    tail = b""
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(1024 * 1024):
                window = tail + chunk
                found.extend(match.decode() for match in MERGE_CELL.findall(window))
                tail = window[-200:]
                # a match inside the overlap would be counted twice
                found = list(dict.fromkeys(found))
    except KeyError:
        raise ImportFileError(f"The workbook is incomplete: its part {part} is missing.") from None
    return found


def _open_xlsx(path: Path, sheet_names: set[str], limits: Limits) -> Book:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ImportFileError("The workbook is corrupted or incomplete (not a readable zip package): "
                              "save it again from your spreadsheet program and upload it again.") from None
    try:
        _check_zip(archive, limits)
        parts = _sheet_parts(archive)
        for name, state, _part in parts:
            if state in ("hidden", "veryHidden"):
                raise ImportFileError(f"The sheet {name!r} is hidden: unhide it (and check what it holds) or delete it, "
                                      "then upload the file again.")
        for name, _state, part in parts:
            if name in sheet_names:
                merged = _merged_ranges(archive, part)
                if merged:
                    shown = ", ".join(merged[:5]) + (" ..." if len(merged) > 5 else "")
                    raise ImportFileError(f"The sheet {name!r} has merged cells ({shown}): unmerge them so that "
                                          "each row has its own values, then upload the file again.")
    except zipfile.BadZipFile:
        raise ImportFileError("The workbook is corrupted: one of its parts cannot be decompressed.") from None
    finally:
        archive.close()
    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds of error for a damaged file
        raise ImportFileError(f"The workbook cannot be read ({type(error).__name__}): it may be corrupted. "
                              "Save it again as .xlsx and upload it again.") from None
    book = Book("xlsx", close=workbook.close)
    for worksheet in workbook.worksheets:
        if worksheet.title not in sheet_names:
            book.sheets.append(Sheet(worksheet.title, [], iter(())))
            continue
        book.sheets.append(_xlsx_sheet(worksheet, limits))
    return book


def _xlsx_sheet(worksheet: Any, limits: Limits) -> Sheet:
    try:
        approximate = worksheet.max_row
    except Exception:
        approximate = None
    rows = _xlsx_rows(worksheet, limits)
    _number, header = next(rows, (1, []))
    headers = [(get_column_letter(index + 1), _header_text(value)) for index, value in enumerate(header)]
    while headers and not headers[-1][1]:
        headers.pop()
    return Sheet(worksheet.title, headers, rows, approximate)


def _header_text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _xlsx_rows(worksheet: Any, limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    """Each non-empty row's values; a formula stops the reading with the cell named."""
    try:
        for number, cells in enumerate(worksheet.iter_rows(), start=1):
            if number > limits.max_rows:
                raise ImportFileError(f"The sheet {worksheet.title!r} has more than {limits.max_rows:,} rows: split the file.")
            values = []
            for index, cell in enumerate(cells):
                if cell.data_type == "f":
                    raise ImportFileError(
                        f"The sheet {worksheet.title!r} has a formula in cell {get_column_letter(index + 1)}{number}: "
                        "formulas are refused (their results are not stored reliably). Copy the cells and paste "
                        "them as values, then upload the file again.")
                values.append(cell.value)
            if any(value not in (None, "") for value in values):
                yield number, values
    except ImportFileError:
        raise
    except Exception as error:
        raise ImportFileError(f"The sheet {worksheet.title!r} cannot be read ({type(error).__name__}): "
                              "the workbook may be corrupted.") from None


# --- CSV --------------------------------------------------------------------------------------


def _open_csv(path: Path, filename: str, limits: Limits) -> Book:
    with open(path, "rb") as handle:
        sample = handle.read(64 * 1024)
    if b"\x00" in sample:
        raise ImportFileError("This file is not a spreadsheet: it is neither an .xlsx workbook nor CSV text.")
    try:
        # incremental: a character cut at the end of the sample is not an error
        codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=len(sample) < 64 * 1024)
    except UnicodeDecodeError:
        raise ImportFileError("The CSV file is not UTF-8 text: save it as \"CSV UTF-8\" and upload it again.") from None
    handle = open(path, encoding="utf-8-sig", newline="")
    reader = csv.reader(handle)
    try:
        header = next(reader, [])
    except (csv.Error, UnicodeDecodeError) as error:
        handle.close()
        raise ImportFileError(f"The CSV file cannot be read: {error}.") from None
    headers = [(get_column_letter(index + 1), _header_text(value)) for index, value in enumerate(header)]
    while headers and not headers[-1][1]:
        headers.pop()
    name = Path(filename).stem
    return Book("csv", [Sheet(name, headers, _csv_rows(reader, name, limits))], close=handle.close)


def _csv_rows(reader: Any, name: str, limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    try:
        for values in reader:
            number = reader.line_num
            if number > limits.max_rows:
                raise ImportFileError(f"The CSV file has more than {limits.max_rows:,} rows: split the file.")
            values = [_unquote(value) for value in values]
            if any(value != "" for value in values):
                yield number, values
    except (csv.Error, UnicodeDecodeError) as error:
        raise ImportFileError(f"The CSV file cannot be read near line {reader.line_num}: {error}.") from None


def _unquote(value: str) -> str:
    """Undo the export's protection: "'=..." was written for "=..." (register/exports/workbook.py)."""
    if value.startswith("'") and value[1:].startswith(RISKY_STARTS):
        return value[1:]
    return value


def describe(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    return str(value)


__all__ = ["Book", "ImportFileError", "Limits", "Sheet", "open_book"]
