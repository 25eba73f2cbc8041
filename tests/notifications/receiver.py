"""A real HTTP server for the tests, standing for an academy's own system: it keeps every
request it receives and answers with the status codes it is told to (200 when none is left)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from halaqa.config import Settings


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    url: str = ""

    async def endpoint(self, request: Request) -> PlainTextResponse:
        self.received.append(Received(dict(request.headers), await request.body()))
        status = self.answers.pop(0) if self.answers else 200
        return PlainTextResponse(f"answered {status}", status_code=status)


@pytest.fixture
async def receiver(settings: Settings) -> AsyncIterator[Receiver]:
    """The receiver, on this machine's loopback: which the server may reach only because its
    operator allowed private addresses (as for an academy's systems on its own network)."""
    settings.webhook_private_addresses = True
    found = Receiver()
    app = Starlette(routes=[Route("/hooks", found.endpoint, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    found.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/hooks"
    yield found
    server.should_exit = True
    await task
