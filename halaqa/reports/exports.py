"""Report tables written as CSV and XLSX (pure): rows in, file bytes out.

CSV is UTF-8 with a byte-order mark, so Excel opens Arabic names as Arabic rather than as
mojibake, and any text cell that a spreadsheet would read as a formula (it starts with `=`, `+`,
`-`, `@`, a tab or a carriage return) is written with a leading `'`, so a name such as
`=HYPERLINK(...)` stays text (OWASP, "CSV injection"). Numbers, dates and times are written by
this module, never taken from people, so they are left as they are.

XLSX is written with openpyxl: typed cells, a bold frozen header row and column widths. Text is
always a string cell, never a formula (openpyxl would take text starting with `=` for one), and
text a spreadsheet would read as a formula also gets Excel's quote prefix, so editing the cell
keeps it text; the value itself is unchanged. Times are real date cells, so they sort and filter
as times; they must be given as local wall-clock times, naive, already in the zone the header
names. The output is byte-for-byte the same for the same tables: the workbook's creation time and
every part of the zip carry one fixed timestamp rather than the clock's.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

Cell = str | int | Decimal | bool | datetime | date | None

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
# Text starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Table:
    """One sheet of a report: a title (the XLSX sheet's name), a header row and the rows. A cell
    is text, a whole number, a Decimal (minutes, percentages: written as given), a yes/no, a
    local date or time, or empty."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"a row of {len(row)} cells under {len(self.header)} headers")


def safe_text(value: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        _require_naive(value)
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    return safe_text(value)


def to_csv(table: Table) -> bytes:
    """The table as a CSV file: UTF-8 with a BOM, CRLF line ends (RFC 4180), header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text(title) for title in table.header])
    for row in table.rows:
        writer.writerow([_csv_cell(value) for value in row])
    return (BOM + out.getvalue()).encode("utf-8")


# --- XLSX ------------------------------------------------------------------------------------

DATETIME_NUMBER_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_NUMBER_FORMAT = "yyyy-mm-dd"
ONE_DECIMAL = "0.0"
_HEADER_FONT = Font(name="Calibri", size=11, bold=True)  # the default font, bold
# XML 1.0 allows no control characters but tab, newline and carriage return.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_MAX_SHEET_NAME = 31
_MAX_WIDTH = 60
# Stamped as the workbook's creation and every zip entry's time: the earliest a zip can say.
_FIXED_TIME = datetime(1980, 1, 1)  # noqa: DTZ001 (a file's times are naive, as is this one)


def _put(sheet: Worksheet, row: int, column: int, value: Cell) -> None:
    if value is None:
        return
    cell = sheet.cell(row, column)
    if isinstance(value, str):
        cell.value = _NOT_XML.sub("\ufffd", value)
        cell.data_type = "s"  # openpyxl makes text starting with "=" a formula
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
        return
    # The format goes first: openpyxl gives a time cell a format of its own unless it has one.
    if isinstance(value, datetime):
        _require_naive(value)
        cell.number_format = DATETIME_NUMBER_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_NUMBER_FORMAT
    elif isinstance(value, Decimal):
        cell.number_format = ONE_DECIMAL
    cell.value = value


def _width(value: Cell) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 19
    if isinstance(value, date):
        return 10
    return len(_csv_cell(value))


def _fill(sheet: Worksheet, table: Table) -> None:
    for column, title in enumerate(table.header, start=1):
        _put(sheet, 1, column, title)
        sheet.cell(1, column).font = _HEADER_FONT
    for number, row in enumerate(table.rows, start=2):
        for column, value in enumerate(row, start=1):
            _put(sheet, number, column, value)
    sheet.freeze_panes = "A2"
    widths = [len(title) for title in table.header]
    for row in table.rows:
        widths = [max(width, _width(value)) for width, value in zip(widths, row, strict=True)]
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, _MAX_WIDTH)


def sheet_names(tables: Sequence[Table]) -> list[str]:
    """Each table's title made a valid sheet name (no []:*?/\\, at most 31 characters, not
    blank), and unique in the workbook."""
    names: list[str] = []
    for n, table in enumerate(tables, start=1):
        base = _NOT_IN_SHEET_NAME.sub(" ", _NOT_XML.sub(" ", table.title)).strip(" '")
        base = base[:_MAX_SHEET_NAME] or f"Sheet{n}"
        name, k = base, 2
        while name.lower() in (existing.lower() for existing in names):
            suffix = f" ({k})"
            name, k = base[: _MAX_SHEET_NAME - len(suffix)] + suffix, k + 1
        names.append(name)
    return names


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """The tables as one workbook, a sheet each, in order."""
    if not tables:
        raise ValueError("a workbook needs at least one sheet")
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # a new workbook starts with an empty sheet
    for name, table in zip(sheet_names(tables), tables, strict=True):
        _fill(workbook.create_sheet(name), table)
    # No clock in the file: Workbook.save would stamp the time it was saved, so write it here.
    workbook.properties.created = workbook.properties.modified = _FIXED_TIME
    written = io.BytesIO()
    ExcelWriter(workbook, zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED)).save()
    return _with_fixed_timestamps(written.getvalue())


def _with_fixed_timestamps(data: bytes) -> bytes:
    """The same zip, every entry dated _FIXED_TIME rather than when it was written."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=_FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry))
    return out.getvalue()


def _require_naive(value: datetime) -> None:
    if value.tzinfo is not None:
        raise ValueError("give local wall-clock times (naive), in the zone the header names")
