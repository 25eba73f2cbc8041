"""What a notification says, in the recipient's language and time zone (pure): the same words
for the bell and the email."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from babel.dates import format_date

from halaqa.models.notifications import NotificationKind as Kind
from halaqa.web.i18n import translations
from halaqa.web.nav import N_
from halaqa.web.templating import when

SUBJECTS = {
    Kind.SESSION_SCHEDULED: N_("New class: %(title)s"),
    Kind.SESSION_RESCHEDULED: N_("Class moved: %(title)s"),
    Kind.SESSION_CANCELLED: N_("Class cancelled: %(title)s"),
    Kind.SCHEDULE_PLANNED: N_("New weekly classes: %(title)s"),
    Kind.SCHEDULE_CHANGED: N_("Weekly classes changed: %(title)s"),
    Kind.SCHEDULE_ENDED: N_("Weekly classes end: %(title)s"),
    Kind.REMINDER: N_("Reminder: %(title)s at %(time)s"),
    Kind.ROOM_OPEN: N_("Join now: %(title)s"),
    Kind.RECORDING_READY: N_("Recording ready: %(title)s"),
    Kind.ABSENCE_RECORDED: N_("%(student)s was absent from %(title)s"),
    Kind.CONSECUTIVE_ABSENCES: N_("%(student)s missed %(count)s classes in a row"),
    Kind.BALANCE_LOW: N_("%(student)s has %(left)s classes left"),
    Kind.BALANCE_EXHAUSTED: N_("%(student)s has no classes left in the package"),
    Kind.BOOKING_REQUESTED: N_("Booking request: %(title)s"),
    Kind.BOOKING_CONFIRMED: N_("Booking confirmed: %(title)s"),
    Kind.BOOKING_DECLINED: N_("Booking declined: %(title)s"),
}
BODIES = {
    Kind.SESSION_SCHEDULED: N_("%(title)s is scheduled for %(time)s."),
    Kind.SESSION_RESCHEDULED: N_("%(title)s moved from %(old_time)s to %(time)s."),
    Kind.SESSION_CANCELLED: N_("%(title)s on %(time)s is cancelled. Reason: %(reason)s"),
    Kind.SCHEDULE_PLANNED: N_(
        "%(title)s now takes place every week, the first class on %(time)s. Every class is in "
        "your calendar and on your classes page."
    ),
    Kind.SCHEDULE_CHANGED: N_(
        "%(title)s changes from %(time)s, the first class at its new time; the classes at the "
        "old times from then on are cancelled. Every class is in your calendar and on your "
        "classes page."
    ),
    Kind.SCHEDULE_ENDED: N_(
        "%(title)s ends: there are no classes from %(date)s on. Reason: %(reason)s"
    ),
    Kind.REMINDER: N_("%(title)s starts at %(time)s."),
    Kind.ROOM_OPEN: N_("The room of %(title)s is open: you can join now."),
    Kind.RECORDING_READY: N_("The recording of %(title)s on %(time)s is ready."),
    Kind.ABSENCE_RECORDED: N_("%(student)s was recorded absent from %(title)s on %(time)s."),
    Kind.CONSECUTIVE_ABSENCES: N_(
        "%(student)s has been absent from %(count)s classes in a row, the last on %(time)s."
    ),
    Kind.BALANCE_LOW: N_("%(student)s has %(left)s classes left in %(package)s."),
    Kind.BALANCE_EXHAUSTED: N_(
        "%(student)s has used every class of %(package)s. Renew it to keep the classes going."
    ),
    Kind.BOOKING_REQUESTED: N_("%(student)s asks to book %(title)s at %(time)s."),
    Kind.BOOKING_CONFIRMED: N_("Your booking of %(title)s at %(time)s is confirmed."),
    Kind.BOOKING_DECLINED: N_("Your booking of %(title)s at %(time)s was declined."),
}
OPEN = N_("Open")


@dataclass(frozen=True)
class Composed:
    subject: str
    body: str
    link: str | None
    link_label: str
    extra: dict[str, str] = field(default_factory=dict)


def compose(
    kind: str, payload: dict[str, Any], language: str, zone: str, base_url: str
) -> Composed:
    gettext: Callable[[str], str] = translations(language).gettext
    values = _values(payload, language, zone)
    path = payload.get("path")
    return Composed(
        subject=gettext(SUBJECTS[Kind(kind)]) % values,
        body=gettext(BODIES[Kind(kind)]) % values,
        link=f"{base_url.rstrip('/')}{path}" if isinstance(path, str) else None,
        link_label=gettext(OPEN),
    )


class _Blank(dict[str, str]):
    """Fills a placeholder a payload does not have with nothing, rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


def _values(payload: dict[str, Any], language: str, zone: str) -> _Blank:
    def at(key: str) -> str:
        value = payload.get(key)
        return when(datetime.fromisoformat(value), zone, language, "full") if value else ""

    def on(key: str) -> str:
        value = payload.get(key)
        return format_date(date.fromisoformat(value), "full", locale=language) if value else ""

    return _Blank(
        title=str(payload.get("title", "")),
        time=at("starts_at"),
        date=on("date"),
        old_time=at("old_starts_at"),
        reason=str(payload.get("reason", "")),
        student=str(payload.get("student", "")),
        count=str(payload.get("count", "")),
        left=str(payload.get("left", "")),
        package=str(payload.get("package", "")),
    )
