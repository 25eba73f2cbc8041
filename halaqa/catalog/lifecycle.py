"""The status machines of groups and enrollments (pure): explicit transition tables, and one
check per entity that every status change goes through."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class GroupKind(StrEnum):
    CIRCLE = "circle"
    COURSE = "course"
    INTERACTIVE_COURSE = "interactive_course"


class GroupStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EnrollmentStatus(StrEnum):
    PENDING = "pending"
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


GROUP_TRANSITIONS: Mapping[GroupStatus, frozenset[GroupStatus]] = {
    GroupStatus.DRAFT: frozenset({GroupStatus.PUBLISHED, GroupStatus.CANCELLED}),
    GroupStatus.PUBLISHED: frozenset({GroupStatus.ACTIVE, GroupStatus.CANCELLED}),
    GroupStatus.ACTIVE: frozenset({GroupStatus.COMPLETED, GroupStatus.CANCELLED}),
    GroupStatus.COMPLETED: frozenset(),
    GroupStatus.CANCELLED: frozenset(),
}

ENROLLMENT_TRANSITIONS: Mapping[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    EnrollmentStatus.PENDING: frozenset({EnrollmentStatus.ENROLLED, EnrollmentStatus.CANCELLED}),
    EnrollmentStatus.ENROLLED: frozenset({EnrollmentStatus.COMPLETED, EnrollmentStatus.CANCELLED}),
    EnrollmentStatus.COMPLETED: frozenset(),
    EnrollmentStatus.CANCELLED: frozenset(),
}

# A circle meets from the day it is made; courses are prepared as drafts and published.
INITIAL_GROUP_STATUS: Mapping[GroupKind, GroupStatus] = {
    GroupKind.CIRCLE: GroupStatus.ACTIVE,
    GroupKind.COURSE: GroupStatus.DRAFT,
    GroupKind.INTERACTIVE_COURSE: GroupStatus.DRAFT,
}

ENROLMENT_OPEN: frozenset[GroupStatus] = frozenset({GroupStatus.PUBLISHED, GroupStatus.ACTIVE})
# Open enrollments hold (enrolled) or ask for (pending) a place; a student has one per group.
OPEN_ENROLLMENT: frozenset[EnrollmentStatus] = frozenset(
    {EnrollmentStatus.PENDING, EnrollmentStatus.ENROLLED}
)
# What finishing a group does to its open enrollments.
ON_GROUP_END: Mapping[GroupStatus, Mapping[EnrollmentStatus, EnrollmentStatus]] = {
    GroupStatus.COMPLETED: {
        EnrollmentStatus.ENROLLED: EnrollmentStatus.COMPLETED,
        EnrollmentStatus.PENDING: EnrollmentStatus.CANCELLED,
    },
    GroupStatus.CANCELLED: {
        EnrollmentStatus.ENROLLED: EnrollmentStatus.CANCELLED,
        EnrollmentStatus.PENDING: EnrollmentStatus.CANCELLED,
    },
}


class InvalidTransition(Exception):
    """A status change the machine does not allow; says what would have been allowed."""

    def __init__(
        self, entity: str, current: StrEnum, target: StrEnum, allowed: frozenset[StrEnum]
    ) -> None:
        self.entity = entity
        self.current = current.value
        self.target = target.value
        self.allowed = sorted(a.value for a in allowed)
        if allowed:
            then = f"from {self.current} it may go to: {', '.join(self.allowed)}"
        else:
            then = f"{self.current} is final"
        super().__init__(f"this {entity} cannot go from {self.current} to {self.target}; {then}")


def initial_group_status(kind: GroupKind) -> GroupStatus:
    return INITIAL_GROUP_STATUS[kind]


def enrolment_open(status: GroupStatus) -> bool:
    return status in ENROLMENT_OPEN


def check_group_transition(current: GroupStatus, target: GroupStatus) -> None:
    allowed = GROUP_TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition("group", current, target, allowed)


def check_enrollment_transition(current: EnrollmentStatus, target: EnrollmentStatus) -> None:
    allowed = ENROLLMENT_TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition("enrollment", current, target, allowed)
