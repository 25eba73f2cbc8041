"""Calendar feeds: a private address per user, read by calendar applications. Checked by parsing
the feed with icalendar and recurring-ical-events, as a calendar would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import recurring_ical_events
from icalendar import Calendar

from halaqa.kit.clock import FrozenClock
from halaqa.notifications.calendar import FeedEntry, build_calendar
from tests.api import Api, assert_error
from tests.catalog.school import SLUG, School, ok, school

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
FEED = "/api/v1/me/calendar-feed"


async def _session(api: Api, s: School, student_index: int, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": f"Tajweed {student_index}",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[student_index].id,
        "duration_minutes": 45,
        **fields,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def _feed(api: Api, url: str) -> Calendar:
    response = await api.client.get(url.replace("http://127.0.0.1:8000", ""))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> dict[str, Any]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


async def test_a_feed_lists_the_users_classes_with_their_zone_and_status(
    api: Api, clock: FrozenClock
) -> None:
    s = await school(api)
    # After the clocks change in London: 10:00 there is 09:00 UTC.
    london = await _session(
        api,
        s,
        0,
        local_start={"date": "2026-04-02", "time": "10:00"},
        time_zone="Europe/London",
        description="Bring the mushaf",
    )
    moved = await _session(api, s, 0, starts_at="2026-03-03T15:00:00+00:00")
    cancelled = await _session(api, s, 0, starts_at="2026-03-04T15:00:00+00:00")
    others = await _session(api, s, 1, starts_at="2026-03-05T15:00:00+00:00")
    ok(
        await api.client.post(
            f"{SESSIONS}/{moved['id']}/reschedule",
            json={"starts_at": "2026-03-03T17:00:00+00:00", "reason": "the teacher travels"},
            headers=s.admin.headers,
        )
    )
    ok(
        await api.client.post(
            f"{SESSIONS}/{cancelled['id']}/cancel",
            json={"reason": "public holiday"},
            headers=s.admin.headers,
        )
    )

    created = ok(await api.client.post(FEED, headers=s.students[0].headers), 201)
    assert created["url"].startswith("http://127.0.0.1:8000/api/v1/calendars/hqc_")
    calendar = await _feed(api, created["url"])
    events = _events(calendar)
    assert set(events) == {
        f"session-{london['id']}@127.0.0.1",
        f"session-{moved['id']}@127.0.0.1",
        f"session-{cancelled['id']}@127.0.0.1",
    }
    assert f"session-{others['id']}@127.0.0.1" not in events

    in_london = events[f"session-{london['id']}@127.0.0.1"]
    assert in_london["DTSTART"].params["TZID"] == "Europe/London"
    assert in_london.decoded("DTSTART").isoformat() == "2026-04-02T10:00:00+01:00"
    assert str(in_london["DESCRIPTION"]) == "Bring the mushaf"
    assert str(in_london["URL"]).endswith(f"/a/{SLUG}/sessions/{london['id']}/classroom")
    zones = {str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")}
    assert {"Europe/London", "Asia/Riyadh"} <= zones

    assert str(events[f"session-{cancelled['id']}@127.0.0.1"]["STATUS"]) == "CANCELLED"
    assert events[f"session-{cancelled['id']}@127.0.0.1"]["SEQUENCE"] == 1
    assert str(events[f"session-{moved['id']}@127.0.0.1"]["STATUS"]) == "CONFIRMED"
    assert events[f"session-{moved['id']}@127.0.0.1"]["SEQUENCE"] == 1

    # A calendar application expands the feed to these instants.
    found = recurring_ical_events.of(calendar).between(
        datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)
    )
    starts = {str(e["UID"]): e["DTSTART"].dt.astimezone(UTC) for e in found}
    assert starts[f"session-{london['id']}@127.0.0.1"] == datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
    assert starts[f"session-{moved['id']}@127.0.0.1"] == datetime(2026, 3, 3, 17, 0, tzinfo=UTC)

    # Fetched again later, the same events keep the same UIDs.
    clock.advance(timedelta(hours=1))
    assert set(_events(await _feed(api, created["url"]))) == set(events)


async def test_a_parent_sees_their_childs_classes(api: Api) -> None:
    s = await school(api)
    child = await _session(api, s, 0, starts_at="2026-03-03T15:00:00+00:00")
    await _session(api, s, 1, starts_at="2026-03-03T16:00:00+00:00")
    created = ok(await api.client.post(FEED, headers=s.parent.headers), 201)
    assert set(_events(await _feed(api, created["url"]))) == {f"session-{child['id']}@127.0.0.1"}


async def test_a_teacher_sees_every_class_they_teach(api: Api) -> None:
    s = await school(api)
    first = await _session(api, s, 0, starts_at="2026-03-03T15:00:00+00:00")
    second = await _session(api, s, 1, starts_at="2026-03-03T16:00:00+00:00")
    created = ok(await api.client.post(FEED, headers=s.teacher.headers), 201)
    assert set(_events(await _feed(api, created["url"]))) == {
        f"session-{first['id']}@127.0.0.1",
        f"session-{second['id']}@127.0.0.1",
    }


async def test_a_new_address_or_a_revocation_ends_the_old_one(api: Api) -> None:
    s = await school(api)
    student = s.students[0]
    assert ok(await api.client.get(FEED, headers=student.headers)) == {
        "active": False,
        "created_at": None,
        "last_read_at": None,
    }
    first = ok(await api.client.post(FEED, headers=student.headers), 201)
    await _feed(api, first["url"])
    state = ok(await api.client.get(FEED, headers=student.headers))
    assert state["active"] is True
    assert state["last_read_at"] is not None
    second = ok(await api.client.post(FEED, headers=student.headers), 201)
    assert second["url"] != first["url"]
    assert_error(await _get(api, first["url"]), 404, "not_found")
    await _feed(api, second["url"])
    response = await api.client.delete(FEED, headers=student.headers)
    assert response.status_code == 204
    assert_error(await _get(api, second["url"]), 404, "not_found")
    assert_error(await api.client.delete(FEED, headers=student.headers), 404, "no_calendar_feed")
    assert_error(await _get(api, "/api/v1/calendars/hqc_guessed.ics"), 404, "not_found")
    assert_error(await _get(api, "/api/v1/calendars/hqt_login-token.ics"), 404, "not_found")


async def _get(api: Api, url: str) -> httpx.Response:
    return await api.client.get(url.replace("http://127.0.0.1:8000", ""))


def test_the_calendar_text_is_valid_icalendar() -> None:
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    entry = FeedEntry(
        uid="session-1@example.org",
        title="حلقة الفجر",
        starts_at=datetime(2026, 3, 2, 3, tzinfo=UTC),
        ends_at=datetime(2026, 3, 2, 3, 45, tzinfo=UTC),
        zone="Asia/Riyadh",
        url="https://example.org/a/x/sessions/1",
        cancelled=False,
        sequence=0,
        updated_at=now,
    )
    text = build_calendar("Halaqa — Omar", [entry], now)
    calendar = Calendar.from_ical(text)
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "حلقة الفجر"
    assert event.decoded("DTSTART").isoformat() == "2026-03-02T06:00:00+03:00"
    assert str(calendar["X-WR-CALNAME"]) == "Halaqa — Omar"
    assert b"\r\n" in text
