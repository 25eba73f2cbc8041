"""All SQL for finalising many sessions at once (attendance.batch): each read is one query for
every session of the batch, whatever their academies (as the worker's due-scan takes them), and
the records are written in bulk. Sessions are named by id, which is unique across academies; the
reads carry their academies too, so they stay on the tenant indexes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CursorResult, Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.attendance.finalisation import RECORD_COLUMNS, RecordRow
from halaqa.attendance.folding import EventRow
from halaqa.db.types import UTCDateTime
from halaqa.models import (
    AttendanceOverride,
    AttendanceRecord,
    ClassSession,
    PresenceEvent,
    SessionParticipant,
    SessionStatusChange,
)

_EVENTS = PresenceEvent.__table__.c
_PEOPLE = SessionParticipant.__table__.c

# SQLite takes at most 32,766 values in one statement (PostgreSQL 32,767): the records one
# INSERT carries.
MOST_ROWS = 32_766 // len(RECORD_COLUMNS)


class FinalisationBatchRepository:
    def __init__(self, session: AsyncSession, sessions: Sequence[ClassSession]) -> None:
        self.session = session
        self.ids = sorted({s.id for s in sessions})
        self.academy_ids = sorted({s.academy_id for s in sessions})

    async def _raw(self, query: Select[Any]) -> Sequence[Any]:
        """The rows as the driver gives them (tuples, or asyncpg's records): for reads of up to
        a million rows, where SQLAlchemy's row objects would cost more than the rest."""
        connection = await self.session.connection()
        result = await connection.execute(query)
        assert isinstance(result, CursorResult)
        rows: Sequence[Any] = result.cursor.fetchall()
        result.close()
        return rows

    async def presence(self) -> dict[int, list[EventRow]]:
        """Each session's presence events, as folding.EventRow, in no particular order."""
        query = select(
            _EVENTS.session_id,
            _EVENTS.at,
            _EVENTS.kind,
            _EVENTS.user_id,
            _EVENTS.participant_id,
            _EVENTS.source,
        ).where(_EVENTS.academy_id.in_(self.academy_ids), _EVENTS.session_id.in_(self.ids))
        rows = await self._raw(query)
        found: dict[int, list[EventRow]] = {session_id: [] for session_id in self.ids}
        if self.session.get_bind().dialect.name == "sqlite":  # instants are kept as UTC text
            parse = datetime.fromisoformat  # the zone in the text: 10× faster than replace()
            for session_id, at, kind, user_id, participant_id, source in rows:
                found[session_id].append(
                    (parse(at + "+00:00"), kind, user_id, participant_id, source)
                )
        else:  # asyncpg gives aware instants in UTC
            for session_id, at, kind, user_id, participant_id, source in rows:
                found[session_id].append((at, kind, user_id, participant_id, source))
        return found

    async def students(self) -> dict[int, list[int]]:
        """Who takes part in each session as a student."""
        query = select(_PEOPLE.session_id, _PEOPLE.user_id).where(
            _PEOPLE.academy_id.in_(self.academy_ids),
            _PEOPLE.session_id.in_(self.ids),
            _PEOPLE.role == "student",
        )
        found: dict[int, list[int]] = {session_id: [] for session_id in self.ids}
        for session_id, user_id in await self._raw(query):
            found[session_id].append(user_id)
        return found

    async def overrides(self) -> dict[int, list[AttendanceOverride]]:
        """Each session's attendance overrides, oldest first."""
        rows = await self.session.scalars(
            select(AttendanceOverride)
            .where(
                AttendanceOverride.academy_id.in_(self.academy_ids),
                AttendanceOverride.session_id.in_(self.ids),
            )
            .order_by(AttendanceOverride.id)
        )
        found: dict[int, list[AttendanceOverride]] = {}
        for row in rows:
            found.setdefault(row.session_id, []).append(row)
        return found

    async def last_changes(self) -> dict[int, SessionStatusChange]:
        """Each session's latest status change (every session has one: its creation)."""
        latest = (
            select(func.max(SessionStatusChange.id))
            .where(
                SessionStatusChange.academy_id.in_(self.academy_ids),
                SessionStatusChange.session_id.in_(self.ids),
            )
            .group_by(SessionStatusChange.session_id)
        )
        rows = await self.session.scalars(
            select(SessionStatusChange).where(SessionStatusChange.id.in_(latest))
        )
        return {row.session_id: row for row in rows}

    async def delete_records(self) -> None:
        """The sessions' records go, before `insert_records` writes them again."""
        # By session only (the batch may span academies): through the (session, user) key.
        await self.session.execute(
            delete(AttendanceRecord).where(AttendanceRecord.session_id.in_(self.ids))
        )  # also what opens the transaction on PostgreSQL's connection before the COPY

    async def insert_records(self, records: Sequence[RecordRow]) -> None:
        """`records` (rows of finalisation.RECORD_COLUMNS) in bulk: a COPY on PostgreSQL, INSERTs
        of as many rows as a statement may carry on SQLite. Not executemany: SQLite checks a
        row's constraints much faster within one statement, and binding 5 million values one by
        one through SQLAlchemy's types costs more than the folding itself."""
        if not records:
            return
        connection = await self.session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        if connection.dialect.name == "postgresql":
            await driver.copy_records_to_table(
                AttendanceRecord.__tablename__, records=records, columns=RECORD_COLUMNS
            )
            return
        instants = [i for i, name in enumerate(RECORD_COLUMNS) if name in _INSTANTS]
        last: list[datetime | None] = [None] * len(RECORD_COLUMNS)
        text = [""] * len(RECORD_COLUMNS)
        for start in range(0, len(records), MOST_ROWS):
            chunk = records[start : start + MOST_ROWS]
            values: list[Any] = []
            for record in chunk:
                row = list(record)
                for i in instants:
                    instant = row[i]
                    if instant is None:
                        continue
                    if instant is not last[i]:  # the window's start and the time are shared
                        last[i], text[i] = instant, _sqlite_instant(instant)
                    row[i] = text[i]
                values += row
            marks = ", ".join(["(" + ", ".join(["?"] * len(RECORD_COLUMNS)) + ")"] * len(chunk))
            # To the driver itself: the statement handed to its thread in one step (SQLAlchemy's
            # way takes several, each needing the caller to yield; see batch.WriteBehind).
            async with driver.execute(
                f"INSERT INTO {AttendanceRecord.__tablename__} ({', '.join(RECORD_COLUMNS)}) "  # noqa: S608
                f"VALUES {marks}",
                values,
            ):
                pass


# The record's instants, kept in SQLite as UTCDateTime keeps them: UTC text without a zone.
_INSTANTS = {c.key for c in AttendanceRecord.__table__.columns if isinstance(c.type, UTCDateTime)}


def _sqlite_instant(instant: datetime) -> str:
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 (twice as fast as isoformat)
        instant.year,
        instant.month,
        instant.day,
        instant.hour,
        instant.minute,
        instant.second,
        instant.microsecond,
    )
