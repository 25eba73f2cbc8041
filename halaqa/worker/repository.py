"""All SQL for jobs: claiming across workers, and what the command line lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.models import Job


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: Job) -> Job:
        self.session.add(job)
        await self.session.flush()
        return job

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
            .where(
                or_(Job.status == "queued", Job.status == "running"),
                Job.run_after <= now,
            )
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

    async def page(self, status: str | None, limit: int) -> Sequence[Job]:
        query = select(Job)
        if status is not None:
            query = query.where(Job.status == status)
        result = await self.session.scalars(query.order_by(Job.id.desc()).limit(limit))
        return result.all()
