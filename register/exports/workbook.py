"""Spreadsheets that stream: write-only openpyxl sheets whose cells can never execute."""

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..services.coerce import escaped

# A cell beginning with one of these may be read as a formula by a spreadsheet program (CSV/formula
# injection): it is written as text, with a quote prefix in XLSX and a leading apostrophe in CSV.
RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r")
WRAP_OVER = 60
# The most characters an Excel cell holds (a longer one makes Excel call the file damaged): longer text,
# kept from before the register bounded it, is cut with a visible note of what is left out.
CELL_LIMIT = 32_767

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
WRAPPED = Alignment(wrap_text=True, vertical="top")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def is_risky(text: str) -> bool:
    return text.startswith(RISKY_STARTS)


def csv_safe(value: Any) -> Any:
    """A CSV value a spreadsheet program will not execute: risky text gets a leading apostrophe, and a
    character the register no longer stores (a control character kept from before) is shown escaped."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str):
        value = escaped(value)
        return "'" + value if is_risky(value) else value
    return "" if value is None else value


def within_cell(text: str) -> str:
    """Text an Excel cell can hold: over CELL_LIMIT characters, the start and a note of how much is cut."""
    if len(text) <= CELL_LIMIT:
        return text
    note = f" [... {len(text) - CELL_LIMIT + 80:,} more characters: an Excel cell holds at most {CELL_LIMIT:,}]"
    return text[:CELL_LIMIT - 80] + note


class Sheet:
    """A write-only sheet with a styled, frozen, filtered header row and typed cells."""

    def __init__(self, workbook: Workbook, title: str, columns: list[tuple[str, int]]):
        self.sheet = workbook.create_sheet(title)
        self.width = len(columns)
        self.rows = 0
        for index, (_header, width) in enumerate(columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.sheet.freeze_panes = "A2"
        header = []
        for name, _width in columns:
            cell = WriteOnlyCell(self.sheet, value=name)
            cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAPPED
            header.append(cell)
        self.sheet.append(header)

    def cell(self, value: Any) -> Any:
        """One value as a cell: dates as dates, booleans as Yes/No, text never a formula. A character
        no cell can hold (a control character stored before the register refused them) is written
        escaped, as visible text ("\\u0001"): never dropped, and the sheet always saves."""
        if value is None:
            return None
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, datetime):
            cell = WriteOnlyCell(self.sheet, value=value.replace(tzinfo=None))
            cell.number_format = DATETIME_FORMAT
            return cell
        if isinstance(value, date):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = DATE_FORMAT
            return cell
        if isinstance(value, str):
            value = within_cell(escaped(value))
            risky, long = is_risky(value), len(value) > WRAP_OVER or "\n" in value
            if not (risky or long):
                return value
            cell = WriteOnlyCell(self.sheet, value=value)
            if risky:
                cell.data_type = "s"  # a string cell: openpyxl would otherwise write "=..." as a formula
                cell.quotePrefix = True
            if long:
                cell.alignment = WRAPPED
            return cell
        return value

    def append(self, values: Iterable[Any]) -> None:
        self.sheet.append([self.cell(value) for value in values])
        self.rows += 1

    def close(self) -> None:
        """Set the autofilter over what was written (the sheet is finished when the book is saved)."""
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(self.width)}{self.rows + 1}"


class XlsxBook:
    """A streaming XLSX workbook of Sheets."""

    def __init__(self):
        self.workbook = Workbook(write_only=True)

    def sheet(self, title: str, columns: list[tuple[str, int]]) -> "Sheet":
        return Sheet(self.workbook, title, columns)

    def save(self, target) -> None:
        self.workbook.save(target)


class CsvSheet:
    """The same rows as a Sheet, written with the csv module (the benchmark's baseline)."""

    def __init__(self, handle, columns: list[tuple[str, int]]):
        self.handle = handle
        self.writer = csv.writer(handle)
        self.writer.writerow([name for name, _width in columns])
        self.rows = 0

    def append(self, values: Iterable[Any]) -> None:
        self.writer.writerow([csv_safe(value) for value in values])
        self.rows += 1

    def close(self) -> None:
        self.handle.close()


class CsvBook:
    """One CSV file per sheet in a folder: the workbook's rows, read the same way, written as CSV."""

    def __init__(self, folder: Path):
        self.folder = folder

    def sheet(self, title: str, columns: list[tuple[str, int]]) -> CsvSheet:
        return CsvSheet(open(self.folder / f"{title}.csv", "w", encoding="utf-8", newline=""), columns)

    def save(self, target) -> None:
        """Nothing to assemble: every sheet's file is complete when it is closed."""
