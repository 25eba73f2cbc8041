"""Report tables written as CSV and XLSX (pure): rows in, file bytes out.

CSV is UTF-8 with a byte-order mark, so Excel opens Arabic names as Arabic rather than as
mojibake, and any text cell that a spreadsheet would read as a formula (it starts with `=`, `+`,
`-`, `@`, a tab or a carriage return) is written with a leading `'`, so a name such as
`=HYPERLINK(...)` stays text (OWASP, "CSV injection"). Numbers, dates and times are written by
this module, never taken from people, so they are left as they are.

XLSX is written here with the standard library: a workbook is a zip of a few XML parts (ECMA-376,
SpreadsheetML), and a report needs only typed cells, a bold frozen header row, column widths and
three number formats. Text goes in as inline strings, which a spreadsheet never evaluates, so it
needs no prefix. Times are real date cells (serial days since 1899-12-30, the 1900 date system),
so they sort and filter as times; they must be given as local wall-clock times, naive, already in
the zone the header names. The output is byte-for-byte the same for the same tables.
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
from xml.sax.saxutils import escape

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

_EPOCH = date(1899, 12, 30).toordinal()  # day 0 of the 1900 date system, past its leap-year bug
# Styles (cellXfs indexes in _STYLES): plain, bold header, date-time, date, one decimal.
_PLAIN, _HEADER, _DATETIME, _DATE, _ONE_DECIMAL = range(5)
# XML 1.0 allows no control characters but tab, newline and carriage return.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_MAX_SHEET_NAME = 31
_MAX_WIDTH = 60

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
{sheets}</Types>"""
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets>{sheets}</sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
{sheets}<Relationship Id="rId{styles}" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""
_SHEET_REL = (
    '<Relationship Id="rId{n}" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet{n}.xml"/>'
)
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>\
<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/><numFmt numFmtId="166" formatCode="0.0"/>\
</numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
</cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""
_SHEET = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<sheetViews><sheetView workbookViewId="0">\
<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>\
</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>\
<cols>{cols}</cols><sheetData>{rows}</sheetData></worksheet>"""


def column_name(index: int) -> str:
    """The spreadsheet's name of the 0-based column `index`: A … Z, AA … ZZ, AAA …"""
    name = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        name = chr(ord("A") + remainder) + name
    return name


def excel_serial(value: datetime | date) -> Decimal:
    """Days since 1899-12-30, as spreadsheets count time; exact to the microsecond."""
    days = Decimal(value.toordinal() - _EPOCH)
    if not isinstance(value, datetime):
        return days
    _require_naive(value)
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return days + Decimal(seconds * 1_000_000 + value.microsecond) / Decimal(86_400_000_000)


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _cell(ref: str, value: Cell, style: int = _PLAIN) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime | date):
        fmt = _DATETIME if isinstance(value, datetime) else _DATE
        return f'<c r="{ref}" s="{fmt}"><v>{_number(excel_serial(value))}</v></c>'
    if isinstance(value, Decimal):
        return f'<c r="{ref}" s="{_ONE_DECIMAL}"><v>{_number(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    style_attribute = f' s="{style}"' if style else ""
    text = _text(value)
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{style_attribute} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _number(value: Decimal) -> str:
    """A decimal in plain notation (no exponent), at most 15 significant places (a double's)."""
    rounded = round(value, 10)
    text = format(rounded, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _width(value: Cell) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 19
    if isinstance(value, date):
        return 10
    return len(_csv_cell(value))


def _sheet(table: Table) -> str:
    widths = [len(title) for title in table.header]
    for row in table.rows:
        widths = [max(width, _width(value)) for width, value in zip(widths, row, strict=True)]
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{min(width + 2, _MAX_WIDTH)}" customWidth="1"/>'
        for i, width in enumerate(widths, start=1)
    )
    lines = [
        '<row r="1">'
        + "".join(
            _cell(f"{column_name(i)}1", title, _HEADER) for i, title in enumerate(table.header)
        )
        + "</row>"
    ]
    for number, row in enumerate(table.rows, start=2):
        cells = "".join(_cell(f"{column_name(i)}{number}", value) for i, value in enumerate(row))
        lines.append(f'<row r="{number}">{cells}</row>')
    return _SHEET.format(cols=cols, rows="".join(lines))


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
    names = sheet_names(tables)
    count = len(tables)
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES.format(
            sheets="".join(_SHEET_TYPE.format(n=n) for n in range(1, count + 1))
        ),
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK.format(
            sheets="".join(
                f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
                for n, name in enumerate(names, start=1)
            )
        ),
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS.format(
            sheets="".join(_SHEET_REL.format(n=n) for n in range(1, count + 1)),
            styles=count + 1,
        ),
        "xl/styles.xml": _STYLES,
        **{f"xl/worksheets/sheet{n}.xml": _sheet(t) for n, t in enumerate(tables, start=1)},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return out.getvalue()


def _require_naive(value: datetime) -> None:
    if value.tzinfo is not None:
        raise ValueError("give local wall-clock times (naive), in the zone the header names")
