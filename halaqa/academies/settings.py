"""Academy settings (pure): every rule's number, with DESIGN.md's defaults, validated together."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
Percent = Annotated[int, Field(ge=0, le=100)]
Hours = Annotated[int, Field(ge=0, le=24 * 30)]
Weekday = Annotated[int, Field(ge=0, le=6)]
Sessions = Annotated[int, Field(ge=0, le=1000)]
ReminderMinutes = Annotated[int, Field(ge=1, le=7 * 24 * 60)]
CodePrefix = Annotated[str, Field(pattern=r"^[A-Z]{1,6}$", description="1–6 capital letters")]


class AcademySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Meeting room and join windows.
    meeting_prepare_minutes: Minutes = Field(15, description="Room opens this long before start.")
    teacher_join_early_minutes: Minutes = Field(15, description="Teachers may join this early.")
    student_join_early_minutes: Minutes = Field(5, description="Students may join this early.")
    join_grace_minutes: Minutes = Field(15, description="Joining allowed this long after the end.")
    # Scheduling.
    teacher_reschedule_deadline_hours: Hours = Field(
        24, description="Teachers may move a session until this long before it."
    )
    teacher_cancel_notice_hours: Hours = Field(
        24, description="A teacher cancelling with less notice than this is flagged late."
    )
    student_cancel_notice_hours: Hours = Field(
        24,
        description="A student or parent cancelling with less notice is flagged late and is "
        "owed no make-up.",
    )
    session_break_minutes: Minutes = Field(
        0, description="Free time kept between two sessions of one teacher or student."
    )
    schedule_horizon_days: int = Field(
        56, ge=7, le=366, description="Recurring schedules are materialised this far ahead."
    )
    blocked_weekdays: tuple[Weekday, ...] = Field(
        (), description="Weekdays (0 = Monday … 6 = Sunday) recurring schedules skip."
    )
    booking_expiry_hours: Annotated[int, Field(ge=1, le=24 * 30)] = Field(
        48, description="A booking request nobody answers expires after this long."
    )
    booking_min_notice_hours: Hours = Field(
        2, description="Students may request a booking no later than this before it starts."
    )
    code_prefix_individual: CodePrefix = Field("IN", description="Code prefix, individual.")
    code_prefix_group: CodePrefix = Field("GR", description="Code prefix, group sessions.")
    code_prefix_trial: CodePrefix = Field("TR", description="Code prefix, trial sessions.")
    code_prefix_assessment: CodePrefix = Field("AS", description="Code prefix, assessments.")
    # Who is in the room.
    parents_may_observe: bool = Field(
        False, description="Parents may watch their children's classes, hidden."
    )
    # Recordings (LiveKit only).
    record_sessions: bool = Field(
        False, description="Record every class once it starts, unless the session says not to."
    )
    recordings_visible_to_students: bool = Field(
        True, description="Students, and their parents, see their sessions' recordings."
    )
    # Completion and finalisation.
    auto_complete_buffer_minutes: Minutes = Field(5, description="Auto-complete after the end.")
    overtime_cap_minutes: Minutes = Field(60, description="Longest a class may run over.")
    finalize_delay_minutes: Minutes = Field(5, description="Attendance finalised after the end.")
    # Attendance folding and policy.
    reconnect_merge_seconds: int = Field(120, ge=0, le=3600, description="Gaps bridged.")
    partial_percent: Percent = Field(50, description="Below this share a student is absent.")
    present_percent: Percent = Field(80, description="From this share a student is present.")
    late_after_minutes: Minutes = Field(10, description="Joining later than this is late.")
    left_early_minutes: Minutes = Field(10, description="Leaving earlier than this is early.")
    teacher_present_percent: Percent = Field(90, description="Teacher present from this share.")
    teacher_partial_percent: Percent = Field(50, description="Below this a teacher is absent.")
    # Packages and subscriptions.
    carry_over_max_sessions: Sessions = Field(
        0, description="Unused sessions of a cycle carried into the next, at most this many."
    )
    subscription_grace_days: Annotated[int, Field(ge=0, le=366)] = Field(
        3, description="A subscription expires this many days after its last day."
    )
    low_balance_sessions: Sessions = Field(
        1, description="A cycle with this many sessions left or fewer has a low balance."
    )
    over_balance_scheduling: Literal["warn", "refuse"] = Field(
        "warn",
        description="Scheduling a lesson the student's cycle has no session left for: "
        "warn, or refuse.",
    )
    # Notifications.
    reminder_minutes: tuple[ReminderMinutes, ...] = Field(
        (24 * 60, 15),
        max_length=4,
        description="Reminders go to teacher and students this many minutes before a class.",
    )
    consecutive_absence_alert: Annotated[int, Field(ge=0, le=100)] = Field(
        3,
        description="Parents and supervisors are told when a student misses this many classes "
        "in a row (0: never).",
    )

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Self:
        if self.partial_percent > self.present_percent:
            raise ValueError("partial_percent must not exceed present_percent")
        if self.teacher_partial_percent > self.teacher_present_percent:
            raise ValueError("teacher_partial_percent must not exceed teacher_present_percent")
        if self.student_join_early_minutes > self.meeting_prepare_minutes:
            raise ValueError("students cannot join before the room opens (meeting_prepare_minutes)")
        if self.teacher_join_early_minutes > self.meeting_prepare_minutes:
            raise ValueError("teachers cannot join before the room opens (meeting_prepare_minutes)")
        if len(set(self.blocked_weekdays)) != len(self.blocked_weekdays):
            raise ValueError("blocked_weekdays lists a weekday twice")
        if len(set(self.reminder_minutes)) != len(self.reminder_minutes):
            raise ValueError("reminder_minutes lists a time twice")
        if len(self.blocked_weekdays) == 7:
            raise ValueError("blocked_weekdays cannot block every day of the week")
        if self.auto_complete_buffer_minutes > self.overtime_cap_minutes:
            raise ValueError("auto_complete_buffer_minutes must not exceed overtime_cap_minutes")
        return self


def code_prefix(settings: AcademySettings, kind: str) -> str:
    prefix: str = getattr(settings, f"code_prefix_{kind}")
    return prefix


def effective_settings(overrides: dict[str, Any]) -> AcademySettings:
    """The settings in force: defaults, with the academy's own values on top."""
    return AcademySettings.model_validate(overrides)


def merge_overrides(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial update; `None` returns a setting to its default. Raises if invalid."""
    merged = {**current, **patch}
    merged = {key: value for key, value in merged.items() if value is not None}
    effective_settings(merged)
    return merged
