"""Test databases: one migrated template per backend, copied for each test (fast and isolated).

SQLite always runs. PostgreSQL runs whenever it answers at HALAQA_TEST_POSTGRES_URL (default:
postgres on 127.0.0.1:5432); with CI=true it must answer, or the run fails.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from halaqa.db.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "HALAQA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("CI", "").lower() == "true"


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def postgres_problem() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        asyncio.run(_pg_execute(POSTGRES_ADMIN_URL, "SELECT 1"))
    except Exception as error:  # any failure to connect means "not available"
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} does not answer: {error!r}"
    return None


@dataclass
class SqliteDatabases:
    root: Path
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.template = self.root / "template.db"
        upgrade(f"sqlite:///{self.template}")

    def create(self) -> str:
        path = self.root / f"test-{next(self._counter)}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class PostgresDatabases:
    prefix: str = field(default_factory=lambda: f"halaqa_test_{os.getpid()}")
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.template = f"{self.prefix}_template"
        asyncio.run(
            _pg_execute(
                POSTGRES_ADMIN_URL,
                f"DROP DATABASE IF EXISTS {self.template}",
                f"CREATE DATABASE {self.template}",
            )
        )
        upgrade(self.url_of(self.template))

    def url_of(self, name: str) -> str:
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"{self.prefix}_{next(self._counter)}"
        asyncio.run(
            _pg_execute(
                POSTGRES_ADMIN_URL,
                f"DROP DATABASE IF EXISTS {name}",
                f"CREATE DATABASE {name} TEMPLATE {self.template}",
            )
        )
        return self.url_of(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        asyncio.run(_pg_execute(POSTGRES_ADMIN_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def close(self) -> None:
        asyncio.run(
            _pg_execute(POSTGRES_ADMIN_URL, f"DROP DATABASE IF EXISTS {self.template} WITH (FORCE)")
        )
