"""The reports laid out as tables for the files (pure): the same figures as the JSON answer, with
times shown in the academy's zone (named in each header that holds a time) and durations as
minutes with one decimal next to the exact seconds. The first table of a report is its CSV file;
the XLSX file holds them all, one sheet each.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import Decimal

from halaqa.reports.exports import Cell, Table
from halaqa.reports.schemas import (
    AbsenteesOut,
    ConsecutiveAbsencesOut,
    GroupAttendanceOut,
    PeriodOut,
    RecordOut,
    SessionAttendanceOut,
    SessionBrief,
    StudentAttendanceOut,
    TallyOut,
    TeacherAttendanceOut,
)
from halaqa.reports.summary import HELD, minutes

NO_RECORD = "no record"


class Clock:
    """Shows UTC instants as local wall-clock times of one zone, to the second."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self._info = zoneinfo.ZoneInfo(zone)

    def __call__(self, instant: datetime | None) -> datetime | None:
        if instant is None:
            return None
        return instant.astimezone(self._info).replace(tzinfo=None, microsecond=0)

    def label(self, title: str) -> str:
        return f"{title} ({self.zone})"


def tenth(value: float | None) -> Decimal | None:
    """A one-decimal figure of the JSON answer, exactly as it reads there."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


def _record_cells(record: RecordOut | None, at: Clock) -> tuple[Cell, ...]:
    """Status, decided by, first join, last leave, minutes, seconds."""
    if record is None:
        return (NO_RECORD, None, None, None, None, None)
    return (
        record.status.value,
        record.status_source.value,
        at(record.first_join),
        at(record.last_leave),
        tenth(record.minutes),
        record.seconds,
    )


def _record_header(at: Clock) -> tuple[str, ...]:
    return (
        "Status",
        "Decided by",
        at.label("First join"),
        at.label("Last leave"),
        "Minutes present",
        "Seconds present",
    )


def _session_cells(session: SessionBrief, at: Clock) -> tuple[Cell, ...]:
    return (session.code, session.title, at(session.starts_at))


def _session_header(at: Clock) -> tuple[str, ...]:
    return ("Session", "Title", at.label("Starts at"))


def _tally_header() -> tuple[str, ...]:
    return ("Attended", "Absent", "Excused", "No record", "Counted", "Rate %")


def _tally_cells(figures: TallyOut) -> tuple[Cell, ...]:
    return (
        figures.attended,
        figures.absent,
        figures.excused,
        figures.no_record,
        figures.counted,
        tenth(figures.rate),
    )


def _summary(title: str, about: list[tuple[str, Cell]], figures: TallyOut) -> Table:
    rows: list[tuple[Cell, ...]] = [(name, value) for name, value in about]
    rows += [
        ("Present", figures.present),
        ("Late", figures.late),
        ("Left early", figures.left_early),
        ("Partial", figures.partial),
        ("Absent", figures.absent),
        ("Excused", figures.excused),
        ("No record", figures.no_record),
        ("Counted", figures.counted),
        ("Attended", figures.attended),
        ("Rate %", tenth(figures.rate)),
        ("Minutes present", tenth(figures.minutes)),
        ("Seconds present", figures.seconds),
    ]
    return Table(title, ("Measure", "Value"), rows)


def _period(period: PeriodOut, zone: str) -> list[tuple[str, Cell]]:
    return [("From", period.first_day), ("To", period.last_day), ("Time zone", zone)]


# --- the reports -----------------------------------------------------------------------------


def session_tables(report: SessionAttendanceOut) -> list[Table]:
    at = Clock(report.time_zone)
    session = report.session
    main = Table(
        "Attendance",
        (
            *_session_header(at),
            "User id",
            "Name",
            "Role",
            *_record_header(at),
            "Computed status",
            at.label("Window start"),
            "Window minutes",
            "Window seconds",
            "Reconnects",
            "End inferred",
            "Sources",
            at.label("Presence"),
        ),
    )
    timeline = Table(
        "Timeline",
        ("User id", "Name", "Role", at.label("From"), at.label("To"), "Minutes", "Seconds"),
    )
    for person in report.people:
        record = person.record
        stays = []
        for interval in person.intervals:
            start, end = at(interval.start), at(interval.end)
            assert start is not None
            assert end is not None
            shown_end = end.strftime("%H:%M:%S" if end.date() == start.date() else "%Y-%m-%d %X")
            stays.append(f"{start:%Y-%m-%d %H:%M:%S}–{shown_end}")
            timeline.rows.append(
                (
                    person.user_id,
                    person.name,
                    person.role,
                    start,
                    end,
                    minutes(interval.seconds),
                    interval.seconds,
                )
            )
        main.rows.append(
            (
                *_session_cells(session, at),
                person.user_id,
                person.name,
                person.role,
                *_record_cells(record, at),
                None if record is None else record.computed_status.value,
                None if record is None else at(record.window_start),
                None if record is None else minutes(record.window_seconds),
                None if record is None else record.window_seconds,
                None if record is None else record.reconnects,
                None if record is None else record.inferred_end,
                None if record is None else ",".join(record.sources),
                "; ".join(stays),
            )
        )
    return [main, timeline]


def student_tables(report: StudentAttendanceOut) -> list[Table]:
    at = Clock(report.time_zone)
    main = Table(
        "Sessions",
        (
            *_session_header(at),
            "Kind",
            "Session status",
            "Counted",
            *_record_header(at),
            "Reconnects",
        ),
    )
    for row in report.sessions:
        main.rows.append(
            (
                *_session_cells(row.session, at),
                row.session.kind,
                row.session.status.value,
                row.counted,
                *_record_cells(row.record, at),
                None if row.record is None else row.record.reconnects,
            )
        )
    about: list[tuple[str, Cell]] = [
        ("Student", report.student.name),
        ("Student id", report.student.user_id),
        *_period(report.period, report.time_zone),
    ]
    if report.only_taught_by is not None:
        about.append(("Only sessions taught by user id", report.only_taught_by))
    return [main, _summary("Summary", about, report.summary)]


def group_tables(report: GroupAttendanceOut) -> list[Table]:
    at = Clock(report.time_zone)
    columns = []
    for column in report.sessions:
        start = at(column.session.starts_at)
        shown = "" if start is None else f" {start:%Y-%m-%d %H:%M}"
        columns.append(f"{column.session.code}{shown} ({report.time_zone})")
    matrix = Table(
        "Matrix",
        ("Student id", "Name", *columns, *_tally_header(), "Minutes present", "Seconds present"),
    )
    held = {c.session.id: c.session.status.value in HELD for c in report.sessions}
    for student in report.students:
        cells: list[Cell] = []
        for cell in student.cells:
            if cell.status is not None:
                cells.append(cell.status.value)
            elif cell.expected and held[cell.session_id]:
                cells.append(NO_RECORD)
            else:
                cells.append(None)
        matrix.rows.append(
            (
                student.user_id,
                student.name,
                *cells,
                *_tally_cells(student.summary),
                tenth(student.summary.minutes),
                student.summary.seconds,
            )
        )
    sessions = Table(
        "Sessions", (*_session_header(at), "Session status", "Expected", *_tally_header())
    )
    for column in report.sessions:
        sessions.rows.append(
            (
                *_session_cells(column.session, at),
                column.session.status.value,
                column.expected,
                *_tally_cells(column.summary),
            )
        )
    about: list[tuple[str, Cell]] = [
        ("Group", report.group.name),
        ("Group id", report.group.id),
        *_period(report.period, report.time_zone),
    ]
    return [matrix, sessions, _summary("Summary", about, report.summary)]


def teacher_tables(report: TeacherAttendanceOut) -> list[Table]:
    at = Clock(report.time_zone)
    main = Table(
        "Sessions",
        (
            *_session_header(at),
            "Kind",
            "Session status",
            *(f"Teacher {title[0].lower()}{title[1:]}" for title in _record_header(at)),
            "Students expected",
            *(f"Students {title[0].lower()}{title[1:]}" for title in _tally_header()),
        ),
    )
    for row in report.sessions:
        main.rows.append(
            (
                *_session_cells(row.session, at),
                row.session.kind,
                row.session.status.value,
                *_record_cells(row.record, at),
                row.expected,
                *_tally_cells(row.students),
            )
        )
    about: list[tuple[str, Cell]] = [
        ("Teacher", report.teacher.name),
        ("Teacher id", report.teacher.user_id),
        *_period(report.period, report.time_zone),
    ]
    return [
        main,
        _summary("Teacher", about, report.own),
        _summary("Students", about, report.students),
    ]


def absentee_tables(report: AbsenteesOut) -> list[Table]:
    at = Clock(report.time_zone)
    main = Table(
        "Absentees",
        (
            *_session_header(at),
            "Session status",
            "Teacher id",
            "Student id",
            "Student",
            "Reason",
            "Decided by",
        ),
    )
    for item in report.items:
        main.rows.append(
            (
                *_session_cells(item.session, at),
                item.session.status.value,
                item.session.teacher_user_id,
                item.student.user_id,
                item.student.name,
                NO_RECORD if item.reason == "no_record" else item.reason,
                None if item.status_source is None else item.status_source.value,
            )
        )
    return [main]


def run_tables(report: ConsecutiveAbsencesOut) -> list[Table]:
    at = Clock(report.time_zone)
    main = Table(
        "Consecutive absences",
        (
            "Student id",
            "Student",
            "Consecutive absences",
            "Excused within",
            at.label("First absence"),
            at.label("Last absence"),
            "May be longer",
            "Session ids",
        ),
    )
    for item in report.items:
        main.rows.append(
            (
                item.student.user_id,
                item.student.name,
                item.consecutive,
                item.excused_within,
                at(item.first_absent_at),
                at(item.last_absent_at),
                item.may_be_longer,
                " ".join(str(i) for i in item.session_ids),
            )
        )
    return [main]
