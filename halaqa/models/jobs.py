from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from halaqa.db.base import Base
from halaqa.db.types import BigIntPK


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    PARKED = "parked"


JOB_STATUSES = tuple(JobStatus)


class Job(Base):
    """Follow-up work (the outbox): written in the same transaction as the change that causes it,
    so it exists only if that change committed; run by whichever worker claims it first."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ({})".format(", ".join(repr(s.value) for s in JOB_STATUSES)),
            name="known_status",
        ),
        CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="attempts_in_range"),
        Index("ix_jobs_status_run_after", "status", "run_after"),
        # The claim walks the unfinished jobs in order and stops at its batch: a backlog, or
        # millions of finished jobs, cost it nothing.
        Index(
            "ix_jobs_due",
            "run_after",
            "id",
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
        # Finished jobs are purged after a while, oldest first.
        Index(
            "ix_jobs_done",
            "finished_at",
            postgresql_where=text("status = 'done'"),
            sqlite_where=text("status = 'done'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    academy_id: Mapped[int | None] = mapped_column(ForeignKey("academies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))
    # When it may run next (queued), or until when its claim holds (running).
    run_after: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class WorkerMark(Base):
    """How far a periodic step has looked (e.g. reminders: up to which instant), so each tick
    looks only at what came due since the last; moved forward with a conditional UPDATE, so of
    several workers only one takes each stretch."""

    __tablename__ = "worker_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column()
