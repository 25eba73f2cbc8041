"""Outbound webhooks: the academy's system is told of the events it subscribed to, each body
signed as documented (checked here with the README's snippet), retried on failure, logged with
the answers, and sent again by hand."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from halaqa.kit.clock import FrozenClock
from tests.api import Api, assert_error, error_fields
from tests.catalog.school import SLUG, School, ok, school
from tests.notifications.receiver import Receiver, receiver
from tests.notifications.test_absences import held_class
from tests.notifications.test_notifications import new_session, tick

__all__ = ["receiver"]

HOOKS = f"/api/v1/academies/{SLUG}/webhooks"
SESSIONS = f"/api/v1/academies/{SLUG}/sessions"


def _readme_snippet() -> Callable[..., dict[str, Any]]:
    """The verification snippet of the README, run as a receiver would run it."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    after = readme.split("Checking a delivery in Python:", 1)[1]
    code = after.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 (our own README)
    check: Callable[..., dict[str, Any]] = namespace["verify"]
    return check


verify = _readme_snippet()


async def subscribe(api: Api, s: School, url: str, *events: str) -> dict[str, Any]:
    return ok(
        await api.client.post(
            HOOKS, json={"url": url, "events": list(events)}, headers=s.admin.headers
        ),
        201,
    )


async def test_subscribed_events_arrive_signed_in_order(
    api: Api, app: FastAPI, clock: FrozenClock, receiver: Receiver
) -> None:
    s = await school(api, students=1)
    endpoint = await subscribe(
        api, s, receiver.url, "session.scheduled", "session.cancelled", "session.rescheduled"
    )
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in ok(
        await api.client.get(f"{HOOKS}/{endpoint['id']}", headers=s.admin.headers)
    )
    session = await new_session(api, s)
    ok(
        await api.client.post(
            f"{SESSIONS}/{session['id']}/reschedule",
            json={"starts_at": "2026-03-04T16:00:00+00:00", "reason": "moved"},
            headers=s.admin.headers,
        )
    )
    ok(
        await api.client.post(
            f"{SESSIONS}/{session['id']}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
    )
    await tick(app)
    now = clock.now().timestamp()
    events = [verify(endpoint["secret"], r.headers, r.body, now) for r in receiver.received]
    assert [e["type"] for e in events] == [
        "session.scheduled",
        "session.rescheduled",
        "session.cancelled",
    ]
    scheduled = events[0]
    assert scheduled["academy"] == SLUG
    assert scheduled["data"]["session_id"] == session["id"]
    assert scheduled["data"]["student_user_ids"] == [s.students[0].id]
    assert events[1]["data"]["previous_starts_at"] == "2026-03-03T15:00:00+00:00"
    assert events[2]["data"]["cancellation_reason"] == "ill"
    first = receiver.received[0]
    assert first.headers["halaqa-event"] == "session.scheduled"
    assert first.headers["halaqa-delivery"] == scheduled["id"]
    assert first.headers["content-type"] == "application/json"
    # A tampered body, another secret or an old timestamp fail the check.
    for args in (
        ("whsec_other", first.headers, first.body, now),
        (endpoint["secret"], first.headers, first.body + b" ", now),
        (endpoint["secret"], first.headers, first.body, now + 3600),
    ):
        try:
            verify(*args)
        except ValueError:
            continue
        raise AssertionError("a bad delivery passed the check")
    log = ok(await api.client.get(f"{HOOKS}/{endpoint['id']}/deliveries", headers=s.admin.headers))
    assert log["total"] == 3
    assert {d["status"] for d in log["items"]} == {"delivered"}
    assert {d["last_status_code"] for d in log["items"]} == {200}


async def test_a_held_class_tells_started_completed_attendance_and_ledger(
    api: Api, app: FastAPI, clock: FrozenClock, receiver: Receiver
) -> None:
    s = await school(api, students=1)
    await subscribe(
        api, s, receiver.url, "session.started", "session.completed", "attendance.finalized"
    )
    await held_class(api, app, clock, s, clock.now() + timedelta(days=1), student_came=True)
    await tick(app)
    types = [json.loads(r.body)["type"] for r in receiver.received]
    assert types == ["session.started", "session.completed", "attendance.finalized"]
    attendance = json.loads(receiver.received[2].body)["data"]["attendance"]
    assert {(a["role"], a["status"]) for a in attendance} == {
        ("teacher", "present"),
        ("student", "present"),
    }


async def test_failures_are_retried_then_given_up_logged_and_sent_again_by_hand(
    api: Api, app: FastAPI, clock: FrozenClock, receiver: Receiver
) -> None:
    s = await school(api, students=1)
    endpoint = await subscribe(api, s, receiver.url, "session.scheduled")
    receiver.answers = [500, 503] + [500] * 6
    await new_session(api, s)
    await tick(app)
    log_url = f"{HOOKS}/{endpoint['id']}/deliveries"
    (delivery,) = ok(await api.client.get(log_url, headers=s.admin.headers))["items"]
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 500
    assert delivery["last_response"] == "answered 500"
    for _ in range(10):
        clock.advance(timedelta(hours=6))
        await tick(app)
    (delivery,) = ok(await api.client.get(log_url, headers=s.admin.headers))["items"]
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 8
    assert len(receiver.received) == 8
    assert len({json.loads(r.body)["id"] for r in receiver.received}) == 1  # one event, retried
    failed = ok(await api.client.get(log_url, params={"status": "failed"}, headers=s.admin.headers))
    assert failed["total"] == 1
    resent = ok(
        await api.client.post(f"{log_url}/{delivery['id']}/resend", headers=s.admin.headers)
    )
    assert resent["status"] == "pending"
    assert_error(
        await api.client.post(f"{log_url}/{delivery['id']}/resend", headers=s.admin.headers),
        409,
        "delivery_pending",
    )
    await tick(app)
    (delivery,) = ok(await api.client.get(log_url, headers=s.admin.headers))["items"]
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 9


async def test_endpoints_are_managed_by_admins_with_their_secret_renewed(
    api: Api, app: FastAPI, clock: FrozenClock, receiver: Receiver
) -> None:
    s = await school(api, students=1)
    assert_error(
        await api.client.post(
            HOOKS,
            json={"url": receiver.url, "events": ["session.scheduled"]},
            headers=s.teacher.headers,
        ),
        403,
        "role_required",
    )
    response = await api.client.post(
        HOOKS,
        json={"url": "ftp://example.org", "events": ["nothing.happened", "nothing.happened"]},
        headers=s.admin.headers,
    )
    assert error_fields(response) >= {"url", "events.0"}
    endpoint = await subscribe(api, s, receiver.url, "session.scheduled")
    renewed = ok(
        await api.client.post(f"{HOOKS}/{endpoint['id']}/rotate-secret", headers=s.admin.headers)
    )
    assert renewed["secret"] != endpoint["secret"]
    await new_session(api, s)
    await tick(app)
    (first,) = receiver.received
    verify(renewed["secret"], first.headers, first.body, clock.now().timestamp())
    paused = ok(
        await api.client.patch(
            f"{HOOKS}/{endpoint['id']}", json={"active": False}, headers=s.admin.headers
        )
    )
    assert paused["active"] is False
    await new_session(api, s, starts_at="2026-03-05T15:00:00+00:00")
    await tick(app)
    assert len(receiver.received) == 1
    assert (
        await api.client.delete(f"{HOOKS}/{endpoint['id']}", headers=s.admin.headers)
    ).status_code == 204
    assert_error(
        await api.client.get(f"{HOOKS}/{endpoint['id']}", headers=s.admin.headers), 404, "not_found"
    )
