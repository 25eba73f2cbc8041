"""A weekly series is told to its people once, with its first class — when it is planned, and
when it is changed from a date — never class by class, nor again as the worker books further
weeks."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from halaqa.kit.clock import FrozenClock
from tests.api import Api
from tests.catalog.school import SLUG, ok, school
from tests.notifications.test_notifications import bell, speaks, tick
from tests.schedules.test_schedules import MON, SESSIONS, WED, cancel, change, create, weekly

SCHEDULES = f"/api/v1/academies/{SLUG}/schedules"
PREVIEW = f"/api/v1/academies/{SLUG}/schedule-preview"


async def test_a_new_series_is_told_once_with_its_first_class(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=2)
    student, parent = s.students[0], s.parent
    await speaks(api, student, "en", "Europe/London")
    await speaks(api, parent, "ar")
    ok(await api.client.post(PREVIEW, json=weekly(s), headers=s.admin.headers))
    made = await create(api, s.admin, weekly(s))
    assert len(made["session_ids"]) > 10  # every class up to the horizon
    await tick(app)

    (item,) = (await bell(api, student))["items"]
    assert item["kind"] == "schedule_planned"
    assert item["subject"] == "New weekly classes: Hifz"
    # Monday 2 March, 17:00 in Riyadh: 14:00 in London.
    assert item["body"] == (
        "Hifz now takes place every week, the first class on Monday, March 2, 2026, "
        "2:00\u202fPM. Every class is in your calendar and on your classes page."
    )
    first = min(made["session_ids"])
    assert item["link"] == f"http://127.0.0.1:8000/a/{SLUG}/sessions/{first}"
    (arabic,) = (await bell(api, parent))["items"]
    assert arabic["subject"] == "حصص أسبوعية جديدة: Hifz"
    assert [i["kind"] for i in (await bell(api, s.teacher))["items"]] == ["schedule_planned"]
    assert (await bell(api, s.admin))["unread"] == 0  # who planned it knows
    assert (await bell(api, s.students[1]))["unread"] == 0

    # Further weeks booked by the worker, and the worker looking again, tell nobody of them.
    clock.advance(timedelta(days=8))
    await tick(app)
    extended = ok(
        await api.client.get(f"{SCHEDULES}/{made['schedule']['id']}", headers=s.admin.headers)
    )
    assert extended["materialised_through"] > made["schedule"]["materialised_through"]
    kinds = [i["kind"] for i in (await bell(api, student))["items"]]
    assert kinds.count("schedule_planned") == 1
    assert "session_scheduled" not in kinds


async def test_a_series_changed_from_a_date_is_told_with_its_first_new_class(
    api: Api, app: FastAPI
) -> None:
    s = await school(api, students=1)
    await speaks(api, s.students[0], "en")  # in Riyadh, the schedule's zone
    made = await create(api, s.admin, weekly(s))
    await tick(app)
    changed_from = "2026-03-16"  # a Monday
    moved = ok(
        await change(
            api,
            s.admin,
            made["schedule"]["id"],
            from_date=changed_from,
            slots=[{"weekday": MON, "start": "18:00"}, {"weekday": WED, "start": "18:00"}],
        ),
        201,
    )
    assert moved["cancelled_session_ids"]
    await tick(app)
    items = (await bell(api, s.students[0]))["items"]
    assert [i["kind"] for i in items].count("schedule_planned") == 1
    (changed,) = [i for i in items if i["kind"] == "schedule_changed"]
    assert changed["subject"] == "Weekly classes changed: Hifz"
    # The new series' first class, at the new time; the old classes taken off are told by it.
    assert changed["body"].startswith(
        "Hifz changes from Monday, March 16, 2026, 6:00\u202fPM, the first class at its new "
        "time; the classes at the old times from then on are cancelled."
    )
    assert "session_cancelled" not in [i["kind"] for i in items]
    first = min(moved["session_ids"])
    assert changed["link"] == f"http://127.0.0.1:8000/a/{SLUG}/sessions/{first}"


async def test_a_series_ended_is_told_once_and_a_class_cancelled_on_its_own_as_usual(
    api: Api, app: FastAPI
) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await speaks(api, student, "en")
    await speaks(api, s.parent, "ar")
    made = await create(api, s.admin, weekly(s))
    await tick(app)
    ok(
        await api.client.post(
            f"{SESSIONS}/{min(made['session_ids'])}/cancel",
            json={"reason": "teacher travelling"},
            headers=s.admin.headers,
        )
    )
    ended = ok(await cancel(api, s.admin, made["schedule"]["id"], from_date="2026-03-23"))
    assert len(ended["cancelled_session_ids"]) > 5
    await tick(app)

    items = (await bell(api, student))["items"]
    assert [i["kind"] for i in items] == ["schedule_ended", "session_cancelled", "schedule_planned"]
    assert items[0]["subject"] == "Weekly classes end: Hifz"
    assert items[0]["body"] == (
        "Hifz ends: there are no classes from Monday, March 23, 2026 on. Reason: term ends"
    )
    assert items[1]["body"].endswith("Reason: teacher travelling")
    (arabic, *_) = (await bell(api, s.parent))["items"]
    assert arabic["subject"] == "انتهاء الحصص الأسبوعية: Hifz"
    kinds = [i["kind"] for i in (await bell(api, s.teacher))["items"]]
    assert kinds == ["schedule_ended", "session_cancelled", "schedule_planned"]
    assert (await bell(api, s.admin))["unread"] == 0


async def test_a_series_cancelled_before_it_began_is_told_from_its_first_day(
    api: Api, app: FastAPI
) -> None:
    s = await school(api, students=1)
    await speaks(api, s.students[0], "en")
    made = await create(api, s.admin, weekly(s))
    ok(await cancel(api, s.admin, made["schedule"]["id"]))
    await tick(app)
    (ended, _planned) = (await bell(api, s.students[0]))["items"]
    assert ended["kind"] == "schedule_ended"
    assert "no classes from Monday, March 2, 2026 on" in ended["body"]
