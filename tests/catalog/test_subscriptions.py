"""Subscriptions over HTTP, on both databases: subscribing and activating, who sees which, each
cycle's balance counted from the ledger and carried over, cycles made once under concurrent
callers, pauses that suspend and resume lessons, cancellation, expiry after the grace days,
renewal, payment per cycle, and scheduling beyond the balance (warned or refused)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from halaqa.catalog.cycles import cycle_for
from halaqa.catalog.subscription_repository import SubscriptionRepository
from halaqa.catalog.subscription_service import end_run_out_pauses, expire_subscriptions
from halaqa.config import Settings
from halaqa.kit.clock import FrozenClock
from halaqa.kit.deps import Runtime
from halaqa.models import Subscription, SubscriptionCycle
from halaqa.worker import runner
from halaqa.worker.runner import Worker
from tests.api import Api, Person, assert_error, error_fields
from tests.catalog.school import SLUG, School, audit, enrolled, new_group, ok, school
from tests.catalog.subscribing import (
    SESSIONS,
    SUBSCRIPTIONS,
    act,
    configure,
    cycle_rows,
    detail,
    ledger,
    lesson,
    new_package,
    session_status,
    subscribe,
    subscription,
)
from tests.conftest import START

NOW = START.isoformat().replace("+00:00", "Z")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The clock moves months on here: the logins made at the start must outlive it.
    return settings.model_copy(update={"token_ttl_hours": 24 * 366})


# The academy is in Riyadh (UTC+3): its days begin at 21:00 UTC the evening before.


def at(day: str, hour: int = 9) -> datetime:
    """An instant on a day of 2026, at `hour` UTC (noon in Riyadh by default)."""
    return datetime.fromisoformat(f"2026-{day}T{hour:02d}:00:00+00:00")


def riyadh_midnight(day: str) -> datetime:
    """When the academy's `day` begins."""
    return datetime.fromisoformat(f"2026-{day}T00:00:00+03:00").astimezone(UTC)


async def ids(api: Api, who: Person, **params: Any) -> list[int]:
    response = await api.client.get(SUBSCRIPTIONS, headers=who.headers, params=params)
    return [item["id"] for item in ok(response)["items"]]


async def booked(api: Api, s: School, starts_at: datetime, **fields: Any) -> dict[str, Any]:
    return ok(await lesson(api, s, starts_at, **fields), 201)


async def sweep(api: Api, step: Callable[[Runtime], Awaitable[int]]) -> int:
    async with api.database.transaction() as session:
        return await step(api.runtime(session))


def cycle(number: int, starts_on: str, last_day: str, quota: int, **fields: Any) -> dict[str, Any]:
    return {
        "number": number,
        "starts_on": starts_on,
        "last_day": last_day,
        "quota": quota,
        "carried_over": 0,
        "used": 0,
        "left": quota,
        "payment_status": "pending",
        "payment_note": None,
        **fields,
    }


# --- subscribing -------------------------------------------------------------------------------


async def test_staff_subscribe_a_student_pending_until_activated(api: Api) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = ok(
        await subscribe(
            api,
            s.supervisor,
            package_id=package["id"],
            student_user_id=s.students[0].id,
            teacher_user_id=s.teacher.id,
            starts_on="2026-03-01",
            ends_on="2026-05-31",
            notes="Paid by bank transfer",
        ),
        201,
    )
    subscription_id = made.pop("id")
    assert made == {
        "package": {
            "id": package["id"],
            "name": package["name"],
            "kind": "individual",
            "sessions_per_cycle": 8,
            "cycle_length": 1,
            "cycle_unit": "month",
        },
        "student": {"user_id": s.students[0].id, "name": "Student 0"},
        "teacher": {"user_id": s.teacher.id, "name": "Teacher"},
        "group": None,
        "status": "pending",
        "starts_on": "2026-03-01",
        "ends_on": "2026-05-31",
        "expires_after": "2026-06-03",  # three grace days
        "activated_at": None,
        "ended_at": None,
        "notes": "Paid by bank transfer",
        "created_at": NOW,
        "updated_at": NOW,
        "cycles": [],  # none until it is activated
        "current_cycle": None,
        "low_balance": False,
        "pauses": [],
    }
    active = ok(await act(api, s.admin, subscription_id, "activate"))
    march = cycle(1, "2026-03-01", "2026-03-31", 8)
    assert (active["status"], active["activated_at"]) == ("active", NOW)
    assert (active["cycles"], active["current_cycle"]) == ([march], march)
    error = assert_error(
        await act(api, s.admin, subscription_id, "activate"), 409, "invalid_transition"
    )
    assert error["details"] == {
        "from": "active",
        "to": "active",
        "allowed": sorted(["cancelled", "expired", "paused"]),
    }
    entries = await audit(api, s.admin, "subscription.")
    assert [(e["action"], e["entity_id"]) for e in entries] == [
        ("subscription.created", str(subscription_id)),
        ("subscription.activated", str(subscription_id)),
    ]
    assert (entries[1]["before"]["status"], entries[1]["after"]["status"]) == ("pending", "active")


async def test_a_group_package_is_taken_in_a_group_the_student_is_enrolled_in(api: Api) -> None:
    s = await school(api)
    package = await new_package(api, s.admin, kind="group", name="Circle, 12 a month")
    group = await new_group(api, s.admin, s.teacher, name="Al-Fatiha circle")
    await enrolled(api, s.admin, group["id"], s.students[0])
    made = await subscription(api, s, package, group_id=group["id"])
    assert (made["group"], made["teacher"]) == (
        {"id": group["id"], "name": "Al-Fatiha circle"},
        None,
    )
    response = await subscribe(
        api,
        s.admin,
        package_id=package["id"],
        student_user_id=s.students[1].id,
        group_id=group["id"],
        starts_on="2026-03-01",
    )
    error = assert_error(response, 422, "validation_error")
    assert error["details"] == [
        {
            "field": "group_id",
            "message": f"student {s.students[1].id} is not enrolled in group {group['id']}",
        }
    ]


async def test_bad_subscriptions_are_refused_naming_the_field(api: Api) -> None:
    s = await school(api)
    individual = await new_package(api, s.admin)
    group_package = await new_package(api, s.admin, kind="group")
    archived = await new_package(api, s.admin)
    ok(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/packages/{archived['id']}",
            json={"active": False},
            headers=s.admin.headers,
        )
    )
    group = await new_group(api, s.admin, s.teacher)
    base = {
        "package_id": individual["id"],
        "student_user_id": s.students[0].id,
        "teacher_user_id": s.teacher.id,
        "starts_on": "2026-03-01",
    }
    in_group = {**base, "package_id": group_package["id"], "teacher_user_id": None}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"package_id": archived["id"]}, "package_id"),
        ({"package_id": 999}, "package_id"),
        ({"teacher_user_id": None}, "teacher_user_id"),
        ({"teacher_user_id": s.students[1].id}, "teacher_user_id"),
        ({"student_user_id": s.other_teacher.id}, "student_user_id"),
        ({"group_id": group["id"]}, "group_id"),
        ({"ends_on": "2026-02-28"}, "ends_on"),
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"starts_on": "3000-01-01"}, "starts_on"),
        ({"starts_on": "2025-02-27"}, "starts_on"),  # more than a year back
        ({"status": "active"}, "status"),
        ({**in_group, "teacher_user_id": s.teacher.id, "group_id": group["id"]}, "teacher_user_id"),
        (in_group, "group_id"),
        ({**in_group, "group_id": 999}, "group_id"),
        ({**in_group, "group_id": group["id"]}, "group_id"),  # not enrolled in it
    ]
    for change, field in cases:
        response = await subscribe(api, s.admin, **(base | change))
        assert error_fields(response) == {field}, (change, response.text)
    assert await ids(api, s.admin) == []
    assert await audit(api, s.admin, "subscription.") == []
    # A year back (366 days, today being 1 March 2026) is as far as it may begin.
    ok(await subscribe(api, s.admin, **(base | {"starts_on": "2025-02-28"})), 201)


async def test_only_staff_change_subscriptions(api: Api) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package)
    for who in (s.teacher, s.students[0], s.parent):
        response = await subscribe(
            api, who, package_id=package["id"], student_user_id=s.students[0].id
        )
        assert_error(response, 403, "role_required")
        for action, body in (
            ("activate", {}),
            ("pause", {"starts_on": "2026-03-10", "ends_on": "2026-03-11"}),
            ("resume", {}),
            ("cancel", {"reason": "moving"}),
            ("renew", {"ends_on": "2026-12-31"}),
        ):
            assert_error(await act(api, who, made["id"], action, body), 403, "role_required")
        response = await api.client.put(
            f"{SUBSCRIPTIONS}/{made['id']}/cycles/1/payment",
            json={"status": "paid"},
            headers=who.headers,
        )
        assert_error(response, 403, "role_required")
    assert (await detail(api, s.admin, made["id"]))["status"] == "active"


async def test_who_sees_which_subscriptions(api: Api) -> None:
    s = await school(api)
    individual = await new_package(api, s.admin)
    group_package = await new_package(api, s.admin, kind="group")
    group = await new_group(api, s.admin, s.teacher)
    await enrolled(api, s.admin, group["id"], s.students[2])
    mine = (await subscription(api, s, individual, student=0))["id"]
    others = (
        await subscription(
            api, s, individual, student=1, teacher_user_id=s.other_teacher.id, activate=False
        )
    )["id"]
    grouped = (await subscription(api, s, group_package, student=2, group_id=group["id"]))["id"]

    assert await ids(api, s.admin) == [grouped, others, mine]
    assert await ids(api, s.supervisor, student_user_id=s.students[1].id) == [others]
    # A teacher's are those with them and those in the groups they teach.
    assert await ids(api, s.admin, teacher_user_id=s.teacher.id) == [grouped, mine]
    assert await ids(api, s.admin, group_id=group["id"]) == [grouped]
    assert await ids(api, s.admin, status="pending") == [others]
    assert await ids(api, s.admin, package_id=group_package["id"]) == [grouped]
    seen = {
        s.students[0]: [mine],
        s.students[1]: [others],
        s.students[2]: [grouped],
        s.parent: [mine],  # the parent of students[0]
        s.teacher: [grouped, mine],
        s.other_teacher: [others],
    }
    for who, expected in seen.items():
        assert await ids(api, who) == expected
        for subscription_id in (mine, others, grouped):
            response = await api.client.get(
                f"{SUBSCRIPTIONS}/{subscription_id}", headers=who.headers
            )
            if subscription_id in expected:
                ok(response)
            else:
                assert_error(response, 404, "not_found")
    # Filters narrow what one may see; they never widen it.
    assert await ids(api, s.students[0], student_user_id=s.students[1].id) == []


# --- balance, carry-over and cycles ------------------------------------------------------------


async def test_the_balance_is_counted_from_the_ledger(api: Api) -> None:
    s = await school(api)
    package = await new_package(api, s.admin, sessions_per_cycle=3)
    made = await subscription(api, s, package)
    first, second, third = [(await booked(api, s, at(f"03-{day:02d}")))["id"] for day in (3, 4, 5)]
    await ledger(api, made, 1, first, "consumed")
    await ledger(api, made, 1, second, "consumed", "refunded")
    await ledger(api, made, 1, third, "consumed", "refunded", "consumed")
    for who in (s.admin, s.students[0], s.parent, s.teacher):
        seen = await detail(api, who, made["id"])
        assert seen["current_cycle"] == cycle(1, "2026-03-01", "2026-03-31", 3, used=2, left=1)
        assert seen["low_balance"] is True  # 1 left: the academy's default threshold
    await configure(api, s.admin, low_balance_sessions=0)
    assert (await detail(api, s.admin, made["id"]))["low_balance"] is False


@pytest.mark.parametrize(("cap", "quota", "carried"), [(0, 8, 0), (2, 10, 2), (10, 13, 5)])
async def test_unused_sessions_carry_over_up_to_the_academy_cap(
    api: Api, clock: FrozenClock, cap: int, quota: int, carried: int
) -> None:
    s = await school(api)
    await configure(api, s.admin, carry_over_max_sessions=cap)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package)
    for day in (3, 4, 5):
        await ledger(api, made, 1, (await booked(api, s, at(f"03-{day:02d}")))["id"], "consumed")
    clock.set(at("04-02"))
    seen = await detail(api, s.admin, made["id"])
    april = cycle(2, "2026-04-01", "2026-04-30", quota, carried_over=carried)
    assert seen["cycles"] == [cycle(1, "2026-03-01", "2026-03-31", 8, used=3, left=5), april]
    assert seen["current_cycle"] == april


async def test_missing_cycles_are_made_in_order(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    await configure(api, s.admin, carry_over_max_sessions=2)
    package = await new_package(api, s.admin, sessions_per_cycle=4)
    made = await subscription(api, s, package, starts_on="2026-01-31")
    clock.set(at("05-01"))
    cycles = (await detail(api, s.students[0], made["id"]))["cycles"]
    assert [(c["number"], c["starts_on"], c["last_day"], c["quota"]) for c in cycles] == [
        (1, "2026-01-31", "2026-02-27", 4),
        (2, "2026-02-28", "2026-03-30", 6),
        (3, "2026-03-31", "2026-04-29", 6),
        (4, "2026-04-30", "2026-05-30", 6),
    ]


async def two_callers(api: Api, subscription_id: int, day: date) -> list[int]:
    """Two transactions asking for the cycle of `day` at the same time."""

    async def ask() -> int:
        async with api.database.transaction() as session:
            found = await session.get(Subscription, subscription_id)
            assert found is not None
            made = await cycle_for(api.runtime(session), found, day)
            assert made is not None
            return made.id

    return list(await asyncio.gather(ask(), ask()))


async def test_a_cycle_is_made_once_whoever_asks_for_it(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package)
    assert await cycle_rows(api, made["id"]) == 1
    # A caller that lost the race to the row gets the winner's and its transaction goes on.
    async with api.database.transaction() as session:
        found = await session.get(Subscription, made["id"])
        assert found is not None
        winner = await cycle_for(api.runtime(session), found, date(2026, 4, 2))
        assert winner is not None
    async with api.database.transaction() as session:
        loser = SubscriptionCycle(
            academy_id=winner.academy_id,
            subscription_id=made["id"],
            number=2,
            starts_on=date(2026, 4, 1),
            ends_on=date(2026, 5, 1),
            quota=99,
            carried_over=0,
            payment_status="pending",
        )
        kept = await SubscriptionRepository(session, winner.academy_id).add_cycle_once(loser)
        assert (kept.id, kept.quota) == (winner.id, 8)
        assert (
            await session.scalar(select(Subscription.status).where(Subscription.id == made["id"]))
            == "active"
        )
    assert await cycle_rows(api, made["id"]) == 2
    if api.database.engine.dialect.name == "postgresql":  # SQLite has one writer at a time
        first, second = await two_callers(api, made["id"], date(2026, 5, 20))
        assert first == second
        assert await cycle_rows(api, made["id"]) == 3


# --- pauses ------------------------------------------------------------------------------------


async def test_a_pause_suspends_lessons_and_an_early_resume_brings_back_the_rest(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package, ends_on="2026-04-30")
    before, first, second, after = [
        (await booked(api, s, at(day)))["id"] for day in ("03-09", "03-10", "03-12", "03-15")
    ]
    # At midnight in Riyadh (21:00 UTC the day before): the 14th, inside the pause.
    last_night = (await booked(api, s, at("03-13", 21)))["id"]
    with_another_teacher = (await booked(api, s, at("03-11"), teacher=s.other_teacher))["id"]
    another_student = (await booked(api, s, at("03-11", 12), student=1))["id"]

    paused = ok(
        await act(
            api,
            s.admin,
            made["id"],
            "pause",
            {"starts_on": "2026-03-10", "ends_on": "2026-03-14", "reason": "Umrah"},
        )
    )
    assert paused["subscription"]["status"] == "paused"
    assert paused["subscription"]["ends_on"] == "2026-05-05"  # five days later
    [pause] = paused["subscription"]["pauses"]
    assert (pause["starts_on"], pause["ends_on"], pause["reason"], pause["resumed_at"]) == (
        "2026-03-10",
        "2026-03-14",
        "Umrah",
        None,
    )
    assert [x["id"] for x in paused["sessions_suspended"]] == [first, second, last_night]
    statuses = {
        session_id: await session_status(api, s, session_id)
        for session_id in (
            before,
            first,
            second,
            last_night,
            after,
            with_another_teacher,
            another_student,
        )
    }
    assert statuses == {
        before: "scheduled",
        first: "suspended",
        second: "suspended",
        last_night: "suspended",
        after: "scheduled",
        with_another_teacher: "scheduled",
        another_student: "scheduled",
    }
    assert_error(
        await act(
            api, s.admin, made["id"], "pause", {"starts_on": "2026-03-20", "ends_on": "2026-03-21"}
        ),
        409,
        "invalid_transition",
    )

    clock.set(at("03-12", 6))  # the 12th, 09:00 in Riyadh: two days of the pause have passed
    resumed = ok(await act(api, s.admin, made["id"], "resume"))
    assert resumed["subscription"]["status"] == "active"
    assert resumed["subscription"]["ends_on"] == "2026-05-02"  # extended by the two days only
    assert resumed["subscription"]["pauses"][0]["resumed_at"] == "2026-03-12T06:00:00Z"
    assert [x["id"] for x in resumed["sessions_resumed"]] == [second, last_night]
    assert resumed["sessions_left_suspended"] == []
    assert await session_status(api, s, first) == "suspended"  # its time passed, paused
    assert await session_status(api, s, second) == "scheduled"
    entries = await audit(api, s.admin, "subscription.paused", "subscription.resumed")
    assert [e["action"] for e in entries] == ["subscription.paused", "subscription.resumed"]
    assert entries[0]["after"]["sessions"] == {
        "suspended": [first, second, last_night],
        "resumed": [],
        "left_suspended": [],
    }
    assert entries[1]["after"]["sessions"]["resumed"] == [second, last_night]


async def test_a_lesson_whose_time_was_taken_stays_suspended(api: Api) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package, ends_on="2026-04-30")
    kept = (await booked(api, s, at("03-10")))["id"]
    taken = (await booked(api, s, at("03-11")))["id"]
    ok(
        await act(
            api, s.admin, made["id"], "pause", {"starts_on": "2026-03-10", "ends_on": "2026-03-14"}
        )
    )
    # The teacher is free while the lesson is suspended, and another student takes the hour.
    other = (await booked(api, s, at("03-11"), student=1))["id"]
    resumed = ok(await act(api, s.admin, made["id"], "resume"))
    assert [x["id"] for x in resumed["sessions_resumed"]] == [kept]
    [left] = resumed["sessions_left_suspended"]
    assert left["id"] == taken
    assert "double booking" in left["reason"]
    assert await session_status(api, s, taken) == "suspended"
    assert await session_status(api, s, other) == "scheduled"
    # Resumed before the pause began: it held no day, and the end is back where it was.
    assert resumed["subscription"]["ends_on"] == "2026-04-30"


async def test_a_group_pause_suspends_nobody_elses_session(api: Api) -> None:
    s = await school(api)
    package = await new_package(api, s.admin, kind="group")
    group = await new_group(api, s.admin, s.teacher)
    for student in s.students[:2]:
        await enrolled(api, s.admin, group["id"], student)
    made = await subscription(api, s, package, group_id=group["id"])
    body = {
        "kind": "group",
        "title": "Circle",
        "group_id": group["id"],
        "starts_at": at("03-11").isoformat(),
        "duration_minutes": 60,
    }
    session = ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)
    paused = ok(
        await act(
            api, s.admin, made["id"], "pause", {"starts_on": "2026-03-10", "ends_on": "2026-03-14"}
        )
    )
    assert paused["sessions_suspended"] == []
    assert await session_status(api, s, session["id"]) == "scheduled"


async def test_bad_pauses_are_refused(api: Api) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    pending = await subscription(api, s, package, activate=False)
    active = await subscription(api, s, package, starts_on="2026-03-05", ends_on="2026-04-30")
    window = {"starts_on": "2026-03-10", "ends_on": "2026-03-11"}
    assert_error(await act(api, s.admin, pending["id"], "pause", window), 409, "invalid_transition")
    assert_error(await act(api, s.admin, active["id"], "resume"), 409, "invalid_transition")
    for body, field in (
        ({"starts_on": "2026-03-11", "ends_on": "2026-03-10"}, "ends_on"),
        ({"starts_on": "2026-03-04", "ends_on": "2026-03-10"}, "starts_on"),  # before it starts
        ({"starts_on": "2026-05-01", "ends_on": "2026-05-10"}, "starts_on"),  # after it ends
        ({"ends_on": "2026-03-10"}, "starts_on"),
        ({**window, "reason": ""}, "reason"),
    ):
        assert error_fields(await act(api, s.admin, active["id"], "pause", body)) == {field}
    today_started = await subscription(api, s, package)
    past = {"starts_on": "2026-02-28", "ends_on": "2026-03-10"}
    response = await act(api, s.admin, today_started["id"], "pause", past)
    assert error_fields(response) == {"starts_on"}
    assert "today (2026-03-01)" in response.json()["error"]["message"]
    assert (await detail(api, s.admin, active["id"]))["pauses"] == []


async def test_a_pause_that_runs_out_ends_by_itself(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package)
    ok(
        await act(
            api, s.admin, made["id"], "pause", {"starts_on": "2026-03-02", "ends_on": "2026-03-03"}
        )
    )
    clock.set(riyadh_midnight("03-04") - timedelta(seconds=1))
    assert await sweep(api, end_run_out_pauses) == 0
    clock.set(riyadh_midnight("03-04"))
    assert "end_subscription_pauses" in runner.STEPS
    worker = Worker(api.app.state.database, api.app.state.settings, api.app.state.secret)
    assert (await worker.tick())["end_subscription_pauses"] == 1
    assert await sweep(api, end_run_out_pauses) == 0
    seen = await detail(api, s.admin, made["id"])
    assert (seen["status"], seen["pauses"][0]["resumed_at"]) == ("active", None)
    [entry] = await audit(api, s.admin, "subscription.resumed")
    assert (entry["actor_user_id"], entry["after"]) == (
        None,
        {"status": "active", "pause": "ran out"},
    )


# --- cancellation, expiry, renewal -------------------------------------------------------------


async def test_cancelling_ends_it_now(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package)
    pending = await subscription(api, s, package, activate=False)
    assert error_fields(await act(api, s.admin, made["id"], "cancel", {})) == {"reason"}
    clock.advance(timedelta(days=3))
    cancelled = ok(await act(api, s.admin, made["id"], "cancel", {"reason": "moved abroad"}))
    assert (cancelled["status"], cancelled["ended_at"]) == ("cancelled", "2026-03-04T09:00:00Z")
    assert (cancelled["current_cycle"], cancelled["low_balance"]) == (None, False)
    assert len(cancelled["cycles"]) == 1  # the cycle it ran in stays, with its balance
    assert_error(
        await act(api, s.admin, made["id"], "cancel", {"reason": "again"}),
        409,
        "invalid_transition",
    )
    assert (
        ok(await act(api, s.admin, pending["id"], "cancel", {"reason": "never paid"}))["status"]
        == "cancelled"
    )
    [entry, _] = await audit(api, s.admin, "subscription.cancelled")
    assert (entry["after"]["status"], entry["after"]["reason"]) == ("cancelled", "moved abroad")


@pytest.mark.parametrize("grace", [0, 3])
async def test_it_expires_once_its_grace_days_are_over(
    api: Api, clock: FrozenClock, grace: int
) -> None:
    s = await school(api)
    await configure(api, s.admin, subscription_grace_days=grace)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package, ends_on="2026-03-10")
    open_ended = await subscription(api, s, package, student=1)
    await subscription(api, s, package, student=2, ends_on="2026-03-05", activate=False)
    assert (await detail(api, s.admin, made["id"]))["expires_after"] == f"2026-03-{10 + grace}"
    expiry = riyadh_midnight(f"03-{11 + grace}")
    clock.set(expiry - timedelta(seconds=1))
    assert await sweep(api, expire_subscriptions) == 0
    clock.set(expiry)
    assert "expire_subscriptions" in runner.STEPS
    assert await sweep(api, expire_subscriptions) == 1
    assert await sweep(api, expire_subscriptions) == 0
    expired = await detail(api, s.admin, made["id"])
    assert (expired["status"], expired["ended_at"]) == (
        "expired",
        expiry.isoformat().replace("+00:00", "Z"),
    )
    assert (await detail(api, s.admin, open_ended["id"]))["status"] == "active"
    assert await ids(api, s.admin, status="pending") != []
    [entry] = await audit(api, s.admin, "subscription.expired")
    assert (entry["actor_user_id"], entry["entity_id"]) == (None, str(made["id"]))


async def test_renewal_moves_the_last_day(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package, ends_on="2026-03-31")
    renewed = ok(await act(api, s.admin, made["id"], "renew", {"ends_on": "2026-04-30"}))
    assert (renewed["status"], renewed["ends_on"], renewed["expires_after"]) == (
        "active",
        "2026-04-30",
        "2026-05-03",
    )
    for ends_on in ("2026-04-30", "2026-04-01"):
        response = await act(api, s.admin, made["id"], "renew", {"ends_on": ends_on})
        assert error_fields(response) == {"ends_on"}
    open_ended = await subscription(api, s, package, student=1)
    error = assert_error(
        await act(api, s.admin, open_ended["id"], "renew", {"ends_on": "2026-12-31"}),
        409,
        "not_renewable",
    )
    assert "open-ended" in error["message"]
    ok(await act(api, s.admin, open_ended["id"], "cancel", {"reason": "left"}))
    assert_error(
        await act(api, s.admin, open_ended["id"], "renew", {"ends_on": "2026-12-31"}),
        409,
        "not_renewable",
    )
    [entry] = await audit(api, s.admin, "subscription.renewed")
    assert (entry["before"]["ends_on"], entry["after"]["ends_on"]) == ("2026-03-31", "2026-04-30")


async def test_an_expired_subscription_is_renewed_only_within_its_grace(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package, ends_on="2026-03-10")
    clock.set(riyadh_midnight("03-14"))
    assert await sweep(api, expire_subscriptions) == 1
    renewal = {"ends_on": "2026-04-30"}
    assert_error(await act(api, s.admin, made["id"], "renew", renewal), 409, "not_renewable")
    await configure(api, s.admin, subscription_grace_days=10)  # the academy allows more
    renewed = ok(await act(api, s.admin, made["id"], "renew", renewal))
    assert (renewed["status"], renewed["ended_at"], renewed["ends_on"]) == (
        "active",
        None,
        "2026-04-30",
    )
    entries = await audit(api, s.admin, "subscription.renewed")
    assert (entries[0]["before"]["status"], entries[0]["after"]["status"]) == ("expired", "active")


async def test_renewal_carries_over_into_the_new_cycles(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    await configure(api, s.admin, carry_over_max_sessions=3)
    package = await new_package(api, s.admin, sessions_per_cycle=4)
    made = await subscription(api, s, package, ends_on="2026-03-31")
    await ledger(api, made, 1, (await booked(api, s, at("03-03")))["id"], "consumed")
    ok(await act(api, s.admin, made["id"], "renew", {"ends_on": "2026-04-30"}))
    clock.set(at("04-02"))
    current = (await detail(api, s.admin, made["id"]))["current_cycle"]
    assert current == cycle(2, "2026-04-01", "2026-04-30", 7, carried_over=3)


# --- payment -----------------------------------------------------------------------------------


async def pay(api: Api, who: Person, subscription_id: int, number: int, **body: Any) -> Any:
    return await api.client.put(
        f"{SUBSCRIPTIONS}/{subscription_id}/cycles/{number}/payment", json=body, headers=who.headers
    )


async def test_each_cycle_has_its_payment(api: Api, clock: FrozenClock) -> None:
    s = await school(api)
    package = await new_package(api, s.admin)
    made = await subscription(api, s, package)
    paid = ok(await pay(api, s.supervisor, made["id"], 1, status="paid", note="cash"))
    assert (paid["cycles"][0]["payment_status"], paid["cycles"][0]["payment_note"]) == (
        "paid",
        "cash",
    )
    assert_error(await pay(api, s.admin, made["id"], 2, status="paid"), 409, "cycle_not_started")
    clock.set(at("05-02"))
    # Cycles that have begun are made when asked for, with those before them.
    waived = ok(await pay(api, s.admin, made["id"], 2, status="waived"))
    assert [(c["number"], c["payment_status"]) for c in waived["cycles"]] == [
        (1, "paid"),
        (2, "waived"),
        (3, "pending"),
    ]
    assert error_fields(await pay(api, s.admin, made["id"], 1, status="refunded")) == {"status"}
    assert error_fields(await pay(api, s.admin, made["id"], 0, status="paid")) == {"cycle_number"}
    pending = await subscription(api, s, package, student=1, activate=False)
    assert_error(await pay(api, s.admin, pending["id"], 1, status="paid"), 409, "cycle_not_started")
    entries = await audit(api, s.admin, "subscription_cycle.")
    assert [(e["before"]["payment_status"], e["after"]["payment_status"]) for e in entries] == [
        ("pending", "paid"),
        ("pending", "waived"),
    ]


# --- scheduling beyond the balance -------------------------------------------------------------


async def test_scheduling_beyond_the_balance_is_warned_or_refused(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api)
    package = await new_package(api, s.admin, sessions_per_cycle=2)
    made = await subscription(api, s, package)
    # The first lesson is held and charged: it counts through the ledger, not as booked.
    held = await booked(api, s, at("03-01", 10))
    clock.set(at("03-01", 10))
    ok(await api.client.post(f"{SESSIONS}/{held['id']}/start", json={}, headers=s.teacher.headers))
    ok(
        await api.client.post(
            f"{SESSIONS}/{held['id']}/complete", json={}, headers=s.teacher.headers
        )
    )
    await ledger(api, made, 1, held["id"], "consumed")
    second = await booked(api, s, at("03-05"))
    assert second["warnings"] == []
    third = await booked(api, s, at("03-07"))
    [warning] = third["warnings"]
    assert f"student {s.students[0].id} has no session left" in warning
    assert "1 used and 1 more booked" in warning

    await configure(api, s.admin, over_balance_scheduling="refuse")
    before = ok(await api.client.get(SESSIONS, headers=s.admin.headers))["total"]
    error = assert_error(await lesson(api, s, at("03-09")), 409, "no_sessions_left")
    assert error["details"] == {
        "subscription_id": made["id"],
        "cycle": 1,
        "quota": 2,
        "used": 1,
        "booked": 2,
    }
    assert ok(await api.client.get(SESSIONS, headers=s.admin.headers))["total"] == before
    # Next month is another cycle; another teacher is no subscription's.
    assert (await booked(api, s, at("04-02")))["warnings"] == []
    # A lesson planned in a cycle still to come makes no cycle: its carry-over is not known yet.
    assert (await booked(api, s, datetime(2027, 6, 1, 9, tzinfo=UTC)))["warnings"] == []
    assert await cycle_rows(api, made["id"]) == 1
    assert (await booked(api, s, at("03-09"), teacher=s.other_teacher))["warnings"] == []
    # Each lesson cancelled frees its session: one used, the second still booked, then none.
    for cancelled, then in ((third, 409), (second, 201)):
        response = await api.client.post(
            f"{SESSIONS}/{cancelled['id']}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
        ok(response)
        assert (await lesson(api, s, at("03-10"))).status_code == then


async def test_lessons_in_a_pause_take_nothing_from_the_balance(api: Api) -> None:
    s = await school(api)
    await configure(api, s.admin, over_balance_scheduling="refuse")
    package = await new_package(api, s.admin, sessions_per_cycle=1)
    made = await subscription(api, s, package)
    body = {"starts_on": "2026-03-10", "ends_on": "2026-03-14"}
    ok(await act(api, s.admin, made["id"], "pause", body))
    # Paused, it still covers the days outside its pause, and those lessons are counted.
    assert (await booked(api, s, at("03-12")))["warnings"] == []  # in the pause: not charged
    assert (await booked(api, s, at("03-20")))["warnings"] == []
    error = assert_error(await lesson(api, s, at("03-21")), 409, "no_sessions_left")
    assert (error["details"]["used"], error["details"]["booked"]) == (0, 1)
