"""The baseline for bench/webhook_ingest.py: the simplest endpoint that takes LiveKit's webhooks
properly — verified with the SDK over the raw body, then one row inserted per request in its own
transaction — on the same database driver (aiosqlite or asyncpg through SQLAlchemy's async engine)
and the same SQLite settings as Halaqa (WAL, synchronous=NORMAL, busy timeout).

Served with `create_app` as a factory; configured by the environment:
PLAIN_WEBHOOK_DATABASE_URL, PLAIN_WEBHOOK_API_KEY, PLAIN_WEBHOOK_API_SECRET."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from livekit.api import TokenVerifier, WebhookReceiver
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

PATH = "/webhook"
TABLE_NAME = "plain_webhook_events"
SQLITE_BUSY_TIMEOUT_MS = 10_000

metadata = MetaData()
events = Table(
    TABLE_NAME,
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("event_id", String(100), nullable=False, unique=True),
    Column("event", String(50), nullable=False),
    Column("room_name", String(200)),
    Column("body", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


def make_engine(database_url: str) -> AsyncEngine:
    """An async engine with the driver's defaults; on SQLite, the pragmas Halaqa uses too."""
    engine = create_async_engine(database_url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


async def create_schema(database_url: str) -> None:
    """Creates the baseline's table (once, before its servers start)."""
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


def create_app() -> FastAPI:
    database_url = os.environ["PLAIN_WEBHOOK_DATABASE_URL"]
    receiver = WebhookReceiver(
        TokenVerifier(os.environ["PLAIN_WEBHOOK_API_KEY"], os.environ["PLAIN_WEBHOOK_API_SECRET"])
    )
    engine = make_engine(database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.post(PATH)
    async def webhook(request: Request) -> JSONResponse:
        body = (await request.body()).decode()
        try:
            verified = receiver.receive(body, request.headers.get("authorization", ""))
        except Exception:  # the SDK raises jwt errors and plain Exceptions alike
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        async with engine.begin() as connection:
            await connection.execute(
                events.insert().values(
                    event_id=verified.id,
                    event=verified.event,
                    room_name=verified.room.name or None,
                    body=body,
                    received_at=datetime.now(UTC),
                )
            )
        return JSONResponse({"stored": True})

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"status": "ready"}

    return app
