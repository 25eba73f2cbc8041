"""/admin/settings: every academy setting with its default, and the academy's name, time zone
and language. Validated by the API's own schemas (AcademySettingsPatch, AcademyUpdate) and saved
by the same service calls as PATCH /academies/{slug}/settings and PATCH /academies/{slug}."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, get_args

from babel import Locale
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from halaqa.academies import service
from halaqa.academies.schemas import AcademySettingsPatch, AcademyUpdate
from halaqa.academies.settings import AcademySettings, effective_settings, merge_overrides
from halaqa.web.forms import FORM, FieldErrors, message_for, read_form, validate
from halaqa.web.nav import N_
from halaqa.web.pages import AcademyPage, see_other
from halaqa.web.routes.admin.common import AdminPage, Refusal, as_list, attempt, saved, show, submit

router = APIRouter()
DEFAULTS = AcademySettings()


@dataclass(frozen=True)
class Setting:
    name: str
    label: str  # an English msgid

    @property
    def kind(self) -> str:
        """How the form asks for it: a number, text, yes or no, weekdays, a list of numbers or
        a choice."""
        annotation = AcademySettings.model_fields[self.name].annotation
        if annotation is bool:
            return "yes_no"
        if annotation is int:
            return "number"
        if annotation is str:
            return "text"
        if get_args(annotation) and get_args(annotation)[-1] is Ellipsis:
            return "weekdays" if self.name == "blocked_weekdays" else "numbers"
        return "choice"

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(str(a) for a in get_args(AcademySettings.model_fields[self.name].annotation))


@dataclass(frozen=True)
class Section:
    title: str
    settings: tuple[Setting, ...]


SECTIONS = (
    Section(
        N_("The room and joining"),
        (
            Setting("meeting_prepare_minutes", N_("Minutes before the start the room opens")),
            Setting("teacher_join_early_minutes", N_("Minutes before the start teachers may join")),
            Setting("student_join_early_minutes", N_("Minutes before the start students may join")),
            Setting("join_grace_minutes", N_("Minutes after the end joining is still allowed")),
            Setting("parents_may_observe", N_("Parents may watch their children's classes")),
        ),
    ),
    Section(
        N_("Scheduling"),
        (
            Setting(
                "teacher_reschedule_deadline_hours",
                N_("Hours before a session a teacher may still move it"),
            ),
            Setting(
                "teacher_cancel_notice_hours",
                N_("Hours of notice below which a teacher's cancellation is late"),
            ),
            Setting(
                "student_cancel_notice_hours",
                N_("Hours of notice below which a student's cancellation is late"),
            ),
            Setting("session_break_minutes", N_("Minutes kept free between two sessions")),
            Setting("schedule_horizon_days", N_("Days ahead recurring schedules are booked")),
            Setting("blocked_weekdays", N_("Weekdays recurring schedules skip")),
            Setting("booking_expiry_hours", N_("Hours after which an unanswered booking lapses")),
            Setting(
                "booking_min_notice_hours", N_("Hours of notice a booking request needs at least")
            ),
        ),
    ),
    Section(
        N_("Session codes"),
        (
            Setting("code_prefix_individual", N_("Code prefix of individual sessions")),
            Setting("code_prefix_group", N_("Code prefix of group sessions")),
            Setting("code_prefix_trial", N_("Code prefix of trial sessions")),
            Setting("code_prefix_assessment", N_("Code prefix of assessments")),
        ),
    ),
    Section(
        N_("Recordings"),
        (
            Setting("record_sessions", N_("Record every class")),
            Setting(
                "recordings_visible_to_students",
                N_("Students and their parents see the recordings"),
            ),
        ),
    ),
    Section(
        N_("Ending a class"),
        (
            Setting(
                "auto_complete_buffer_minutes",
                N_("Minutes after the end a class is completed by itself"),
            ),
            Setting("overtime_cap_minutes", N_("Longest a class may run over (minutes)")),
            Setting("finalize_delay_minutes", N_("Minutes after the end attendance is finalised")),
        ),
    ),
    Section(
        N_("Attendance"),
        (
            Setting("reconnect_merge_seconds", N_("Gaps bridged as one stay (seconds)")),
            Setting("partial_percent", N_("Share below which a student is absent (percent)")),
            Setting("present_percent", N_("Share from which a student is present (percent)")),
            Setting("late_after_minutes", N_("Minutes after the start a student is late")),
            Setting("left_early_minutes", N_("Minutes before the end leaving counts as early")),
            Setting(
                "teacher_present_percent", N_("Share from which a teacher is present (percent)")
            ),
            Setting(
                "teacher_partial_percent", N_("Share below which a teacher is absent (percent)")
            ),
        ),
    ),
    Section(
        N_("Packages and subscriptions"),
        (
            Setting(
                "carry_over_max_sessions",
                N_("Unused sessions carried into the next cycle, at most"),
            ),
            Setting(
                "subscription_grace_days", N_("Days after its last day a subscription expires")
            ),
            Setting("low_balance_sessions", N_("Sessions left from which a balance counts as low")),
            Setting(
                "over_balance_scheduling",
                N_("Scheduling a lesson with no session left in the cycle"),
            ),
        ),
    ),
    Section(
        N_("Notifications"),
        (
            Setting(
                "reminder_minutes",
                N_("Reminders, in minutes before a class (separated by commas)"),
            ),
            Setting(
                "consecutive_absence_alert",
                N_("Absences in a row after which parents and supervisors are told (0: never)"),
            ),
        ),
    ),
)
SETTINGS = {s.name: s for section in SECTIONS for s in section.settings}
CHOICE_LABELS = {"warn": N_("Warn"), "refuse": N_("Refuse")}
# The settings' rules across several of them, said next to the setting to change.
RULES = {
    "partial_percent must not exceed present_percent": (
        "partial_percent",
        N_("This must not be more than the share from which a student is present."),
    ),
    "teacher_partial_percent must not exceed teacher_present_percent": (
        "teacher_partial_percent",
        N_("This must not be more than the share from which a teacher is present."),
    ),
    "students cannot join before the room opens (meeting_prepare_minutes)": (
        "student_join_early_minutes",
        N_("Students cannot join before the room opens."),
    ),
    "teachers cannot join before the room opens (meeting_prepare_minutes)": (
        "teacher_join_early_minutes",
        N_("Teachers cannot join before the room opens."),
    ),
    "blocked_weekdays lists a weekday twice": (
        "blocked_weekdays",
        N_("A weekday is chosen twice."),
    ),
    "blocked_weekdays cannot block every day of the week": (
        "blocked_weekdays",
        N_("Leave at least one weekday open."),
    ),
    "reminder_minutes lists a time twice": (
        "reminder_minutes",
        N_("A time is given twice."),
    ),
    "auto_complete_buffer_minutes must not exceed overtime_cap_minutes": (
        "auto_complete_buffer_minutes",
        N_("This must not be more than the longest a class may run over."),
    ),
}


def _shown(name: str, value: Any) -> Any:
    """A setting's value as the form holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        values = [str(v) for v in value]
        return values if SETTINGS[name].kind == "weekdays" else ", ".join(values)
    return value


def current_form(page: AcademyPage) -> dict[str, Any]:
    academy = page.academy
    settings = effective_settings(academy.settings)
    form = {name: _shown(name, getattr(settings, name)) for name in SETTINGS}
    form |= {
        "name": academy.name,
        "time_zone": academy.time_zone,
        "default_locale": academy.default_locale,
    }
    return form


async def _page(
    page: AcademyPage, status_code: int = 200, *, form: dict[str, Any], errors: FieldErrors
) -> Response:
    locale = Locale.parse(page.visitor.language)
    return show(
        page,
        "settings.html",
        status_code,
        form=form,
        errors=errors,
        sections=SECTIONS,
        defaults={name: _shown(name, getattr(DEFAULTS, name)) for name in SETTINGS},
        overridden=set(service.overridden_settings(page.academy)),
        weekdays=[(str(day), locale.days["format"]["wide"][day]) for day in range(7)],
        choice_labels=CHOICE_LABELS,
    )


@router.get("/admin/settings")
async def settings_page(slug: str, page: AdminPage) -> Response:
    return await _page(page, form=current_form(page), errors={})


def _posted(data: dict[str, Any]) -> dict[str, Any]:
    """The posted settings as the patch schema reads them; a blank field returns a setting to
    its default (null), and weekdays left unticked block no day."""
    posted: dict[str, Any] = {}
    for name, setting in SETTINGS.items():
        raw = data.get(name, "")
        if setting.kind == "weekdays":
            posted[name] = as_list(raw)
        elif setting.kind == "numbers" and isinstance(raw, str) and raw.strip():
            posted[name] = [n for n in re.split(r"[\s,،]+", raw.strip()) if n]
        else:
            posted[name] = None if isinstance(raw, str) and not raw.strip() else raw
    return posted


def _changes(page: AcademyPage, patch: dict[str, Any]) -> dict[str, Any]:
    """Only what differs from the settings in force: a setting left as it was stays unset, so
    it keeps following the default."""
    stored, current = page.academy.settings, effective_settings(page.academy.settings)
    changes: dict[str, Any] = {}
    for name, value in patch.items():
        if value is None:
            if name in stored:
                changes[name] = None
        elif value != getattr(current, name):
            changes[name] = value
    return changes


def _problems(page: AcademyPage, changes: dict[str, Any]) -> FieldErrors:
    """What the settings' own schema (AcademySettings, which PATCH /settings applies to the
    settings in force with the changes) finds wrong, in the visitor's language: each value next
    to its field, each rule across settings next to the one to change."""
    gettext = page.visitor.gettext
    try:
        merge_overrides(page.academy.settings, changes)
    except ValidationError as error:
        found: FieldErrors = {}
        for problem in error.errors():
            location = problem["loc"]
            if location:
                found.setdefault(str(location[0]), message_for(problem, gettext))
                continue
            rule = str(problem.get("ctx", {}).get("error", problem["msg"]))
            field, message = RULES.get(rule, (FORM, problem["msg"]))
            found.setdefault(field, gettext(message))
        return found
    return {}


@router.post("/admin/settings")
async def save_settings(slug: str, request: Request, page: AdminPage) -> Response:
    data = await read_form(request)
    form = {**current_form(page), **data}
    posted = _posted(data)
    form |= {"blocked_weekdays": posted["blocked_weekdays"]}
    patch, errors = validate(AcademySettingsPatch, posted, page.visitor.gettext)
    if patch is None:
        # A weekday's error ("blocked_weekdays.0") goes next to the weekdays.
        errors = {key.split(".")[0]: message for key, message in reversed(errors.items())}
        return await _page(page, 422, form=form, errors=errors)
    changes = _changes(page, patch.model_dump())
    errors = _problems(page, changes)
    if errors:
        return await _page(page, 422, form=form, errors=errors)
    if changes:
        result = await attempt(page, lambda: service.update_settings(page.rt, page.ctx, changes))
        if isinstance(result, Refusal):
            return await _page(page, result.status_code, form=form, errors=result.errors)
    return see_other(saved(page, "/admin/settings"))


@router.post("/admin/settings/academy")
async def save_academy(slug: str, request: Request, page: AdminPage) -> Response:
    data = await read_form(request)
    form = {**current_form(page), **data}
    return await submit(
        page,
        data,
        AcademyUpdate,
        lambda update: service.update_academy(page.rt, page.ctx, update),
        lambda status, errors: _page(page, status, form=form, errors=errors),
        "/admin/settings",
    )
