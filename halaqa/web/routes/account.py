"""Signing in and out, choosing a language and time zone, and finding one's academy."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from halaqa.academies import service
from halaqa.academies.auth import (
    SESSION_COOKIE,
    AcademyContext,
    UserPrincipal,
    require_roles,
)
from halaqa.academies.repository import UserRepository
from halaqa.academies.schemas import InvitationAccept, MeUpdate
from halaqa.academies.security import csrf_token
from halaqa.exceptions import AppError, Forbidden
from halaqa.kit.deps import ClientAddress, CurrentRuntime, Runtime
from halaqa.notifications import feeds
from halaqa.web import nav
from halaqa.web.errors import message_of
from halaqa.web.forms import FORM, errors_of, read_form, validate
from halaqa.web.i18n import LANGUAGE_COOKIE, LANGUAGES, supported
from halaqa.web.pages import ANONYMOUS_COOKIE, CurrentVisitor, render, see_other

router = APIRouter(include_in_schema=False)
YEAR = 365 * 24 * 3600


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a login link must not send people elsewhere."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
async def login_page(who: CurrentVisitor, next: str | None = None) -> Response:
    if who.user is not None:
        return see_other(_safe_next(next))
    return render(who, "login.html", next=_safe_next(next))


@router.post("/login")
async def login(
    request: Request, who: CurrentVisitor, rt: CurrentRuntime, address: ClientAddress
) -> Response:
    data = await read_form(request)
    anonymous = request.cookies.get(ANONYMOUS_COOKIE, "")
    sent = (await request.form()).get("csrf_token")
    target = _safe_next(str(data.get("next") or "/"))
    form = {"email": data.get("email", ""), "next": target}
    if not anonymous or sent != csrf_token(anonymous, rt.secret):
        error = Forbidden("stale form", code="csrf_failed")
        errors = {FORM: message_of(error, who.gettext)}
        return render(who, "login.html", 403, errors=errors, form=form, next=target)
    errors = {}
    for name in ("email", "password"):
        if not str(data.get(name, "")).strip():
            errors[name] = who.gettext("This field is required.")
    if errors:
        return render(who, "login.html", 422, errors=errors, form=form, next=target)
    outcome = await service.login(
        rt,
        str(data["email"]),
        str(data["password"]),
        address=address,
        user_agent=request.headers.get("user-agent"),
    )
    if outcome.failure is not None:
        errors = {FORM: message_of(outcome.failure, who.gettext)}
        return render(who, "login.html", 401, errors=errors, form=form, next=target)
    assert outcome.issued is not None
    response = see_other(target)
    _sign_in(response, rt, outcome.issued.token)
    return response


def _sign_in(response: Response, rt: Runtime, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=rt.settings.base_url.startswith("https://"),
        max_age=rt.settings.token_ttl_hours * 3600,
    )
    response.delete_cookie(ANONYMOUS_COOKIE)


@router.post("/logout")
async def logout(principal: UserPrincipal, rt: CurrentRuntime) -> Response:
    if principal.token_id is not None:
        await service.logout(rt, principal)
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language")
async def choose_language(
    who: CurrentVisitor,
    rt: CurrentRuntime,
    language: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
    csrf_token_: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Anyone may switch language; a signed-in user's choice is kept on their account."""
    chosen = supported(language) or who.language
    if csrf_token_ != who.csrf:
        raise Forbidden("stale form", code="csrf_failed")
    if who.user is not None:
        who.user.locale = chosen
    response = see_other(_safe_next(next))
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=YEAR, samesite="lax")
    return response


@router.get("/")
async def home(who: CurrentVisitor, rt: CurrentRuntime) -> Response:
    if who.user is None:
        return see_other("/login")
    memberships = await UserRepository(rt.session).memberships(who.user.id)
    active = [(m, a) for m, a in memberships if m.is_active]
    if len(active) == 1:
        return see_other(f"/a/{active[0][1].slug}")
    return render(who, "academies.html", memberships=active)


Member = Annotated[AcademyContext, Depends(require_roles())]


@router.get("/a/{slug}")
async def academy_home(slug: str, ctx: Member) -> RedirectResponse:
    return see_other(f"/a/{slug}{nav.home_path(ctx.roles)}")


@router.get("/account")
async def account_page(who: CurrentVisitor, rt: CurrentRuntime) -> Response:
    if who.user is None:
        return see_other("/login?next=/account")
    form = {"name": who.user.name, "locale": who.user.locale, "time_zone": who.user.time_zone}
    feed = await feeds.active_feed(rt, who.user)
    return render(who, "account.html", form=form, languages=LANGUAGES, saved=False, feed=feed)


@router.post("/account")
async def save_account(
    request: Request, who: CurrentVisitor, principal: UserPrincipal, rt: CurrentRuntime
) -> Response:
    data = await read_form(request)
    update, errors = validate(MeUpdate, data, who.gettext)
    assert who.user is not None
    feed = await feeds.active_feed(rt, who.user)
    if update is None:
        return render(
            who,
            "account.html",
            422,
            form=data,
            errors=errors,
            languages=LANGUAGES,
            saved=False,
            feed=feed,
        )
    user = await service.update_me(rt, principal, update)
    form = {"name": user.name, "locale": user.locale, "time_zone": user.time_zone}
    response = render(
        who.__class__(**{**who.__dict__, "language": user.locale, "zone": user.time_zone}),
        "account.html",
        form=form,
        languages=LANGUAGES,
        saved=True,
        feed=feed,
    )
    response.set_cookie(LANGUAGE_COOKIE, user.locale, max_age=YEAR, samesite="lax")
    return response


@router.get("/invitation")
async def invitation_page(who: CurrentVisitor, token: str = "") -> Response:
    return render(who, "invitation.html", form={"token": token[:200]})


@router.post("/invitation")
async def accept_invitation(
    request: Request, who: CurrentVisitor, rt: CurrentRuntime, address: ClientAddress
) -> Response:
    """Choosing one's password with an invitation signs one in, as after signing in."""
    data = await read_form(request)
    anonymous = request.cookies.get(ANONYMOUS_COOKIE, "")
    if not anonymous or (await request.form()).get("csrf_token") != csrf_token(
        anonymous, rt.secret
    ):
        errors = {FORM: message_of(Forbidden("stale form", code="csrf_failed"), who.gettext)}
        return render(who, "invitation.html", 403, errors=errors, form=data)
    accepted, errors = validate(InvitationAccept, data, who.gettext)
    if accepted is None:
        return render(who, "invitation.html", 422, errors=errors, form=data)
    try:
        async with rt.session.begin_nested():
            issued = await service.accept_invitation(
                rt,
                accepted.token,
                accepted.password,
                address=address,
                user_agent=request.headers.get("user-agent"),
            )
    except AppError as error:
        return render(
            who,
            "invitation.html",
            error.status_code,
            errors=errors_of(error, who.gettext),
            form=data,
        )
    response = see_other("/")
    _sign_in(response, rt, issued.token)
    return response
