"""The class-session lifecycle (pure): one transition table, and what is derived from it.

Nothing else decides whether a status change is allowed, whether someone may join now, or how a
status looks: the service, the API, the worker and the pages all ask here, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from halaqa.academies.roles import STAFF, Role
from halaqa.academies.settings import AcademySettings


class Status(StrEnum):
    UNSCHEDULED = "unscheduled"
    SCHEDULED = "scheduled"
    READY = "ready"
    ONGOING = "ongoing"
    COMPLETED = "completed"
    ABSENT = "absent"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"


class By(StrEnum):
    """Who causes a change: the system (worker, webhooks, finalisation) or a person."""

    SYSTEM = "system"
    TEACHER = "teacher"  # the session's own teacher
    STAFF = "staff"  # the academy's admins and supervisors
    STUDENT = "student"  # the one student of a session, or their parent: may only cancel


FINISHED = frozenset({Status.COMPLETED, Status.ABSENT, Status.CANCELLED})
# A cancellation that finalised attendance may undo when late presence shows the teacher came.
TEACHER_ABSENT = "teacher_absent"

_ANYONE = frozenset(By)
_RUNNERS = frozenset({By.SYSTEM, By.TEACHER, By.STAFF})  # whoever runs the class
_SYSTEM = frozenset({By.SYSTEM})
_STAFF = frozenset({By.STAFF})
_NOT_TEACHER = frozenset({By.SYSTEM, By.STAFF})


@dataclass(frozen=True)
class Rule:
    action: str  # what the status history calls this change
    by: frozenset[By]
    after_teacher_absence_only: bool = False


# (from, to) -> the rule. A pair that is not listed is refused, whoever asks.
TRANSITIONS: dict[tuple[Status, Status], Rule] = {
    (Status.UNSCHEDULED, Status.SCHEDULED): Rule("schedule", _RUNNERS),
    (Status.UNSCHEDULED, Status.CANCELLED): Rule("cancel", _ANYONE),
    (Status.SCHEDULED, Status.READY): Rule("prepare", _SYSTEM),
    (Status.SCHEDULED, Status.ONGOING): Rule("start", _RUNNERS),
    (Status.SCHEDULED, Status.CANCELLED): Rule("cancel", _ANYONE),
    (Status.SCHEDULED, Status.SUSPENDED): Rule("suspend", _NOT_TEACHER),
    (Status.READY, Status.SCHEDULED): Rule("unprepare", _RUNNERS),
    (Status.READY, Status.ONGOING): Rule("start", _RUNNERS),
    (Status.READY, Status.CANCELLED): Rule("cancel", _ANYONE),
    (Status.READY, Status.SUSPENDED): Rule("suspend", _NOT_TEACHER),
    (Status.ONGOING, Status.COMPLETED): Rule("complete", _RUNNERS),
    (Status.ONGOING, Status.ABSENT): Rule("mark_absent", _RUNNERS),
    (Status.ONGOING, Status.CANCELLED): Rule("cancel", _NOT_TEACHER),
    (Status.COMPLETED, Status.ABSENT): Rule("mark_absent", _RUNNERS),
    (Status.COMPLETED, Status.CANCELLED): Rule("correct", _NOT_TEACHER),
    (Status.COMPLETED, Status.ONGOING): Rule("reopen", _STAFF),
    (Status.ABSENT, Status.COMPLETED): Rule("correct", _NOT_TEACHER),
    (Status.ABSENT, Status.CANCELLED): Rule("correct", _NOT_TEACHER),
    (Status.CANCELLED, Status.COMPLETED): Rule("correct", _SYSTEM, after_teacher_absence_only=True),
    (Status.CANCELLED, Status.ABSENT): Rule("correct", _SYSTEM, after_teacher_absence_only=True),
    (Status.SUSPENDED, Status.SCHEDULED): Rule("resume", _NOT_TEACHER),
    (Status.SUSPENDED, Status.CANCELLED): Rule("cancel", _RUNNERS),
}


class TransitionRefused(ValueError):
    def __init__(self, current: Status, target: Status, by: By, allowed: list[Status]) -> None:
        options = ", ".join(allowed) or "nothing"
        super().__init__(
            f"a {current} session cannot become {target} (by {by}); from {current} it may become: "
            f"{options}"
        )
        self.current, self.target, self.by, self.allowed = current, target, by, allowed


def next_statuses(
    current: Status, by: By, *, cancellation_reason: str | None = None
) -> list[Status]:
    """Every status `by` may move a session to from `current`, in the enum's order."""
    return [
        target
        for target in Status
        if (rule := TRANSITIONS.get((current, target))) is not None
        and by in rule.by
        and (not rule.after_teacher_absence_only or cancellation_reason == TEACHER_ABSENT)
    ]


def check_transition(
    current: Status, target: Status, by: By, *, cancellation_reason: str | None = None
) -> Rule:
    """The rule for this change, or TransitionRefused saying what is allowed instead."""
    allowed = next_statuses(current, by, cancellation_reason=cancellation_reason)
    if target not in allowed:
        raise TransitionRefused(current, target, by, allowed)
    return TRANSITIONS[(current, target)]


# --- what a viewer may do, at an instant -----------------------------------------------------


class Part(StrEnum):
    """How a person takes part in a session."""

    TEACHER = "teacher"
    STUDENT = "student"
    OBSERVER = "observer"  # staff, hidden in the room
    PARENT = "parent"  # a parent of a student of the session
    NONE = "none"


@dataclass(frozen=True)
class SessionFacts:
    """What the rules need to know about a session."""

    status: Status
    starts_at: datetime | None
    duration: timedelta
    teacher_id: int
    student_ids: frozenset[int]
    cancellation_reason: str | None = None
    group: bool = False  # a group's session: its students may not cancel it for everyone
    attendance_finalized: bool = False  # and not waiting to be computed again

    @property
    def ends_at(self) -> datetime | None:
        return None if self.starts_at is None else self.starts_at + self.duration


@dataclass(frozen=True)
class Viewer:
    user_id: int | None
    roles: frozenset[Role]
    children: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF)


def part_of(session: SessionFacts, viewer: Viewer) -> Part:
    if viewer.user_id is not None and viewer.user_id == session.teacher_id:
        return Part.TEACHER
    if viewer.user_id is not None and viewer.user_id in session.student_ids:
        return Part.STUDENT
    if viewer.is_staff:
        return Part.OBSERVER
    if viewer.children & session.student_ids:
        return Part.PARENT
    return Part.NONE


def acting_as(session: SessionFacts, viewer: Viewer) -> By | None:
    """Who the viewer counts as for status changes (None: they may change nothing). The student
    of a session that is not a group's, or their parent, may cancel it; a group's may not."""
    if viewer.is_staff:
        return By.STAFF
    part = part_of(session, viewer)
    if part is Part.TEACHER:
        return By.TEACHER
    if part in {Part.STUDENT, Part.PARENT} and not session.group:
        return By.STUDENT
    return None


@dataclass(frozen=True)
class JoinDecision:
    allowed: bool
    reason: str | None  # a stable code when refused
    message: str
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    part: Part = Part.NONE


_REFUSED_BY_STATUS = {
    Status.UNSCHEDULED: ("not_scheduled", "this session has no time yet"),
    Status.CANCELLED: ("cancelled", "this session was cancelled"),
    Status.SUSPENDED: ("suspended", "this session is suspended while the subscription is paused"),
    Status.COMPLETED: ("ended", "this session has ended"),
    Status.ABSENT: ("ended", "this session has ended"),
}


def join_window(
    session: SessionFacts, part: Part, settings: AcademySettings
) -> tuple[datetime, datetime] | None:
    """When `part` may be in the room: from its early allowance to the end plus grace."""
    if session.starts_at is None or session.ends_at is None:
        return None
    early = (
        settings.student_join_early_minutes
        if part is Part.STUDENT
        else settings.teacher_join_early_minutes
    )
    return (
        session.starts_at - timedelta(minutes=early),
        session.ends_at + timedelta(minutes=settings.join_grace_minutes),
    )


def can_join(
    session: SessionFacts,
    viewer: Viewer,
    settings: AcademySettings,
    now: datetime,
    *,
    parents_may_observe: bool = False,
) -> JoinDecision:
    """The one answer to "may this person join now, and if not, why and from when"."""
    part = part_of(session, viewer)
    if part is Part.NONE or (part is Part.PARENT and not parents_may_observe):
        return JoinDecision(False, "not_a_participant", "you are not part of this session")
    if session.status in _REFUSED_BY_STATUS:
        reason, message = _REFUSED_BY_STATUS[session.status]
        return JoinDecision(False, reason, message, part=part)
    window = join_window(session, part, settings)
    assert window is not None  # scheduled, ready and ongoing sessions always have a time
    opens_at, closes_at = window
    if now < opens_at:
        return JoinDecision(
            False,
            "too_early",
            f"joining opens at {opens_at.isoformat()}",
            opens_at=opens_at,
            closes_at=closes_at,
            part=part,
        )
    if now >= closes_at:
        return JoinDecision(
            False, "ended", "this session has ended", opens_at, closes_at, part=part
        )
    return JoinDecision(True, None, "you may join now", opens_at, closes_at, part=part)


@dataclass(frozen=True)
class Abilities:
    can_start: bool
    can_complete: bool
    can_cancel: bool
    can_reschedule: bool
    can_mark_absent: bool
    can_reopen: bool
    join: JoinDecision

    @property
    def actions(self) -> list[str]:
        named = (
            ("join", self.join.allowed),
            ("start", self.can_start),
            ("complete", self.can_complete),
            ("mark_absent", self.can_mark_absent),
            ("reopen", self.can_reopen),
            ("reschedule", self.can_reschedule),
            ("cancel", self.can_cancel),
        )
        return [name for name, allowed in named if allowed]


def abilities(
    session: SessionFacts,
    viewer: Viewer,
    settings: AcademySettings,
    now: datetime,
    *,
    parents_may_observe: bool = False,
) -> Abilities:
    by = acting_as(session, viewer)

    def may(target: Status) -> bool:
        return by is not None and target in next_statuses(
            session.status, by, cancellation_reason=session.cancellation_reason
        )

    window = join_window(session, Part.TEACHER, settings)
    in_teacher_window = window is not None and window[0] <= now < window[1]
    started = session.starts_at is not None and now >= session.starts_at
    deadline = None
    if session.starts_at is not None and by is By.TEACHER:
        deadline = session.starts_at - timedelta(hours=settings.teacher_reschedule_deadline_hours)
    return Abilities(
        can_start=session.status in {Status.SCHEDULED, Status.READY}
        and may(Status.ONGOING)
        and in_teacher_window,
        can_complete=may(Status.COMPLETED) and session.status is Status.ONGOING and started,
        # Staff may also cancel a session after the fact (held by mistake, say): its charges
        # are refunded; everyone else only before it is over.
        can_cancel=may(Status.CANCELLED)
        and (session.status not in FINISHED or by is By.STAFF)
        and not (by is By.STUDENT and started),
        can_reschedule=by in {By.TEACHER, By.STAFF}
        and session.status in {Status.UNSCHEDULED, Status.SCHEDULED, Status.READY}
        and (deadline is None or now < deadline),
        can_mark_absent=may(Status.ABSENT)
        and not session.group
        and len(session.student_ids) == 1
        and started,
        # Staff take a completed session back to ongoing (completed too soon, say); completing
        # it again settles its attendance and charges anew.
        can_reopen=session.status is Status.COMPLETED and may(Status.ONGOING),
        join=can_join(session, viewer, settings, now, parents_may_observe=parents_may_observe),
    )


# --- how a status looks ----------------------------------------------------------------------


@dataclass(frozen=True)
class StatusLook:
    label_en: str
    label_ar: str
    colour: str
    icon: str


LOOKS: dict[Status, StatusLook] = {
    Status.UNSCHEDULED: StatusLook("Not scheduled", "غير مجدولة", "grey", "calendar-question"),
    Status.SCHEDULED: StatusLook("Scheduled", "مجدولة", "blue", "calendar"),
    Status.READY: StatusLook("Ready to join", "جاهزة للدخول", "teal", "door-open"),
    Status.ONGOING: StatusLook("In progress", "جارية الآن", "green", "broadcast"),
    Status.COMPLETED: StatusLook("Completed", "مكتملة", "emerald", "check-circle"),
    Status.ABSENT: StatusLook("Student absent", "غياب الطالب", "orange", "user-x"),
    Status.CANCELLED: StatusLook("Cancelled", "ملغاة", "red", "x-circle"),
    Status.SUSPENDED: StatusLook("Suspended", "موقوفة", "amber", "pause-circle"),
}


@dataclass(frozen=True)
class StatusDisplay:
    """What API answers and pages show for a session's status, to one viewer, at one instant."""

    value: Status
    label_en: str
    label_ar: str
    colour: str
    icon: str
    actions: list[str]


def status_display(
    session: SessionFacts,
    viewer: Viewer,
    settings: AcademySettings,
    now: datetime,
    *,
    parents_may_observe: bool = False,
) -> StatusDisplay:
    look = LOOKS[session.status]
    allowed = abilities(session, viewer, settings, now, parents_may_observe=parents_may_observe)
    return StatusDisplay(
        value=session.status,
        label_en=look.label_en,
        label_ar=look.label_ar,
        colour=look.colour,
        icon=look.icon,
        actions=allowed.actions,
    )
