"""Bookings: the teacher hears of a request, the student and their parents of the answer."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.api import Api
from tests.bookings.test_bookings import act, bookable, requested
from tests.catalog.school import ok, school
from tests.notifications.test_notifications import bell, tick


def kinds(found: dict[str, Any]) -> list[str]:
    return [n["kind"] for n in found["items"]]


async def test_a_request_is_told_to_the_teacher_and_the_answer_to_the_family(
    api: Api, app: FastAPI
) -> None:
    s = await bookable(api, await school(api, students=2))
    await api.client.patch("/api/v1/me", json={"locale": "en"}, headers=s.teacher.headers)
    first = await requested(api, s, 0)
    second = await requested(api, s, 3, student=1)
    await tick(app)
    told = await bell(api, s.teacher)
    assert kinds(told) == ["booking_requested", "booking_requested"]
    assert told["items"][1]["subject"] == "Booking request: Student 0"
    assert kinds(await bell(api, s.students[0])) == []  # who asked knows

    ok(await act(api, s.teacher, first["id"], "confirm"))
    ok(await act(api, s.teacher, second["id"], "decline", reason="not free then"))
    await tick(app)
    confirmed = await bell(api, s.students[0])
    assert "booking_confirmed" in kinds(confirmed)
    (answer,) = [n for n in confirmed["items"] if n["kind"] == "booking_confirmed"]
    assert answer["link"] is not None
    assert "/sessions/" in answer["link"]
    assert "booking_confirmed" in kinds(await bell(api, s.parent))  # the first student's parent
    declined = await bell(api, s.students[1])
    assert kinds(declined) == ["booking_declined"]
    assert declined["items"][0]["payload"]["reason"] == "not free then"
    assert "booking_confirmed" not in kinds(await bell(api, s.teacher))  # who answered knows
