"""/healthz says the process lives; /readyz says the database answers and is migrated to head."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import text

from halaqa import __version__
from halaqa.config import Settings, WorkerMode
from halaqa.db.engine import create_engine
from halaqa.db.migrate import alembic_config, head_revision, upgrade
from halaqa.kit.clock import FrozenClock
from halaqa.main import create_app
from tests.api import assert_error
from tests.conftest import SECRET
from tests.databases import POSTGRES_ADMIN_URL, PostgresDatabases, _pg_execute

_empty_databases = itertools.count()


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


async def test_readyz_at_head(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    head = head_revision()
    assert head is not None
    assert response.json() == {
        "status": "ready",
        "database": app.state.database.dialect,
        "migration": head,
    }


# --- databases that are not ready ----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: no tables, no migration recorded."""
    if request.param == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()
        yield f"sqlite:///{path}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgresql_databases")
    name = f"{databases.prefix}_empty_{next(_empty_databases)}"
    asyncio.run(
        _pg_execute(
            POSTGRES_ADMIN_URL, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"
        )
    )
    url = databases.url_of(name)
    yield url
    databases.drop(url)


def settings_for(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret_key=SECRET,
        secret_key_file=tmp_path / "unused-secret",
        worker_mode=WorkerMode.EXTERNAL,
    )


async def readyz(settings: Settings, clock: FrozenClock) -> httpx.Response:
    """GET /readyz from an app started (lifespan and all) on `settings`."""
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://halaqa.test") as http:
            return await http.get("/readyz")


def assert_migrations_pending(response: httpx.Response, revision: str | None) -> None:
    error = assert_error(response, 503, "migrations_pending")
    assert f"database at migration {revision}," in error["message"]
    assert str(head_revision()) in error["message"]
    assert "halaqa db upgrade" in error["message"]


async def test_readyz_on_an_empty_database_is_migrations_pending(
    empty_database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    response = await readyz(settings_for(empty_database_url, tmp_path), clock)
    assert_migrations_pending(response, None)


def test_readyz_after_downgrading_to_base_is_migrations_pending(
    empty_database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    # Synchronous test: Alembic's env.py runs its own event loop.
    upgrade(empty_database_url)
    command.downgrade(alembic_config(empty_database_url), "base")
    response = asyncio.run(readyz(settings_for(empty_database_url, tmp_path), clock))
    assert_migrations_pending(response, None)

    upgrade(empty_database_url)  # and once upgraded again, it is ready
    response = asyncio.run(readyz(settings_for(empty_database_url, tmp_path), clock))
    assert response.status_code == 200, response.text


def test_readyz_at_another_revision_is_migrations_pending(
    empty_database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    """A database that records a revision the code does not expect (behind, or from a branch)."""
    upgrade(empty_database_url)

    async def record_revision() -> None:
        engine = create_engine(empty_database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
        finally:
            await engine.dispose()

    asyncio.run(record_revision())
    response = asyncio.run(readyz(settings_for(empty_database_url, tmp_path), clock))
    assert_migrations_pending(response, "0000")


# --- databases that do not answer ----------------------------------------------------------------


def closed_port() -> int:
    """A local port nothing listens on (it was free a moment ago, and nothing here takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(params=["postgresql-closed-port", "sqlite-directory"])
def unreachable_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite-directory":
        return f"sqlite:///{tmp_path}"  # a directory cannot be opened as a database
    return f"postgresql://postgres@127.0.0.1:{closed_port()}/halaqa"


@pytest.fixture
async def unreachable_app(
    unreachable_database_url: str, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[FastAPI]:
    application = create_app(settings_for(unreachable_database_url, tmp_path), clock=clock)
    # The app starts without its database: only readiness reports the problem.
    async with application.router.lifespan_context(application):
        yield application


async def test_readyz_without_a_database_is_database_unreachable(
    unreachable_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=unreachable_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://halaqa.test") as http:
        ready = await http.get("/readyz")
        alive = await http.get("/healthz")
    error = assert_error(ready, 503, "database_unreachable")
    assert error["message"] == "the database does not answer"  # no driver details leak out
    assert "readiness check failed" in caplog.text  # they go to the log instead
    assert alive.status_code == 200  # the process itself is fine
