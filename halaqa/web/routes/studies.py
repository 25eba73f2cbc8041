"""What the student's and the parent's pages show about one student, gathered from the same
services as the API (and shaped by the API's own functions): their classes from today on, their
past classes with attendance and reports over a period, and their packages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton
from pydantic import Field

from halaqa.academies.repository import UserRepository
from halaqa.billing import service as billing
from halaqa.billing.schemas import LedgerEntryOut
from halaqa.catalog import subscription_service
from halaqa.catalog.subscription_endpoints import detail_out as subscription_detail
from halaqa.catalog.subscription_lifecycle import SubscriptionStatus
from halaqa.catalog.subscription_repository import SubscriptionFilter
from halaqa.catalog.subscription_schemas import SubscriptionDetailOut
from halaqa.evaluations import service as evaluations
from halaqa.evaluations.endpoints import report_out
from halaqa.evaluations.schemas import ReportOut
from halaqa.exceptions import InvalidInput
from halaqa.kit.pagination import PageParams
from halaqa.kit.validation import Input
from halaqa.reports import service as reports
from halaqa.reports.endpoints import EARLIEST, LATEST
from halaqa.reports.schemas import PeriodOut, RecordOut, SessionBrief, TallyOut
from halaqa.scheduling import service as scheduling
from halaqa.scheduling.endpoints import session_out
from halaqa.scheduling.repository import SessionFilter, SessionRepository
from halaqa.scheduling.schemas import SessionOut
from halaqa.web.charts import term
from halaqa.web.forms import FieldErrors, errors_of, validate
from halaqa.web.i18n import direction
from halaqa.web.nav import N_
from halaqa.web.pages import AcademyPage

LISTED = 50  # classes listed on one page; the page says how many more there are
HISTORY_DAYS = 90  # the period of the past classes unless one is chosen: about a term
PACKAGES_LISTED = 100
LEDGER_LISTED = 50  # a package's latest ledger entries shown
# Classes that started before today and may still be joined (a class past midnight).
STILL_OPEN = ("ready", "ongoing")

OUTCOME_LABELS: dict[str, str] = {
    term.Outcome.PRESENT: N_("Present"),
    term.Outcome.LATE: N_("Late"),
    term.Outcome.LEFT_EARLY: N_("Left early"),
    term.Outcome.PARTIAL: N_("Partly present"),
    term.Outcome.ABSENT: N_("Absent"),
    term.Outcome.EXCUSED: N_("Excused"),
    term.Outcome.NOT_RECORDED: N_("Not on record yet"),
    term.Outcome.NOT_HELD: N_("Not held"),
}


# --- classes from today on -------------------------------------------------------------------


@dataclass(frozen=True)
class Classes:
    sessions: list[SessionOut]
    more: int  # beyond those listed
    teachers: dict[int, str]  # names by user id


async def names_of(page: AcademyPage, user_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(user_ids)
    if not wanted:
        return {}
    return {u.id: u.name for u in await UserRepository(page.rt.session).get_many(wanted)}


async def classes_from_today(page: AcademyPage, student_id: int, limit: int = LISTED) -> Classes:
    """The student's classes of today (in the viewer's zone) and after, with those begun
    earlier that are still open, as the sessions API lists them (its visibility rules, its join
    decision for the viewer)."""
    rt, ctx = page.rt, page.ctx
    today, _ = scheduling.scope_bounds("today", rt.clock.now(), page.visitor.zone)
    open_, _ = await scheduling.list_sessions(
        rt,
        ctx,
        SessionFilter(student_user_id=student_id, starts_before=today, statuses=STILL_OPEN),
        offset=0,
        limit=limit,
    )
    coming, total = await scheduling.list_sessions(
        rt, ctx, SessionFilter(student_user_id=student_id, starts_from=today), offset=0, limit=limit
    )
    sessions = [await session_out(rt, ctx, view) for view in [*open_, *coming]]
    teachers = await names_of(page, (s.teacher_user_id for s in sessions))
    return Classes(sessions, max(total - len(coming), 0), teachers)


# --- past classes ----------------------------------------------------------------------------


class PeriodChoice(Input):
    """The days the history covers, with the bounds the reports API accepts."""

    first_day: date | None = Field(None, alias="from", ge=EARLIEST, le=LATEST)
    last_day: date | None = Field(None, alias="to", ge=EARLIEST, le=LATEST)


@dataclass(frozen=True)
class PastClass:
    session: SessionBrief
    record: RecordOut | None
    outcome: term.Outcome | None
    report: ReportOut | None


@dataclass(frozen=True)
class History:
    period: PeriodOut
    summary: TallyOut
    classes: list[PastClass]  # the latest first
    chart: term.TermChart
    tick_labels: dict[date, str]
    teachers: dict[int, str]

    @property
    def by_session(self) -> dict[int, PastClass]:
        return {c.session.id: c for c in self.classes}


def choose_period(
    page: AcademyPage, query: Mapping[str, str]
) -> tuple[reports.Period, dict[str, str], FieldErrors]:
    """The period asked for in the query (the last HISTORY_DAYS days unless told), the form's
    values to show again, and what is wrong with them (the default period is used then)."""
    zone = page.visitor.zone
    today = reports.today_in(zone, page.rt.clock.now())
    given = {name: query.get(name, "") for name in ("from", "to")}
    choice, errors = validate(PeriodChoice, given, page.visitor.gettext)
    if choice is not None:
        try:
            period = reports.period_of(
                choice.first_day, choice.last_day, zone, today, default_days=HISTORY_DAYS
            )
        except InvalidInput as error:
            errors = _period_problems(error, page.visitor.gettext)
        else:
            return period, _days_of(period), {}
    period = reports.period_of(None, None, zone, today, default_days=HISTORY_DAYS)
    return period, given, errors


# What the reports service refuses in a period, by the field it names, in the visitor's words.
PERIOD_PROBLEMS = {
    "to": N_("The last day comes before the first."),
    "from": N_("Choose at most %(days)s days."),
}


def _period_problems(error: InvalidInput, gettext: Callable[[str], str]) -> FieldErrors:
    found = errors_of(error, gettext)
    return {
        field: gettext(PERIOD_PROBLEMS[field]) % {"days": reports.MAX_DAYS}
        if field in PERIOD_PROBLEMS
        else message
        for field, message in found.items()
    }


def _days_of(period: reports.Period) -> dict[str, str]:
    return {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}


def local_day(instant: datetime, zone: str) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()


async def history_of(page: AcademyPage, student_id: int, period: reports.Period) -> History:
    """The student's classes begun in the period: attendance as the reports API has it, each
    one's report as the session-reports API has it, and the picture of the term."""
    rt, ctx, zone = page.rt, page.ctx, page.visitor.zone
    now = rt.clock.now()
    attendance = await reports.student_attendance(rt, ctx, student_id, period)
    written, _ = await evaluations.student_reports(
        rt,
        ctx,
        student_id,
        starts_from=period.window.starts_from,
        starts_before=period.window.starts_before,
        offset=0,
        limit=reports.MAX_SESSIONS,
    )
    by_session = {view.session.id: report_out(view) for view in written}
    classes = [
        PastClass(
            row.session,
            row.record,
            term.outcome_of(row.session.status, row.record.status if row.record else None),
            by_session.get(row.session.id),
        )
        for row in reversed(attendance.sessions)
        if row.session.starts_at is not None and row.session.starts_at <= now
    ]
    entries = [
        term.Entry(c.session.id, local_day(c.session.starts_at, zone), c.outcome)
        for c in classes
        if c.outcome is not None and c.session.starts_at is not None
    ]
    language = page.visitor.language
    chart = term.layout(
        entries, period.first_day, period.last_day, rtl=direction(language) == "rtl"
    )
    return History(
        period=attendance.period,
        summary=attendance.summary,
        classes=classes,
        chart=chart,
        tick_labels={t.day: format_skeleton("MMMd", t.day, locale=language) for t in chart.ticks},
        teachers=await names_of(page, (c.session.teacher_user_id for c in classes)),
    )


# --- packages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    entry: LedgerEntryOut
    session_code: str
    session_title: str
    starts_at: datetime | None


@dataclass(frozen=True)
class Package:
    subscription: SubscriptionDetailOut
    ledger: list[LedgerLine]  # the latest first
    ledger_total: int


RUNNING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)


async def subscriptions_of(
    page: AcademyPage, student_id: int, *, running_only: bool = False
) -> list[SubscriptionDetailOut]:
    """The student's subscriptions the viewer may see, the latest first, each with its cycles'
    balance as the subscriptions API shows it."""
    rows, _ = await subscription_service.list_subscriptions(
        page.rt,
        page.ctx,
        PageParams(page=1, per_page=PACKAGES_LISTED),
        SubscriptionFilter(student_user_id=student_id),
    )
    wanted = [s for s in rows if not running_only or s.status in RUNNING]
    return [await subscription_detail(page.rt, page.ctx, s) for s in wanted]


async def packages_of(page: AcademyPage, student_id: int) -> list[Package]:
    """Each subscription with its latest ledger entries and the classes they were for."""
    found = []
    sessions = SessionRepository(page.rt.session, page.academy.id)
    for subscription in await subscriptions_of(page, student_id):
        entries, total = await billing.subscription_ledger(
            page.rt, page.ctx, subscription.id, offset=0, limit=LEDGER_LISTED
        )
        lines = []
        for entry in entries:
            # The ledger's own visibility was decided above; the class is read for its name.
            session = await sessions.get(entry.session_id)
            assert session is not None  # a ledger entry's session is never deleted
            lines.append(
                LedgerLine(
                    LedgerEntryOut.model_validate(entry, from_attributes=True),
                    session.code,
                    session.title,
                    session.starts_at,
                )
            )
        found.append(Package(subscription, lines, total))
    return found


# Words for codes the services return, translated where they are shown.
SUBSCRIPTION_STATUS_LABELS: dict[str, str] = {
    "pending": N_("Not started yet"),
    "active": N_("Active"),
    "paused": N_("Paused"),
    "cancelled": N_("Cancelled"),
    "expired": N_("Expired"),
}
LEDGER_KIND_LABELS: dict[str, str] = {
    "consumed": N_("Session used"),
    "refunded": N_("Session given back"),
}
LEDGER_OUTCOME_LABELS: dict[str, str] = {
    "present": N_("Present"),
    "late": N_("Late"),
    "left_early": N_("Left early"),
    "partial": N_("Partly present"),
    "no_show": N_("Did not come"),
    "excused": N_("Excused"),
    "teacher_absent": N_("The teacher did not come"),
    "nobody_came": N_("Nobody came"),
    "cancelled": N_("Cancelled"),
    "suspended": N_("Suspended"),
    "not_held": N_("Not held"),
    "not_on_record": N_("Attendance not on record"),
}
PAYMENT_LABELS: dict[str, str] = {
    "pending": N_("Payment due"),
    "paid": N_("Paid"),
    "failed": N_("Payment failed"),
    "waived": N_("Payment waived"),
}


VERDICT_LABELS: dict[str, str] = {
    "done": N_("Done"),
    "partly_done": N_("Partly done"),
    "not_done": N_("Not done"),
}


def context(page: AcademyPage) -> dict[str, Any]:
    """What the templates of these pages share: the tables they translate codes with, and
    calendar days (a subscription's, a cycle's) in the viewer's language."""
    language = page.visitor.language
    return {
        "outcome_labels": OUTCOME_LABELS,
        "subscription_status_labels": SUBSCRIPTION_STATUS_LABELS,
        "ledger_kind_labels": LEDGER_KIND_LABELS,
        "ledger_outcome_labels": LEDGER_OUTCOME_LABELS,
        "payment_labels": PAYMENT_LABELS,
        "verdict_labels": VERDICT_LABELS,
        "calendar_day": lambda day: format_date(day, "medium", locale=language),
    }
