"""Notifications about classes: written with their cause, shown in the bell, emailed in the
recipient's language through a real SMTP server, retried when it fails, muted on request."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from icalendar import Calendar

from halaqa.config import Settings, SmtpSecurity
from halaqa.kit.clock import FrozenClock
from halaqa.worker.runner import Worker
from tests.api import Api, Person, assert_error
from tests.catalog.school import SLUG, School, ok, school
from tests.notifications.mailbox import Mailbox, mailbox

__all__ = ["mailbox"]

SESSIONS = f"/api/v1/academies/{SLUG}/sessions"
NOTIFICATIONS = "/api/v1/me/notifications"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, mailbox: Mailbox) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        secret_key_file=tmp_path / "unused-secret",
        webhook_spool_dir=tmp_path / "webhook-spool",
        worker_mode="external",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_security=SmtpSecurity.NONE,
        mail_from="Academy <classes@halaqa.test>",
        email_max_attempts=3,
    )


async def tick(app: FastAPI) -> None:
    """Worker passes until no job is left due now (a job's own follow-up jobs run in the next)."""
    worker = Worker(app.state.database, app.state.settings, app.state.secret)
    for _ in range(5):
        if (await worker.tick())["jobs"] == 0:
            return
    raise AssertionError("jobs kept coming")


async def speaks(api: Api, person: Person, locale: str, zone: str = "Asia/Riyadh") -> None:
    ok(
        await api.client.patch(
            "/api/v1/me", json={"locale": locale, "time_zone": zone}, headers=person.headers
        )
    )


async def new_session(api: Api, s: School, **fields: Any) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": s.teacher.id,
        "student_user_id": s.students[0].id,
        "starts_at": "2026-03-03T15:00:00+00:00",
        "duration_minutes": 45,
        **fields,
    }
    return ok(await api.client.post(SESSIONS, json=body, headers=s.admin.headers), 201)


async def bell(api: Api, person: Person, **params: Any) -> dict[str, Any]:
    return ok(await api.client.get(NOTIFICATIONS, params=params, headers=person.headers))


def calendar_of(message: EmailMessage) -> Calendar:
    (attachment,) = [
        p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    content = attachment.get_content()
    return Calendar.from_ical(content if isinstance(content, (str, bytes)) else str(content))


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


async def test_a_new_class_is_told_to_its_people_each_in_their_language(
    api: Api, app: FastAPI, mailbox: Mailbox
) -> None:
    s = await school(api)
    student, parent = s.students[0], s.parent
    await speaks(api, student, "en", "Europe/London")
    await speaks(api, parent, "ar")
    session = await new_session(api, s)
    assert mailbox.received == []  # nothing leaves before the worker runs
    await tick(app)

    told = await bell(api, student)
    assert told["unread"] == 1
    (item,) = told["items"]
    assert item["kind"] == "session_scheduled"
    assert item["subject"] == "New class: Tajweed"
    # In the student's zone (London), to the minute.
    assert item["body"] == "Tajweed is scheduled for Tuesday, March 3, 2026, 3:00\u202fPM."
    assert item["link"] == f"http://127.0.0.1:8000/a/{SLUG}/sessions/{session['id']}"
    assert item["email_status"] == "sent"
    (arabic,) = (await bell(api, parent))["items"]
    assert arabic["subject"] == "حصة جديدة: Tajweed"
    assert (await bell(api, s.teacher))["unread"] == 1
    assert (await bell(api, s.admin))["unread"] == 0  # who scheduled it knows
    assert (await bell(api, s.students[1]))["unread"] == 0

    (mail,) = mailbox.to(student.email)
    assert mail["Subject"] == "New class: Tajweed"
    assert mail["From"] == "Academy <classes@halaqa.test>"
    text, html = text_and_html(mail)
    assert "Tajweed is scheduled for Tuesday, March 3, 2026, 3:00\u202fPM." in text
    assert 'dir="ltr"' in html
    (event,) = calendar_of(mail).walk("VEVENT")
    assert str(event["UID"]) == f"session-{session['id']}@127.0.0.1"
    assert str(event["STATUS"]) == "CONFIRMED"
    (to_parent,) = mailbox.to(parent.email)
    assert to_parent["Subject"] == "حصة جديدة: Tajweed"
    assert 'dir="rtl"' in text_and_html(to_parent)[1]
    assert len(mailbox.received) == 3  # student, parent, teacher

    # The worker looking again tells nobody twice.
    await tick(app)
    assert len(mailbox.received) == 3


async def test_moves_and_cancellations_are_told_with_the_class_attached(
    api: Api, app: FastAPI, mailbox: Mailbox
) -> None:
    s = await school(api)
    await speaks(api, s.students[0], "en", "UTC")
    session = await new_session(api, s)
    await tick(app)
    mailbox.received.clear()
    ok(
        await api.client.post(
            f"{SESSIONS}/{session['id']}/reschedule",
            json={"starts_at": "2026-03-04T16:00:00+00:00", "reason": "teacher travels"},
            headers=s.admin.headers,
        )
    )
    await tick(app)
    (moved,) = mailbox.to(s.students[0].email)
    assert moved["Subject"] == "Class moved: Tajweed"
    assert (
        "moved from Tuesday, March 3, 2026, 3:00\u202fPM to Wednesday, March 4, 2026, 4:00\u202fPM"
        in text_and_html(moved)[0]
    )
    (event,) = calendar_of(moved).walk("VEVENT")
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART").isoformat() == "2026-03-04T19:00:00+03:00"

    mailbox.received.clear()
    ok(
        await api.client.post(
            f"{SESSIONS}/{session['id']}/cancel",
            json={"reason": "public holiday"},
            headers=s.admin.headers,
        )
    )
    await tick(app)
    (cancelled,) = mailbox.to(s.students[0].email)
    assert cancelled["Subject"] == "Class cancelled: Tajweed"
    assert "Reason: public holiday" in text_and_html(cancelled)[0]
    (event,) = calendar_of(cancelled).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 2
    kinds = [n["kind"] for n in (await bell(api, s.students[0]))["items"]]
    assert kinds == ["session_cancelled", "session_rescheduled", "session_scheduled"]


async def test_the_room_opening_tells_teacher_and_students_to_join(
    api: Api, app: FastAPI, clock: FrozenClock, mailbox: Mailbox
) -> None:
    s = await school(api)
    await new_session(api, s, starts_at=(clock.now() + timedelta(hours=1)).isoformat())
    await tick(app)
    clock.advance(timedelta(minutes=46))  # the room opens 15 minutes before the start
    await tick(app)
    for person in (s.teacher, s.students[0]):
        assert (await bell(api, person))["items"][0]["kind"] == "room_open"
    assert [n["kind"] for n in (await bell(api, s.parent))["items"]] == ["session_scheduled"]


async def test_a_failed_email_is_retried_then_kept_failed_and_can_be_sent_again(
    api: Api, app: FastAPI, clock: FrozenClock, mailbox: Mailbox
) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    mailbox.refuse_next = 100
    await new_session(api, s)
    await tick(app)
    (item,) = (await bell(api, student))["items"]
    assert item["email_status"] == "pending"
    assert item["email_attempts"] == 1
    assert "451" in item["email_error"]
    for _ in range(2):
        clock.advance(timedelta(hours=1))
        await tick(app)
    (item,) = (await bell(api, student))["items"]
    assert item["email_status"] == "failed"
    assert item["email_attempts"] == 3
    assert mailbox.to(student.email) == []
    # Still in the bell; once the mail server is back, the student asks for it again.
    mailbox.refuse_next = 0
    resent = ok(
        await api.client.post(f"{NOTIFICATIONS}/{item['id']}/resend", headers=student.headers)
    )
    assert resent["email_status"] == "pending"
    await tick(app)
    assert len(mailbox.to(student.email)) == 1
    assert (await bell(api, student))["items"][0]["email_status"] == "sent"
    assert_error(
        await api.client.post(f"{NOTIFICATIONS}/{item['id']}/resend", headers=student.headers),
        409,
        "not_failed",
    )
    assert_error(
        await api.client.post(f"{NOTIFICATIONS}/{item['id']}/resend", headers=s.teacher.headers),
        404,
        "not_found",
    )


async def test_muted_kinds_stay_out_of_the_inbox_or_the_bell(
    api: Api, app: FastAPI, mailbox: Mailbox
) -> None:
    s = await school(api, students=1)
    student = s.students[0]
    await speaks(api, student, "en")
    settings = ok(
        await api.client.put(
            "/api/v1/me/notification-settings",
            json={
                "kinds": [
                    {"kind": "session_scheduled", "email": False},
                    {"kind": "session_cancelled", "in_app": False},
                ]
            },
            headers=student.headers,
        )
    )
    chosen = {k["kind"]: (k["in_app"], k["email"]) for k in settings["kinds"]}
    assert chosen["session_scheduled"] == (True, False)
    assert chosen["session_cancelled"] == (False, True)
    assert chosen["reminder"] == (True, True)
    session = await new_session(api, s)
    await tick(app)
    ok(
        await api.client.post(
            f"{SESSIONS}/{session['id']}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
    )
    await tick(app)
    assert [m["Subject"] for m in mailbox.to(student.email)] == ["Class cancelled: Tajweed"]
    told = await bell(api, student)
    assert told["unread"] == 1  # the cancellation is kept, but born read
    statuses = {n["kind"]: n["email_status"] for n in told["items"]}
    assert statuses == {"session_scheduled": "muted", "session_cancelled": "sent"}
    assert_error(
        await api.client.put(
            "/api/v1/me/notification-settings",
            json={"kinds": [{"kind": "reminder"}, {"kind": "reminder", "email": False}]},
            headers=student.headers,
        ),
        422,
        "validation_error",
    )


async def test_reading_marks_only_ones_own_notifications(api: Api, app: FastAPI) -> None:
    s = await school(api, students=1)
    first = await new_session(api, s)
    await new_session(api, s, starts_at="2026-03-05T15:00:00+00:00")
    await tick(app)
    student_items = (await bell(api, s.students[0]))["items"]
    teacher_items = (await bell(api, s.teacher))["items"]
    assert first["id"] in {n["payload"]["session_id"] for n in student_items}
    marked = ok(
        await api.client.post(
            f"{NOTIFICATIONS}/read",
            json={"ids": [student_items[0]["id"], teacher_items[0]["id"]]},
            headers=s.students[0].headers,
        )
    )
    assert marked == {"marked": 1}
    assert ok(await api.client.get(f"{NOTIFICATIONS}/unread", headers=s.students[0].headers)) == {
        "unread": 1
    }
    assert (await bell(api, s.teacher))["unread"] == 2
    ok(await api.client.post(f"{NOTIFICATIONS}/read", json={}, headers=s.students[0].headers))
    assert (await bell(api, s.students[0], unread="true"))["items"] == []


async def test_without_a_mail_server_the_bell_still_rings(
    api: Api, app: FastAPI, settings: Settings, mailbox: Mailbox
) -> None:
    app.state.settings = settings.model_copy(update={"smtp_host": None})
    s = await school(api, students=1)
    await new_session(api, s)
    await tick(app)
    (item,) = (await bell(api, s.students[0]))["items"]
    assert item["email_status"] == "not_configured"
    assert mailbox.received == []


async def test_reminders_come_a_day_and_a_quarter_hour_before_once_each(
    api: Api, app: FastAPI, clock: FrozenClock, mailbox: Mailbox
) -> None:
    s = await school(api, students=2)
    await speaks(api, s.students[0], "en", "UTC")
    start = clock.now() + timedelta(days=2)
    await new_session(api, s, starts_at=start.isoformat())
    cancelled = await new_session(
        api, s, student_user_id=s.students[1].id, starts_at=(start + timedelta(hours=2)).isoformat()
    )
    ok(
        await api.client.post(
            f"{SESSIONS}/{cancelled['id']}/cancel", json={"reason": "ill"}, headers=s.admin.headers
        )
    )
    await tick(app)

    def reminders(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [n for n in items if n["kind"] == "reminder"]

    clock.set(start - timedelta(hours=24, minutes=1))
    await tick(app)
    assert reminders((await bell(api, s.students[0]))["items"]) == []
    clock.set(start - timedelta(hours=23, minutes=59))
    await tick(app)
    await tick(app)
    (day_before,) = reminders((await bell(api, s.students[0]))["items"])
    assert day_before["subject"] == "Reminder: Tajweed at Tuesday, March 3, 2026, 9:00\u202fAM"
    assert len(reminders((await bell(api, s.teacher))["items"])) == 1
    assert reminders((await bell(api, s.parent))["items"]) == []  # parents are told of changes
    assert reminders((await bell(api, s.students[1]))["items"]) == []  # cancelled: no reminder

    clock.set(start - timedelta(minutes=14))
    await tick(app)
    assert len(reminders((await bell(api, s.students[0]))["items"])) == 2
    clock.set(start + timedelta(minutes=5))
    await tick(app)
    assert len(reminders((await bell(api, s.students[0]))["items"])) == 2
    subjects = [m["Subject"] for m in mailbox.to(s.students[0].email)]
    assert subjects.count("Reminder: Tajweed at Tuesday, March 3, 2026, 9:00\u202fAM") == 2


async def test_an_academy_chooses_its_reminder_times(
    api: Api, app: FastAPI, clock: FrozenClock
) -> None:
    s = await school(api, students=1)
    ok(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/settings",
            json={"reminder_minutes": [60]},
            headers=s.admin.headers,
        )
    )
    start = clock.now() + timedelta(days=2)
    await new_session(api, s, starts_at=start.isoformat())
    await tick(app)
    for moment in (timedelta(hours=23), timedelta(minutes=59), timedelta(minutes=10)):
        clock.set(start - moment)
        await tick(app)
    items = (await bell(api, s.students[0]))["items"]
    assert [n["payload"]["minutes"] for n in items if n["kind"] == "reminder"] == [60]
    assert_error(
        await api.client.patch(
            f"/api/v1/academies/{SLUG}/settings",
            json={"reminder_minutes": [60, 60]},
            headers=s.admin.headers,
        ),
        422,
        "validation_error",
    )
