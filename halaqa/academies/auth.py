"""Who is calling, and may they? The one way an endpoint says "needs role R in academy A"."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from halaqa.academies.repository import AcademyRepository, AuthRepository, MemberRepository
from halaqa.academies.roles import Role
from halaqa.academies.security import TokenKind, csrf_token, token_digest, token_kind
from halaqa.exceptions import Forbidden, NotAuthenticated, NotFound
from halaqa.kit.deps import ClientAddress, CurrentClock, DbSession
from halaqa.models import Academy, ApiKey, User

# Writing last_used_at on every request would make every read a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_bearer = HTTPBearer(auto_error=False, description="A login token (hqt_…) or an API key (hqk_…)")
# The pages keep the login token in this cookie (HttpOnly, SameSite=Lax); their scripts call the
# same API with it, so every unsafe request made with the cookie must also carry its CSRF token.
SESSION_COOKIE = "halaqa_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The caller: a signed-in user (through a login token) or an academy's API key."""

    user: User | None = None
    token_id: int | None = None
    api_key: ApiKey | None = None
    address: str | None = None

    @property
    def is_platform_admin(self) -> bool:
        return self.user is not None and self.user.is_platform_admin


@dataclass(frozen=True)
class Actor:
    """Who an audited change is attributed to; the worker acts as the system (all None)."""

    user_id: int | None = None
    api_key_id: int | None = None
    address: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(
            user_id=principal.user.id if principal.user else None,
            api_key_id=principal.api_key.id if principal.api_key else None,
            address=principal.address,
        )


@dataclass(frozen=True)
class AcademyContext:
    academy: Academy
    principal: Principal
    roles: frozenset[Role] = field(default_factory=frozenset)

    @property
    def actor(self) -> Actor:
        return Actor.of(self.principal)

    @property
    def user_id(self) -> int | None:
        return self.principal.user.id if self.principal.user else None


async def current_principal(
    request: Request,
    db: DbSession,
    clock: CurrentClock,
    address: ClientAddress,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is not None:
        token = credentials.credentials
    elif SESSION_COOKIE in request.cookies:
        token = request.cookies[SESSION_COOKIE]
        await _check_csrf(request, token)
    else:
        raise NotAuthenticated("send an Authorization: Bearer <token> header")
    kind = token_kind(token)
    digest = token_digest(token, request.app.state.secret)
    now = clock.now()
    auth = AuthRepository(db)
    if kind is TokenKind.LOGIN:
        found = await auth.token_by_digest(digest)
        if found is not None:
            login, user = found
            if (
                login.purpose == "login"
                and login.revoked_at is None
                and login.expires_at > now
                and user.is_active
            ):
                if login.last_used_at is None or now - login.last_used_at > LAST_USED_RESOLUTION:
                    login.last_used_at = now
                return Principal(user=user, token_id=login.id, address=address)
    elif kind is TokenKind.API_KEY:
        key = await auth.api_key_by_digest(digest)
        if (
            key is not None
            and key.revoked_at is None
            and (key.expires_at is None or key.expires_at > now)
        ):
            if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
                key.last_used_at = now
            return Principal(api_key=key, address=address)
    raise NotAuthenticated("the token is invalid, expired or revoked; sign in again")


async def _check_csrf(request: Request, session_token: str) -> None:
    """A cookie rides along with any request the browser makes, another site's too; the CSRF
    token, which only Halaqa's own pages know, shows the request came from one of them."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    expected = csrf_token(session_token, request.app.state.secret)
    if sent is None or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "the form has expired or did not come from this site; reload the page and try again",
            code="csrf_failed",
        )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_user(principal: CurrentPrincipal) -> Principal:
    if principal.user is None:
        raise Forbidden("API keys act for an academy, not a person; sign in as a user")
    return principal


UserPrincipal = Annotated[Principal, Depends(current_user)]


async def platform_admin(principal: UserPrincipal) -> Principal:
    if not principal.is_platform_admin:
        raise Forbidden("only a platform administrator may do this")
    return principal


PlatformAdmin = Annotated[Principal, Depends(platform_admin)]


async def roles_in_academy(
    db: DbSession, principal: Principal, academy: Academy
) -> frozenset[Role]:
    if principal.api_key is not None:
        if principal.api_key.academy_id != academy.id:
            return frozenset()
        return frozenset(Role(r) for r in principal.api_key.roles)
    assert principal.user is not None
    found = await MemberRepository(db, academy.id).get(principal.user.id)
    if found is None or not found[0].is_active:
        return frozenset()
    return frozenset(Role(r) for r in found[0].role_names)


def require_roles(*roles: Role) -> Callable[..., Awaitable[AcademyContext]]:
    """Dependency: the academy named by `{slug}`, entered by a member holding one of `roles`
    (any role when none are given). Non-members get 404, exactly as for an unknown academy, so
    nobody can learn what another academy holds; members without the role get 403."""
    needed = frozenset(roles)

    async def dependency(slug: str, db: DbSession, principal: CurrentPrincipal) -> AcademyContext:
        academy = await AcademyRepository(db).by_slug(slug)
        held = await roles_in_academy(db, principal, academy) if academy else frozenset()
        if academy is None or not held:
            raise NotFound(f"no academy '{slug}' that you belong to")
        if needed and not held & needed:
            wanted = " or ".join(sorted(needed))
            raise Forbidden(f"this needs the {wanted} role in '{slug}'", code="role_required")
        return AcademyContext(academy=academy, principal=principal, roles=held)

    return dependency
