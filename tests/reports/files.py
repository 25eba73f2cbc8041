"""Reading the report files back, as a spreadsheet would: CSV through the csv module, XLSX by
following the package's relationships (ECMA-376) to each sheet and reading its typed cells, dates
by their number format. Independent of how halaqa.reports.exports writes them."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
BUILT_IN_DATE_FORMATS = set(range(14, 23))

Value = str | int | Decimal | bool | datetime | None


def read_csv(data: bytes) -> list[list[str]]:
    """The rows of a CSV file, which must start with a UTF-8 byte-order mark."""
    assert data.startswith(b"\xef\xbb\xbf"), data[:10]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    return ElementTree.fromstring(archive.read(name))  # noqa: S314 (files the tests made)


def _targets(archive: zipfile.ZipFile, rels: str, base: str) -> dict[str, str]:
    return {
        rel.attrib["Id"]: base + rel.attrib["Target"].lstrip("/")
        for rel in _xml(archive, rels).iter(f"{RELS}Relationship")
    }


def _date_styles(archive: zipfile.ZipFile, styles: str) -> set[int]:
    """The cellXfs indexes whose number format shows a date or a time."""
    root = _xml(archive, styles)
    dated = set(BUILT_IN_DATE_FORMATS)
    for fmt in root.iter(f"{MAIN}numFmt"):
        code = re.sub(r'"[^"]*"|\[[^\]]*\]', "", fmt.attrib["formatCode"].lower())
        if any(part in code for part in ("yy", "dd", "hh", "ss")):
            dated.add(int(fmt.attrib["numFmtId"]))
    cell_xfs = root.find(f"{MAIN}cellXfs")
    assert cell_xfs is not None
    return {
        index
        for index, xf in enumerate(cell_xfs.iter(f"{MAIN}xf"))
        if int(xf.attrib.get("numFmtId", "0")) in dated
    }


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref)
    assert letters is not None
    number = 0
    for letter in letters.group():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def _from_serial(serial: Decimal) -> datetime:
    micros = int((serial * 86_400_000_000).to_integral_value())
    return datetime.combine(date(1899, 12, 30), datetime.min.time()) + timedelta(
        microseconds=micros
    )


def read_xlsx(data: bytes) -> dict[str, list[list[Value]]]:
    """Each sheet's rows by name, in the workbook's order; a date or time cell as a datetime,
    rounded to the second."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    types = _xml(archive, "[Content_Types].xml")
    overrides = {
        o.attrib["PartName"]: o.attrib["ContentType"]
        for o in types.iter(f"{CONTENT_TYPES}Override")
    }
    root = _targets(archive, "_rels/.rels", "")
    [workbook] = [target for target in root.values() if target.endswith(".xml")]
    assert overrides[f"/{workbook}"].endswith("spreadsheetml.sheet.main+xml")
    folder = workbook.rsplit("/", 1)[0] + "/"
    parts = _targets(archive, f"{folder}_rels/{workbook.rsplit('/', 1)[1]}.rels", folder)
    [styles] = [p for p in parts.values() if p.endswith("styles.xml")]
    dated = _date_styles(archive, styles)
    sheets: dict[str, list[list[Value]]] = {}
    sheet_list = _xml(archive, workbook).find(f"{MAIN}sheets")
    assert sheet_list is not None
    for sheet in sheet_list:
        part = parts[sheet.attrib[f"{OFFICE_RELS}id"]]
        assert overrides[f"/{part}"].endswith("worksheet+xml")
        rows: list[list[Value]] = []
        for row in _xml(archive, part).iter(f"{MAIN}row"):
            assert int(row.attrib["r"]) == len(rows) + 1
            values: list[Value] = []
            for cell in row.iter(f"{MAIN}c"):
                column = _column(cell.attrib["r"])
                values.extend([None] * (column - len(values)))
                values.append(_value(cell, dated))
            rows.append(values)
        sheets[sheet.attrib["name"]] = rows
    return sheets


def _value(cell: ElementTree.Element, dated: set[int]) -> Value:
    kind = cell.attrib.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))
    raw = cell.findtext(f"{MAIN}v")
    assert raw is not None
    if kind == "b":
        return raw == "1"
    assert kind == "n", kind
    number = Decimal(raw)
    if int(cell.attrib.get("s", "0")) in dated:
        moment = _from_serial(number)
        return moment.replace(microsecond=0) + timedelta(
            seconds=1 if moment.microsecond >= 500_000 else 0
        )
    return int(number) if number == number.to_integral_value() and "." not in raw else number


def padded(rows: list[list[Value]]) -> list[list[Value]]:
    """Rows padded with empty cells to the header's width (a sheet leaves trailing blanks out)."""
    width = len(rows[0])
    return [row + [None] * (width - len(row)) for row in rows]
