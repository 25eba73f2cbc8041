"""Reading the report files back, as a spreadsheet would: CSV through the csv module, XLSX through
openpyxl, dates and times by their number format."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

from openpyxl import Workbook, load_workbook

Value = str | int | Decimal | bool | datetime | None


def read_csv(data: bytes) -> list[list[str]]:
    """The rows of a CSV file, which must start with a UTF-8 byte-order mark."""
    assert data.startswith(b"\xef\xbb\xbf"), data[:10]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def open_xlsx(data: bytes) -> Workbook:
    """The workbook itself, for its styles and layout."""
    return load_workbook(io.BytesIO(data))


def read_xlsx(data: bytes) -> dict[str, list[list[Value]]]:
    """Each sheet's rows by name, in the workbook's order, each row as wide as the sheet: a
    number as an int or a Decimal (as written: 44.9, not the float nearest it), a date or time
    cell as a datetime rounded to the second."""
    return {
        sheet.title: [[_value(value) for value in row] for row in sheet.iter_rows(values_only=True)]
        for sheet in open_xlsx(data).worksheets
    }


def _value(value: object) -> Value:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime):
        return value.replace(microsecond=0) + timedelta(
            seconds=1 if value.microsecond >= 500_000 else 0
        )
    assert value is None or isinstance(value, str | int), repr(value)  # bool is an int
    return value
