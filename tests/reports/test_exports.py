"""Writing report files (pure): CSV that Excel opens as UTF-8 and never runs as formulas, XLSX
with typed cells, and the figures and periods every report shares."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl.worksheet.worksheet import Worksheet

from halaqa.exceptions import InvalidInput
from halaqa.reports.exports import (
    Cell,
    Table,
    safe_text,
    sheet_names,
    to_csv,
    to_xlsx,
)
from halaqa.reports.service import MAX_DAYS, period_of
from halaqa.reports.summary import minutes, percent, tally
from tests.reports.files import open_xlsx, read_csv, read_xlsx

NOON = datetime.fromisoformat("2026-03-02T12:00:07")  # a local wall-clock time
ARABIC = "محمد بن عبد الله"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+966500000000", "'+966500000000"),
        ("-2", "'-2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("Ahmed = Omar", "Ahmed = Omar"),  # only a leading sign makes a formula
        (ARABIC, ARABIC),
        ("", ""),
    ],
)
def test_text_that_would_be_a_formula_gets_a_quote(text: str, written: str) -> None:
    assert safe_text(text) == written
    table = Table("T", ("Name",), [(text,)])
    assert read_csv(to_csv(table)) == [["Name"], [written]]


def test_csv_is_utf8_with_a_bom_and_typed_cells_written_plainly() -> None:
    table = Table(
        "Attendance",
        ("Name", "Starts at (Asia/Riyadh)", "Minutes present", "Seconds present", "Late", "Day"),
        [
            (ARABIC, NOON, Decimal("55.0"), 3300, True, date(2026, 3, 2)),
            ("=evil()", None, Decimal("0.1"), 3, False, None),
        ],
    )
    data = to_csv(table)
    assert data[:3] == b"\xef\xbb\xbf"
    assert ARABIC.encode("utf-8") in data  # not escaped, not another encoding
    assert data.endswith(b"\r\n")
    assert read_csv(data) == [
        ["Name", "Starts at (Asia/Riyadh)", "Minutes present", "Seconds present", "Late", "Day"],
        [ARABIC, "2026-03-02 12:00:07", "55.0", "3300", "yes", "2026-03-02"],
        ["'=evil()", "", "0.1", "3", "no", ""],
    ]


def test_a_header_that_would_be_a_formula_is_quoted_too() -> None:
    assert read_csv(to_csv(Table("T", ("=A1",), [])))[0] == ["'=A1"]


def test_aware_times_are_refused() -> None:
    table = Table("T", ("At",), [(datetime(2026, 3, 2, 9, 0, tzinfo=UTC),)])
    with pytest.raises(ValueError, match="naive"):
        to_csv(table)
    with pytest.raises(ValueError, match="naive"):
        to_xlsx([table])


def test_rows_must_fit_the_header() -> None:
    with pytest.raises(ValueError, match="2 cells under 1"):
        Table("T", ("One",), [("a", "b")])


def test_xlsx_cells_keep_their_types() -> None:
    rows: list[tuple[Cell, ...]] = [
        ("=evil()", NOON, Decimal("55.0"), 3300, True, date(2026, 3, 2)),
        (ARABIC, None, Decimal("44.9"), 2693, False, None),
        (
            "  spaced  ",
            datetime.fromisoformat("2026-12-31T23:59:59"),
            Decimal("0.1"),
            0,
            None,
            None,
        ),
    ]
    header = ("Name", "Starts at (Asia/Riyadh)", "Minutes", "Seconds", "Late", "Day")
    sheets = read_xlsx(to_xlsx([Table("Attendance", header, rows), Table("Summary", ("A",))]))
    assert list(sheets) == ["Attendance", "Summary"]
    assert sheets["Attendance"] == [
        list(header),
        # Text is a string cell, never a formula: its value gets no quote.
        ["=evil()", NOON, Decimal("55"), 3300, True, datetime.fromisoformat("2026-03-02T00:00")],
        [ARABIC, None, Decimal("44.9"), 2693, False, None],
        [
            "  spaced  ",
            datetime.fromisoformat("2026-12-31T23:59:59"),
            Decimal("0.1"),
            0,
            None,
            None,
        ],
    ]
    assert sheets["Summary"] == [["A"]]


def _sheet(data: bytes, name: str) -> Worksheet:
    sheet = open_xlsx(data)[name]
    assert isinstance(sheet, Worksheet)
    return sheet


def test_xlsx_text_is_never_a_formula() -> None:
    names = ("=1+2", "+966500000000", "@SUM(A1:A2)", "Ahmed = Omar", ARABIC)
    sheet = _sheet(to_xlsx([Table("T", ("=A1",), [(name,) for name in names])]), "T")
    cells = [row[0] for row in sheet.iter_rows()]
    assert [cell.value for cell in cells] == ["=A1", *names]
    assert {cell.data_type for cell in cells} == {"s"}  # a string, not "f" (a formula)
    # Text a spreadsheet would read as a formula is marked as text, so editing it keeps it text.
    assert [cell.quotePrefix for cell in cells] == [True, True, True, True, False, False]


def test_xlsx_has_a_frozen_bold_header_number_formats_and_widths() -> None:
    table = Table(
        "Attendance",
        ("Name", "Starts at", "Minutes", "Seconds", "Day"),
        [("x" * 80, NOON, Decimal("55.0"), 3300, date(2026, 3, 2))],
    )
    sheet = _sheet(to_xlsx([table]), "Attendance")
    assert sheet.freeze_panes == "A2"
    assert [cell.font.b for cell in sheet[1]] == [True] * 5
    assert [cell.font.b for cell in sheet[2]] == [False] * 5
    assert [cell.number_format for cell in sheet[2]] == [
        "General",
        "yyyy-mm-dd hh:mm:ss",
        "0.0",
        "General",
        "yyyy-mm-dd",
    ]
    assert [sheet.column_dimensions[c].width for c in "ABCDE"] == [60, 21, 9, 9, 12]


def test_xlsx_is_the_same_bytes_every_time() -> None:
    table = Table("Attendance", ("Name", "At"), [(ARABIC, NOON)])
    data = to_xlsx([table])
    assert data == to_xlsx([table])
    archive = zipfile.ZipFile(BytesIO(data))
    assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert open_xlsx(data).properties.created == datetime(1980, 1, 1)  # noqa: DTZ001


def test_control_characters_cannot_break_the_xml() -> None:
    sheets = read_xlsx(to_xlsx([Table("T", ("Name",), [("a\x00b\x1fc<d>&\"e'",)])]))
    assert sheets["T"][1] == ["a\ufffdb\ufffdc<d>&\"e'"]


def test_a_workbook_needs_a_sheet() -> None:
    with pytest.raises(ValueError, match="at least one"):
        to_xlsx([])


def test_sheet_names_are_valid_and_unique() -> None:
    tables = [
        Table("Attendance: [March]", ("A",)),
        Table("attendance: [march]", ("A",)),
        Table("x" * 40, ("A",)),
        Table("x" * 40, ("A",)),
        Table("'/'", ("A",)),
        Table("الحضور: آذار", ("A",)),
    ]
    names = sheet_names(tables)
    assert names == [
        "Attendance   March",
        "attendance   march (2)",
        "x" * 31,
        "x" * 27 + " (2)",
        "Sheet5",
        "الحضور  آذار",
    ]
    assert list(read_xlsx(to_xlsx(tables))) == names


# --- figures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0.0"),
        (2, "0.0"),
        (3, "0.1"),
        (90, "1.5"),
        (2693, "44.9"),
        (3300, "55.0"),
        (3600, "60.0"),
    ],
)
def test_minutes_have_one_decimal_halves_up(seconds: int, shown: str) -> None:
    assert str(minutes(seconds)) == shown


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(0, 0, None), (0, 3, "0.0"), (1, 3, "33.3"), (2, 3, "66.7"), (1, 8, "12.5"), (3, 3, "100.0")],
)
def test_percentages(part: int, whole: int, shown: str | None) -> None:
    value = percent(part, whole)
    assert (None if value is None else str(value)) == shown


def test_a_tally_leaves_the_excused_out_of_the_rate() -> None:
    figures = tally(
        [
            ("present", 3600),
            ("late", 2693),
            ("left_early", 2100),
            ("partial", 2000),
            ("absent", 0),
            ("excused", 0),
            (None, 0),
        ]
    )
    assert (figures.counted, figures.attended, figures.no_record, figures.excused) == (5, 4, 1, 1)
    assert (figures.seconds, str(figures.minutes), str(figures.rate)) == (10393, "173.2", "80.0")
    assert tally([]).rate is None


def test_a_tally_refuses_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="'here'"):
        tally([("here", 1)])


# --- periods ---------------------------------------------------------------------------------

TODAY = date(2026, 3, 10)


def test_a_period_is_whole_days_in_the_academy_zone() -> None:
    period = period_of(date(2026, 3, 2), date(2026, 3, 4), "Asia/Riyadh", TODAY)
    assert (period.first_day, period.last_day) == (date(2026, 3, 2), date(2026, 3, 4))
    # Midnight in Riyadh (UTC+3) is 21:00 UTC the day before.
    assert period.window.starts_from == datetime(2026, 3, 1, 21, 0, tzinfo=UTC)
    assert period.window.starts_before == datetime(2026, 3, 4, 21, 0, tzinfo=UTC)


def test_a_period_across_a_dst_change_keeps_local_midnights() -> None:
    period = period_of(date(2026, 3, 8), date(2026, 3, 8), "America/New_York", TODAY)
    # 8 March 2026 is 23 hours long in New York: midnight EST to midnight EDT.
    assert period.window.starts_from == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert period.window.starts_before == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, None, (date(2026, 2, 9), TODAY)),  # the last 30 days, today included
        (date(2026, 3, 1), None, (date(2026, 3, 1), TODAY)),
        (date(2026, 4, 1), None, (date(2026, 4, 1), date(2026, 4, 1))),  # from a future day
        (None, date(2026, 1, 31), (date(2026, 1, 2), date(2026, 1, 31))),
        (date(2026, 3, 5), date(2026, 3, 5), (date(2026, 3, 5), date(2026, 3, 5))),
    ],
)
def test_period_defaults(
    first: date | None, last: date | None, expected: tuple[date, date]
) -> None:
    period = period_of(first, last, "UTC", TODAY)
    assert (period.first_day, period.last_day) == expected


def test_a_period_the_wrong_way_round_says_so() -> None:
    with pytest.raises(InvalidInput) as refused:
        period_of(date(2026, 3, 5), date(2026, 3, 4), "UTC", TODAY)
    assert refused.value.details == [
        {
            "field": "to",
            "message": "2026-03-04 is before from (2026-03-05); give a to on or after from",
        }
    ]


def test_a_period_longer_than_the_most_says_so() -> None:
    assert period_of(date(2025, 1, 1), date(2025, 12, 31), "UTC", TODAY).last_day.year == 2025
    period_of(date(2024, 1, 1), date(2024, 12, 31), "UTC", TODAY)  # 366 days: a leap year
    with pytest.raises(InvalidInput) as refused:
        period_of(date(2025, 1, 1), date(2026, 1, 2), "UTC", TODAY)
    assert refused.value.status_code == 422
    assert f"at most {MAX_DAYS} days" in refused.value.message
    assert "367 days" in refused.value.message
