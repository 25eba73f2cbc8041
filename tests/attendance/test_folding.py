"""Folding, table by table: the same set of presence events gives the same seconds, whatever the
order or the number of copies they came in."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from halaqa.attendance.folding import Interval, Kind, Presence, PresenceEvent, Source, fold

START = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
MERGE = 120  # DESIGN.md's default reconnect_merge_seconds
TEACHER, STUDENT = 1, 2
J, L, A, C, F = Kind.JOINED, Kind.LEFT, Kind.ABORTED, Kind.CONFIRMED, Kind.ROOM_FINISHED


def t(minutes: int, seconds: int = 0) -> datetime:
    return START + timedelta(minutes=minutes, seconds=seconds)


def ev(kind: Kind, at: datetime, pid: str = "a", user: int = STUDENT) -> PresenceEvent:
    """An event whose key is its content, so a copy of it is a duplicate."""
    if kind is F:
        return PresenceEvent(None, None, F, at, Source.WEBHOOK, f"finished:{at.isoformat()}")
    source = Source.POLL if kind is C else Source.WEBHOOK
    return PresenceEvent(user, pid, kind, at, source, f"{kind}:{user}:{pid}:{at.isoformat()}")


def presence(
    *stays: tuple[datetime, datetime], seconds: int, reconnects: int = 0, inferred: bool = False
) -> Presence:
    return Presence(tuple(Interval(*stay) for stay in stays), seconds, reconnects, inferred)


def folded(events: list[PresenceEvent], merge: int = MERGE) -> dict[int, Presence]:
    return fold(events, window_start=START, window_end=END, scheduled_end=END, merge_seconds=merge)


# (events, the student's expected presence, or None when they must not appear at all)
CASES: dict[str, tuple[list[PresenceEvent], Presence | None]] = {
    "join and leave": ([ev(J, t(0)), ev(L, t(50))], presence((t(0), t(50)), seconds=3000)),
    "reconnect inside the merge window is bridged": (
        [ev(J, t(0)), ev(L, t(20)), ev(J, t(21), "b"), ev(L, t(60), "b")],
        presence((t(0), t(60)), seconds=3600, reconnects=1),
    ),
    "a gap of exactly merge seconds is bridged": (
        [ev(J, t(0)), ev(L, t(20)), ev(J, t(22), "b"), ev(L, t(30), "b")],
        presence((t(0), t(30)), seconds=1800, reconnects=1),
    ),
    "a gap one second over the merge window is not": (
        [ev(J, t(0)), ev(L, t(20)), ev(J, t(22, 1), "b"), ev(L, t(30), "b")],
        presence((t(0), t(20)), (t(22, 1), t(30)), seconds=1679, reconnects=1),
    ),
    "reconnect beyond the merge window": (
        [ev(J, t(0)), ev(L, t(20)), ev(J, t(30), "b"), ev(L, t(60), "b")],
        presence((t(0), t(20)), (t(30), t(60)), seconds=3000, reconnects=1),
    ),
    "two devices overlapping never double count": (
        [ev(J, t(0)), ev(J, t(10), "b"), ev(L, t(40)), ev(L, t(60), "b")],
        presence((t(0), t(60)), seconds=3600),
    ),
    "a device inside another adds nothing": (
        [ev(J, t(0)), ev(J, t(10), "b"), ev(L, t(20), "b"), ev(L, t(30))],
        presence((t(0), t(30)), seconds=1800),
    ),
    "same identity again: old sid left, new sid joined at that instant": (
        [ev(J, t(0)), ev(L, t(30)), ev(J, t(30), "b"), ev(L, t(45), "b")],
        presence((t(0), t(45)), seconds=2700),
    ),
    "a second join of an open participant is a copy": (
        [ev(J, t(0)), ev(J, t(10)), ev(L, t(20))],
        presence((t(0), t(20)), seconds=1200),
    ),
    "a leave listed before its join still pairs": (
        [ev(L, t(20)), ev(J, t(0))],
        presence((t(0), t(20)), seconds=1200),
    ),
    "a join and a leave at one instant make no stay that never ends": (
        [ev(L, t(10)), ev(J, t(10))],
        presence((t(10), t(10)), seconds=0),
    ),
    "missing leave: closed at the last confirmation": (
        [ev(J, t(0)), ev(C, t(10)), ev(C, t(30))],
        presence((t(0), t(30)), seconds=1800, inferred=True),
    ),
    "missing leave: closed at room_finished": (
        [ev(J, t(0)), ev(F, t(45))],
        presence((t(0), t(45)), seconds=2700, inferred=True),
    ),
    "missing leave: its own confirmation says more than the room finishing": (
        [ev(J, t(0)), ev(C, t(20)), ev(F, t(50))],
        presence((t(0), t(20)), seconds=1200, inferred=True),
    ),
    "missing leave: a finish before the stay began does not end it": (
        [ev(F, t(5)), ev(J, t(20))],
        presence((t(20), END), seconds=2400, inferred=True),
    ),
    "missing leave: the first finish after the join ends it": (
        [ev(J, t(20)), ev(F, t(30)), ev(F, t(40))],
        presence((t(20), t(30)), seconds=600, inferred=True),
    ),
    "missing leave: else the scheduled end": (
        [ev(J, t(10))],
        presence((t(10), END), seconds=3000, inferred=True),
    ),
    "missing leave of a join after the end: never before the join": (
        [ev(J, t(70))],
        presence((t(70), t(70)), seconds=0, inferred=True),
    ),
    "clipped before the start": (
        [ev(J, t(-10)), ev(L, t(30))],
        presence((t(-10), t(30)), seconds=1800),
    ),
    "clipped after the end": (
        [ev(J, t(40)), ev(L, t(75))],
        presence((t(40), t(75)), seconds=1200),
    ),
    "only outside the window: on record, no seconds": (
        [ev(J, t(-20)), ev(L, t(-10))],
        presence((t(-20), t(-10)), seconds=0),
    ),
    "aborted without a join is ignored": ([ev(A, t(5))], None),
    "aborted after a join ends the stay like a leave": (
        [ev(J, t(0)), ev(A, t(30))],
        presence((t(0), t(30)), seconds=1800),
    ),
    "aborted after the leave is ignored": (
        [ev(J, t(0)), ev(L, t(30)), ev(A, t(31))],
        presence((t(0), t(30)), seconds=1800),
    ),
    "a leave with nothing open is ignored": ([ev(L, t(30))], None),
    "heartbeats only: first to last heartbeat": (
        [ev(C, t(0, 30 * n), "page:1") for n in range(81)],
        presence((t(0), t(40)), seconds=2400, inferred=True),
    ),
    "heartbeats and webhooks of one user: one union": (
        [ev(J, t(0)), ev(L, t(30)), *(ev(C, t(m), "page:1") for m in range(25, 46, 5))],
        presence((t(0), t(45)), seconds=2700, inferred=True),
    ),
    "join lost: the poll fills it": (
        [ev(C, t(5)), ev(C, t(6)), ev(L, t(50))],
        presence((t(5), t(50)), seconds=2700),
    ),
    "a confirmation after the leave is a new stay": (
        [ev(J, t(0)), ev(L, t(20)), ev(C, t(40))],
        presence((t(0), t(20)), (t(40), t(40)), seconds=1200, reconnects=1, inferred=True),
    ),
}


@pytest.mark.parametrize(("events", "expected"), CASES.values(), ids=CASES.keys())
def test_fold(events: list[PresenceEvent], expected: Presence | None) -> None:
    assert folded(events).get(STUDENT) == expected


@pytest.mark.parametrize(("events", "expected"), CASES.values(), ids=CASES.keys())
def test_shuffled_and_duplicated_events_fold_the_same(
    events: list[PresenceEvent], expected: Presence | None
) -> None:
    rng = random.Random(len(events))
    for _ in range(50):
        arrived = events + rng.choices(events, k=rng.randint(0, len(events)))
        rng.shuffle(arrived)
        assert folded(arrived).get(STUDENT) == expected


def test_every_order_of_a_busy_class_folds_the_same() -> None:
    events = [
        ev(J, t(-2), "t", TEACHER),
        ev(J, t(1)),
        ev(L, t(20)),
        ev(J, t(21), "b"),
        ev(C, t(40), "b"),
        ev(F, t(70)),
    ]
    expected = {
        TEACHER: presence((t(-2), t(70)), seconds=3600, inferred=True),
        STUDENT: presence((t(1), t(40)), seconds=2340, reconnects=1, inferred=True),
    }
    for order in itertools.permutations(events):
        assert folded([*order, order[0]]) == expected


def test_merge_seconds_zero_still_unites_touching_stays() -> None:
    events = [ev(J, t(0)), ev(L, t(10)), ev(J, t(10), "b"), ev(L, t(20), "b"), ev(J, t(20, 1))]
    assert folded(events, merge=0)[STUDENT] == presence(
        (t(0), t(20)), (t(20, 1), END), seconds=3599, reconnects=1, inferred=True
    )


def test_users_are_folded_apart_and_room_finished_closes_everyone() -> None:
    events = [ev(J, t(0), "t", TEACHER), ev(J, t(15)), ev(F, t(50))]
    assert folded(events) == {
        TEACHER: presence((t(0), t(50)), seconds=3000, inferred=True),
        STUDENT: presence((t(15), t(50)), seconds=2100, inferred=True),
    }


def test_seconds_are_whole_and_rounded_down() -> None:
    half = timedelta(milliseconds=500)
    events = [ev(J, START + half), ev(L, t(10))]
    assert folded(events)[STUDENT].seconds == 599


def test_first_join_and_last_leave_are_the_timeline_ends() -> None:
    result = folded([ev(J, t(-3)), ev(L, t(20)), ev(J, t(30), "b"), ev(L, t(65), "b")])[STUDENT]
    assert (result.first_join, result.last_leave) == (t(-3), t(65))


def test_a_key_seen_twice_is_one_event() -> None:
    join = ev(J, t(0))
    relabelled = PresenceEvent(STUDENT, "a", J, t(0), Source.POLL, join.event_key)
    assert folded([join, relabelled, ev(L, t(10))]) == folded([join, ev(L, t(10))])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user_id": None, "kind": J}, "needs a user"),
        ({"at": datetime(2026, 3, 1, 17, 0)}, "aware"),  # noqa: DTZ001
    ],
)
def test_events_are_checked(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "user_id": STUDENT,
        "participant_id": "a",
        "kind": J,
        "at": START,
        "source": Source.WEBHOOK,
        "event_key": "k",
    }
    with pytest.raises(ValueError, match=message):
        PresenceEvent(**{**values, **kwargs})  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------

_KINDS = st.sampled_from([J, J, L, A, C, C, F])


@st.composite
def event_sets(draw: st.DrawFn) -> list[PresenceEvent]:
    count = draw(st.integers(0, 14))
    return [
        ev(
            draw(_KINDS),
            t(draw(st.integers(-10, 70)), draw(st.sampled_from([0, 30]))),
            draw(st.sampled_from(["a", "b", "page:1"])),
            draw(st.sampled_from([TEACHER, STUDENT])),
        )
        for _ in range(count)
    ]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(event_sets(), st.randoms(use_true_random=False), st.integers(0, 300))
def test_order_and_copies_never_matter(
    events: list[PresenceEvent], rng: random.Random, merge: int
) -> None:
    expected = folded(events, merge)
    arrived = events + rng.choices(events, k=len(events)) if events else []
    rng.shuffle(arrived)
    assert folded(arrived, merge) == expected
    for result in expected.values():
        assert 0 <= result.seconds <= 3600
        assert result.reconnects >= 0
        bounds = [(i.start, i.end) for i in result.intervals]
        assert all(start <= end for start, end in bounds)
        gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(bounds)]
        assert all(gap > timedelta(seconds=merge) for gap in gaps)
