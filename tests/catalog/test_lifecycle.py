"""The group and enrollment status machines, exhaustively: every pair of statuses is either in
the tables written out below (allowed) or refused with a message naming from, to and what is
allowed."""

from __future__ import annotations

import itertools

import pytest

from halaqa.catalog.lifecycle import (
    ENROLLMENT_TRANSITIONS,
    GROUP_TRANSITIONS,
    ON_GROUP_END,
    EnrollmentStatus,
    GroupKind,
    GroupStatus,
    InvalidTransition,
    check_enrollment_transition,
    check_group_transition,
    enrolment_open,
    initial_group_status,
)

G = GroupStatus
E = EnrollmentStatus

# Written out again by hand, not derived from the module: the tests pin the rules down.
GROUP_ALLOWED = {
    (G.DRAFT, G.PUBLISHED),
    (G.PUBLISHED, G.ACTIVE),
    (G.ACTIVE, G.COMPLETED),
    (G.DRAFT, G.CANCELLED),
    (G.PUBLISHED, G.CANCELLED),
    (G.ACTIVE, G.CANCELLED),
}
ENROLLMENT_ALLOWED = {
    (E.PENDING, E.ENROLLED),
    (E.PENDING, E.CANCELLED),
    (E.ENROLLED, E.COMPLETED),
    (E.ENROLLED, E.CANCELLED),
}
GROUP_PAIRS = list(itertools.product(GroupStatus, repeat=2))
ENROLLMENT_PAIRS = list(itertools.product(EnrollmentStatus, repeat=2))


@pytest.mark.parametrize(("current", "target"), sorted(GROUP_ALLOWED))
def test_allowed_group_transitions(current: GroupStatus, target: GroupStatus) -> None:
    check_group_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"), [pair for pair in GROUP_PAIRS if pair not in GROUP_ALLOWED]
)
def test_forbidden_group_transitions(current: GroupStatus, target: GroupStatus) -> None:
    with pytest.raises(InvalidTransition) as raised:
        check_group_transition(current, target)
    error = raised.value
    assert (error.entity, error.current, error.target) == ("group", current.value, target.value)
    allowed = sorted(t.value for c, t in GROUP_ALLOWED if c is current)
    assert error.allowed == allowed
    message = str(error)
    assert message.startswith(f"this group cannot go from {current.value} to {target.value}; ")
    if allowed:
        assert f"may go to: {', '.join(allowed)}" in message
    else:
        assert f"{current.value} is final" in message


@pytest.mark.parametrize(("current", "target"), sorted(ENROLLMENT_ALLOWED))
def test_allowed_enrollment_transitions(
    current: EnrollmentStatus, target: EnrollmentStatus
) -> None:
    check_enrollment_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"), [pair for pair in ENROLLMENT_PAIRS if pair not in ENROLLMENT_ALLOWED]
)
def test_forbidden_enrollment_transitions(
    current: EnrollmentStatus, target: EnrollmentStatus
) -> None:
    with pytest.raises(InvalidTransition) as raised:
        check_enrollment_transition(current, target)
    error = raised.value
    assert (error.entity, error.current, error.target) == (
        "enrollment",
        current.value,
        target.value,
    )
    assert error.allowed == sorted(t.value for c, t in ENROLLMENT_ALLOWED if c is current)
    assert str(error).startswith(
        f"this enrollment cannot go from {current.value} to {target.value}; "
    )


def test_the_tables_cover_every_status_and_nothing_else() -> None:
    assert set(GROUP_TRANSITIONS) == set(GroupStatus)
    assert {(c, t) for c, ts in GROUP_TRANSITIONS.items() for t in ts} == GROUP_ALLOWED
    assert set(ENROLLMENT_TRANSITIONS) == set(EnrollmentStatus)
    assert {(c, t) for c, ts in ENROLLMENT_TRANSITIONS.items() for t in ts} == ENROLLMENT_ALLOWED
    assert len(GROUP_PAIRS) == 25
    assert len(ENROLLMENT_PAIRS) == 16


def test_no_status_leads_to_itself() -> None:
    for status in GroupStatus:
        assert status not in GROUP_TRANSITIONS[status]
    for enrollment_status in EnrollmentStatus:
        assert enrollment_status not in ENROLLMENT_TRANSITIONS[enrollment_status]


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (GroupKind.CIRCLE, G.ACTIVE),
        (GroupKind.COURSE, G.DRAFT),
        (GroupKind.INTERACTIVE_COURSE, G.DRAFT),
    ],
)
def test_initial_status_by_kind(kind: GroupKind, status: GroupStatus) -> None:
    assert initial_group_status(kind) is status


@pytest.mark.parametrize("status", list(GroupStatus))
def test_enrolment_is_open_only_while_published_or_active(status: GroupStatus) -> None:
    assert enrolment_open(status) is (status in {G.PUBLISHED, G.ACTIVE})


def test_ending_a_group_ends_every_open_enrollment_through_allowed_transitions() -> None:
    assert ON_GROUP_END == {
        G.COMPLETED: {E.ENROLLED: E.COMPLETED, E.PENDING: E.CANCELLED},
        G.CANCELLED: {E.ENROLLED: E.CANCELLED, E.PENDING: E.CANCELLED},
    }
    for follow in ON_GROUP_END.values():
        for current, target in follow.items():
            check_enrollment_transition(current, target)
