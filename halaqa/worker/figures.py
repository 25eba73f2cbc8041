"""What /metrics reads from the database at scrape time, so the figures are right whichever
process is scraped (see the repository for what each query costs)."""

from __future__ import annotations

from halaqa.db.session import Database
from halaqa.kit.metrics import DatabaseFigures
from halaqa.worker.jobs import HANDLERS
from halaqa.worker.repository import JobRepository, oldest_due_step, webhook_events_received


async def read_figures(database: Database) -> DatabaseFigures:
    now = database.clock.now()
    async with database.transaction() as session:
        jobs = await JobRepository(session).unfinished_by_kind()
        oldest = await oldest_due_step(session, now)
        backlog = await webhook_events_received(session)
    return DatabaseFigures(
        jobs=jobs,
        known_kinds=tuple(HANDLERS),
        due_scan_lag_seconds=0.0 if oldest is None else (now - oldest).total_seconds(),
        webhook_events_backlog=backlog,
    )
