"""All SQL for jobs (claiming across workers, what the command line lists) and for the figures
the worker's metrics read at scrape time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.kit.metrics import UNFINISHED_JOB_STATUSES
from halaqa.models import ClassSession, Job, MeetingEvent, WorkerMark


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: Job) -> Job:
        self.session.add(job)
        await self.session.flush()
        return job

    async def add_many(self, jobs: Sequence[dict[str, Any]]) -> None:
        """Many jobs (their columns) in one INSERT, without an object each."""
        if jobs:
            await self.session.execute(insert(Job), jobs)

    async def get(self, job_id: int) -> Job | None:
        return await self.session.get(Job, job_id)

    async def claim(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[int]:
        """Marks up to `limit` due jobs as this worker's until `lease_until`: queued ones whose
        time has come and running ones whose claim ran out (their worker died). PostgreSQL skips
        rows another worker is claiming; SQLite runs one writer at a time."""
        due = await self.session.scalars(
            select(Job.id)
            .where(Job.status.in_(("queued", "running")), Job.run_after <= now)
            .order_by(Job.run_after, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(due)
        if ids:
            await self.session.execute(
                update(Job)
                .where(Job.id.in_(ids))
                .values(
                    status="running",
                    claimed_by=worker,
                    run_after=lease_until,
                    attempts=Job.attempts + 1,
                )
            )
        return ids

    async def held(self, job_id: int, worker: str) -> Job | None:
        """The job if this worker's claim on it still stands, locked for the run."""
        result = await self.session.scalars(
            select(Job)
            .where(Job.id == job_id, Job.status == "running", Job.claimed_by == worker)
            .with_for_update()
        )
        return result.one_or_none()

    async def purge_done(self, finished_before: datetime, limit: int) -> int:
        """Deletes up to `limit` jobs done before then, oldest first; how many."""
        done = (
            select(Job.id)
            .where(Job.status == "done", Job.finished_at < finished_before)
            .order_by(Job.finished_at)
            .limit(limit)
        )
        result = await self.session.execute(delete(Job).where(Job.id.in_(done.scalar_subquery())))
        return int(getattr(result, "rowcount", 0) or 0)

    async def release(self, worker: str, now: datetime) -> int:
        """Hands back every job `worker` claimed and has not finished, due again at `now`; the
        claim is not counted as an attempt. For a worker that stops with jobs it never started
        (and holds no job open in another transaction), so others need not wait for the lease."""
        result = await self.session.execute(
            update(Job)
            .where(Job.status == "running", Job.claimed_by == worker)
            .values(status="queued", claimed_by=None, run_after=now, attempts=Job.attempts - 1)
        )
        return int(getattr(result, "rowcount", 0))

    async def unfinished_by_kind(self) -> dict[tuple[str, str], int]:
        """How many jobs of each kind are queued, running or parked: one GROUP BY, through
        ix_jobs_status_run_after, so the done jobs (nearly all of them) are not read."""
        rows = await self.session.execute(
            select(Job.kind, Job.status, func.count())
            .where(Job.status.in_(UNFINISHED_JOB_STATUSES))
            .group_by(Job.kind, Job.status)
        )
        return {(kind, status): count for kind, status, count in rows}

    async def page(self, status: str | None, limit: int) -> Sequence[Job]:
        query = select(Job)
        if status is not None:
            query = query.where(Job.status == status)
        result = await self.session.scalars(query.order_by(Job.id.desc()).limit(limit))
        return result.all()


async def oldest_due_step(session: AsyncSession, now: datetime) -> datetime | None:
    """When the longest-waiting due session step fell due: the first entry of
    ix_class_sessions_next_step_at, whatever the size of the table."""
    return await session.scalar(
        select(ClassSession.next_step_at)
        .where(ClassSession.next_step_at <= now)
        .order_by(ClassSession.next_step_at)
        .limit(1)
    )


async def webhook_events_received(session: AsyncSession) -> int:
    """Webhook events kept but not processed yet (a partial index holds just those)."""
    count = await session.scalar(
        select(func.count()).select_from(MeetingEvent).where(MeetingEvent.status == "received")
    )
    return int(count or 0)


class MarkRepository:
    """Worker marks: how far a periodic step has looked."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def take(self, name: str, now: datetime) -> datetime | None:
        """Moves the mark to `now` and returns where it was; None when another worker moved it
        meanwhile (that worker takes this stretch) or when there was no mark yet (there is one
        from now on: nothing before it is looked at)."""
        previous = await self.session.scalar(select(WorkerMark.at).where(WorkerMark.name == name))
        if previous is None:
            try:
                async with self.session.begin_nested():
                    self.session.add(WorkerMark(name=name, at=now))
            except IntegrityError:
                pass
            return None
        if previous >= now:
            return None
        moved = await self.session.execute(
            update(WorkerMark)
            .where(WorkerMark.name == name, WorkerMark.at == previous)
            .values(at=now)
        )
        return previous if moved.rowcount == 1 else None  # type: ignore[attr-defined]
