"""The application factory: one FastAPI app, its error shape, health checks and routers."""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, SecretStr
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from halaqa import __version__
from halaqa.academies.endpoints import academies_router, auth_router, me_router
from halaqa.attendance.endpoints import requests_router as absence_requests_router
from halaqa.attendance.endpoints import router as attendance_router
from halaqa.billing.endpoints import router as ledger_router
from halaqa.bookings.endpoints import bookings_router, teachers_router
from halaqa.catalog.endpoints import groups_router
from halaqa.catalog.subscription_endpoints import packages_router, subscriptions_router
from halaqa.config import Settings, WorkerMode, get_settings
from halaqa.db.engine import create_engine
from halaqa.db.migrate import current_revision, head_revision
from halaqa.db.session import Database
from halaqa.evaluations.endpoints import router as evaluations_router
from halaqa.exceptions import AppError, InternalError, NotFound, RateLimited
from halaqa.kit.clock import Clock, SystemClock
from halaqa.kit.logs import configure_logging
from halaqa.kit.metrics import CONTENT_TYPE, exposition
from halaqa.meetings.endpoints import router as meetings_router
from halaqa.meetings.endpoints import webhooks_router
from halaqa.meetings.inbox import WebhookInbox
from halaqa.meetings.webhooks import LiveKitVerifier
from halaqa.notifications.endpoints import calendars_router, feed_router, notifications_router
from halaqa.notifications.hook_endpoints import router as webhooks_out_router
from halaqa.reports.endpoints import router as reports_router
from halaqa.schedules.endpoints import router as schedules_router
from halaqa.scheduling.endpoints import makeups_router
from halaqa.scheduling.endpoints import router as sessions_router
from halaqa.web.app import install_pages
from halaqa.web.errors import error_page, is_page
from halaqa.worker.figures import read_figures
from halaqa.worker.runner import Worker

log = logging.getLogger("halaqa")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Malformed request"),
        (401, "Not signed in, or the token is invalid"),
        (403, "Signed in, but not allowed"),
        (404, "Not found (also: an academy you do not belong to)"),
        (409, "Conflicts with the current state"),
        (413, "Request body too large"),
        (415, "The body is not of a media type this operation accepts"),
        (422, "A field is missing or invalid; details name each field"),
        (429, "Too many attempts"),
        (503, "A service Halaqa depends on (the meeting server) cannot answer now; try again"),
    )
}


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()
    # Here as well as in the command line: server processes uvicorn starts (--workers, or
    # `uvicorn --factory`) log through Halaqa's handler too.
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(create_engine(settings.database_url), clock)
        app.state.database = database
        app.state.livekit_verifier = LiveKitVerifier(database, settings)
        inbox = app.state.webhook_inbox = WebhookInbox(database, settings, app.state.secret)
        await inbox.start()
        # What the app is made of lives as long as the process: out of the cycle collector's
        # sight, a full collection walks only what requests make, not a quarter of a million
        # objects (some 140 ms, a pause every request waiting then would feel).
        gc.collect()
        gc.freeze()
        worker_task = None
        stop = asyncio.Event()
        if settings.worker_mode is WorkerMode.EMBEDDED:
            worker = Worker(database, settings, app.state.secret)
            worker_task = asyncio.create_task(worker.run(stop), name="halaqa-worker")
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            await inbox.stop()
            await database.dispose()

    app = FastAPI(
        title="Halaqa",
        version=__version__,
        description="Live classes, attendance and session packages for online academies.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.secret = settings.secret()
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    _install_health(app)
    _install_metrics(app)
    # The webhook route first: LiveKit's events are most of the requests, and routes are matched
    # in order.
    for router in (
        webhooks_router,
        auth_router,
        me_router,
        academies_router,
        groups_router,
        packages_router,
        subscriptions_router,
        sessions_router,
        makeups_router,
        schedules_router,
        meetings_router,
        attendance_router,
        absence_requests_router,
        ledger_router,
        evaluations_router,
        teachers_router,
        bookings_router,
        reports_router,
        feed_router,
        calendars_router,
        notifications_router,
        webhooks_out_router,
    ):
        app.include_router(router)
    install_pages(app)
    return app


# --- errors ----------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] or parts
    return ".".join(parts)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, error: AppError) -> Response:
        if is_page(request):
            return error_page(request, error)
        response = JSONResponse(error.to_body(), status_code=error.status_code)
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if is_page(request):
            # A page's own forms are validated by the page; this is a mangled address.
            return error_page(request, NotFound("no such page"))
        problems = list(error.errors())
        if any(p.get("type") == "json_invalid" for p in problems):
            return _error(400, "malformed_json", "the request body is not valid JSON")
        details = [
            {"field": _field_name(tuple(p.get("loc", ()))), "message": p.get("msg", "invalid")}
            for p in problems
        ]
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return _error(422, "validation_error", message or "invalid request", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if is_page(request) and error.status_code == 404:
            return error_page(request, NotFound("no such page"))
        codes = {
            # FastAPI raises a bare 400 only when a body cannot be decoded at all (e.g. bytes
            # that are not UTF-8); bodies that are not JSON come as RequestValidationError.
            400: "malformed_json",
            404: "not_found",
            405: "method_not_allowed",
            401: "not_authenticated",
            413: "body_too_large",
        }
        code = codes.get(error.status_code, "http_error")
        messages = {400: "the request body is not valid JSON", 404: "no such endpoint"}
        response = _error(error.status_code, code, messages.get(error.status_code, error.detail))
        response.headers.update(error.headers or {})
        if error.status_code == 405:
            # RFC 9110: a 405 names every allowed method. Starlette names only those of the first
            # route whose path matched (PUT /me would say "GET" though PATCH is allowed too).
            allowed = [
                method
                for method in HTTP_METHODS
                if any(
                    route.matches({**request.scope, "method": method})[0] is Match.FULL
                    for route in request.app.router.routes
                )
            ]
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.exception_handler(IntegrityError)
    async def integrity_error(_request: Request, error: IntegrityError) -> JSONResponse:
        # Services check first; this answers the rare race two requests can still run into.
        log.warning("integrity error: %s", error.orig)
        return _error(409, "conflict", "this conflicts with a change made at the same time; retry")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        if is_page(request):
            return error_page(request, InternalError("something went wrong on our side"))
        return _error(500, "internal_error", "something went wrong on our side; it was logged")


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(StarletteHTTPException):
    """Raised while a streamed body is read. An HTTPException, because FastAPI's body parsing lets
    those through (any other error there becomes a 400) and the handler then answers 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes")


class BodySizeLimit:
    """Refuses bodies over the limit with 413, whether declared up front or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _error(413, "body_too_large", str(BodyTooLarge(self.max_bytes).detail))
        await response(scope, receive, send)


# --- health ----------------------------------------------------------------------------------


def _install_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="The database answers and its migrations are at head",
        responses={503: {"model": ErrorBody, "description": "Not ready"}},
    )
    async def readyz(request: Request) -> Any:
        database: Database = request.app.state.database
        try:
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                revision = await current_revision(connection)
        except Exception as error:  # any failure to reach the database means "not ready"
            log.warning("readiness check failed: %s", error)
            return _error(503, "database_unreachable", "the database does not answer")
        head = head_revision()
        if revision != head:
            return _error(
                503,
                "migrations_pending",
                f"database at migration {revision}, code expects {head}: run `halaqa db upgrade`",
            )
        return {"status": "ready", "database": database.dialect, "migration": revision}


# --- metrics ---------------------------------------------------------------------------------


def _bearer_is(authorization: str | None, token: SecretStr) -> bool:
    scheme, _, value = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), expected)


def _install_metrics(app: FastAPI) -> None:
    # Out of the OpenAPI schema: for Prometheus, not for API clients.
    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        token = settings.metrics_token
        if token is not None and not _bearer_is(request.headers.get("authorization"), token):
            response = _error(
                401, "not_authenticated", "/metrics needs Authorization: Bearer <metrics token>"
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        figures = await read_figures(request.app.state.database)
        return Response(exposition(figures), media_type=CONTENT_TYPE)
