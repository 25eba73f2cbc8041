"""Portable column types and connection settings behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

from halaqa.db.engine import SQLITE_BUSY_TIMEOUT_MS
from halaqa.db.session import Database
from halaqa.db.types import PortableJSON, UTCDateTime
from halaqa.models import LoginAttempt, User

RIYADH = timezone(timedelta(hours=3))
NEW_YORK_WINTER = timezone(timedelta(hours=-5))

probe_metadata = MetaData()
probe = Table(
    "type_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=True),
    Column("data", PortableJSON, nullable=True),
)


@pytest.fixture
async def probe_table(database: Database) -> Table:
    async with database.engine.begin() as connection:
        await connection.run_sync(probe_metadata.create_all)
    return probe


async def insert_rows(database: Database, *rows: dict[str, Any]) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(insert(probe), list(rows))


async def read_at(database: Database, row_id: int) -> datetime | None:
    async with database.engine.connect() as connection:
        value: datetime | None = await connection.scalar(
            select(probe.c.at).where(probe.c.id == row_id)
        )
    return value


# --- UTCDateTime ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=RIYADH),
        datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK_WINTER),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    ids=["utc", "riyadh-microseconds", "new-york", "epoch", "far-future"],
)
async def test_utc_datetime_round_trips_as_aware_utc(
    database: Database, probe_table: Table, instant: datetime
) -> None:
    await insert_rows(database, {"id": 1, "at": instant})
    back = await read_at(database, 1)
    assert back == instant  # the same instant, to the microsecond
    assert back is not None
    assert back.tzinfo is UTC  # and always handed back in UTC, whatever zone went in
    assert back.replace(tzinfo=None) == instant.astimezone(UTC).replace(tzinfo=None)


async def test_utc_datetime_passes_none_through(database: Database, probe_table: Table) -> None:
    await insert_rows(database, {"id": 1, "at": None})
    assert await read_at(database, 1) is None


async def test_utc_datetime_refuses_naive_datetimes(database: Database, probe_table: Table) -> None:
    naive = datetime(2026, 3, 1, 9, 0)  # noqa: DTZ001 (the point of the test)
    with pytest.raises(StatementError, match="naive datetime"):
        await insert_rows(database, {"id": 1, "at": naive})
    # Nor can a naive value sneak in as a query parameter.
    async with database.engine.connect() as connection:
        with pytest.raises(StatementError, match="naive datetime"):
            await connection.execute(select(probe.c.id).where(probe.c.at < naive))
    async with database.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(probe)) == 0


async def test_utc_datetime_compares_and_orders_by_instant_in_sql(
    database: Database, probe_table: Table
) -> None:
    """Stored in UTC on both backends, so SQL comparisons follow the instant, not the wall
    clock: 09:00 in Riyadh is 06:00 UTC, earlier than 07:00 UTC."""
    riyadh_nine = datetime(2026, 3, 1, 9, 0, tzinfo=RIYADH)  # 06:00 UTC
    utc_seven = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    new_york_one = datetime(2026, 3, 1, 1, 0, tzinfo=NEW_YORK_WINTER)  # 06:00 UTC as well
    await insert_rows(
        database,
        {"id": 1, "at": utc_seven},
        {"id": 2, "at": riyadh_nine},
        {"id": 3, "at": new_york_one + timedelta(seconds=1)},
    )
    async with database.engine.connect() as connection:
        ordered = (await connection.scalars(select(probe.c.id).order_by(probe.c.at))).all()
        later = (
            await connection.scalars(select(probe.c.id).where(probe.c.at > new_york_one))
        ).all()
        same = (await connection.scalars(select(probe.c.id).where(probe.c.at == riyadh_nine))).all()
    assert list(ordered) == [2, 3, 1]
    assert sorted(later) == [1, 3]
    assert list(same) == [2]


async def test_utc_datetime_storage_on_each_backend(database: Database, probe_table: Table) -> None:
    await insert_rows(database, {"id": 1, "at": datetime(2026, 3, 1, 9, 0, tzinfo=RIYADH)})
    async with database.engine.connect() as connection:
        if database.dialect == "sqlite":
            # SQLite has no zones: the text is UTC without an offset, so it sorts by instant.
            raw = await connection.scalar(text("SELECT at FROM type_probe"))
            assert raw == "2026-03-01 06:00:00.000000"
        else:
            column_type = await connection.scalar(
                text(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'type_probe' AND column_name = 'at'"
                )
            )
            assert column_type == "timestamp with time zone"


async def test_model_timestamps_come_back_aware_utc(database: Database) -> None:
    created = datetime(2026, 3, 1, 12, 0, tzinfo=RIYADH)
    async with database.transaction() as session:
        session.add(LoginAttempt(email_key="a@example.com", address="::1", created_at=created))
    async with database.session() as session:
        attempt = await session.scalar(select(LoginAttempt))
    assert attempt is not None
    assert attempt.created_at == created
    assert attempt.created_at.tzinfo is UTC


# --- PortableJSON and ids ------------------------------------------------------------------------


async def test_portable_json_round_trips(database: Database, probe_table: Table) -> None:
    value = {"name": "حلقة", "nested": {"list": [1, 2.5, None, True]}, "empty": {}}
    await insert_rows(database, {"id": 1, "data": value})
    async with database.engine.connect() as connection:
        assert await connection.scalar(select(probe.c.data)) == value


async def test_ids_up_to_the_api_bound_fit_on_both_backends(database: Database) -> None:
    """The API accepts ids up to 2**62; the id columns hold them (BIGINT / SQLite INTEGER)."""
    async with database.transaction() as session:
        session.add(
            User(
                id=2**62,
                email="big@example.com",
                email_key="big@example.com",
                name="Big",
                locale="ar",
                time_zone="UTC",
            )
        )
    async with database.session() as session:
        assert await session.get(User, 2**62) is not None


# --- SQLite connections --------------------------------------------------------------------------


async def sqlite_pragmas(connection: AsyncConnection) -> dict[str, Any]:
    values = {
        name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
        for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
    }
    await connection.rollback()  # end the transaction (and its write lock) the query began
    return values


EXPECTED_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    "synchronous": 1,  # NORMAL: safe with WAL, without a sync on every commit
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_connections_are_configured(database: Database) -> None:
    # Every connection the pool opens, not only the first: two at once are two connections.
    async with database.engine.connect() as first, database.engine.connect() as second:
        assert await first.get_raw_connection() is not await second.get_raw_connection()
        assert await sqlite_pragmas(first) == EXPECTED_PRAGMAS
        assert await sqlite_pragmas(second) == EXPECTED_PRAGMAS


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_transactions_take_the_write_lock_up_front(
    database: Database, database_url: str
) -> None:
    """BEGIN IMMEDIATE: a transaction that has only read still holds the write lock, so it can
    never fail half-way when it starts writing. Another writer is refused meanwhile."""
    path = make_url(database_url).database
    assert path is not None
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with database.transaction() as session:
            await session.scalar(select(func.count()).select_from(User))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the transaction ended
        other.execute("ROLLBACK")
    finally:
        other.close()
