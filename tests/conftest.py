"""Fixtures: a fresh migrated database per test on each backend, a movable clock, the app."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from halaqa.academies import security
from halaqa.config import Settings, WorkerMode
from halaqa.db.session import Database
from halaqa.kit.clock import FrozenClock
from halaqa.main import create_app
from tests.api import Api
from tests.databases import REQUIRE_POSTGRES, PostgresDatabases, SqliteDatabases, postgres_problem

BACKENDS = ["sqlite", "postgresql"]
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at production cost takes ~0.2 s a hash; the tests check logic, not its strength."""
    original = security._hasher, security._DUMMY_HASH
    security._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))
    security._DUMMY_HASH = security._hasher.hash("halaqa-no-such-user")
    yield
    security._hasher, security._DUMMY_HASH = original


@pytest.fixture(scope="session")
def sqlite_databases() -> Iterator[SqliteDatabases]:
    databases = SqliteDatabases(Path(tempfile.mkdtemp(prefix="halaqa-tests-")))
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def postgresql_databases() -> Iterator[PostgresDatabases]:
    problem = postgres_problem()
    if problem is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"CI=true needs PostgreSQL. {problem}")
        pytest.skip(problem)
    databases = PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A freshly migrated database, on each backend in turn."""
    databases = request.getfixturevalue(f"{request.param}_databases")
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret_key=SECRET,
        secret_key_file=tmp_path / "unused-secret",
        webhook_spool_dir=tmp_path / "webhook-spool",
        worker_mode=WorkerMode.EXTERNAL,
    )


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def database(app: FastAPI) -> Database:
    database: Database = app.state.database
    return database


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://halaqa.test") as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient, app: FastAPI) -> Api:
    return Api(client, app)
