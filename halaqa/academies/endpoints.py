"""HTTP API for academies, people, auth and API keys: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from halaqa.academies import service
from halaqa.academies.auth import (
    AcademyContext,
    Actor,
    PlatformAdmin,
    UserPrincipal,
    require_roles,
)
from halaqa.academies.repository import (
    AcademyRepository,
    ApiKeyRepository,
    AuditRepository,
    GuardianshipRepository,
    MemberRepository,
    UserRepository,
)
from halaqa.academies.roles import STAFF, Role
from halaqa.academies.schemas import (
    AcademyCreate,
    AcademyOut,
    AcademySettingsPatch,
    AcademyUpdate,
    AcademyWithSettings,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditEntryOut,
    GuardianshipCreate,
    GuardianshipOut,
    Invitation,
    InvitationAccept,
    LoginRequest,
    MemberCreate,
    MemberCreated,
    MemberOut,
    MemberUpdate,
    MeOut,
    MeUpdate,
    MyMembership,
    PasswordChange,
    PersonRef,
    TokenOut,
)
from halaqa.academies.settings import effective_settings
from halaqa.exceptions import Forbidden
from halaqa.kit.deps import ClientAddress, CurrentRuntime, Runtime
from halaqa.kit.pagination import Page, PageParams, page_params
from halaqa.kit.validation import NoNul
from halaqa.models import Academy, ApiKey, Guardianship, User

auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
me_router = APIRouter(prefix="/api/v1/me", tags=["me"])
academies_router = APIRouter(prefix="/api/v1/academies", tags=["academies"])

Pages = Annotated[PageParams, Depends(page_params)]
AnyMember = Annotated[AcademyContext, Depends(require_roles())]
Admin = Annotated[AcademyContext, Depends(require_roles(Role.ADMIN))]
Staff = Annotated[AcademyContext, Depends(require_roles(*STAFF))]
# Path parameters need FastAPI's Path for their bounds: a bare pydantic Field inside Annotated is
# ignored there, and an id past 64 bits reached the database and answered 500.
PathId = Annotated[int, Path(ge=1, le=2**62)]
UserId = PathId


# --- shaping ---------------------------------------------------------------------------------


def academy_out(academy: Academy) -> AcademyOut:
    return AcademyOut.model_validate(academy, from_attributes=True)


def academy_with_settings(academy: Academy) -> AcademyWithSettings:
    return AcademyWithSettings(
        **academy_out(academy).model_dump(),
        settings=effective_settings(academy.settings),
        overridden=service.overridden_settings(academy),
    )


def member_out(member: service.Member) -> MemberCreated:
    membership, user = member.membership, member.user
    invitation = None
    if member.invitation is not None:
        invitation = Invitation(
            token=member.invitation.token, expires_at=member.invitation.record.expires_at
        )
    return MemberCreated(
        user_id=user.id,
        email=user.email,
        name=user.name,
        roles=sorted(Role(r) for r in membership.role_names),
        is_active=membership.is_active,
        account_active=user.is_active,
        invitation_pending=user.password_hash is None,
        locale=user.locale,
        time_zone=user.time_zone,
        joined_at=membership.created_at,
        invitation=invitation,
    )


def api_key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


def token_out(issued: service.IssuedToken) -> TokenOut:
    return TokenOut(access_token=issued.token, expires_at=issued.record.expires_at)


# --- auth ------------------------------------------------------------------------------------


@auth_router.post("/login", response_model=TokenOut, summary="Sign in with email and password")
async def login(
    body: LoginRequest, request: Request, rt: CurrentRuntime, address: ClientAddress
) -> Any:
    outcome = await service.login(
        rt,
        body.email,
        body.password,
        address=address,
        user_agent=request.headers.get("user-agent"),
    )
    if outcome.failure is not None:
        # Answered, not raised: the failed attempt must be committed for the rate limit to count it.
        return JSONResponse(outcome.failure.to_body(), status_code=status.HTTP_401_UNAUTHORIZED)
    assert outcome.issued is not None
    return token_out(outcome.issued)


@auth_router.post("/logout", status_code=204, summary="Revoke the token of this request")
async def logout(principal: UserPrincipal, rt: CurrentRuntime) -> Response:
    if principal.token_id is None:
        raise Forbidden("only login tokens can be signed out; revoke API keys instead")
    await service.logout(rt, principal)
    return Response(status_code=204)


@auth_router.post(
    "/logout-everywhere", status_code=204, summary="Revoke every login token of this user"
)
async def logout_everywhere(principal: UserPrincipal, rt: CurrentRuntime) -> Response:
    await service.logout_everywhere(rt, principal)
    return Response(status_code=204)


@auth_router.post(
    "/invitations/accept", response_model=TokenOut, summary="Set a password from an invitation"
)
async def accept_invitation(
    body: InvitationAccept, request: Request, rt: CurrentRuntime, address: ClientAddress
) -> TokenOut:
    issued = await service.accept_invitation(
        rt,
        body.token,
        body.password,
        address=address,
        user_agent=request.headers.get("user-agent"),
    )
    return token_out(issued)


# --- me --------------------------------------------------------------------------------------


async def _me(rt: Runtime, user: User) -> MeOut:
    memberships = []
    for membership, academy in await UserRepository(rt.session).memberships(user.id):
        children: list[PersonRef] = []
        if Role.PARENT.value in membership.role_names:
            found = await GuardianshipRepository(rt.session, academy.id).children_by_parent(
                [user.id]
            )
            children = [PersonRef(user_id=c.id, name=c.name) for c in found.get(user.id, [])]
        memberships.append(
            MyMembership(
                academy=academy_out(academy),
                roles=sorted(Role(r) for r in membership.role_names),
                children=children,
            )
        )
    return MeOut(
        id=user.id,
        email=user.email,
        name=user.name,
        locale=user.locale,
        time_zone=user.time_zone,
        is_platform_admin=user.is_platform_admin,
        memberships=memberships,
    )


@me_router.get("", response_model=MeOut, summary="The signed-in user and their memberships")
async def get_me(principal: UserPrincipal, rt: CurrentRuntime) -> MeOut:
    assert principal.user is not None
    return await _me(rt, principal.user)


@me_router.patch("", response_model=MeOut, summary="Change your name, language or time zone")
async def update_me(body: MeUpdate, principal: UserPrincipal, rt: CurrentRuntime) -> MeOut:
    user = await service.update_me(rt, principal, body)
    return await _me(rt, user)


@me_router.post("/password", status_code=204, summary="Change your password")
async def change_password(
    body: PasswordChange, principal: UserPrincipal, rt: CurrentRuntime
) -> Response:
    await service.change_password(rt, principal, body.current_password, body.new_password)
    return Response(status_code=204)


# --- academies -------------------------------------------------------------------------------


@academies_router.post(
    "",
    status_code=201,
    response_model=AcademyWithSettings,
    summary="Create an academy (platform admins)",
)
async def create_academy(
    body: AcademyCreate, principal: PlatformAdmin, rt: CurrentRuntime
) -> AcademyWithSettings:
    assert principal.user is not None
    academy = await service.create_academy(
        rt, Actor.of(principal), body, admin_user_id=principal.user.id
    )
    return academy_with_settings(academy)


@academies_router.get(
    "", response_model=Page[AcademyOut], summary="Academies you belong to (platform admins: all)"
)
async def list_academies(
    principal: UserPrincipal, rt: CurrentRuntime, pages: Pages
) -> Page[AcademyOut]:
    assert principal.user is not None
    repository = AcademyRepository(rt.session)
    if principal.is_platform_admin:
        rows, total = await repository.page_all(pages.offset, pages.per_page)
    else:
        rows, total = await repository.page_for_user(
            principal.user.id, pages.offset, pages.per_page
        )
    return Page.of([academy_out(a) for a in rows], total, pages)


@academies_router.get("/{slug}", response_model=AcademyOut, summary="One academy (members)")
async def get_academy(ctx: AnyMember) -> AcademyOut:
    return academy_out(ctx.academy)


@academies_router.patch("/{slug}", response_model=AcademyOut, summary="Rename, move zone, language")
async def update_academy(body: AcademyUpdate, ctx: Admin, rt: CurrentRuntime) -> AcademyOut:
    return academy_out(await service.update_academy(rt, ctx, body))


@academies_router.get(
    "/{slug}/settings",
    response_model=AcademyWithSettings,
    summary="Settings in force, with which differ from the defaults",
)
async def get_settings(ctx: Admin) -> AcademyWithSettings:
    return academy_with_settings(ctx.academy)


@academies_router.patch(
    "/{slug}/settings",
    response_model=AcademyWithSettings,
    summary="Change settings; null returns one to its default",
)
async def update_settings(
    body: AcademySettingsPatch,
    ctx: Admin,
    rt: CurrentRuntime,
) -> AcademyWithSettings:
    patch = body.model_dump(exclude_unset=True)
    return academy_with_settings(await service.update_settings(rt, ctx, patch))


# --- members ---------------------------------------------------------------------------------


@academies_router.get(
    "/{slug}/members",
    response_model=Page[MemberOut],
    summary="Members, searchable by name or email",
)
async def list_members(
    ctx: Staff,
    rt: CurrentRuntime,
    pages: Pages,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of a name or email"), NoNul
    ] = None,
    role: Role | None = None,
    active: bool | None = None,
) -> Page[MemberOut]:
    rows, total = await MemberRepository(rt.session, ctx.academy.id).page(
        search=q,
        role=role.value if role else None,
        active=active,
        offset=pages.offset,
        limit=pages.per_page,
    )
    items: list[MemberOut] = [member_out(service.Member(m, u)) for m, u in rows]
    return Page.of(items, total, pages)


@academies_router.post(
    "/{slug}/members",
    status_code=201,
    response_model=MemberCreated,
    summary="Add a person with roles (invited when no password is given)",
)
async def add_member(body: MemberCreate, ctx: Admin, rt: CurrentRuntime) -> MemberCreated:
    return member_out(await service.add_member(rt, ctx, body))


@academies_router.get(
    "/{slug}/members/{user_id}",
    response_model=MemberOut,
    summary="One member (staff, or the member themself)",
)
async def get_member(user_id: UserId, ctx: AnyMember, rt: CurrentRuntime) -> MemberOut:
    if not ctx.roles & STAFF and ctx.user_id != user_id:
        raise Forbidden("only staff may look at other members", code="role_required")
    return member_out(await service.get_member(rt, ctx, user_id))


@academies_router.patch(
    "/{slug}/members/{user_id}",
    response_model=MemberOut,
    summary="Change roles, deactivate or reactivate",
)
async def update_member(
    user_id: UserId, body: MemberUpdate, ctx: Admin, rt: CurrentRuntime
) -> MemberOut:
    return member_out(await service.update_member(rt, ctx, user_id, body))


# --- guardianships ---------------------------------------------------------------------------


async def _guardianships_out(rt: Runtime, links: list[Guardianship]) -> list[GuardianshipOut]:
    ids = {link.parent_user_id for link in links} | {link.student_user_id for link in links}
    names = {u.id: u.name for u in await UserRepository(rt.session).get_many(ids)}
    return [
        GuardianshipOut(
            id=link.id,
            parent=PersonRef(user_id=link.parent_user_id, name=names[link.parent_user_id]),
            student=PersonRef(user_id=link.student_user_id, name=names[link.student_user_id]),
            created_at=link.created_at,
        )
        for link in links
    ]


@academies_router.get(
    "/{slug}/guardianships", response_model=Page[GuardianshipOut], summary="Parent–student links"
)
async def list_guardianships(
    ctx: Staff,
    rt: CurrentRuntime,
    pages: Pages,
    parent_user_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    student_user_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Page[GuardianshipOut]:
    rows, total = await GuardianshipRepository(rt.session, ctx.academy.id).page(
        parent_user_id=parent_user_id,
        student_user_id=student_user_id,
        offset=pages.offset,
        limit=pages.per_page,
    )
    return Page.of(await _guardianships_out(rt, list(rows)), total, pages)


@academies_router.post(
    "/{slug}/guardianships",
    status_code=201,
    response_model=GuardianshipOut,
    summary="Link a parent to a student",
)
async def link_guardian(
    body: GuardianshipCreate, ctx: Admin, rt: CurrentRuntime
) -> GuardianshipOut:
    link = await service.link_guardian(rt, ctx, body)
    return (await _guardianships_out(rt, [link]))[0]


@academies_router.delete(
    "/{slug}/guardianships/{guardianship_id}",
    status_code=204,
    summary="Unlink a parent from a student",
)
async def unlink_guardian(guardianship_id: PathId, ctx: Admin, rt: CurrentRuntime) -> Response:
    await service.unlink_guardian(rt, ctx, guardianship_id)
    return Response(status_code=204)


# --- API keys and audit log ------------------------------------------------------------------


@academies_router.get("/{slug}/api-keys", response_model=Page[ApiKeyOut], summary="API keys")
async def list_api_keys(ctx: Admin, rt: CurrentRuntime, pages: Pages) -> Page[ApiKeyOut]:
    rows, total = await ApiKeyRepository(rt.session, ctx.academy.id).page(
        pages.offset, pages.per_page
    )
    return Page.of([api_key_out(k) for k in rows], total, pages)


@academies_router.post(
    "/{slug}/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key (the key is shown only in this answer)",
)
async def create_api_key(body: ApiKeyCreate, ctx: Admin, rt: CurrentRuntime) -> ApiKeyCreated:
    created = await service.create_api_key(rt, ctx, body)
    return ApiKeyCreated(**api_key_out(created.record).model_dump(), key=created.key)


@academies_router.delete(
    "/{slug}/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key"
)
async def revoke_api_key(key_id: PathId, ctx: Admin, rt: CurrentRuntime) -> ApiKeyOut:
    return api_key_out(await service.revoke_api_key(rt, ctx, key_id))


@academies_router.get(
    "/{slug}/audit-log",
    response_model=Page[AuditEntryOut],
    summary="Who changed what, newest first",
)
async def audit_log(
    ctx: Admin,
    rt: CurrentRuntime,
    pages: Pages,
    action: Annotated[str | None, Query(max_length=60), NoNul] = None,
) -> Page[AuditEntryOut]:
    rows, total = await AuditRepository(rt.session, ctx.academy.id).page(
        action=action, offset=pages.offset, limit=pages.per_page
    )
    items = [AuditEntryOut.model_validate(e, from_attributes=True) for e in rows]
    return Page.of(items, total, pages)
