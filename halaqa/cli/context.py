"""Running service code from the command line: one transaction, the real clock, the settings."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console

from halaqa.config import Settings, get_settings
from halaqa.db.engine import create_engine
from halaqa.db.session import Database
from halaqa.exceptions import AppError
from halaqa.kit.clock import SystemClock
from halaqa.kit.deps import Runtime

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
console = Console()
errors = Console(stderr=True)


def in_transaction(work: Callable[[Runtime], Awaitable[T]], settings: Settings | None = None) -> T:
    """Runs `work` in one committed transaction; an AppError becomes a clean exit code 1."""
    settings = settings or get_settings()

    async def run() -> T:
        database = Database(create_engine(settings.database_url), SystemClock())
        try:
            async with database.transaction() as session:
                return await work(Runtime(session, database.clock, settings, settings.secret()))
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except AppError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(1) from None


def validated(model: type[M], **values: object) -> M:
    """Checks command-line values with the same schema the API uses."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(p) for p in problem["loc"])
            errors.print(f"[red]error:[/red] {field}: {problem['msg']}")
        raise typer.Exit(2) from None
