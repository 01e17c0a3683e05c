"""Reading a spreadsheet someone uploaded, safely: every refusal is a clear message, never a crash.

An XLSX file is checked as a zip before any XML is parsed: not a zip (a password-protected workbook
is an OLE compound file, magic D0 CF 11 E0), too many members, an encrypted member, more uncompressed
bytes than the cap or a member that inflates like a bomb, an XML part declaring a DTD or entities.
Then the workbook's own parts (read with defusedxml) name the sheets: a hidden sheet is refused.
Cells are streamed from the sheet parts with expat (DTDs and entities refused), giving the values
openpyxl would: shared and inline strings, numbers, booleans, and dates where the cell's number
format is a date's. openpyxl's own read-only reader takes about five times longer, and first parses
every sheet once more to learn its size. A formula is refused, naming the cell (its cached value may
be stale or absent, and the register never stores what a spreadsheet computed), and so are merged
cells (found where Excel lists them, after the rows).
"""

import codecs
import csv
import multiprocessing
import posixpath
import re
import zipfile
import zlib
from xml.parsers import expat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

from ..exports.workbook import RISKY_STARTS

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """What an import accepts; the defaults take the large benchmark register with room to spare."""

    max_members: int = 1000
    max_uncompressed: int = 1024 * 1024 * 1024
    # A deflated part expanding more than this (and beyond 1 MiB) is treated as a decompression bomb.
    max_ratio: int = 200
    max_rows: int = 1_000_000
    # Cells past this column are read only to refuse a value there (Excel leaves empty styled ones).
    max_columns: int = 256


class ImportFileError(Exception):
    """The file as a whole is refused; the message says why and what to do."""


@dataclass
class Sheet:
    """One sheet's header (column letter, header text) and its rows as (row number, values)."""

    name: str
    headers: list[tuple[str, str]]
    rows: Iterator[tuple[int, list[Any]]]
    approximate_rows: Optional[int] = None
    # The columns (1-based) whose values are wanted; an XLSX reader leaves the others' cells empty.
    wanted: Optional[set[int]] = None


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
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
        raise ImportFileError(f"The workbook is corrupted: its part {name} cannot be decompressed.") from None
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
        cells = _CellReader(archive)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
        archive.close()
        raise ImportFileError("The workbook is corrupted: one of its parts cannot be decompressed.") from None
    except BaseException:
        archive.close()
        raise
    book = Book("xlsx")

    def close() -> None:
        for sheet in book.sheets:  # a sheet read halfway holds its part open
            getattr(sheet.rows, "close", lambda: None)()
        archive.close()

    book.close = close
    try:
        for name, _state, part in parts:
            if name not in sheet_names:
                book.sheets.append(Sheet(name, [], iter(())))
                continue
            if part not in archive.NameToInfo:
                raise ImportFileError(f"The workbook is incomplete: its part {part} is missing.")
            book.sheets.append(_xlsx_sheet(archive, path, name, part, cells, limits))
        return book
    except BaseException:
        close()
        raise


def _refuse_declarations(parser: Any, part: str) -> None:
    def refuse(*_args) -> None:
        raise ImportFileError(f"The workbook part {part} declares a DTD or XML entities (as an XML bomb does): refused.")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)


def _stream(archive: zipfile.ZipFile, part: str, parser: Any, after_chunk: Any = None) -> Iterator[None]:
    """Feed a part to an expat parser a piece at a time (yields after each piece)."""
    _refuse_declarations(parser, part)
    try:
        with archive.open(part) as stream:
            while chunk := stream.read(256 * 1024):
                parser.Parse(chunk, False)
                yield
            parser.Parse(b"", True)
            yield
    except expat.ExpatError as error:
        raise ImportFileError(f"The workbook is corrupted: its part {part} is not well-formed XML "
                              f"({expat.ErrorString(error.code)}, line {error.lineno}).") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
        raise ImportFileError("The workbook is corrupted: one of its parts cannot be decompressed.") from None


def _parser() -> Any:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = 256 * 1024
    return parser


class _CellReader:
    """What turns a cell's XML into its value: the shared strings, which styles are dates, the epoch."""

    def __init__(self, archive: zipfile.ZipFile):
        self.shared = self._shared_strings(archive)
        self.dates, self.timedeltas = self._date_styles(archive)
        workbook = _parse_part(archive, "xl/workbook.xml")
        properties = workbook.find(f"{MAIN_NS}workbookPr")
        date1904 = properties is not None and properties.get("date1904", "0").lower() in ("1", "true")
        self.epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900

    @staticmethod
    def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
        rels = _parse_part(archive, "xl/_rels/workbook.xml.rels")
        part = next((rel.get("Target", "") for rel in rels.iter(f"{PKG_REL_NS}Relationship")
                     if rel.get("Type", "").endswith("/sharedStrings")), None)
        if part is None:
            return []
        part = part.lstrip("/") if part.startswith("/") else posixpath.normpath(posixpath.join("xl", part))
        if part not in archive.NameToInfo:
            raise ImportFileError(f"The workbook is incomplete: its part {part} is missing.")
        strings: list[str] = []
        text: list[str] = []
        depth = {"rPh": 0, "t": 0}
        parser = _parser()

        def start(name: str, _attrs: dict) -> None:
            local = name.rpartition("}")[2]
            if local == "si":
                text.clear()
            elif local in depth:
                depth[local] += 1

        def end(name: str) -> None:
            local = name.rpartition("}")[2]
            if local == "si":
                strings.append("".join(text))
            elif local in depth:
                depth[local] -= 1

        def characters(data: str) -> None:
            if depth["t"] and not depth["rPh"]:  # the text and its runs, not its phonetic reading
                text.append(data)

        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, characters
        for _ in _stream(archive, part, parser):
            pass
        return strings

    @staticmethod
    def _date_styles(archive: zipfile.ZipFile) -> tuple[frozenset[int], frozenset[int]]:
        """The cell styles whose number format shows a date (or a duration), as openpyxl decides."""
        if "xl/styles.xml" not in archive.NameToInfo:
            return frozenset(), frozenset()
        styles = _parse_part(archive, "xl/styles.xml")
        custom = {}
        for number_format in styles.iter(f"{MAIN_NS}numFmt"):
            try:
                custom[int(number_format.get("numFmtId", ""))] = number_format.get("formatCode", "")
            except ValueError:
                raise ImportFileError("The workbook is corrupted: a number format of its styles has no valid id.") from None
        dates, timedeltas = set(), set()
        cell_styles = styles.find(f"{MAIN_NS}cellXfs")
        for index, style in enumerate(cell_styles if cell_styles is not None else ()):
            try:
                format_id = int(style.get("numFmtId", "0"))
            except ValueError:
                raise ImportFileError("The workbook is corrupted: a cell style has no valid number format.") from None
            code = custom.get(format_id) or BUILTIN_FORMATS.get(format_id, "General")
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                timedeltas.add(index)
        return frozenset(dates), frozenset(timedeltas)

    def value(self, kind: Optional[str], style: int, text: str, where: str) -> Any:
        """The value of a cell of type `kind` whose <v> (or inline string) holds `text`."""
        if kind == "inlineStr":
            return text
        if text == "":
            return None
        if kind is None or kind == "n":
            number = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
            if style in self.dates:
                try:
                    return from_excel(number, self.epoch, timedelta=style in self.timedeltas)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.shared[int(text)]
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_ISO8601(text)
        return text  # "str" (a formula's text) and "e" (an error such as #N/A)


# A sheet part larger than this (uncompressed) is read in a process of its own while this one checks
# and writes the rows: reading the cells is about a fifth of a large import's work.
PARALLEL_PART_BYTES = 32 * 1024 * 1024


def _xlsx_sheet(archive: zipfile.ZipFile, path: Path, name: str, part: str, cells: _CellReader, limits: Limits) -> Sheet:
    sheet = Sheet(name, [], iter(()))
    rows = _xlsx_rows(archive, sheet, part, cells, limits)
    _number, header = next(rows, (1, []))
    headers = [(get_column_letter(index + 1), _header_text(value)) for index, value in enumerate(header)]
    while headers and not headers[-1][1]:
        headers.pop()
    if archive.getinfo(part).file_size > PARALLEL_PART_BYTES:
        rows.close()
        rows = _rows_read_elsewhere(path, sheet, part, cells, limits)
    sheet.headers, sheet.rows = headers, rows
    return sheet


def _rows_read_elsewhere(path: Path, sheet: Sheet, part: str, cells: _CellReader,
                         limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    """The rows after the header, read by `_read_rows` in another process (started at the first row,
    once the caller has said which columns it wants). The pipe holds a few batches at most."""
    context = multiprocessing.get_context("spawn")  # not fork: the web app runs imports in a thread
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_read_rows, args=(str(path), sheet.name, part, cells, limits, sheet.wanted, sender),
                              daemon=True)
    process.start()
    sender.close()
    try:
        header_seen = False
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise ImportFileError(f"The sheet {sheet.name!r} could not be read to the end (its reader stopped).") from None
            if message[0] == "error":
                raise ImportFileError(message[1])
            if message[0] == "done":
                return
            _kind, approximate, rows = message
            sheet.approximate_rows = approximate or sheet.approximate_rows
            for row in rows:
                if header_seen:
                    yield row
                header_seen = True
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()


def _read_rows(path: str, name: str, part: str, cells: _CellReader, limits: Limits, wanted: Optional[set[int]],
               sender: Any) -> None:
    """In the reading process: send the sheet's rows in batches, then "done" (or the error)."""
    try:
        with zipfile.ZipFile(path) as archive:
            sheet = Sheet(name, [], iter(()), wanted=wanted)
            batch: list = []
            for row in _xlsx_rows(archive, sheet, part, cells, limits):
                batch.append(row)
                if len(batch) == 1000:
                    sender.send(("rows", sheet.approximate_rows, batch))
                    batch = []
            sender.send(("rows", sheet.approximate_rows, batch))
            sender.send(("done",))
    except (BrokenPipeError, EOFError):
        pass  # the importer stopped reading (an error elsewhere): nothing to say
    except ImportFileError as error:
        sender.send(("error", str(error)))
    except Exception as error:  # anything else a damaged part can raise, said as such
        sender.send(("error", f"The sheet {name!r} cannot be read ({type(error).__name__}): the workbook may be corrupted."))
    finally:
        sender.close()


def _header_text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _xlsx_rows(archive: zipfile.ZipFile, sheet: Sheet, part: str, cells: _CellReader,
               limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    """Each non-empty row's values, streamed; a formula stops the reading with the cell named."""
    ns = MAIN_NS.strip("{}") + "}"
    cell_tag, value_tag, row_tag, text_tag, inline_tag = ns + "c", ns + "v", ns + "row", ns + "t", ns + "is"
    formula_tag, phonetic_tag, dimension_tag = ns + "f", ns + "rPh", ns + "dimension"
    merged_tag, merged_block_tag = ns + "mergeCell", ns + "mergeCells"
    merged: list[str] = []
    done: list[tuple[int, list[Any]]] = []
    row: list[Any] = []
    text: list[str] = []
    row_number = column = style = 0
    kind: Optional[str] = None
    ref = ""
    collect = inline = phonetic = has_inline = skip = False
    value_of = cells.value
    parser = _parser()

    def start(tag: str, attrs: dict) -> None:
        nonlocal row_number, column, style, kind, ref, collect, inline, phonetic, has_inline, skip
        if tag == cell_tag:
            ref = attrs.get("r") or ""
            letters = ref.rstrip("0123456789")
            column = column_index_from_string(letters) if letters else column + 1
            if not ref:
                ref = f"{get_column_letter(column)}{row_number}"
            kind, style = attrs.get("t"), int(attrs.get("s") or 0)
            has_inline = False
            skip = (sheet.wanted is not None and column not in sheet.wanted) or column > limits.max_columns
            text.clear()
        elif tag == value_tag:
            collect = not skip or column > limits.max_columns
        elif tag == text_tag:
            collect = inline and not phonetic and (not skip or column > limits.max_columns)
        elif tag == row_tag:
            number = attrs.get("r")
            row_number = int(number) if number else row_number + 1
            column = 0
            if row_number > limits.max_rows:
                raise ImportFileError(f"The sheet {sheet.name!r} has more than {limits.max_rows:,} rows: split the file.")
            row.clear()
        elif tag == inline_tag:
            inline = has_inline = True
        elif tag == phonetic_tag:
            phonetic = True
        elif tag == formula_tag:
            raise ImportFileError(
                f"The sheet {sheet.name!r} has a formula in cell {ref}: formulas are refused (their results "
                "are not stored reliably). Copy the cells and paste them as values, then upload the file again.")
        elif tag == merged_tag:
            merged.append(attrs.get("ref", "?"))
        elif tag == dimension_tag:
            last = attrs.get("ref", "").rpartition(":")[2].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            if last.isdigit() and int(last) > 1:
                sheet.approximate_rows = int(last)

    def end(tag: str) -> None:
        nonlocal collect, inline, phonetic
        if tag == cell_tag:
            if column > limits.max_columns:
                if "".join(text).strip():
                    raise ImportFileError(f"The sheet {sheet.name!r} has a value in cell {ref}, past column "
                                          f"{get_column_letter(limits.max_columns)}: the register's sheets have fewer columns. "
                                          "Delete what lies to the right of the table, then upload the file again.")
                return  # an empty cell far to the right (formatting): no room made for it
            # (an inline string cell with no string in it is empty, as openpyxl reads it)
            value = None if skip or (kind == "inlineStr" and not has_inline) else value_of(kind, style, "".join(text), ref)
            if len(row) == column - 1:
                row.append(value)
            else:
                while len(row) < column:
                    row.append(None)
                row[column - 1] = value
        elif tag == value_tag or tag == text_tag:
            collect = False
        elif tag == row_tag:
            for value in row:
                if value is not None and value != "":
                    done.append((row_number, list(row)))
                    break
        elif tag == inline_tag:
            inline = False
        elif tag == phonetic_tag:
            phonetic = False
        elif tag == merged_block_tag and merged:
            # after the rows (where Excel writes them): nothing read is written, the import is all or nothing
            shown = ", ".join(merged[:5]) + (" ..." if len(merged) > 5 else "")
            raise ImportFileError(f"The sheet {sheet.name!r} has merged cells ({shown}): unmerge them so that "
                                  "each row has its own values, then upload the file again.")

    def characters(data: str) -> None:
        if collect:
            text.append(data)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, characters
    size = archive.getinfo(part).file_size
    try:
        for _ in _stream(archive, part, parser):
            if sheet.approximate_rows is None and done and parser.CurrentByteIndex > 0:
                sheet.approximate_rows = max(len(done), round(done[-1][0] * size / parser.CurrentByteIndex))
            yield from done
            done.clear()
    except ImportFileError:
        raise
    except (ValueError, IndexError, OverflowError) as error:
        raise ImportFileError(f"The sheet {sheet.name!r} cannot be read near cell {ref} ({type(error).__name__}): "
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
