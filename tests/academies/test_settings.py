"""Academy settings (pure): DESIGN.md's defaults, every bound, the cross-field rules, merging."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from halaqa.academies.settings import AcademySettings, effective_settings, merge_overrides

# DESIGN.md, "Time rules" and "Attendance", and the scheduling issue: every number with its
# documented default.
DESIGN_DEFAULTS = {
    "meeting_prepare_minutes": 15,
    "teacher_join_early_minutes": 15,
    "student_join_early_minutes": 5,
    "join_grace_minutes": 15,
    "auto_complete_buffer_minutes": 5,
    "overtime_cap_minutes": 60,
    "finalize_delay_minutes": 5,
    "reconnect_merge_seconds": 120,
    "partial_percent": 50,
    "present_percent": 80,
    "late_after_minutes": 10,
    "left_early_minutes": 10,
    "teacher_present_percent": 90,
    "teacher_partial_percent": 50,
    "teacher_reschedule_deadline_hours": 24,
    "teacher_cancel_notice_hours": 24,
    "student_cancel_notice_hours": 24,
    "schedule_horizon_days": 56,
    "blocked_weekdays": (),
    "booking_expiry_hours": 48,
    "booking_min_notice_hours": 2,
    "parents_may_observe": False,
    "record_sessions": False,
    "recordings_visible_to_students": True,
    "session_break_minutes": 0,
    "code_prefix_individual": "IN",
    "code_prefix_group": "GR",
    "code_prefix_trial": "TR",
    "code_prefix_assessment": "AS",
    "carry_over_max_sessions": 0,
    "subscription_grace_days": 3,
    "low_balance_sessions": 1,
    "over_balance_scheduling": "warn",
    "reminder_minutes": (24 * 60, 15),
    "consecutive_absence_alert": 3,
}
PREFIX_FIELDS = [
    "code_prefix_individual",
    "code_prefix_group",
    "code_prefix_trial",
    "code_prefix_assessment",
]
HOUR_FIELDS = [
    "teacher_reschedule_deadline_hours",
    "teacher_cancel_notice_hours",
    "student_cancel_notice_hours",
    "booking_min_notice_hours",
]

MINUTE_FIELDS = [
    "meeting_prepare_minutes",
    "teacher_join_early_minutes",
    "student_join_early_minutes",
    "join_grace_minutes",
    "auto_complete_buffer_minutes",
    "overtime_cap_minutes",
    "finalize_delay_minutes",
    "late_after_minutes",
    "left_early_minutes",
    "session_break_minutes",
]
PERCENT_FIELDS = [
    "partial_percent",
    "present_percent",
    "teacher_present_percent",
    "teacher_partial_percent",
]
SESSION_COUNT_FIELDS = ["carry_over_max_sessions", "low_balance_sessions"]
DAY = 24 * 60


def _problems(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in error.value.errors()]


def test_defaults_are_designs_numbers() -> None:
    assert effective_settings({}).model_dump() == DESIGN_DEFAULTS


def test_every_setting_is_covered_by_the_tables() -> None:
    """A new setting must be added to DESIGN_DEFAULTS and to one of the bound tables."""
    fields = set(AcademySettings.model_fields)
    assert fields == set(DESIGN_DEFAULTS)
    assert fields == {
        *MINUTE_FIELDS,
        *PERCENT_FIELDS,
        *HOUR_FIELDS,
        *PREFIX_FIELDS,
        "reconnect_merge_seconds",
        "schedule_horizon_days",
        "blocked_weekdays",
        "booking_expiry_hours",
        "parents_may_observe",
        "record_sessions",
        "recordings_visible_to_students",
        *SESSION_COUNT_FIELDS,
        "subscription_grace_days",
        "over_balance_scheduling",
        "reminder_minutes",
        "consecutive_absence_alert",
    }


def test_settings_are_frozen() -> None:
    settings = effective_settings({})
    with pytest.raises(ValidationError):
        settings.partial_percent = 10  # type: ignore[misc]
    assert settings.partial_percent == 50


# Values each setting accepts on its own (the others at their defaults, so the cross-field
# rules hold). Minimum and maximum are both inclusive.
ACCEPTED: list[tuple[str, int]] = [
    *((name, 0) for name in ["join_grace_minutes", "finalize_delay_minutes"]),
    *((name, DAY) for name in ["join_grace_minutes", "finalize_delay_minutes"]),
    *((name, value) for name in ["late_after_minutes", "left_early_minutes"] for value in (0, DAY)),
    ("meeting_prepare_minutes", DAY),
    ("meeting_prepare_minutes", 15),
    ("overtime_cap_minutes", DAY),
    ("overtime_cap_minutes", 5),
    ("auto_complete_buffer_minutes", 0),
    ("student_join_early_minutes", 0),
    ("teacher_join_early_minutes", 0),
    ("reconnect_merge_seconds", 0),
    ("reconnect_merge_seconds", 3600),
    *((name, value) for name in HOUR_FIELDS for value in (0, 24 * 30)),
    ("session_break_minutes", 0),
    ("session_break_minutes", DAY),
    ("schedule_horizon_days", 7),
    ("schedule_horizon_days", 366),
    ("booking_expiry_hours", 1),
    ("booking_expiry_hours", 24 * 30),
    ("present_percent", 100),
    ("teacher_present_percent", 100),
    ("partial_percent", 0),
    ("teacher_partial_percent", 0),
    *((name, value) for name in SESSION_COUNT_FIELDS for value in (0, 1000)),
    ("subscription_grace_days", 0),
    ("subscription_grace_days", 366),
]


def test_blocked_weekdays() -> None:
    assert effective_settings({"blocked_weekdays": [4]}).blocked_weekdays == (4,)
    assert effective_settings({"blocked_weekdays": [4, 5]}).blocked_weekdays == (4, 5)
    for bad, message in (
        ([7], "less than or equal to 6"),
        ([-1], "greater than or equal to 0"),
        ([4, 4], "lists a weekday twice"),
        ([0, 1, 2, 3, 4, 5, 6], "cannot block every day"),
        ("friday", "valid tuple"),
    ):
        with pytest.raises(ValidationError) as error:
            effective_settings({"blocked_weekdays": bad})
        assert message in str(error.value), bad


@pytest.mark.parametrize(("name", "value"), ACCEPTED)
def test_value_within_bounds_is_accepted(name: str, value: int) -> None:
    settings = effective_settings({name: value})
    assert getattr(settings, name) == value
    others = {k: v for k, v in settings.model_dump().items() if k != name}
    assert others == {k: v for k, v in DESIGN_DEFAULTS.items() if k != name}


REFUSED: list[tuple[str, object, str]] = [
    *((name, -1, "greater than or equal to 0") for name in MINUTE_FIELDS),
    *((name, DAY + 1, f"less than or equal to {DAY}") for name in MINUTE_FIELDS),
    *((name, 10**12, f"less than or equal to {DAY}") for name in MINUTE_FIELDS),
    *((name, -1, "greater than or equal to 0") for name in PERCENT_FIELDS),
    *((name, 101, "less than or equal to 100") for name in PERCENT_FIELDS),
    ("reconnect_merge_seconds", -1, "greater than or equal to 0"),
    ("reconnect_merge_seconds", 3601, "less than or equal to 3600"),
    *((name, -1, "greater than or equal to 0") for name in HOUR_FIELDS),
    *((name, 24 * 30 + 1, f"less than or equal to {24 * 30}") for name in HOUR_FIELDS),
    *(
        (name, bad, "should match pattern")
        for name in PREFIX_FIELDS
        for bad in ("", "ab", "TOOLONG", "Q1")
    ),
    ("schedule_horizon_days", 6, "greater than or equal to 7"),
    ("schedule_horizon_days", 367, "less than or equal to 366"),
    ("booking_expiry_hours", 0, "greater than or equal to 1"),
    ("booking_expiry_hours", 24 * 30 + 1, f"less than or equal to {24 * 30}"),
    *((name, -1, "greater than or equal to 0") for name in SESSION_COUNT_FIELDS),
    *((name, 1001, "less than or equal to 1000") for name in SESSION_COUNT_FIELDS),
    ("subscription_grace_days", -1, "greater than or equal to 0"),
    ("subscription_grace_days", 367, "less than or equal to 366"),
    ("over_balance_scheduling", "ignore", "'warn' or 'refuse'"),
    ("reminder_minutes", [0], "greater than or equal to 1"),
    ("reminder_minutes", [7 * 24 * 60 + 1], f"less than or equal to {7 * 24 * 60}"),
    ("reminder_minutes", [1, 2, 3, 4, 5], "at most 4 items"),
    ("consecutive_absence_alert", -1, "greater than or equal to 0"),
    ("consecutive_absence_alert", 101, "less than or equal to 100"),
    ("partial_percent", 12.5, "fractional part"),
    ("overtime_cap_minutes", "an hour", "valid integer"),
    ("present_percent", None, "valid integer"),
    ("present_percent", [80], "valid integer"),
]


@pytest.mark.parametrize(("name", "value", "message"), REFUSED)
def test_value_out_of_bounds_is_refused(name: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        effective_settings({name: value})
    problems = _problems(error)
    assert len(problems) == 1
    assert problems[0][0].split(".")[0] == name  # an item of a list names its index too
    assert message in problems[0][1]


CROSS_FIELD: list[tuple[dict[str, int], str]] = [
    ({"partial_percent": 81}, "partial_percent must not exceed present_percent"),
    ({"present_percent": 49}, "partial_percent must not exceed present_percent"),
    ({"partial_percent": 100, "present_percent": 99}, "partial_percent must not exceed"),
    ({"teacher_partial_percent": 91}, "teacher_partial_percent must not exceed"),
    ({"teacher_present_percent": 49}, "teacher_partial_percent must not exceed"),
    ({"teacher_join_early_minutes": 16}, "teachers cannot join before the room opens"),
    ({"student_join_early_minutes": 16}, "students cannot join before the room opens"),
    ({"meeting_prepare_minutes": 14}, "teachers cannot join before the room opens"),
    (
        {"meeting_prepare_minutes": 4, "teacher_join_early_minutes": 0},
        "students cannot join before the room opens",
    ),
    ({"auto_complete_buffer_minutes": 61}, "auto_complete_buffer_minutes must not exceed"),
    ({"overtime_cap_minutes": 4}, "auto_complete_buffer_minutes must not exceed"),
]


@pytest.mark.parametrize(("values", "message"), CROSS_FIELD)
def test_cross_field_rule_is_enforced(values: dict[str, int], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        effective_settings(values)
    assert message in str(error.value)


CROSS_FIELD_EDGES: list[dict[str, int]] = [
    {"partial_percent": 80},  # equal to present_percent
    {"partial_percent": 0, "present_percent": 0},
    {"partial_percent": 100, "present_percent": 100},
    {"teacher_partial_percent": 90},
    {"teacher_join_early_minutes": 15, "student_join_early_minutes": 15},
    {
        "meeting_prepare_minutes": 0,
        "teacher_join_early_minutes": 0,
        "student_join_early_minutes": 0,
    },
    {"meeting_prepare_minutes": 30, "teacher_join_early_minutes": 30},
    {"auto_complete_buffer_minutes": 60},  # equal to overtime_cap_minutes
    {"auto_complete_buffer_minutes": 0, "overtime_cap_minutes": 0},
]


@pytest.mark.parametrize("values", CROSS_FIELD_EDGES)
def test_cross_field_edge_is_accepted(values: dict[str, int]) -> None:
    settings = effective_settings(values)
    for name, value in values.items():
        assert getattr(settings, name) == value


@pytest.mark.parametrize(
    "overrides",
    [{"bogus": 1}, {"partial_percent": 50, "partialpercent": 50}, {"Partial_Percent": 50}],
)
def test_unknown_key_is_refused(overrides: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as error:
        effective_settings(overrides)
    unknown = [k for k in overrides if k not in AcademySettings.model_fields]
    assert [(loc, msg) for loc, msg in _problems(error)] == [
        (key, "Extra inputs are not permitted") for key in unknown
    ]


MERGES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    # (current overrides, patch, merged overrides)
    ({}, {}, {}),
    ({}, {"partial_percent": 60}, {"partial_percent": 60}),
    ({"partial_percent": 60}, {"partial_percent": 70}, {"partial_percent": 70}),
    (
        {"partial_percent": 60},
        {"present_percent": 90},
        {"partial_percent": 60, "present_percent": 90},
    ),
    ({"partial_percent": 60}, {"partial_percent": None}, {}),
    (
        {"partial_percent": 60, "join_grace_minutes": 0},
        {"partial_percent": None},
        {"join_grace_minutes": 0},
    ),
    ({}, {"partial_percent": None}, {}),  # resetting what was never set is harmless
    # Several fields changed together may pass a rule that each alone would break.
    (
        {},
        {"meeting_prepare_minutes": 30, "teacher_join_early_minutes": 30},
        {"meeting_prepare_minutes": 30, "teacher_join_early_minutes": 30},
    ),
    # Resetting one side of a rule is checked against the other side's current value.
    (
        {"partial_percent": 70, "present_percent": 90},
        {"present_percent": None},
        {"partial_percent": 70},
    ),
]


@pytest.mark.parametrize(("current", "patch", "merged"), MERGES)
def test_merge_overrides(
    current: dict[str, Any], patch: dict[str, Any], merged: dict[str, Any]
) -> None:
    before = dict(current)
    assert merge_overrides(current, patch) == merged
    assert current == before  # the stored overrides are not changed in place


MERGE_REFUSALS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({}, {"partial_percent": 101}, "partial_percent"),
    ({}, {"bogus": 1}, "bogus"),
    ({"present_percent": 60}, {"partial_percent": 70}, "partial_percent must not exceed"),
    # Resetting present_percent to 80 leaves partial_percent (85) above it.
    ({"partial_percent": 85, "present_percent": 90}, {"present_percent": None}, "must not exceed"),
    # Resetting the cap to 60 leaves the buffer (90) above it.
    (
        {"auto_complete_buffer_minutes": 90, "overtime_cap_minutes": 120},
        {"overtime_cap_minutes": None},
        "auto_complete_buffer_minutes must not exceed",
    ),
    (
        {"meeting_prepare_minutes": 30, "teacher_join_early_minutes": 30},
        {"meeting_prepare_minutes": None},
        "teachers cannot join",
    ),
]


@pytest.mark.parametrize(("current", "patch", "message"), MERGE_REFUSALS)
def test_merge_overrides_refuses_invalid_result(
    current: dict[str, Any], patch: dict[str, Any], message: str
) -> None:
    before = dict(current)
    with pytest.raises(ValidationError) as error:
        merge_overrides(current, patch)
    assert message in str(error.value)
    assert current == before
