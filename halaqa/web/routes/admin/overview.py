"""/admin: the academy today (sessions by status, charges held for an admin, booking requests
waiting) and its attendance rate by week as a bar chart, for admins and supervisors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_percent
from fastapi import APIRouter
from fastapi.responses import Response

from halaqa.billing import service as ledger
from halaqa.bookings import service as bookings
from halaqa.bookings.repository import BookingFilter
from halaqa.bookings.schemas import BookingStatus
from halaqa.reports import service as reports
from halaqa.reports.summary import percent
from halaqa.scheduling import service as scheduling
from halaqa.scheduling.lifecycle import LOOKS, Status
from halaqa.scheduling.repository import SessionFilter
from halaqa.web.charts.weekly import BarChart, Week, bar_chart, monday_of, weeks_of
from halaqa.web.i18n import direction
from halaqa.web.pages import AcademyPage
from halaqa.web.routes.admin.common import Refusal, StaffPage, attempt, show

router = APIRouter()
WEEKS = 8


@dataclass(frozen=True)
class StatusCount:
    status: Status
    label: str
    count: int


@dataclass(frozen=True)
class WeekShown:
    week: Week
    label: str  # the week's first day, short
    value: float | None  # the rate in percent; None: no class counted
    rate: str | None  # the same, written out
    title: str  # the bar's text alternative


@dataclass(frozen=True)
class WeeklyPicture:
    chart: BarChart
    weeks: list[WeekShown]
    first_day: str
    last_day: str


async def _today(page: AcademyPage) -> list[StatusCount]:
    """Today's sessions (in the viewer's zone, as the sessions API's scope=today) by status."""
    now = page.rt.clock.now()
    counts = []
    for status in Status:
        where = scheduling.within_scope(
            SessionFilter(statuses=(status.value,)), "today", now, page.visitor.zone
        )
        _, total = await scheduling.list_sessions(page.rt, page.ctx, where, offset=0, limit=0)
        look = LOOKS[status]
        label = look.label_ar if page.visitor.language == "ar" else look.label_en
        counts.append(StatusCount(status, label, total))
    return counts


async def _tallies(page: AcademyPage, period: reports.Period) -> list[tuple[date, int, int]]:
    """(day in the academy's zone, attended, counted) of each class held in the period."""
    zone = ZoneInfo(page.academy.time_zone)
    return [
        (held.starts_at.astimezone(zone).date(), held.students.attended, held.students.counted)
        for held in await reports.class_tallies(page.rt, page.ctx, period)
    ]


def _shown(week: Week, language: str, gettext: Callable[[str], str]) -> WeekShown:
    day = format_date(week.starts_on, "long", locale=language)
    label = format_date(week.starts_on, "d MMM", locale=language)
    rate = percent(week.attended, week.counted)
    if rate is None:
        title = gettext("Week of %(day)s: no class held") % {"day": day}
        return WeekShown(week, label, None, None, title)
    formatted = format_percent(rate / 100, "#,##0.#%", locale=language)
    title = gettext("Week of %(day)s: %(rate)s (%(attended)s of %(counted)s attended)") % {
        "day": day,
        "rate": formatted,
        "attended": week.attended,
        "counted": week.counted,
    }
    return WeekShown(week, label, float(rate), formatted, title)


async def _weekly(page: AcademyPage) -> WeeklyPicture | Refusal:
    """The last WEEKS weeks (Monday to Sunday in the academy's zone, this one so far)."""
    language = page.visitor.language
    today = reports.today_in(page.academy.time_zone, page.rt.clock.now())
    first = monday_of(today) - timedelta(weeks=WEEKS - 1)
    period = reports.period_of(first, today, page.academy.time_zone, today)
    tallies = await attempt(page, lambda: _tallies(page, period))
    if isinstance(tallies, Refusal):
        return tallies
    weeks = [_shown(w, language, page.visitor.gettext) for w in weeks_of(first, WEEKS, tallies)]
    return WeeklyPicture(
        chart=bar_chart([w.value for w in weeks], rtl=direction(language) == "rtl"),
        weeks=weeks,
        first_day=format_date(first, "long", locale=language),
        last_day=format_date(today, "long", locale=language),
    )


@router.get("/admin")
async def overview(slug: str, page: StaffPage) -> Response:
    _, waiting = await bookings.list_bookings(
        page.rt,
        page.ctx,
        BookingFilter(statuses=(BookingStatus.REQUESTED.value,)),
        offset=0,
        limit=0,
    )
    flags = await ledger.flags(page.rt, page.ctx, "open")
    weekly = await _weekly(page)
    return show(
        page,
        "overview.html",
        today=await _today(page),
        waiting=waiting,
        flags=len(flags),
        weekly=None if isinstance(weekly, Refusal) else weekly,
        weekly_errors=weekly.errors if isinstance(weekly, Refusal) else {},
    )
