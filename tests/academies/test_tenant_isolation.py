"""Tenant isolation: no route under /api/v1/academies/{slug} lets one academy reach another's data.

The table ROUTES says how to call every such route and who may. It must list exactly the routes the
app serves there: a route added later without a row here makes
`test_every_academy_route_is_in_the_table` fail, so it cannot slip past these checks.

Two academies, alpha and bravo, are built the same way: a member with each single role, an API
key with each single role, a spare student, a parent–student link, a spare API key, a circle
taught by the teacher with the parent's child enrolled, and a scheduled individual session the
teacher gives that child. Everything bravo owns carries the marker
"secretbravo" (names, emails, key names) so an answer that leaks it is easy to spot; bravo's user
ids are also looked for in every `*user_id` field.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import update
from starlette.routing import Mount

from halaqa.academies.repository import AcademyRepository
from halaqa.config import Settings, WorkerMode
from halaqa.kit.clock import FrozenClock
from halaqa.main import create_app
from halaqa.models import ClassSession, LedgerFlag, SessionRecording, SessionRoom, WebhookDelivery
from halaqa.notifications.hooks_repository import HookRepository
from tests.api import Api, Person
from tests.conftest import SECRET
from tests.livekit import FakeLiveKit

PREFIX = "/api/v1/academies/{slug}"
ROLES = ("admin", "supervisor", "teacher", "student", "parent")
ALL = frozenset(ROLES)
ADMIN = frozenset({"admin"})
STAFF = frozenset({"admin", "supervisor"})

Values = dict[str, Any]


@dataclass
class Side:
    slug: str
    marker: str
    owner: Person  # the platform admin who created the academy; its first admin
    people: dict[str, Person]  # one member per role, holding only that role
    keys: dict[str, str]  # one API key per role
    spare: Person  # a student no route in the table is called by: the target of member routes
    guardianship_id: int  # people["parent"] linked to people["student"]
    spare_key_id: int  # the key DELETE /api-keys/{key_id} revokes
    group_id: int  # a circle people["teacher"] teaches
    enrollment_id: int  # people["student"] enrolled in it
    session_id: int  # scheduled: people["teacher"] teaches people["student"], a day ahead
    schedule_id: int  # weekly: people["teacher"] teaches people["student"], from FAR_DATE on
    holiday_id: int
    next_slot: datetime  # where the next session made for a call may start (see `slot`)
    user_ids: set[int] = field(default_factory=set)
    key_prefixes: set[str] = field(default_factory=set)
    booking_id: int = 0  # requested: people["student"] asks people["teacher"] for a slot
    recording_id: int = 0  # a finished recording of session_id
    absence_request_id: int = 0  # pending: people["student"] asks to be excused from a session
    flag_id: int = 0  # an open ledger flag: a charge of session_id held for an admin
    package_id: int = 0  # an individual package on offer
    subscription_id: int = 0  # active: people["student"] takes package_id with people["teacher"]
    live_session_id: int = 0  # on LiveKit, ongoing, its room open: see shared_live_session
    ending_session_id: int = 0  # on LiveKit, ended now (once): see session_to_end
    endpoint_id: int = 0  # an outbound webhook endpoint
    delivery_id: int = 0  # a failed delivery to it (so it can be sent again)

    def values(self) -> Values:
        """What the table's factories fill paths, queries and bodies with: this side's ids."""
        return {
            "slug": self.slug,
            "name": f"{self.marker} Academy",
            "user_id": self.spare.id,
            "email": self.spare.email,
            "guardianship_id": self.guardianship_id,
            "key_id": self.spare_key_id,
            "parent_user_id": self.people["parent"].id,
            "student_user_id": self.spare.id,
            "teacher_user_id": self.people["teacher"].id,
            "enrollee_user_id": self.people["student"].id,
            "group_id": self.group_id,
            "enrollment_id": self.enrollment_id,
            "session_id": self.session_id,
            "schedule_id": self.schedule_id,
            "holiday_id": self.holiday_id,
            "booking_id": self.booking_id,
            "recording_id": self.recording_id,
            "request_id": self.absence_request_id,
            "flag_id": self.flag_id,
            "package_id": self.package_id,
            "subscription_id": self.subscription_id,
            "cycle_number": 1,
            "endpoint_id": self.endpoint_id,
            "delivery_id": self.delivery_id,
        }

    def ids(self) -> Values:
        """The ids (and email) in `values` that name this side's resources."""
        values = self.values()
        del values["slug"], values["name"]
        return values


async def build_side(api: Api, slug: str, marker: str) -> Side:
    owner = await api.user(f"owner.{marker}@example.com", platform_admin=True)
    await api.academy(slug, owner, name=f"{marker} Academy")

    async def add(role: str, label: str) -> Person:
        return await api.member(
            slug, owner, role, email=f"{label}.{marker}@example.com", name=f"{marker} {label}"
        )

    people = {role: await add(role, role) for role in ROLES}
    spare = await add("student", "spare")
    response = await api.client.post(
        f"/api/v1/academies/{slug}/guardianships",
        json={"parent_user_id": people["parent"].id, "student_user_id": people["student"].id},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    guardianship_id = response.json()["id"]

    keys: dict[str, str] = {}
    prefixes: set[str] = set()
    spare_key_id = 0
    for role in (*ROLES, "spare"):
        response = await api.client.post(
            f"/api/v1/academies/{slug}/api-keys",
            json={"name": f"{marker} {role} key", "roles": ["admin" if role == "spare" else role]},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
        prefixes.add(response.json()["prefix"])
        if role == "spare":
            spare_key_id = response.json()["id"]
        else:
            keys[role] = response.json()["key"]
    group_id = await new_group(api, slug, owner, people["teacher"].id, "circle", f"{marker} circle")
    enrollment_id = await new_enrollment(api, slug, owner, group_id, people["student"].id)
    starts_at = clock_of(api).now() + timedelta(days=1)
    session_id = await new_session(api, slug, owner, people, marker, starts_at)
    schedule_id = await new_schedule(api, slug, owner, people, marker)
    holiday_id = await new_holiday(api, slug, owner, marker)
    side = Side(
        slug=slug,
        marker=marker,
        owner=owner,
        people=people,
        keys=keys,
        spare=spare,
        guardianship_id=guardianship_id,
        spare_key_id=spare_key_id,
        group_id=group_id,
        enrollment_id=enrollment_id,
        session_id=session_id,
        schedule_id=schedule_id,
        holiday_id=holiday_id,
        next_slot=starts_at + SLOT,
        user_ids={owner.id, spare.id, *(p.id for p in people.values())},
        key_prefixes=prefixes,
    )
    side.booking_id = (await fresh_booking(api, side))["booking_id"]
    side.recording_id = await finished_recording(api, side)
    side.absence_request_id = await ask_absence(api, side, side.session_id)
    side.flag_id = await held_charge(api, side, side.session_id)
    side.package_id = await new_package(api, side)
    side.subscription_id = (await fresh_active_subscription(api, side))["subscription_id"]
    hook = await fresh_failed_delivery(api, side)
    side.endpoint_id, side.delivery_id = hook["endpoint_id"], hook["delivery_id"]
    return side


async def fresh_endpoint(api: Api, side: Side) -> Values:
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/webhooks",
        json={"url": "https://hooks.example.org/halaqa", "events": ["session.scheduled"]},
        headers=side.owner.headers,
    )
    assert response.status_code == 201, response.text
    return {"endpoint_id": response.json()["id"]}


async def fresh_failed_delivery(api: Api, side: Side) -> Values:
    """An endpoint with a delivery that gave up (written as the job leaves it)."""
    endpoint_id = (await fresh_endpoint(api, side))["endpoint_id"]
    async with api.database.transaction() as session:
        academy_id = (await AcademyRepository(session).by_slug(side.slug)).id  # type: ignore[union-attr]
        delivery = await HookRepository(session, academy_id).add_delivery(
            WebhookDelivery(
                academy_id=academy_id,
                endpoint_id=endpoint_id,
                event_id=f"evt_{next(_unique)}",
                event_type="session.scheduled",
                payload={"type": "session.scheduled"},
                status="failed",
                attempts=8,
                created_at=clock_of(api).now(),
            )
        )
    return {"endpoint_id": endpoint_id, "delivery_id": delivery.id}


async def new_group(
    api: Api, slug: str, admin: Person, teacher_id: int, kind: str, name: str
) -> int:
    """A group made through the API; courses are published, so they take students."""
    groups = f"/api/v1/academies/{slug}/groups"
    response = await api.client.post(
        groups,
        json={"kind": kind, "name": name, "teacher_user_id": teacher_id},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    group_id: int = response.json()["id"]
    if kind != "circle":
        response = await api.client.post(
            f"{groups}/{group_id}/status", json={"status": "published"}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
    return group_id


async def new_enrollment(api: Api, slug: str, admin: Person, group_id: int, student_id: int) -> int:
    response = await api.client.post(
        f"/api/v1/academies/{slug}/groups/{group_id}/enrollments",
        json={"student_user_id": student_id},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    enrollment_id: int = response.json()["id"]
    return enrollment_id


SLOT = timedelta(hours=2)  # a session's hour, and a free hour before the next one
LESSON_MINUTES = 60


def clock_of(api: Api) -> FrozenClock:
    clock: FrozenClock = api.app.state.clock  # the `clock` fixture the app was made with
    return clock


async def new_session(
    api: Api, slug: str, admin: Person, people: dict[str, Person], marker: str, starts_at: datetime
) -> int:
    """A scheduled individual session: people["teacher"] teaches people["student"]."""
    response = await api.client.post(
        f"/api/v1/academies/{slug}/sessions",
        json={
            "kind": "individual",
            "title": f"{marker} lesson",
            "teacher_user_id": people["teacher"].id,
            "student_user_id": people["student"].id,
            "starts_at": starts_at.isoformat(),
            "duration_minutes": LESSON_MINUTES,
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    session_id: int = response.json()["id"]
    return session_id


# Schedules start far beyond the booking horizon, so they book nothing and never clash.
FAR_DATE = "2031-01-06"


def schedule_body(v: Values) -> dict[str, Any]:
    return {
        "kind": "individual",
        "title": f"Weekly {next(_unique)}",
        "teacher_user_id": v["teacher_user_id"],
        "student_user_id": v["enrollee_user_id"],
        "slots": [{"weekday": 0, "start": "17:00"}],
        "duration_minutes": LESSON_MINUTES,
        "starts_on": FAR_DATE,
    }


async def new_schedule(
    api: Api, slug: str, admin: Person, people: dict[str, Person], marker: str
) -> int:
    values = {"teacher_user_id": people["teacher"].id, "enrollee_user_id": people["student"].id}
    response = await api.client.post(
        f"/api/v1/academies/{slug}/schedules",
        json={**schedule_body(values), "title": f"{marker} weekly"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    schedule_id: int = response.json()["schedule"]["id"]
    return schedule_id


async def new_holiday(api: Api, slug: str, admin: Person, marker: str) -> int:
    response = await api.client.post(
        f"/api/v1/academies/{slug}/holidays",
        json={"name": f"{marker} day {next(_unique)}", "starts_on": "2031-06-01"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    holiday_id: int = response.json()["holiday"]["id"]
    return holiday_id


async def finished_recording(api: Api, side: Side) -> int:
    """A recording of the side's session LiveKit finished earlier (kept as its egress_ended
    webhook leaves it), its file named with the side's marker so an answer leaking it shows."""
    async with api.database.transaction() as db:
        session = await db.get(ClassSession, side.session_id)
        assert session is not None
        recording = SessionRecording(
            academy_id=session.academy_id,
            session_id=session.id,
            egress_id=f"EG_{side.marker}",
            status="complete",
            started_by_user_id=side.people["teacher"].id,
            started_at=clock_of(api).now(),
            ended_at=clock_of(api).now(),
            location=f"s3://recordings/{side.marker}/lesson.mp4",
            duration_seconds=60,
            size_bytes=1024,
        )
        db.add(recording)
        await db.flush()
        return recording.id


@dataclass
class World:
    alpha: Side
    bravo: Side


async def build_world(api: Api) -> World:
    return World(
        alpha=await build_side(api, "alpha", "secretalpha"),
        bravo=await build_side(api, "bravo", "secretbravo"),
    )


# --- how to call every route -------------------------------------------------------------------

_unique = itertools.count(1)


def no_body(_: Values) -> None:
    return None


def no_query(_: Values) -> dict[str, Any]:
    return {}


async def fresh_student(api: Api, side: Side) -> Values:
    """A student not linked to anyone yet, so linking them succeeds."""
    student = await api.member(side.slug, side.owner, "student")
    return {"student_user_id": student.id}


async def fresh_link(api: Api, side: Side) -> Values:
    """A link of its own, so unlinking it succeeds."""
    student = await api.member(side.slug, side.owner, "student")
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/guardianships",
        json={"parent_user_id": side.people["parent"].id, "student_user_id": student.id},
        headers=side.owner.headers,
    )
    assert response.status_code == 201, response.text
    return {"guardianship_id": response.json()["id"]}


async def fresh_draft_course(api: Api, side: Side) -> Values:
    """A course of its own still in draft, so publishing it succeeds."""
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/groups",
        json={"kind": "course", "name": "Draft", "teacher_user_id": side.people["teacher"].id},
        headers=side.owner.headers,
    )
    assert response.status_code == 201, response.text
    return {"group_id": response.json()["id"]}


async def fresh_open_course(api: Api, side: Side) -> Values:
    """A published course the side's student is not in, so enrolling them (or their own
    request) succeeds."""
    teacher = side.people["teacher"].id
    return {"group_id": await new_group(api, side.slug, side.owner, teacher, "course", "Open")}


async def fresh_enrollment(api: Api, side: Side) -> Values:
    """The side's student enrolled in a course of its own, so cancelling it succeeds."""
    values = await fresh_open_course(api, side)
    student = side.people["student"].id
    values["enrollment_id"] = await new_enrollment(
        api, side.slug, side.owner, values["group_id"], student
    )
    return values


PACKAGES = f"{PREFIX}/packages"
PACKAGE = f"{PACKAGES}/{{package_id}}"
SUBSCRIPTIONS = f"{PREFIX}/subscriptions"
SUBSCRIPTION = f"{SUBSCRIPTIONS}/{{subscription_id}}"
# Subscriptions made for a call begin in the past and end, and pause, far ahead: any clock the
# table's walk leaves is inside them, and a pause then suspends none of the side's sessions.
PAUSE_DAYS = {"starts_on": "2030-01-07", "ends_on": "2030-01-13"}


def package_body(v: Values) -> dict[str, Any]:
    return {
        "name": f"{v['name']} package {next(_unique)}",
        "kind": "individual",
        "sessions_per_cycle": 8,
        "session_minutes": LESSON_MINUTES,
    }


def subscription_body(v: Values) -> dict[str, Any]:
    """The side's student takes the side's package with the side's teacher."""
    return {
        "package_id": v["package_id"],
        "student_user_id": v["enrollee_user_id"],
        "teacher_user_id": v["teacher_user_id"],
        "starts_on": "2026-01-01",
        "ends_on": "2030-12-31",
    }


async def new_package(api: Api, side: Side) -> int:
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/packages",
        json=package_body(side.values()),
        headers=side.owner.headers,
    )
    assert response.status_code == 201, response.text
    package_id: int = response.json()["id"]
    return package_id


async def fresh_pending_subscription(api: Api, side: Side) -> Values:
    """A subscription of its own, not yet active, so activating it succeeds."""
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/subscriptions",
        json=subscription_body(side.values()),
        headers=side.owner.headers,
    )
    assert response.status_code == 201, response.text
    return {"subscription_id": response.json()["id"]}


async def subscription_action(api: Api, side: Side, values: Values, action: str) -> None:
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/subscriptions/{values['subscription_id']}/{action}",
        json=PAUSE_DAYS if action == "pause" else {},
        headers=side.owner.headers,
    )
    assert response.status_code == 200, response.text


async def fresh_active_subscription(api: Api, side: Side) -> Values:
    """An active subscription of its own, so pausing, cancelling or renewing it succeeds."""
    values = await fresh_pending_subscription(api, side)
    await subscription_action(api, side, values, "activate")
    return values


async def fresh_paused_subscription(api: Api, side: Side) -> Values:
    """A paused subscription of its own, so resuming it succeeds."""
    values = await fresh_active_subscription(api, side)
    await subscription_action(api, side, values, "pause")
    return values


# Sessions made for a call all book the side's teacher and student, so each gets a time of its
# own: the side's next free slot, never earlier than just after now. The calls that need the clock
# inside a session (start, complete, mark absent) move the shared clock forward to its start, and
# later slots follow it; the tokens live far longer than the few days this moves the clock.


def slot(api: Api, side: Side) -> datetime:
    starts_at = max(side.next_slot, clock_of(api).now() + timedelta(minutes=30))
    side.next_slot = starts_at + SLOT
    return starts_at


async def fresh_slot(api: Api, side: Side) -> Values:
    """A free time for the side's teacher and student, so scheduling them does not clash."""
    return {"starts_at": slot(api, side).isoformat()}


# The side's teacher offers every day 00:00–23:59 UTC for bookings; a booking takes a slot of the
# same sequence as the sessions (so confirming it never clashes), one far enough from now for the
# academy's notice and not running past 23:59.
ALL_DAY = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]


def availability_body(_: Values) -> dict[str, Any]:
    return {"time_zone": "UTC", "windows": ALL_DAY}


async def fresh_booking_slot(api: Api, side: Side) -> Values:
    """A bookable time for the side's teacher and student, the teacher's week published."""
    response = await api.client.put(
        f"/api/v1/academies/{side.slug}/teachers/{side.people['teacher'].id}/availability",
        json=availability_body({}),
        headers=side.owner.headers,
    )
    assert response.status_code == 200, response.text
    starts_at = slot(api, side)
    while starts_at < clock_of(api).now() + timedelta(hours=3) or starts_at.hour >= 22:
        starts_at = slot(api, side)
    return {"booking_starts_at": starts_at.isoformat()}


def booking_body(v: Values) -> dict[str, Any]:
    """The side's student asks the side's teacher; refused calls get no fresh time, and any will
    do for them."""
    return {
        "teacher_user_id": v["teacher_user_id"],
        "student_user_id": v["enrollee_user_id"],
        "starts_at": v.get("booking_starts_at", "2026-06-01T09:00:00+00:00"),
        "duration_minutes": LESSON_MINUTES,
    }


async def fresh_booking(api: Api, side: Side) -> Values:
    """A request of its own, asked by the owner for the side's student, so answering or
    withdrawing it succeeds."""
    values = side.values() | await fresh_booking_slot(api, side)
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/bookings",
        json=booking_body(values),
        headers=side.owner.headers,
    )
    assert response.status_code == 201, response.text
    return {"booking_id": response.json()["id"]}


async def fresh_movable_session(api: Api, side: Side) -> Values:
    """A scheduled session of its own and a free time to move it to."""
    return {**(await fresh_session(api, side)), "new_starts_at": slot(api, side).isoformat()}


def reschedule_body(v: Values) -> dict[str, Any]:
    # Refused calls get no fresh values; any future time does for them.
    return {"starts_at": v.get("new_starts_at", "2030-01-06T09:00:00+00:00"), "reason": "moved"}


async def fresh_session(api: Api, side: Side) -> Values:
    """A scheduled session of its own, so cancelling it succeeds."""
    starts_at = slot(api, side)
    return {
        "session_id": await new_session(
            api, side.slug, side.owner, side.people, side.marker, starts_at
        )
    }


async def fresh_attendee(api: Api, side: Side) -> Values:
    """A session of its own and its student, whose attendance is then the caller's to set."""
    return {**(await fresh_session(api, side)), "user_id": side.people["student"].id}


async def fresh_marked_attendee(api: Api, side: Side) -> Values:
    """A session of its own beginning now, and its student: a stay in the hour before it may be
    marked (refused calls get the fallback time; they are refused before it matters)."""
    values = await fresh_startable_session(api, side)
    return {**values, "user_id": side.people["student"].id, "now": clock_of(api).now()}


def presence_mark_body(v: Values) -> dict[str, Any]:
    """Ten minutes of the hour before the session, which is now."""
    now = v.get("now", datetime(2030, 1, 6, 9, tzinfo=UTC))
    return {
        "user_id": v["user_id"],
        "from": (now - timedelta(minutes=20)).isoformat(),
        "to": (now - timedelta(minutes=10)).isoformat(),
        "note": "joined by phone",
    }


async def fresh_completed_session(api: Api, side: Side) -> Values:
    """A session the owner started and completed, so reopening it succeeds."""
    values = await fresh_ongoing_session(api, side)
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/sessions/{values['session_id']}/complete",
        json={},
        headers=side.owner.headers,
    )
    assert response.status_code == 200, response.text
    return values


async def held_charge(api: Api, side: Side, session_id: int) -> int:
    """An open ledger flag for the session's student, as the ledger leaves one when a cycle has
    no session left (made directly: the point here is who may see and decide it)."""
    async with api.database.transaction() as db:
        session = await db.get(ClassSession, session_id)
        assert session is not None
        flag = LedgerFlag(
            academy_id=session.academy_id,
            session_id=session_id,
            student_user_id=side.people["student"].id,
            reason="quota_exhausted",
            status="open",
        )
        db.add(flag)
        await db.flush()
        return flag.id


async def fresh_flag(api: Api, side: Side) -> Values:
    """An open flag of its own (for a session of its own), so deciding it succeeds."""
    values = await fresh_session(api, side)
    return values | {"flag_id": await held_charge(api, side, values["session_id"])}


async def ask_absence(api: Api, side: Side, session_id: int) -> int:
    """The side's student asks to be excused from the session."""
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/sessions/{session_id}/absence-requests",
        json={"reason": "family wedding"},
        headers=side.people["student"].headers,
    )
    assert response.status_code == 201, response.text
    request_id: int = response.json()["id"]
    return request_id


async def fresh_absence_request(api: Api, side: Side) -> Values:
    """A session of its own the side's student asked to be excused from, so deciding or
    withdrawing the request succeeds."""
    values = await fresh_session(api, side)
    return values | {"request_id": await ask_absence(api, side, values["session_id"])}


async def fresh_owed_makeup(api: Api, side: Side) -> Values:
    """A session of its own cancelled by staff (a make-up is owed), and a free time for it."""
    values = await fresh_session(api, side)
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/sessions/{values['session_id']}/cancel",
        json={"reason": "teacher ill"},
        headers=side.owner.headers,
    )
    assert response.status_code == 200, response.text
    return {**values, "new_starts_at": slot(api, side).isoformat()}


def makeup_body(v: Values) -> dict[str, Any]:
    return {"starts_at": v.get("new_starts_at", "2030-01-06T09:00:00+00:00")}


async def fresh_schedule(api: Api, side: Side) -> Values:
    """A schedule of its own, so changing or cancelling it succeeds."""
    return {"schedule_id": await new_schedule(api, side.slug, side.owner, side.people, "fresh")}


async def fresh_holiday(api: Api, side: Side) -> Values:
    return {"holiday_id": await new_holiday(api, side.slug, side.owner, "fresh")}


async def fresh_joinable_session(api: Api, side: Side) -> Values:
    """A session at its start, in an academy meeting by Jitsi links, so joining it succeeds."""
    response = await api.client.put(
        f"/api/v1/academies/{side.slug}/meeting-provider",
        json={"provider": "link", "jitsi_base_url": "https://meet.example.org"},
        headers=side.owner.headers,
    )
    assert response.status_code == 200, response.text
    return await fresh_startable_session(api, side)


async def fresh_startable_session(api: Api, side: Side) -> Values:
    """A scheduled session with the clock at its start, inside the teacher's join window."""
    starts_at = slot(api, side)
    values = {
        "session_id": await new_session(
            api, side.slug, side.owner, side.people, side.marker, starts_at
        )
    }
    clock_of(api).set(starts_at)
    return values


async def fresh_ongoing_session(api: Api, side: Side) -> Values:
    """A session started by the owner at its start, so completing it (or marking its student
    absent) succeeds."""
    values = await fresh_startable_session(api, side)
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/sessions/{values['session_id']}/start",
        json={},
        headers=side.owner.headers,
    )
    assert response.status_code == 200, response.text
    return values


async def fresh_report_target(api: Api, side: Side) -> Values:
    """A session of its own under way, and its student, so writing their report succeeds."""
    values = await fresh_ongoing_session(api, side)
    return {**values, "student_user_id": side.people["student"].id}


async def the_sides_student(api: Api, side: Side) -> Values:
    """The side's student (of its session): their reports are the ones to read."""
    return {"student_user_id": side.people["student"].id}


# The LiveKit stand-in the sessions of the recording, screen-share, mute, remove and end-now rows
# meet on: one for the whole module (its rooms have unguessable names, so the tests never meet
# each other).
_LIVEKIT: list[FakeLiveKit] = []


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Rows book sessions two hours apart and move the clock to each: the logins made at the
    # start must outlive the walk through the whole table.
    return settings.model_copy(update={"token_ttl_hours": 24 * 90})


@pytest.fixture(scope="module", autouse=True)
def livekit_server() -> Iterator[None]:
    with FakeLiveKit() as server:
        _LIVEKIT.append(server)
        yield
        _LIVEKIT.remove(server)


async def on_livekit(api: Api, side: Side) -> None:
    """The side's academy meets on the stand-in LiveKit and keeps recordings as files."""
    [livekit] = _LIVEKIT
    response = await api.client.put(
        f"/api/v1/academies/{side.slug}/meeting-provider",
        json={
            "provider": "livekit",
            "livekit_url": livekit.url,
            "livekit_api_key": livekit.api_key,
            "livekit_api_secret": livekit.api_secret,
            "recordings": {"path_prefix": "isolation"},
        },
        headers=side.owner.headers,
    )
    assert response.status_code == 200, response.text


async def fresh_live_session(api: Api, side: Side) -> Values:
    """A session of its own on LiveKit, started by the owner, its room open (the owner joined
    it)."""
    await on_livekit(api, side)
    values = await fresh_ongoing_session(api, side)
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/sessions/{values['session_id']}/join",
        headers=side.owner.headers,
    )
    assert response.status_code == 200, response.text
    return values


async def shared_live_session(api: Api, side: Side) -> Values:
    """The side's one live session on LiveKit (made at its first use), with no recording
    running, so recording it or letting its students share screens succeeds. One for every call
    (not one each): each new session moves the shared clock on, towards the tokens' expiry."""
    if side.live_session_id:
        await on_livekit(api, side)
    else:
        side.live_session_id = (await fresh_live_session(api, side))["session_id"]
    # LiveKit finished the recordings made so far (as their egress_ended webhooks leave them),
    # so one more may start.
    async with api.database.transaction() as db:
        await db.execute(
            update(SessionRecording)
            .where(
                SessionRecording.session_id == side.live_session_id,
                SessionRecording.status.in_(("starting", "active", "ending")),
            )
            .values(status="complete")
        )
    return {"session_id": side.live_session_id}


async def session_to_end(api: Api, side: Side) -> Values:
    """The side's session to end now (made at its first use): live, its room open, for the first
    call, which ends it and closes the room; ended already for the calls after it, which ending
    again leaves as it is (still a 200: there is nothing left to close). One for every call, as
    in shared_live_session."""
    if not side.ending_session_id:
        side.ending_session_id = (await fresh_live_session(api, side))["session_id"]
    return {"session_id": side.ending_session_id}


async def student_in_room(api: Api, side: Side) -> Values:
    """The side's student in the room of its live session, their microphone on, so muting or
    removing them succeeds."""
    values = await shared_live_session(api, side)
    async with api.database.transaction() as db:
        room = await db.get(SessionRoom, values["session_id"])
        assert room is not None
        room_name = room.room_name
    [livekit] = _LIVEKIT
    student = side.people["student"].id
    sid = livekit.join(room_name, f"user-{student}")
    livekit.publish_track(room_name, sid, source="MICROPHONE")
    return {**values, "user_id": student}


async def fresh_recording(api: Api, side: Side) -> Values:
    """A recording running in the side's live session, so stopping it succeeds."""
    values = await shared_live_session(api, side)
    response = await api.client.post(
        f"/api/v1/academies/{side.slug}/sessions/{values['session_id']}/recordings",
        headers=side.owner.headers,
    )
    assert response.status_code == 201, response.text
    return {**values, "recording_id": response.json()["id"]}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: frozenset[str]  # the roles that may call it (members and API keys alike)
    ok: int  # the status of a successful call
    # When alpha's admin calls it under alpha with bravo's ids: the status and error code.
    foreign: tuple[int, str | None]
    body: Callable[[Values], Any] = no_body
    query: Callable[[Values], dict[str, Any]] = no_query
    # Makes what one more successful call consumes (a free student, a link to remove).
    fresh: Callable[[Api, Side], Awaitable[Values]] | None = None
    # Allowed roles that reach the route's data only as a person. An API key holding just one of
    # them acts for nobody, so the viewer scoping shows it nothing: 404, as for another academy.
    people_only: frozenset[str] = frozenset()
    # Allowed roles the route lets in but its own rules then refuse: (role, by API key) -> the
    # answer (a session's student may see it but not cancel it; a teacher key teaches nobody).
    refusals: dict[tuple[str, bool], tuple[int, str | None]] = field(default_factory=dict)

    def expected(self, role: str, by_key: bool) -> tuple[int, str | None]:
        """What a call by a holder of `role` (an allowed one) answers."""
        if (role, by_key) in self.refusals:
            return self.refusals[(role, by_key)]
        if by_key and role in self.people_only:
            return MISSING
        return (self.ok, None)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def member_body(_: Values) -> dict[str, Any]:
    n = next(_unique)
    return {"email": f"new{n}@example.com", "name": f"New {n}", "roles": ["student"]}


def group_body(v: Values) -> dict[str, Any]:
    return {
        "kind": "circle",
        "name": f"Circle {next(_unique)}",
        "teacher_user_id": v["teacher_user_id"],
    }


def session_body(v: Values) -> dict[str, Any]:
    """An individual session of the side's teacher and student, at a free slot when the call has
    one (`fresh_slot`); the calls that are refused anyway leave it unscheduled."""
    body: dict[str, Any] = {
        "kind": "individual",
        "title": f"Lesson {next(_unique)}",
        "teacher_user_id": v["teacher_user_id"],
        "student_user_id": v["enrollee_user_id"],
        "duration_minutes": LESSON_MINUTES,
    }
    if "starts_at" in v:
        body["starts_at"] = v["starts_at"]
    return body


OK_NO_ID: tuple[int, str | None] = (200, None)
MISSING: tuple[int, str | None] = (404, "not_found")
NOT_STAFF = ALL - STAFF
STUDENT = frozenset({"student"})
TEACHER = frozenset({"teacher"})
PARENT = frozenset({"parent"})
SESSIONS = f"{PREFIX}/sessions"
SESSION = f"{SESSIONS}/{{session_id}}"
TEACHER_PATH = f"{PREFIX}/teachers/{{teacher_user_id}}"
BOOKINGS = f"{PREFIX}/bookings"
BOOKING = f"{BOOKINGS}/{{booking_id}}"
# Only a session's teacher and the staff change its status; its student and the parent see it.
NOT_ALLOWED: tuple[int, str | None] = (403, "not_allowed")
WATCHERS_REFUSED = {("student", False): NOT_ALLOWED, ("parent", False): NOT_ALLOWED}

ROUTES: list[Route] = [
    Route("GET", PREFIX, ALL, 200, OK_NO_ID),
    Route("PATCH", PREFIX, ADMIN, 200, OK_NO_ID, body=lambda v: {"name": v["name"]}),
    Route("GET", f"{PREFIX}/settings", ADMIN, 200, OK_NO_ID),
    Route(
        "PATCH",
        f"{PREFIX}/settings",
        ADMIN,
        200,
        OK_NO_ID,
        body=lambda _: {"late_after_minutes": 10},
    ),
    # Searching for another academy's member finds nobody.
    Route("GET", f"{PREFIX}/members", STAFF, 200, OK_NO_ID, query=lambda v: {"q": v["email"]}),
    Route("POST", f"{PREFIX}/members", ADMIN, 201, (201, None), body=member_body),
    Route("GET", f"{PREFIX}/members/{{user_id}}", STAFF, 200, MISSING),
    Route(
        "PATCH",
        f"{PREFIX}/members/{{user_id}}",
        ADMIN,
        200,
        MISSING,
        body=lambda _: {"roles": ["student"]},
    ),
    Route(
        "GET",
        f"{PREFIX}/guardianships",
        STAFF,
        200,
        OK_NO_ID,
        query=lambda v: {"parent_user_id": v["parent_user_id"]},
    ),
    Route(
        "POST",
        f"{PREFIX}/guardianships",
        ADMIN,
        201,
        (422, "validation_error"),
        body=lambda v: {
            "parent_user_id": v["parent_user_id"],
            "student_user_id": v["student_user_id"],
        },
        fresh=fresh_student,
    ),
    Route(
        "DELETE",
        f"{PREFIX}/guardianships/{{guardianship_id}}",
        ADMIN,
        204,
        MISSING,
        fresh=fresh_link,
    ),
    Route("GET", f"{PREFIX}/api-keys", ADMIN, 200, OK_NO_ID),
    Route(
        "POST",
        f"{PREFIX}/api-keys",
        ADMIN,
        201,
        (201, None),
        # Only roles the caller holds: an admin key may not mint a teacher key.
        body=lambda _: {"name": "made in a test", "roles": ["admin"]},
    ),
    Route("DELETE", f"{PREFIX}/api-keys/{{key_id}}", ADMIN, 200, MISSING),
    Route("GET", f"{PREFIX}/audit-log", ADMIN, 200, OK_NO_ID),
    # Filtering by another academy's teacher finds nothing.
    Route(
        "GET",
        f"{PREFIX}/groups",
        ALL,
        200,
        OK_NO_ID,
        query=lambda v: {"teacher_user_id": v["teacher_user_id"]},
    ),
    # Another academy's teacher is nobody here.
    Route("POST", f"{PREFIX}/groups", STAFF, 201, (422, "validation_error"), body=group_body),
    Route("GET", f"{PREFIX}/groups/{{group_id}}", ALL, 200, MISSING, people_only=NOT_STAFF),
    Route(
        "PATCH",
        f"{PREFIX}/groups/{{group_id}}",
        STAFF,
        200,
        MISSING,
        body=lambda v: {"description": v["name"]},
    ),
    Route(
        "POST",
        f"{PREFIX}/groups/{{group_id}}/status",
        STAFF,
        200,
        MISSING,
        body=lambda _: {"status": "published"},
        fresh=fresh_draft_course,
    ),
    Route(
        "GET",
        f"{PREFIX}/groups/{{group_id}}/enrollments",
        ALL,
        200,
        MISSING,
        people_only=NOT_STAFF,
    ),
    # Students ask for a place for themselves: the body names the side's student, who calls it.
    Route(
        "POST",
        f"{PREFIX}/groups/{{group_id}}/enrollments",
        STAFF | STUDENT,
        201,
        MISSING,
        body=lambda v: {"student_user_id": v["enrollee_user_id"]},
        fresh=fresh_open_course,
        people_only=STUDENT,
    ),
    Route(
        "PATCH",
        f"{PREFIX}/groups/{{group_id}}/enrollments/{{enrollment_id}}",
        STAFF | STUDENT,
        200,
        MISSING,
        body=lambda _: {"status": "cancelled"},
        fresh=fresh_enrollment,
        people_only=STUDENT,
    ),
    # Packages are nobody's own: every member reads those on offer, the staff write them.
    Route("GET", PACKAGES, ALL, 200, OK_NO_ID),
    Route("POST", PACKAGES, STAFF, 201, (201, None), body=package_body),
    Route("GET", PACKAGE, ALL, 200, MISSING),
    Route("PATCH", PACKAGE, STAFF, 200, MISSING, body=lambda _: {"session_minutes": 45}),
    # Staff subscribe students and change subscriptions (another academy's package and people
    # are nobody here); a student sees their own, a parent their child's, a teacher those with
    # them; filtering by another academy's teacher finds nothing.
    Route(
        "GET",
        SUBSCRIPTIONS,
        ALL,
        200,
        OK_NO_ID,
        query=lambda v: {"teacher_user_id": v["teacher_user_id"]},
    ),
    Route("POST", SUBSCRIPTIONS, STAFF, 201, (422, "validation_error"), body=subscription_body),
    Route("GET", SUBSCRIPTION, ALL, 200, MISSING, people_only=NOT_STAFF),
    Route(
        "POST",
        f"{SUBSCRIPTION}/activate",
        STAFF,
        200,
        MISSING,
        fresh=fresh_pending_subscription,
    ),
    Route(
        "POST",
        f"{SUBSCRIPTION}/pause",
        STAFF,
        200,
        MISSING,
        body=lambda _: PAUSE_DAYS,
        fresh=fresh_active_subscription,
    ),
    Route(
        "POST",
        f"{SUBSCRIPTION}/resume",
        STAFF,
        200,
        MISSING,
        fresh=fresh_paused_subscription,
    ),
    Route(
        "POST",
        f"{SUBSCRIPTION}/cancel",
        STAFF,
        200,
        MISSING,
        body=lambda _: {"reason": "moved away"},
        fresh=fresh_active_subscription,
    ),
    Route(
        "POST",
        f"{SUBSCRIPTION}/renew",
        STAFF,
        200,
        MISSING,
        body=lambda _: {"ends_on": "2031-12-31"},
        fresh=fresh_active_subscription,
    ),
    Route(
        "PUT",
        f"{SUBSCRIPTION}/cycles/{{cycle_number}}/payment",
        STAFF,
        200,
        MISSING,
        body=lambda _: {"status": "paid", "note": "cash"},
    ),
    # Any member lists sessions; each sees those they take part in (an API key without a staff
    # role, none), and filtering by another academy's teacher finds nothing.
    Route(
        "GET",
        SESSIONS,
        ALL,
        200,
        OK_NO_ID,
        query=lambda v: {"teacher_user_id": v["teacher_user_id"]},
    ),
    # Teachers schedule themselves (the body names the side's teacher); a teacher key is nobody.
    # Another academy's teacher and student are nobody here.
    Route(
        "POST",
        SESSIONS,
        STAFF | TEACHER,
        201,
        (422, "validation_error"),
        body=session_body,
        fresh=fresh_slot,
        refusals={("teacher", True): (403, "role_required")},
    ),
    # The side's teacher, student and parent all take part in the side's session.
    Route("GET", SESSION, ALL, 200, MISSING, people_only=NOT_STAFF),
    Route("GET", f"{SESSION}/history", ALL, 200, MISSING, people_only=NOT_STAFF),
    Route(
        "POST",
        f"{SESSION}/cancel",
        ALL,
        200,
        MISSING,
        body=lambda _: {"reason": "ill"},
        fresh=fresh_session,
        # The student of an individual session, and their parent, may cancel it too.
        people_only=NOT_STAFF,
    ),
    Route(
        "POST",
        f"{SESSION}/makeup",
        ALL,
        201,
        MISSING,
        body=makeup_body,
        fresh=fresh_owed_makeup,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "GET",
        f"{PREFIX}/makeups",
        ALL,
        200,
        OK_NO_ID,
        query=lambda v: {"teacher_user_id": v["teacher_user_id"]},
    ),
    Route(
        "GET",
        f"{PREFIX}/schedules",
        ALL,
        200,
        OK_NO_ID,
        query=lambda v: {"teacher_user_id": v["teacher_user_id"]},
    ),
    # Teachers schedule themselves (a teacher key is nobody); another academy's people are
    # nobody here.
    Route(
        "POST",
        f"{PREFIX}/schedules",
        STAFF | TEACHER,
        201,
        (422, "validation_error"),
        body=schedule_body,
        refusals={("teacher", True): (403, "role_required")},
    ),
    Route(
        "POST",
        f"{PREFIX}/schedule-preview",
        STAFF | TEACHER,
        200,
        (422, "validation_error"),
        body=schedule_body,
        refusals={("teacher", True): (403, "role_required")},
    ),
    Route("GET", f"{PREFIX}/schedules/{{schedule_id}}", ALL, 200, MISSING, people_only=NOT_STAFF),
    Route(
        "POST",
        f"{PREFIX}/schedules/{{schedule_id}}/change",
        STAFF | TEACHER,
        201,
        MISSING,
        body=lambda _: {"from_date": FAR_DATE, "reason": "new term", "duration_minutes": 45},
        fresh=fresh_schedule,
        people_only=TEACHER,
    ),
    Route(
        "POST",
        f"{PREFIX}/schedules/{{schedule_id}}/cancel",
        STAFF | TEACHER,
        200,
        MISSING,
        body=lambda _: {"reason": "term over"},
        fresh=fresh_schedule,
        people_only=TEACHER,
    ),
    Route("GET", f"{PREFIX}/holidays", ALL, 200, OK_NO_ID),
    Route("GET", f"{PREFIX}/meeting-provider", ADMIN, 200, OK_NO_ID),
    Route(
        "PUT",
        f"{PREFIX}/meeting-provider",
        ADMIN,
        200,
        OK_NO_ID,
        body=lambda _: {"provider": "link", "jitsi_base_url": "https://meet.example.org"},
    ),
    Route(
        "POST",
        f"{PREFIX}/holidays",
        ADMIN,
        201,
        (201, None),
        body=lambda _: {"name": f"Eid {next(_unique)}", "starts_on": "2031-03-20"},
    ),
    Route(
        "DELETE",
        f"{PREFIX}/holidays/{{holiday_id}}",
        ADMIN,
        204,
        MISSING,
        fresh=fresh_holiday,
    ),
    Route(
        "POST",
        f"{SESSION}/reschedule",
        ALL,
        200,
        MISSING,
        body=reschedule_body,
        fresh=fresh_movable_session,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{SESSION}/start",
        ALL,
        200,
        MISSING,
        body=lambda _: {},
        fresh=fresh_startable_session,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{SESSION}/complete",
        ALL,
        200,
        MISSING,
        body=lambda _: {},
        fresh=fresh_ongoing_session,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{SESSION}/mark-absent",
        ALL,
        200,
        MISSING,
        body=lambda _: {"reason": "did not come"},
        fresh=fresh_ongoing_session,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    # Any member reads a teacher's week and free slots; another academy's teacher is nobody here.
    Route("GET", f"{TEACHER_PATH}/availability", ALL, 200, MISSING),
    # The teacher sets their own week (a teacher key is nobody); staff set anyone's.
    Route(
        "PUT",
        f"{TEACHER_PATH}/availability",
        STAFF | TEACHER,
        200,
        (422, "validation_error"),
        body=availability_body,
        refusals={("teacher", True): (403, "role_required")},
    ),
    Route(
        "GET",
        f"{TEACHER_PATH}/slots",
        ALL,
        200,
        MISSING,
        query=lambda _: {
            "from": "2026-03-02T00:00:00Z",
            "to": "2026-03-03T00:00:00Z",
            "duration_minutes": LESSON_MINUTES,
        },
    ),
    # Students ask for themselves and parents for their child (the side's student, named in the
    # body); a student or parent key is nobody's. Another academy's people are nobody here.
    Route(
        "POST",
        BOOKINGS,
        STAFF | STUDENT | PARENT,
        201,
        (422, "validation_error"),
        body=booking_body,
        fresh=fresh_booking_slot,
        refusals={("student", True): NOT_ALLOWED, ("parent", True): NOT_ALLOWED},
    ),
    Route(
        "GET",
        BOOKINGS,
        ALL,
        200,
        OK_NO_ID,
        query=lambda v: {"teacher_user_id": v["teacher_user_id"]},
    ),
    # The side's teacher, student and parent all take part in the side's booking; the teacher
    # (or staff) answers it, the student or parent (or staff) withdraws it.
    Route("GET", BOOKING, ALL, 200, MISSING, people_only=NOT_STAFF),
    Route(
        "POST",
        f"{BOOKING}/confirm",
        ALL,
        200,
        MISSING,
        body=lambda _: {},
        fresh=fresh_booking,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{BOOKING}/decline",
        ALL,
        200,
        MISSING,
        body=lambda _: {"reason": "fully booked"},
        fresh=fresh_booking,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{BOOKING}/withdraw",
        ALL,
        200,
        MISSING,
        body=lambda _: {},
        fresh=fresh_booking,
        people_only=NOT_STAFF,
        refusals={("teacher", False): NOT_ALLOWED},
    ),
    # A session's people see its recordings (its student and parent too, by default); only its
    # teacher and the staff record it, let its students share screens, mute or remove its people
    # in the room, or end it now.
    Route("GET", f"{SESSION}/recordings", ALL, 200, MISSING, people_only=NOT_STAFF),
    Route(
        "POST",
        f"{SESSION}/recordings",
        ALL,
        201,
        MISSING,
        fresh=shared_live_session,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{SESSION}/recordings/{{recording_id}}/stop",
        ALL,
        200,
        MISSING,
        fresh=fresh_recording,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "PUT",
        f"{SESSION}/screen-share",
        ALL,
        200,
        MISSING,
        body=lambda _: {"students_may_share": True},
        fresh=shared_live_session,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{SESSION}/participants/{{user_id}}/mute",
        ALL,
        200,
        MISSING,
        body=lambda _: {"track": "microphone"},
        fresh=student_in_room,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{SESSION}/participants/{{user_id}}/remove",
        ALL,
        200,
        MISSING,
        fresh=student_in_room,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    Route(
        "POST",
        f"{SESSION}/end",
        ALL,
        200,
        MISSING,
        fresh=session_to_end,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    # Who is in a class: its people and the staff.
    Route("GET", f"{SESSION}/presence", ALL, 200, MISSING, people_only=NOT_STAFF),
    # Session reports: its teacher and the staff write them once it is under way (a teacher key
    # teaches nobody); its people read them, each student their own and a parent their child's.
    Route(
        "PUT",
        f"{SESSION}/reports/{{student_user_id}}",
        STAFF | TEACHER,
        200,
        MISSING,
        body=lambda _: {
            "quran": {
                "memorisation": [{"from_surah": 1, "from_ayah": 1, "to_surah": 1, "to_ayah": 7}],
                "recitation_grade": 8,
            },
            "teacher_notes": "Good",
        },
        fresh=fresh_report_target,
        people_only=TEACHER,
    ),
    Route("GET", f"{SESSION}/reports", ALL, 200, MISSING, people_only=NOT_STAFF),
    # A student's reports over time: the student, their parents, the staff, and a teacher (of the
    # sessions they give); another academy's student is nobody here.
    Route(
        "GET",
        f"{PREFIX}/students/{{student_user_id}}/reports",
        ALL,
        200,
        MISSING,
        fresh=the_sides_student,
        people_only=NOT_STAFF,
    ),
    # Heartbeats are heard from those join lets in, and from nobody else.
    Route(
        "POST",
        f"{SESSION}/heartbeat",
        ALL,
        200,
        MISSING,
        body=lambda _: {"page_id": f"isolation-page-{next(_unique)}"},
        fresh=fresh_joinable_session,
        refusals={
            ("parent", False): (403, "not_a_participant"),
            **{(role, True): (403, "not_a_participant") for role in ROLES},
        },
    ),
    # A session's people see its attendance (a student their own, a parent their child's); its
    # teacher corrects its students', the staff anyone's; the others are refused.
    Route("GET", f"{SESSION}/attendance", ALL, 200, MISSING, people_only=NOT_STAFF),
    # The live stream, as a one-off look (a followed stream would not end before the class).
    Route(
        "GET",
        f"{SESSION}/events",
        ALL,
        200,
        MISSING,
        query=lambda _: {"follow": "false"},
        people_only=NOT_STAFF,
    ),
    Route(
        "PUT",
        f"{SESSION}/attendance/{{user_id}}",
        ALL,
        200,
        MISSING,
        body=lambda _: {"status": "excused", "note": "family travel"},
        fresh=fresh_attendee,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    # Presence marked by hand: the teacher marks its students, the staff anyone.
    Route(
        "POST",
        f"{SESSION}/presence-marks",
        ALL,
        201,
        MISSING,
        body=presence_mark_body,
        fresh=fresh_marked_attendee,
        people_only=NOT_STAFF,
        refusals=WATCHERS_REFUSED,
    ),
    # A student asks for themself, a parent for their child, the staff for anyone (a request
    # phoned in); the teacher decides requests and makes none.
    Route(
        "POST",
        f"{SESSION}/absence-requests",
        ALL,
        201,
        MISSING,
        body=lambda v: {"reason": "family wedding", "student_id": v["enrollee_user_id"]},
        fresh=fresh_session,
        people_only=NOT_STAFF,
        refusals={("teacher", False): NOT_ALLOWED},
    ),
    Route("GET", f"{PREFIX}/absence-requests", ALL, 200, OK_NO_ID),
    # The session's teacher or the staff decide a request; its student, parent or the staff
    # withdraw it.
    *(
        Route(
            "POST",
            f"{PREFIX}/absence-requests/{{request_id}}/{decision}",
            ALL,
            200,
            MISSING,
            body=lambda _: {},
            fresh=fresh_absence_request,
            people_only=NOT_STAFF,
            refusals=WATCHERS_REFUSED,
        )
        for decision in ("approve", "decline")
    ),
    Route(
        "POST",
        f"{PREFIX}/absence-requests/{{request_id}}/withdraw",
        ALL,
        200,
        MISSING,
        fresh=fresh_absence_request,
        people_only=NOT_STAFF,
        refusals={("teacher", False): NOT_ALLOWED},
    ),
    # Attendance reports. A session's: whoever sees the session (its students and parents get
    # their own rows). A student's: staff, the student, their parent, a teacher who teaches them
    # (the spare student is nobody's). A group's: staff and its teacher. A teacher's: staff and
    # the teacher. Absentees and runs of absences: staff, and teachers for their own sessions.
    Route(
        "GET",
        f"{PREFIX}/reports/sessions/{{session_id}}/attendance",
        ALL,
        200,
        MISSING,
        people_only=NOT_STAFF,
    ),
    Route(
        "GET",
        f"{PREFIX}/reports/students/{{student_user_id}}/attendance",
        ALL,
        200,
        MISSING,
        refusals={(r, k): NOT_ALLOWED for r in NOT_STAFF for k in (False, True)},
    ),
    Route(
        "GET",
        f"{PREFIX}/reports/groups/{{group_id}}/attendance",
        STAFF | TEACHER,
        200,
        MISSING,
        people_only=TEACHER,
    ),
    Route(
        "GET",
        f"{PREFIX}/reports/teachers/{{teacher_user_id}}/attendance",
        STAFF | TEACHER,
        200,
        MISSING,
        refusals={("teacher", True): NOT_ALLOWED},
    ),
    *(
        Route(
            "GET",
            f"{PREFIX}/reports/{name}",
            STAFF | TEACHER,
            200,
            OK_NO_ID,
            query=lambda v: {"teacher_user_id": v["teacher_user_id"]},
        )
        for name in ("absentees", "consecutive-absences")
    ),
    # Only staff reopen a completed session; its teacher may not, its watchers even less.
    Route(
        "POST",
        f"{SESSION}/reopen",
        ALL,
        200,
        MISSING,
        body=lambda _: {},
        fresh=fresh_completed_session,
        people_only=NOT_STAFF,
        refusals={
            ("teacher", False): (409, "action_not_allowed"),
            ("student", False): NOT_ALLOWED,
            ("parent", False): NOT_ALLOWED,
        },
    ),
    # The ledger: a session's charges for its people; held charges for the staff alone.
    Route("GET", f"{SESSION}/ledger", ALL, 200, MISSING, people_only=NOT_STAFF),
    # A subscription's ledger: staff, its student and their parent, its teacher.
    Route(
        "GET",
        f"{PREFIX}/subscriptions/{{subscription_id}}/ledger",
        ALL,
        200,
        MISSING,
        people_only=NOT_STAFF,
    ),
    Route("GET", f"{PREFIX}/webhooks", ADMIN, 200, OK_NO_ID),
    Route(
        "POST",
        f"{PREFIX}/webhooks",
        ADMIN,
        201,
        (201, None),
        body=lambda _: {"url": "https://hooks.example.org/x", "events": ["session.completed"]},
    ),
    Route("GET", f"{PREFIX}/webhooks/{{endpoint_id}}", ADMIN, 200, MISSING),
    Route(
        "PATCH",
        f"{PREFIX}/webhooks/{{endpoint_id}}",
        ADMIN,
        200,
        MISSING,
        body=lambda _: {"description": "the LMS"},
    ),
    Route(
        "DELETE", f"{PREFIX}/webhooks/{{endpoint_id}}", ADMIN, 204, MISSING, fresh=fresh_endpoint
    ),
    Route("POST", f"{PREFIX}/webhooks/{{endpoint_id}}/rotate-secret", ADMIN, 200, MISSING),
    Route("GET", f"{PREFIX}/webhooks/{{endpoint_id}}/deliveries", ADMIN, 200, MISSING),
    Route(
        "POST",
        f"{PREFIX}/webhooks/{{endpoint_id}}/deliveries/{{delivery_id}}/resend",
        ADMIN,
        200,
        MISSING,
        fresh=fresh_failed_delivery,
    ),
    Route("GET", f"{PREFIX}/ledger-flags", STAFF, 200, OK_NO_ID),
    Route(
        "POST",
        f"{PREFIX}/ledger-flags/{{flag_id}}/retry",
        STAFF,
        200,
        MISSING,
        fresh=fresh_flag,
    ),
    Route(
        "POST",
        f"{PREFIX}/ledger-flags/{{flag_id}}/dismiss",
        STAFF,
        200,
        MISSING,
        body=lambda _: {"note": "charged by hand"},
        fresh=fresh_flag,
    ),
    # Join answers every member with the lifecycle's decision: the session's people and staff
    # get in; a parent only when the academy allows it; an API key joins nobody.
    Route(
        "POST",
        f"{SESSION}/join",
        ALL,
        200,
        MISSING,
        fresh=fresh_joinable_session,
        refusals={
            ("parent", False): (403, "not_a_participant"),
            **{(role, True): (403, "not_a_participant") for role in ROLES},
        },
    ),
]


async def call(
    api: Api, route: Route, values: Values, headers: dict[str, str] | None
) -> httpx.Response:
    return await api.client.request(
        route.method,
        route.path.format(**values),
        params=route.query(values),
        json=route.body(values),
        headers=headers,
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def principals(side: Side) -> list[tuple[str, str, bool, dict[str, str]]]:
    """(label, role, by API key, headers) for each single-role member and API key of a side."""
    found = [
        (f"{side.slug} {role} member", role, False, p.headers) for role, p in side.people.items()
    ]
    found += [(f"{side.slug} {role} key", role, True, bearer(k)) for role, k in side.keys.items()]
    return found


def leaks(response: httpx.Response, victim: Side) -> list[str]:
    """What of `victim`'s an answer shows: its marker, key prefixes, or its users' ids."""
    text = response.text
    found = [victim.marker] if victim.marker in text.lower() else []
    found += [prefix for prefix in victim.key_prefixes if prefix in text]
    found += [f"slug in body: {text}"] if f'"{victim.slug}"' in text else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if (key == "user_id" or key.endswith("_user_id")) and value in victim.user_ids:
                    found.append(f"{key}={value}")
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    if text:
        walk(response.json())
    return found


def check(
    problems: list[str],
    who: str,
    route: Route,
    response: httpx.Response,
    status: int,
    code: str | None,
) -> None:
    if response.status_code != status:
        problems.append(
            f"{who}: {route} answered {response.status_code}, not {status}: {response.text}"
        )
    elif code is not None and response.json()["error"]["code"] != code:
        problems.append(
            f"{who}: {route} answered code {response.json()['error']['code']}, not {code}"
        )


SNAPSHOT = (
    "",
    "/settings",
    "/members",
    "/guardianships",
    "/api-keys",
    "/audit-log",
    "/groups",
    "/sessions",
    "/bookings",
    "/packages",
    "/subscriptions",
)


async def snapshot(api: Api, side: Side) -> dict[str, Any]:
    """Everything a side's owner can read about it, to compare before and after."""
    found: dict[str, Any] = {}
    extra = (
        f"/groups/{side.group_id}/enrollments",
        f"/sessions/{side.session_id}/history",
        f"/sessions/{side.session_id}/recordings",
        f"/teachers/{side.people['teacher'].id}/availability",
    )
    for path in (*SNAPSHOT, *extra):
        response = await api.client.get(
            f"/api/v1/academies/{side.slug}{path}",
            headers=side.owner.headers,
            params={"per_page": 100} if path not in ("", "/settings") else {},
        )
        assert response.status_code == 200, response.text
        found[path] = response.json()
    return found


# --- the table matches the app -----------------------------------------------------------------


def served_academy_routes(tmp_path: Path) -> set[tuple[str, str]]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        secret_key=SECRET,
        secret_key_file=tmp_path / "unused-secret",
        worker_mode=WorkerMode.EXTERNAL,
    )
    served: set[tuple[str, str]] = set()
    # Included routers are kept whole in app.routes; this walks into them as the OpenAPI does,
    # hidden routes (include_in_schema=False) too.
    for route in iter_route_contexts(create_app(settings).routes):
        path = route.path or ""
        if not (path == PREFIX or path.startswith(f"{PREFIX}/")):
            continue
        if isinstance(route.original_route, Mount):
            served.add(("MOUNT", path))  # a sub-application: every path in it needs a row
            continue
        methods = set(route.methods or {"WEBSOCKET"})
        if not isinstance(route.original_route, APIRoute) and "GET" in methods:
            methods.discard("HEAD")  # starlette adds HEAD to every GET route
        served |= {(method, path) for method in methods}
    return served


def test_every_academy_route_is_in_the_table(tmp_path: Path) -> None:
    table = [(route.method, route.path) for route in ROUTES]
    assert len(table) == len(set(table)), "a route is listed twice"
    served = served_academy_routes(tmp_path)
    missing = served - set(table)
    assert not missing, (
        f"routes without a row in ROUTES (add one saying how to call them): {missing}"
    )
    assert not set(table) - served, (
        f"rows for routes the app no longer serves: {set(table) - served}"
    )


def test_the_table_names_a_real_role() -> None:
    for route in ROUTES:
        assert route.allowed, route
        assert route.allowed <= ALL, route
        assert "admin" in route.allowed, route  # admins may do everything in their academy


# --- isolation ---------------------------------------------------------------------------------


async def test_nobody_from_alpha_reaches_bravo(api: Api) -> None:
    world = await build_world(api)
    alpha, bravo = world.alpha, world.bravo
    outsider_admin = await api.user("root.outsider@example.com", platform_admin=True)
    outsider = await api.user("plain.outsider@example.com")
    revoked_key = await api.api_key("alpha", alpha.owner, "admin")
    [newest, *_] = (
        await api.client.get("/api/v1/academies/alpha/api-keys", headers=alpha.owner.headers)
    ).json()["items"]
    revoked = await api.client.delete(
        f"/api/v1/academies/alpha/api-keys/{newest['id']}", headers=alpha.owner.headers
    )
    assert revoked.status_code == 200, revoked.text
    before = await snapshot(api, bravo)

    attackers = [
        *((label, headers) for label, _, _, headers in principals(alpha)),
        ("alpha's owner, a platform admin", alpha.owner.headers),
        ("a platform admin of no academy", outsider_admin.headers),
        ("a user of no academy", outsider.headers),
    ]
    signed_out: list[tuple[str, dict[str, str] | None]] = [
        ("nobody", None),
        ("a made-up token", bearer("hqt_made-up")),
        ("a made-up key", bearer("hqk_made-up")),
        ("alpha's revoked admin key", bearer(revoked_key)),
    ]
    problems: list[str] = []
    for route in ROUTES:
        values = bravo.values()
        for who, headers in attackers:
            response = await call(api, route, values, headers)
            check(problems, who, route, response, 404, "not_found")
            problems += [f"{who}: {route} leaked {leak}" for leak in leaks(response, bravo)]
        # Signed out, or with a token that is not one, nobody gets further than 401.
        for who, maybe_headers in signed_out:
            response = await call(api, route, values, maybe_headers)
            check(problems, who, route, response, 401, "not_authenticated")
            problems += [f"{who}: {route} leaked {leak}" for leak in leaks(response, bravo)]
    assert not problems, "\n".join(problems)
    assert await snapshot(api, bravo) == before

    # The same calls are real ones: bravo's own admin makes each of them succeed.
    for route in ROUTES:
        values = bravo.values() | (await route.fresh(api, bravo) if route.fresh else {})
        response = await call(api, route, values, bravo.people["admin"].headers)
        check(problems, "bravo's admin", route, response, route.ok, None)
    assert not problems, "\n".join(problems)


async def test_alpha_cannot_name_bravos_ids_under_its_own_slug(api: Api) -> None:
    world = await build_world(api)
    alpha, bravo = world.alpha, world.bravo
    bravo_before = await snapshot(api, bravo)
    foreign = alpha.values() | bravo.ids()
    callers = [
        ("alpha's admin", alpha.people["admin"].headers),
        ("alpha's owner", alpha.owner.headers),
        ("alpha's admin key", bearer(alpha.keys["admin"])),
    ]

    # First every call that must be refused, then alpha must be exactly as it was.
    problems: list[str] = []
    alpha_before = await snapshot(api, alpha)
    refused = [route for route in ROUTES if route.foreign[0] >= 400]
    assert {str(r) for r in refused} >= {
        f"GET {PREFIX}/members/{{user_id}}",
        f"PATCH {PREFIX}/members/{{user_id}}",
        f"POST {PREFIX}/guardianships",
        f"DELETE {PREFIX}/guardianships/{{guardianship_id}}",
        f"DELETE {PREFIX}/api-keys/{{key_id}}",
        f"POST {SESSIONS}",
        f"GET {SESSION}",
        f"GET {SESSION}/history",
        f"POST {SESSION}/cancel",
        f"POST {SESSION}/reschedule",
        f"POST {SESSION}/start",
        f"POST {SESSION}/complete",
        f"POST {SESSION}/mark-absent",
        f"GET {SESSION}/recordings",
        f"POST {SESSION}/recordings",
        f"POST {SESSION}/recordings/{{recording_id}}/stop",
        f"PUT {SESSION}/screen-share",
        f"POST {SESSION}/participants/{{user_id}}/mute",
        f"POST {SESSION}/participants/{{user_id}}/remove",
        f"POST {SESSION}/end",
    }
    for route in refused:
        for who, headers in callers:
            response = await call(api, route, foreign, headers)
            check(problems, who, route, response, *route.foreign)
            problems += [f"{who}: {route} leaked {leak}" for leak in leaks(response, bravo)]
    assert not problems, "\n".join(problems)
    assert await snapshot(api, alpha) == alpha_before

    # The rest take no id of bravo's in their path, and answer about alpha alone.
    for route in ROUTES:
        if route in refused:
            continue
        for who, headers in callers:
            response = await call(api, route, foreign, headers)
            check(problems, who, route, response, *route.foreign)
            problems += [f"{who}: {route} leaked {leak}" for leak in leaks(response, bravo)]
    assert not problems, "\n".join(problems)
    assert await snapshot(api, bravo) == bravo_before

    # With alpha's own ids, the refused calls succeed: the 404s above were about bravo's ids.
    for route in refused:
        values = alpha.values() | (await route.fresh(api, alpha) if route.fresh else {})
        response = await call(api, route, values, alpha.people["admin"].headers)
        check(problems, "alpha's admin", route, response, route.ok, None)
    assert not problems, "\n".join(problems)


async def test_roles_per_route(api: Api) -> None:
    world = await build_world(api)
    alpha = world.alpha
    callers = principals(alpha)
    before = await snapshot(api, alpha)
    problems: list[str] = []
    for route in ROUTES:
        for who, role, _, headers in callers:
            if role not in route.allowed:
                response = await call(api, route, alpha.values(), headers)
                check(problems, who, route, response, 403, "role_required")
    assert not problems, "\n".join(problems)
    assert await snapshot(api, alpha) == before, "a refused call changed something"

    for route in ROUTES:
        for who, role, by_key, headers in callers:
            if role in route.allowed:
                values = alpha.values() | (await route.fresh(api, alpha) if route.fresh else {})
                response = await call(api, route, values, headers)
                check(problems, who, route, response, *route.expected(role, by_key))
    assert not problems, "\n".join(problems)


async def test_alpha_paths_with_one_id_of_bravos(api: Api) -> None:
    """The table above swaps every id at once; here alpha's own group (or teacher) is named together
    with one id of bravo's (an enrollment, a student, a teacher), which must not reach bravo
    either."""
    world = await build_world(api)
    alpha, bravo = world.alpha, world.bravo
    alpha_before, bravo_before = await snapshot(api, alpha), await snapshot(api, bravo)
    group = f"{PREFIX.format(slug=alpha.slug)}/groups/{alpha.group_id}"
    problems: list[str] = []
    for method, path, body, status, code in (
        (
            "PATCH",
            f"{group}/enrollments/{bravo.enrollment_id}",
            {"status": "cancelled"},
            404,
            "not_found",
        ),
        (
            "POST",
            f"{group}/enrollments",
            {"student_user_id": bravo.people["student"].id},
            422,
            "validation_error",
        ),
        ("PATCH", group, {"teacher_user_id": bravo.people["teacher"].id}, 422, "validation_error"),
        (
            "POST",
            SESSIONS.format(slug=alpha.slug),
            {
                "kind": "individual",
                "title": "Lesson",
                "teacher_user_id": alpha.people["teacher"].id,
                "student_user_id": bravo.people["student"].id,
                "starts_at": slot(api, alpha).isoformat(),
                "duration_minutes": LESSON_MINUTES,
            },
            422,
            "validation_error",
        ),
        (
            # alpha's own session, with a recording of bravo's
            "POST",
            f"{SESSIONS.format(slug=alpha.slug)}/{alpha.session_id}/recordings/"
            f"{bravo.recording_id}/stop",
            None,
            404,
            "not_found",
        ),
    ):
        for who, headers in (
            ("alpha's admin", alpha.people["admin"].headers),
            ("alpha's admin key", bearer(alpha.keys["admin"])),
        ):
            response = await api.client.request(method, path, json=body, headers=headers)
            label = f"{who}: {method} {path}"
            if response.status_code != status or response.json()["error"]["code"] != code:
                problems.append(f"{label} answered {response.status_code}: {response.text}")
            problems += [f"{label} leaked {leak}" for leak in leaks(response, bravo)]
    response = await api.client.get(
        f"{group}/enrollments",
        params={"student_user_id": bravo.people["student"].id},
        headers=alpha.people["admin"].headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert not problems, "\n".join(problems)
    assert await snapshot(api, alpha) == alpha_before
    assert await snapshot(api, bravo) == bravo_before


async def test_only_staff_keys_list_sessions(api: Api) -> None:
    """GET /sessions answers every member, but an API key without a staff role speaks for nobody,
    so it takes part in no session and sees an empty page."""
    side = await build_side(api, "alpha", "secretalpha")
    path = SESSIONS.format(slug=side.slug)
    for role, key in side.keys.items():
        response = await api.client.get(path, headers=bearer(key))
        assert response.status_code == 200, response.text
        ids = [item["id"] for item in response.json()["items"]]
        assert ids == ([side.session_id] if role in STAFF else []), role
