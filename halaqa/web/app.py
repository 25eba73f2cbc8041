"""Mounts the pages and their static files on the application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from halaqa.web.routes import (
    account,
    admin,
    classroom,
    family,
    inbox,
    learning,
    session,
    teaching,
)
from halaqa.web.templating import TEMPLATES_DIR

STATIC_DIR = TEMPLATES_DIR.parent / "static"
# teaching before session: /sessions/new must be matched before /sessions/{session_id}.
ROUTERS = (
    account.router,
    inbox.router,
    teaching.router,
    classroom.router,
    session.router,
    learning.router,
    family.router,
    admin.router,
)


def install_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
