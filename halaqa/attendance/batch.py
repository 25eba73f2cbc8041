"""Finalising many sessions at once: what `finalisation.finalise` does to each, with the reads and
writes of all of them batched, for the worker's due step and for recomputing a backlog.

Per batch: one query each for the presence events (read as plain rows: no object per event), the
students, the overrides and the latest status changes; one DELETE of the old records and bulk
INSERTs of the new ones, each written while the next records are assessed. Each session is
assessed by the same pure code (`assess_unique`, the database keeping each event once), its
records are the same columns, and the rest — marking it finalised, settling its status — is
`finalisation.conclude`, per session whose status changes; the others, most, are marked
finalised in one UPDATE. The follow-up jobs are queued for all of them at once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime

from halaqa.academies.repository import AcademyRepository
from halaqa.academies.settings import AcademySettings, effective_settings
from halaqa.attendance.assessment import Assessment, assess_unique
from halaqa.attendance.batch_repository import MOST_ROWS, FinalisationBatchRepository
from halaqa.attendance.finalisation import (
    RecordRow,
    as_override,
    conclude,
    moves,
    queue_follow_ups,
    record_rows,
    shape_from,
)
from halaqa.attendance.policy import Override
from halaqa.kit.deps import Runtime
from halaqa.models import Academy, AttendanceOverride, ClassSession
from halaqa.scheduling.calendar import next_step_once_finalised
from halaqa.scheduling.repository import mark_finalised

log = logging.getLogger("halaqa.attendance")


async def finalise_many(rt: Runtime, sessions: Sequence[ClassSession]) -> None:
    """Does to each of `sessions` exactly what `finalise` does (the same records, statuses,
    history and follow-ups), in a few statements for all of them. Safe to run again."""
    if not sessions:
        return
    with gc_paused():
        await _finalise_many(rt, sessions)


async def _finalise_many(rt: Runtime, sessions: Sequence[ClassSession]) -> None:
    batch = FinalisationBatchRepository(rt.session, sessions)
    # Held for the whole batch: the identity map keeps an object only while something refers to
    # it, and each status change (`transition`) looks its academy up again.
    academies = await _academies_of(rt, {session.academy_id for session in sessions})
    settings = {academy.id: effective_settings(academy.settings) for academy in academies}
    assessments = await _assessed_and_written(batch, sessions, settings, rt.clock.now())
    changes = await batch.last_changes()
    unmoved: list[ClassSession] = []
    for session, assessment in zip(sessions, assessments, strict=True):
        change = changes.get(session.id)
        if change is not None and change.to_status != session.status:
            change = None  # as AttendanceRepository.last_change_into
        if moves(session, assessment, change):
            await conclude(rt, session, settings[session.academy_id], assessment, change)
        else:
            unmoved.append(session)
            log.info("session %s: attendance finalised, outcome %s", session.id, assessment.outcome)
    await _mark_finalised(rt, unmoved, settings)
    await queue_follow_ups(rt, sessions)


async def _mark_finalised(
    rt: Runtime, sessions: Sequence[ClassSession], settings: dict[int, AcademySettings]
) -> None:
    """`conclude` for the sessions their attendance leaves in the status they have (most): a
    statement for all those with the same next step (almost always none), not one each."""
    by_next_step: dict[datetime | None, list[ClassSession]] = defaultdict(list)
    for session in sessions:
        next_step_at = next_step_once_finalised(session, settings[session.academy_id])
        by_next_step[next_step_at].append(session)
    for next_step_at, found in by_next_step.items():
        await mark_finalised(rt.session, found, at=rt.clock.now(), next_step_at=next_step_at)


async def _assessed_and_written(
    batch: FinalisationBatchRepository,
    sessions: Sequence[ClassSession],
    settings: dict[int, AcademySettings],
    now: datetime,
) -> list[Assessment]:
    """Each session's assessment, from its presence, students and overrides, its records
    written as they are made: a statement's worth at a time, while the next are assessed."""
    events = await batch.presence()
    students = await batch.students()
    overrides = await batch.overrides()
    await batch.delete_records()
    assessments: list[Assessment] = []
    records: list[RecordRow] = []
    async with WriteBehind(batch.insert_records) as writes:
        for session in sessions:
            assessment = assess_unique(
                events.pop(session.id),  # let go once folded
                shape_from(session, students[session.id]),
                settings[session.academy_id],
                _per_user(overrides.get(session.id, ())),
            )
            assessments.append(assessment)
            records += record_rows(session, assessment, now)
            if len(records) >= MOST_ROWS:  # a whole statement's worth
                await writes.start(records[:MOST_ROWS])
                records = records[MOST_ROWS:]
        await writes.start(records)
    return assessments


class WriteBehind:
    """Writes go on in the background while the caller works: each starts once the one before
    it is done (they share a connection), and all are done when the block ends. The database's
    share of a write (SQLite's own thread, with Python's lock released; PostgreSQL's server)
    then overlaps the caller's Python, rather than following it. The caller must not use the
    connection itself inside the block."""

    def __init__(self, write: Callable[[list[RecordRow]], Awaitable[None]]) -> None:
        self.write = write
        self.pending: asyncio.Future[None] | None = None

    async def start(self, records: list[RecordRow]) -> None:
        await self._finish()
        if records:
            self.pending = asyncio.ensure_future(self.write(records))
            await asyncio.sleep(0)  # handed to the driver before the caller goes on

    async def _finish(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            await pending

    async def __aenter__(self) -> WriteBehind:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            await self._finish()
            return
        # The caller failed: the write under way still ends before the transaction is rolled
        # back, and the caller's error is the one raised.
        with suppress(Exception):
            await self._finish()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Holds Python's cycle collector back while a batch is finalised: its events, folds and
    records are millions of small objects, none of them in a cycle (reference counting frees
    them all), and the collector would walk every live object again and again as they are made
    (a third of the time of the folding, and a tenth of the rest). Whatever else runs meanwhile
    (the batch awaits its database) only has its cycles collected a moment later, when the
    collector is back."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _academies_of(rt: Runtime, academy_ids: set[int]) -> list[Academy]:
    repository = AcademyRepository(rt.session)
    found = []
    for academy_id in academy_ids:
        academy = await repository.get(academy_id)
        assert academy is not None
        found.append(academy)
    return found


def _per_user(rows: Sequence[AttendanceOverride]) -> dict[int, list[Override]]:
    overrides: dict[int, list[Override]] = {}
    for row in rows:
        overrides.setdefault(row.user_id, []).append(as_override(row))
    return overrides
