"""The data of bench/fold.py: one academy's finished group classes and their presence, made
deterministically (each session from its own seed, so any one can be made again to check it).

200 groups of 30 students, each with its own teacher, meet daily for an hour: 50 sessions a
group, 10,000 in all, each past its end and its finalise delay, with exactly 100 presence events:
the teacher's three (join, a poll, leave), the room finishing, and 96 from the students, who come
in six ways — 3 never come; 5 join and leave; 8 are also seen by a poll, some at the very instant
they joined (the same presence from two sources); 7 drop out and come back on a new connection;
3 never send a leave, only a later poll says they were still there; 4 reconnect three times with
their meeting page beating beside the first connection. One session in 50 the teacher came for
five minutes only (cancelled for the teacher's absence when finalised); one in 100 the teacher
completed it by hand, which stands whatever the presence says.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from halaqa.db.base import Base

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the worker's frozen instant
GROUPS, MEETINGS, STUDENTS = 200, 50, 30
SESSIONS = GROUPS * MEETINGS
EVENTS_PER_SESSION = 100
EVENTS = SESSIONS * EVENTS_PER_SESSION
MINUTES = 60
ACADEMY, ADMIN = 1, 1
TABLES = Base.metadata.tables
# How the 30 students of every session come (see the module's docstring): pattern -> students.
PATTERNS = {"never": 3, "once": 5, "polled": 8, "reconnect": 7, "no_leave": 3, "flaky": 4}


def teacher_of(group: int) -> int:
    return 2 + group


def student_of(group: int, k: int) -> int:
    return 2 + GROUPS + group * STUDENTS + k


def group_of(session_id: int) -> int:
    return (session_id - 1) // MEETINGS


def teacher_absent(session_id: int) -> bool:
    return session_id % 50 == 7 or completed_by_hand(session_id)


def completed_by_hand(session_id: int) -> bool:
    return session_id % 100 == 13


def slot(session_id: int) -> tuple[datetime, datetime]:
    """Each group meets daily at its own hour, over the 50 days before NOW's day."""
    group, meeting = divmod(session_id - 1, MEETINGS)
    starts = NOW.replace(hour=0) - timedelta(days=meeting + 1, hours=-(6 + group % 12))
    return starts, starts + timedelta(minutes=MINUTES)


@dataclass(frozen=True)
class Event:
    session_id: int
    user_id: int | None
    participant_id: str | None
    kind: str
    source: str
    at: datetime
    event_key: str


def events_of(session_id: int) -> list[Event]:
    """The session's 100 presence events, the same every time."""
    rng = random.Random(session_id)  # noqa: S311 (data, not secrets)
    starts, ends = slot(session_id)
    found: list[Event] = []

    def add(user: int | None, sid: str | None, kind: str, at: datetime, source: str) -> None:
        key = f"bench:{session_id}:{len(found)}"
        found.append(Event(session_id, user, sid, kind, source, at, key))

    def minute(low: float, high: float) -> datetime:
        return starts + timedelta(milliseconds=rng.randint(int(low * 60_000), int(high * 60_000)))

    teacher = teacher_of(group_of(session_id))
    if teacher_absent(session_id):  # five minutes, well into the class
        came, went = minute(40, 41), minute(45, 46)
    else:
        came, went = minute(-3, 1), minute(60, 63)
    add(teacher, f"PA_t{session_id}", "joined", came, "webhook")
    add(teacher, f"PA_t{session_id}", "confirmed", came + (went - came) / 2, "poll")
    add(teacher, f"PA_t{session_id}", "left", went, "webhook")
    add(None, None, "room_finished", ends + timedelta(minutes=3), "webhook")
    ways = [way for way, count in PATTERNS.items() for _ in range(count)]
    rng.shuffle(ways)
    for k, way in enumerate(ways):
        user, sid = student_of(group_of(session_id), k), f"PA_{session_id}_{k}"
        if way == "never":
            continue
        join = minute(-4, 14)
        if way in ("once", "polled"):
            leave = minute(40, 64)
            add(user, sid, "joined", join, "webhook")
            if way == "polled":  # half the time the poll saw it the instant it joined
                seen = join if k % 2 else join + (leave - join) / 3
                add(user, sid, "confirmed", seen, "poll")
            add(user, sid, "left", leave, "webhook")
        elif way == "reconnect":
            dropped = minute(15, 45)
            back = dropped + timedelta(seconds=rng.randint(5, 400))
            add(user, sid, "joined", join, "webhook")
            add(user, sid, "left", dropped, "webhook")
            add(user, f"{sid}b", "joined", back, "webhook")
            add(user, f"{sid}b", "left", minute(50, 64), "webhook")
        elif way == "no_leave":
            add(user, sid, "joined", join, "webhook")
            add(user, sid, "confirmed", minute(30, 58), "poll")
        else:  # flaky: three connections, the meeting page beating beside the first
            add(user, sid, "joined", join, "webhook")
            add(user, f"page:{session_id}-{k}", "confirmed", join, "heartbeat")
            at = join
            for n in range(3):
                at += timedelta(seconds=rng.randint(300, 900))
                add(user, sid if n == 0 else f"{sid}.{n}", "left", at, "webhook")
                if n < 2:
                    at += timedelta(seconds=rng.randint(3, 200))
                    add(user, f"{sid}.{n + 1}", "joined", at, "webhook")
    assert len(found) == EVENTS_PER_SESSION, (session_id, len(found))
    return found


# --- rows --------------------------------------------------------------------------------


def people_rows() -> dict[str, list[dict[str, Any]]]:
    made = {"created_at": NOW - timedelta(days=400), "updated_at": NOW - timedelta(days=400)}
    academy = {"id": ACADEMY, "slug": "bench", "name": "Bench", "time_zone": "UTC"}
    roles = [(ADMIN, "admin")] + [(teacher_of(g), "teacher") for g in range(GROUPS)]
    roles += [(student_of(g, k), "student") for g in range(GROUPS) for k in range(STUDENTS)]
    users = [
        {"id": user, "email": f"u{user}@bench.test", "email_key": f"u{user}@bench.test"}
        | {"name": f"{role} {user}", "locale": "en", "time_zone": "UTC", **made}
        for user, role in roles
    ]
    groups = [
        {"id": g + 1, "academy_id": ACADEMY, "kind": "circle", "name": f"Circle {g + 1}"}
        | {"teacher_user_id": teacher_of(g), "status": "active", **made}
        for g in range(GROUPS)
    ]
    return {
        "academies": [academy | {"default_locale": "en", "settings": {}, **made}],
        "users": users,
        "memberships": [{"id": u, "academy_id": ACADEMY, "user_id": u, **made} for u, _ in roles],
        "membership_roles": [{"membership_id": user, "role": role} for user, role in roles],
        "groups": groups,
    }


def session_rows(first: int, stop: int) -> dict[str, list[dict[str, Any]]]:
    """Sessions first..stop-1 (ids), their participants and their history: created, prepared,
    started and completed (by the system, or by the teacher's own hand)."""
    sessions: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for sid in range(first, stop):
        group = group_of(sid)
        starts, ends = slot(sid)
        teacher, made = teacher_of(group), starts - timedelta(days=30)
        sessions.append(
            {"id": sid, "academy_id": ACADEMY, "code": f"GR-{sid:06d}", "kind": "group"}
            | {"status": "completed", "title": "Circle", "teacher_user_id": teacher}
            | {"group_id": group + 1, "starts_at": starts, "duration_minutes": MINUTES}
            | {"ends_at": ends, "created_by_user_id": ADMIN, "makeup_owed": False}
            | {"late_cancellation": False, "next_step_at": ends + timedelta(minutes=5)}
            | {"created_at": made, "updated_at": ends + timedelta(minutes=5)}
        )
        people += [
            {"session_id": sid, "user_id": user, "academy_id": ACADEMY, "role": role}
            | {"starts_at": starts, "busy_until": ends, "active": True}
            for user, role in [
                (teacher, "teacher"),
                *((student_of(group, k), "student") for k in range(STUDENTS)),
            ]
        ]
        completer = teacher if completed_by_hand(sid) else None
        history += [
            {"academy_id": ACADEMY, "session_id": sid, "from_status": was, "to_status": to}
            | {"action": action, "actor_user_id": actor, "reason": None, "at": at}
            for was, to, action, actor, at in (
                (None, "scheduled", "create", ADMIN, made),
                ("scheduled", "ready", "prepare", None, starts - timedelta(minutes=15)),
                ("ready", "ongoing", "start", None, starts),
                ("ongoing", "completed", "complete", completer, ends + timedelta(minutes=5)),
            )
        ]
    return {
        "class_sessions": sessions,
        "session_participants": people,
        "session_status_changes": history,
    }


def event_rows(first: int, stop: int) -> Iterator[Event]:
    for sid in range(first, stop):
        yield from events_of(sid)


# --- loading -----------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "academy_id",
    "session_id",
    "user_id",
    "participant_id",
    "kind",
    "source",
    "at",
    "arrived_at",
    "event_key",
)


def _sqlite_time(at: datetime) -> str:
    """As SQLAlchemy keeps an instant in SQLite (UTC, no zone)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def insert(connection: AsyncConnection, name: str, batch: list[dict[str, Any]]) -> None:
    """Core executemany on SQLite, COPY on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        await connection.execute(TABLES[name].insert(), batch)
        return
    columns = list(batch[0])
    records = [
        [json.dumps(v) if isinstance(v, dict | list) else v for v in row.values()] for row in batch
    ]
    asyncpg = (await connection.get_raw_connection()).driver_connection
    assert asyncpg is not None
    await asyncpg.copy_records_to_table(name, records=records, columns=columns)


async def insert_events(connection: AsyncConnection, events: list[Event]) -> None:
    """The presence events, straight through the driver (COPY on PostgreSQL)."""
    late = timedelta(milliseconds=300)
    if connection.dialect.name == "postgresql":
        asyncpg = (await connection.get_raw_connection()).driver_connection
        assert asyncpg is not None
        records = [
            (
                *(ACADEMY, e.session_id, e.user_id, e.participant_id, e.kind, e.source),
                *(e.at, e.at + late, e.event_key),
            )
            for e in events
        ]
        await asyncpg.copy_records_to_table(
            "presence_events", records=records, columns=list(_EVENT_COLUMNS)
        )
        return
    rows = [
        (
            *(ACADEMY, e.session_id, e.user_id, e.participant_id, e.kind, e.source),
            *(_sqlite_time(e.at), _sqlite_time(e.at + late), e.event_key),
        )
        for e in events
    ]
    marks = ", ".join("?" for _ in _EVENT_COLUMNS)
    await connection.exec_driver_sql(
        f"INSERT INTO presence_events ({', '.join(_EVENT_COLUMNS)}) VALUES ({marks})",  # noqa: S608
        rows,
    )
