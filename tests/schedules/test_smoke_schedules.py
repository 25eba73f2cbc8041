"""First checks of recurring schedules over HTTP (more in test_schedules.py)."""

from __future__ import annotations

from datetime import timedelta

from halaqa.kit.clock import FrozenClock
from halaqa.worker.runner import Worker
from tests.api import Api, assert_error
from tests.catalog.school import SLUG, ok, school

SCHEDULES = f"/api/v1/academies/{SLUG}/schedules"
SESSIONS = f"/api/v1/academies/{SLUG}/sessions"


async def test_weekly_schedule_books_up_to_the_horizon(api: Api, clock: FrozenClock) -> None:
    s = await school(api, students=1)
    body = {
        "kind": "individual",
        "title": "Hifz",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "slots": [{"weekday": 0, "start": "17:00"}, {"weekday": 2, "start": "17:00"}],
        "duration_minutes": 45,
        "time_zone": "America/New_York",
        "starts_on": "2026-03-02",
    }
    preview = ok(
        await api.client.post(
            f"/api/v1/academies/{SLUG}/schedule-preview", json=body, headers=s.admin.headers
        )
    )
    assert preview["conflicts"] == 0
    made = ok(await api.client.post(SCHEDULES, json=body, headers=s.admin.headers), 201)
    assert len(made["session_ids"]) == len(preview["occurrences"]) == 16
    sessions = ok(
        await api.client.get(SESSIONS, params={"per_page": 100}, headers=s.admin.headers)
    )["items"]
    # 17:00 in New York is 22:00 UTC before DST (8 March) and 21:00 after.
    hours = [item["starts_at"][11:16] for item in sessions]
    assert hours[:2] == ["22:00", "22:00"]
    assert hours[2:4] == ["21:00", "21:00"]
    again = await api.client.post(SCHEDULES, json=body, headers=s.admin.headers)
    error = assert_error(again, 409, "schedule_conflict")
    assert len(error["details"]) == 16
    clock.advance(timedelta(days=8))
    state = api.app.state
    worker = Worker(state.database, state.settings, state.secret)
    done = await worker.tick()
    assert done["materialise_schedules"] == 3  # Mon 27 Apr, Wed 29 Apr, Mon 4 May
    one = ok(await api.client.get(f"{SCHEDULES}/{made['schedule']['id']}", headers=s.admin.headers))
    assert one["materialised_through"] == "2026-05-04"
    cancel = await api.client.post(
        f"{SCHEDULES}/{made['schedule']['id']}/cancel",
        json={"reason": "term ends", "from_date": "2026-04-01"},
        headers=s.teacher.headers,
    )
    cancelled = ok(cancel)
    assert cancelled["schedule"]["status"] == "ended"
    assert cancelled["schedule"]["until"] == "2026-03-31"
    assert len(cancelled["cancelled_session_ids"]) == 10
