"""`halaqa`: serve, migrate, create academies and users, load the demo, run the worker."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer
import uvicorn
from prometheus_client import start_http_server
from pydantic import ValidationError
from rich.table import Table

from halaqa import __version__
from halaqa.academies import service
from halaqa.academies.auth import Actor
from halaqa.academies.repository import UserRepository
from halaqa.academies.schemas import AcademyCreate, UserCreate
from halaqa.cli.context import console, errors, in_transaction, validated
from halaqa.cli.demo import demo_logins, load_demo
from halaqa.config import get_settings
from halaqa.db import migrate
from halaqa.db.engine import create_engine
from halaqa.db.session import Database
from halaqa.kit.clock import Clock, FrozenClock, SystemClock, ensure_utc
from halaqa.kit.deps import Runtime
from halaqa.kit.logs import configure_logging
from halaqa.meetings import service as meetings
from halaqa.models import Job
from halaqa.models.jobs import JobStatus
from halaqa.notifications import hooks as webhook_hooks
from halaqa.worker import jobs
from halaqa.worker.repository import JobRepository
from halaqa.worker.runner import Worker, stopped_by_signals

app = typer.Typer(
    help="Halaqa: live classes, attendance and session packages.", no_args_is_help=True
)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
academy_app = typer.Typer(help="Academies.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo academy.", no_args_is_help=True)
secrets_app = typer.Typer(help="Secrets kept sealed in the database.", no_args_is_help=True)
jobs_app = typer.Typer(help="Follow-up jobs: what is waiting, what failed.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(academy_app, name="academy")
app.add_typer(user_app, name="user")
app.add_typer(demo_app, name="demo")
app.add_typer(jobs_app, name="jobs")
app.add_typer(secrets_app, name="secrets")


def _show_version(value: bool) -> None:
    if value:
        console.print(f"halaqa {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    try:
        settings = get_settings()
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"])
            name = f"HALAQA_{where.upper()}: " if where else ""
            errors.print(f"[red]error:[/red] configuration: {name}{problem['msg']}")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL only).")] = 1,
) -> None:
    """Start the HTTP server (and, in embedded worker mode, the worker inside it)."""
    settings = get_settings()
    if workers > 1 and settings.is_sqlite:
        errors.print("[red]error:[/red] several server processes need PostgreSQL")
        raise typer.Exit(1)
    console.print(f"Halaqa {__version__} on http://{host}:{port}  (API docs: /api/docs)")
    uvicorn.run(
        "halaqa.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.value.lower(),
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = get_settings()
    migrate.upgrade(settings.database_url, revision)
    console.print(f"database at {revision}")


@academy_app.command("create")
def academy_create(
    slug: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    admin_email: Annotated[str, typer.Option(help="Email of an existing user who will run it.")],
    time_zone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    locale: Annotated[str, typer.Option(help="Default language: ar or en.")] = "ar",
) -> None:
    """Create an academy with its first admin."""
    data = validated(
        AcademyCreate, slug=slug, name=name, time_zone=time_zone, default_locale=locale
    )

    async def work(rt: Runtime) -> None:
        admin = await UserRepository(rt.session).by_email_key(service.email_key(admin_email))
        if admin is None:
            errors.print(
                f"[red]error:[/red] no user {admin_email}; create it with `halaqa user create`"
            )
            raise typer.Exit(1)
        await service.create_academy(rt, Actor(), data, admin_user_id=admin.id)

    in_transaction(work)
    console.print(f"academy {slug} created, run by {admin_email}")


@user_app.command("create")
def user_create(
    email: str,
    name: Annotated[str, typer.Option(help="Full name.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="10+ characters."
        ),
    ],
    platform_admin: Annotated[bool, typer.Option(help="May create academies.")] = False,
    locale: Annotated[str, typer.Option(help="ar or en.")] = "ar",
    time_zone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
) -> None:
    """Create a user account (and optionally make it a platform admin)."""
    data = validated(
        UserCreate, email=email, name=name, password=password, locale=locale, time_zone=time_zone
    )

    async def work(rt: Runtime) -> None:
        await service.create_user(
            rt,
            email=data.email,
            name=data.name,
            password=data.password,
            locale=data.locale,
            time_zone=data.time_zone,
            platform_admin=platform_admin,
        )

    in_transaction(work)
    console.print(f"user {data.email} created" + (" (platform admin)" if platform_admin else ""))


@demo_app.command("load")
def demo_load() -> None:
    """Create the demo academy (once; later runs change nothing) and print its logins."""
    created = in_transaction(load_demo)
    console.print("demo academy created" if created else "demo academy already there")
    table = Table(title="Demo logins (academy: demo)")
    for column in ("role", "email", "password"):
        table.add_column(column)
    for row in demo_logins():
        table.add_row(*row)
    console.print(table)


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option(help="Run one pass over everything due, then exit.")
    ] = False,
    now: Annotated[
        datetime | None,
        typer.Option(
            help="With --once: act as if it were this instant (ISO, UTC unless an offset is "
            "given), to catch up or to see what would happen.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"],
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve this worker's Prometheus metrics (jobs run, step durations) on this port.",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address the metrics port listens on.")
    ] = "127.0.0.1",
) -> None:
    """Run the background worker (use with HALAQA_WORKER_MODE=external). SIGTERM or SIGINT stop
    it gracefully: the job running finishes, jobs claimed but not started go back at once."""
    settings = get_settings()
    if now is not None and not once:
        errors.print("[red]error:[/red] --now goes with --once")
        raise typer.Exit(2)
    if metrics_port is not None:
        start_http_server(metrics_port, addr=metrics_host)
    clock: Clock = SystemClock() if now is None else FrozenClock(ensure_utc(now))

    async def run() -> None:
        database = Database(create_engine(settings.database_url), clock)
        runner = Worker(database, settings, settings.secret())
        try:
            if once:
                console.print(await runner.tick())
                return
            stop = asyncio.Event()
            with stopped_by_signals(stop):
                await runner.run(stop)
        finally:
            await database.dispose()

    asyncio.run(run())


@jobs_app.command("list")
def jobs_list(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this status.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="Newest first, at most this many.")
    ] = 50,
) -> None:
    """List jobs, newest first, with the last error of those that failed."""

    async def work(rt: Runtime) -> list[Job]:
        return list(await JobRepository(rt.session).page(status.value if status else None, limit))

    found = in_transaction(work)
    table = Table("id", "kind", "status", "attempts", "run after", "last error")
    for job in found:
        error = (job.last_error or "").strip().splitlines()
        table.add_row(
            str(job.id),
            job.kind,
            job.status,
            f"{job.attempts}/{job.max_attempts}",
            job.run_after.isoformat(timespec="seconds"),
            error[-1] if error else "",
        )
    console.print(table)


@jobs_app.command("retry")
def jobs_retry(job_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Run a parked job again, now, with a fresh set of attempts."""

    async def work(rt: Runtime) -> Job:
        return await jobs.retry(rt, job_id)

    job = in_transaction(work)
    console.print(f"job {job.id} ({job.kind}) queued again")


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Seal every stored secret again under the current HALAQA_SECRET_KEY (keep the old one in
    HALAQA_PREVIOUS_SECRET_KEYS until this has run)."""
    resealed, current = in_transaction(meetings.reseal_secrets)
    hooks_resealed, hooks_current = in_transaction(webhook_hooks.reseal_secrets)
    resealed, current = resealed + hooks_resealed, current + hooks_current
    console.print(f"{resealed} secrets sealed again, {current} already current")
