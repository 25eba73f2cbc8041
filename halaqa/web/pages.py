"""What every page needs: who is looking (language, time zone, CSRF token), the academy and
roles for academy pages, and rendering with all of that in the template's context."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from halaqa.academies.auth import SESSION_COOKIE, AcademyContext, require_roles
from halaqa.academies.repository import AuthRepository
from halaqa.academies.roles import STAFF, Role
from halaqa.academies.security import TokenKind, csrf_token, token_digest, token_kind
from halaqa.kit.deps import CurrentRuntime, Runtime
from halaqa.models import Academy, User
from halaqa.notifications.service import unread_count
from halaqa.web import nav
from halaqa.web.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_COOKIE,
    from_accept_language,
    supported,
    translations,
)
from halaqa.web.templating import environment

# Before signing in, the CSRF token is bound to this random cookie instead of the login token.
ANONYMOUS_COOKIE = "halaqa_anon"


@dataclass
class Visitor:
    """Whoever is looking at a page, signed in or not."""

    request: Request
    language: str
    zone: str
    user: User | None
    csrf: str
    now: datetime
    new_anonymous_cookie: str | None = None
    unread: int = 0  # notifications not yet read (the bell)

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)


@dataclass
class AcademyPage:
    """A page inside an academy, for a member holding one of the roles it needs."""

    visitor: Visitor
    ctx: AcademyContext
    rt: Runtime
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def academy(self) -> Academy:
        return self.ctx.academy

    @property
    def user(self) -> User:
        assert self.visitor.user is not None
        return self.visitor.user

    @property
    def roles(self) -> frozenset[Role]:
        return self.ctx.roles

    @property
    def is_staff(self) -> bool:
        return bool(self.ctx.roles & STAFF)

    def url(self, path: str = "") -> str:
        return f"/a/{self.academy.slug}{path}"


async def _signed_in_user(rt: Runtime, request: Request) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or token_kind(token) is not TokenKind.LOGIN:
        return None
    found = await AuthRepository(rt.session).token_by_digest(token_digest(token, rt.secret))
    if found is None:
        return None
    login, user = found
    now = rt.clock.now()
    if login.purpose != "login" or login.revoked_at is not None or login.expires_at <= now:
        return None
    return user if user.is_active else None


def language_of(request: Request, user: User | None) -> str:
    """The user's own choice; before signing in, the one picked on the page, else the browser's."""
    return (
        (supported(user.locale) if user else None)
        or supported(request.cookies.get(LANGUAGE_COOKIE))
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT_LANGUAGE
    )


async def visitor(request: Request, rt: CurrentRuntime) -> Visitor:
    user = await _signed_in_user(rt, request)
    session_value = request.cookies.get(SESSION_COOKIE) if user else None
    new_cookie = None
    if session_value is None:
        session_value = request.cookies.get(ANONYMOUS_COOKIE)
        if not session_value:
            session_value = new_cookie = secrets.token_urlsafe(24)
    language = request.state.language = language_of(request, user)
    return Visitor(
        request=request,
        language=language,
        zone=user.time_zone if user else "UTC",
        user=user,
        csrf=csrf_token(session_value, rt.secret),
        now=rt.clock.now(),
        new_anonymous_cookie=new_cookie,
        unread=await unread_count(rt, user.id) if user else 0,
    )


CurrentVisitor = Annotated[Visitor, Depends(visitor)]


def academy_page(*roles: Role) -> Callable[..., Awaitable[AcademyPage]]:
    """Dependency for a page under /a/{slug}/: the same membership and role check as the API
    (require_roles), so a page can never show more than the API would."""
    member = require_roles(*roles)

    # `member` is local: in the default, not the (string, postponed) annotation, where FastAPI
    # could not resolve it.
    async def dependency(
        who: CurrentVisitor,
        rt: CurrentRuntime,
        ctx: AcademyContext = Depends(member),
    ) -> AcademyPage:
        if who.user is not None and not (who.user.time_zone or "").strip():
            who.zone = ctx.academy.time_zone
        return AcademyPage(visitor=who, ctx=ctx, rt=rt)

    return dependency


def render(
    who: Visitor | AcademyPage, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    page = who if isinstance(who, AcademyPage) else None
    visitor_ = page.visitor if page else who
    assert isinstance(visitor_, Visitor)
    values: dict[str, Any] = {
        "visitor": visitor_,
        "page": page,
        "academy": page.academy if page else None,
        "roles": page.roles if page else frozenset(),
        "nav": nav.items(page) if page else [],
        "zone": visitor_.zone,
        "now": visitor_.now,
        "csrf": visitor_.csrf,
        "request": visitor_.request,
        "errors": {},
        "form": {},
        **context,
    }
    html = environment(visitor_.language).get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    remember_anonymous(visitor_, response)
    return response


def remember_anonymous(who: Visitor, response: HTMLResponse | RedirectResponse) -> None:
    if who.new_anonymous_cookie is not None:
        response.set_cookie(
            ANONYMOUS_COOKIE, who.new_anonymous_cookie, httponly=True, samesite="lax"
        )


def see_other(url: str) -> RedirectResponse:
    """After a form is handled: the browser loads the result with GET (no resubmit on reload)."""
    return RedirectResponse(url, status_code=303)
