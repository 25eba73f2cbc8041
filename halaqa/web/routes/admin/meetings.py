"""/admin/meetings: how the academy's classes meet (LiveKit, or meeting links) and where
recordings go, as GET and PUT /meeting-provider (admins). Secrets are never shown back: the page
says only whether one is stored, and a secret field left blank keeps it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from halaqa.meetings import service
from halaqa.meetings.endpoints import config_out
from halaqa.meetings.schemas import MeetingConfigIn, MeetingConfigOut
from halaqa.web.forms import FieldErrors, read_form
from halaqa.web.pages import AcademyPage
from halaqa.web.routes.admin.common import AdminPage, show, submit, unprefixed

router = APIRouter()
FIELDS = ("provider", "livekit_url", "livekit_api_key", "livekit_api_secret", "jitsi_base_url")
RECORDINGS = "recordings."
SECRETS = ("livekit_api_secret", f"{RECORDINGS}s3_secret")


def _form_of(config: MeetingConfigOut) -> dict[str, Any]:
    form: dict[str, Any] = {
        "provider": config.provider,
        "livekit_url": config.livekit_url or "",
        "livekit_api_key": config.livekit_api_key or "",
        "jitsi_base_url": config.jitsi_base_url or "",
        "record": "on" if config.recordings else "",
    }
    if config.recordings is not None:
        stored = config.recordings.model_dump(exclude={"s3_secret_set"})
        form |= {f"{RECORDINGS}{k}": v or "" for k, v in stored.items()}
    return form


async def _meetings_page(
    page: AcademyPage,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    config = config_out(await service.get_config(page.rt, page.ctx))
    return show(
        page,
        "meetings.html",
        status_code,
        config=config,
        form=form or _form_of(config),
        errors=errors or {},
    )


@router.get("/admin/meetings")
async def meetings(slug: str, page: AdminPage) -> Response:
    return await _meetings_page(page)


def _body(data: dict[str, Any]) -> dict[str, Any]:
    """The form as MeetingConfigIn reads it: blank fields left out (a blank secret keeps the
    stored one), the recordings' fields only when recording is ticked."""
    body = {name: data[name] for name in FIELDS if data.get(name, "") != ""}
    if data.get("record"):
        storage = unprefixed(data, RECORDINGS)
        body["recordings"] = {k: v for k, v in storage.items() if v != ""}
    return body


@router.post("/admin/meetings")
async def save_meetings(slug: str, request: Request, page: AdminPage) -> Response:
    data = await read_form(request)
    form = {k: v for k, v in data.items() if k not in SECRETS}
    return await submit(
        page,
        data,
        MeetingConfigIn,
        lambda body: service.set_config(page.rt, page.ctx, body),
        lambda status, errors: _meetings_page(page, status, form=form, errors=errors),
        "/admin/meetings",
        fields=_body(data),
    )
