"""Rules for academies, people, auth and API keys. Services flush but never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from halaqa.academies.auth import AcademyContext, Actor, Principal
from halaqa.academies.repository import (
    AcademyRepository,
    ApiKeyRepository,
    AuthRepository,
    GuardianshipRepository,
    MemberRepository,
    UserRepository,
    add_audit_entry,
)
from halaqa.academies.roles import Role
from halaqa.academies.schemas import (
    AcademyCreate,
    AcademyUpdate,
    ApiKeyCreate,
    GuardianshipCreate,
    MemberCreate,
    MemberUpdate,
    MeUpdate,
)
from halaqa.academies.security import (
    TokenKind,
    hash_password,
    new_token,
    token_digest,
    token_kind,
    verify_password,
)
from halaqa.academies.settings import effective_settings, merge_overrides
from halaqa.exceptions import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
from halaqa.kit.clock import ensure_utc
from halaqa.kit.deps import Runtime
from halaqa.models import Academy, ApiKey, AuditEntry, AuthToken, Guardianship, Membership, User

DEFAULT_TIME_ZONE = "UTC"


def email_key(email: str) -> str:
    return email.strip().lower()


async def audit(
    rt: Runtime,
    actor: Actor,
    action: str,
    *,
    academy_id: int | None,
    entity_type: str,
    entity_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await add_audit_entry(
        rt.session,
        AuditEntry(
            academy_id=academy_id,
            actor_user_id=actor.user_id,
            actor_api_key_id=actor.api_key_id,
            address=actor.address,
            action=action,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
            before=before,
            after=after,
            created_at=rt.clock.now(),
        ),
    )


# --- users and auth --------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: AuthToken


async def create_user(
    rt: Runtime,
    *,
    email: str,
    name: str,
    password: str | None,
    locale: str = "ar",
    time_zone: str = DEFAULT_TIME_ZONE,
    platform_admin: bool = False,
) -> User:
    users = UserRepository(rt.session)
    if await users.by_email_key(email_key(email)) is not None:
        raise Conflict(f"a user with the email {email} already exists", code="email_taken")
    return await users.add(
        User(
            email=email.strip(),
            email_key=email_key(email),
            name=name,
            password_hash=hash_password(password) if password else None,
            locale=locale,
            time_zone=time_zone,
            is_active=True,
            is_platform_admin=platform_admin,
        )
    )


async def _issue_token(
    rt: Runtime,
    user: User,
    kind: TokenKind,
    ttl: timedelta,
    *,
    address: str | None = None,
    user_agent: str | None = None,
) -> IssuedToken:
    token = new_token(kind)
    now = rt.clock.now()
    record = await AuthRepository(rt.session).add_token(
        AuthToken(
            user_id=user.id,
            purpose="login" if kind is TokenKind.LOGIN else "invitation",
            digest=token_digest(token, rt.secret),
            created_at=now,
            expires_at=now + ttl,
            address=address,
            user_agent=user_agent[:300] if user_agent else None,
        )
    )
    return IssuedToken(token=token, record=record)


async def _check_login_rate(rt: Runtime, key: str, address: str) -> None:
    settings = rt.settings
    window = timedelta(minutes=settings.login_failure_window_minutes)
    now = rt.clock.now()
    auth = AuthRepository(rt.session)
    for column, value, limit, what in (
        ("email_key", key, settings.login_max_failures_per_account, "this account"),
        ("address", address, settings.login_max_failures_per_address, "your address"),
    ):
        count, oldest = await auth.failures_since(column, value, now - window)
        if count >= limit and oldest is not None:
            retry_after = max(1, int((oldest + window - now).total_seconds()) + 1)
            raise RateLimited(
                f"too many failed sign-ins for {what}; try again in {retry_after} seconds",
                retry_after_seconds=retry_after,
            )


@dataclass(frozen=True)
class LoginOutcome:
    issued: IssuedToken | None
    failure: NotAuthenticated | None = None


async def login(
    rt: Runtime, email: str, password: str, *, address: str, user_agent: str | None
) -> LoginOutcome:
    """Checks a password. A failure is returned, not raised, so the caller can still commit the
    failed attempt that the rate limit counts."""
    key = email_key(email)
    await _check_login_rate(rt, key, address)
    user = await UserRepository(rt.session).by_email_key(key)
    password_ok = verify_password(password, user.password_hash if user else None)
    auth = AuthRepository(rt.session)
    if user is None or not password_ok or not user.is_active:
        await auth.add_failure(key, address, rt.clock.now())
        return LoginOutcome(
            issued=None, failure=NotAuthenticated("wrong email or password", code="bad_credentials")
        )
    await auth.clear_failures(key)
    user.last_login_at = rt.clock.now()
    issued = await _issue_token(
        rt,
        user,
        TokenKind.LOGIN,
        timedelta(hours=rt.settings.token_ttl_hours),
        address=address,
        user_agent=user_agent,
    )
    return LoginOutcome(issued=issued)


async def logout(rt: Runtime, principal: Principal) -> None:
    assert principal.token_id is not None
    await AuthRepository(rt.session).revoke_token(principal.token_id, rt.clock.now())


async def logout_everywhere(rt: Runtime, principal: Principal) -> int:
    assert principal.user is not None
    count = await AuthRepository(rt.session).revoke_user_tokens(
        principal.user.id, "login", rt.clock.now()
    )
    await audit(
        rt,
        Actor.of(principal),
        "auth.logout_everywhere",
        academy_id=None,
        entity_type="user",
        entity_id=principal.user.id,
    )
    return count


async def accept_invitation(
    rt: Runtime, token: str, password: str, *, address: str, user_agent: str | None
) -> IssuedToken:
    found = None
    if token_kind(token) is TokenKind.INVITATION:
        found = await AuthRepository(rt.session).token_by_digest(token_digest(token, rt.secret))
    now = rt.clock.now()
    if (
        found is None
        or found[0].purpose != "invitation"
        or found[0].revoked_at is not None
        or found[0].expires_at <= now
    ):
        raise NotFound(
            "this invitation is unknown, used or expired; ask for a new one",
            code="invitation_invalid",
        )
    invitation, user = found
    if not user.is_active:
        raise Forbidden("this account is deactivated", code="account_inactive")
    invitation.revoked_at = now
    user.password_hash = hash_password(password)
    user.last_login_at = now
    await audit(
        rt,
        Actor(user_id=user.id, address=address),
        "auth.invitation_accepted",
        academy_id=None,
        entity_type="user",
        entity_id=user.id,
    )
    return await _issue_token(
        rt,
        user,
        TokenKind.LOGIN,
        timedelta(hours=rt.settings.token_ttl_hours),
        address=address,
        user_agent=user_agent,
    )


async def change_password(rt: Runtime, principal: Principal, current: str, new: str) -> None:
    user = principal.user
    assert user is not None
    if not verify_password(current, user.password_hash):
        raise InvalidInput.field("current_password", "is not your current password")
    user.password_hash = hash_password(new)
    # Whoever knew the old password is signed out everywhere but here.
    await AuthRepository(rt.session).revoke_user_tokens(
        user.id, "login", rt.clock.now(), except_id=principal.token_id
    )
    await audit(
        rt,
        Actor.of(principal),
        "user.password_changed",
        academy_id=None,
        entity_type="user",
        entity_id=user.id,
    )


async def update_me(rt: Runtime, principal: Principal, data: MeUpdate) -> User:
    user = principal.user
    assert user is not None
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput.field(field, "may not be null")
        setattr(user, field, value)
    return user


async def purge_expired_auth(rt: Runtime) -> int:
    """Housekeeping for the worker: expired tokens and old failed-login records go."""
    now = rt.clock.now()
    return await AuthRepository(rt.session).purge(
        tokens_expired_before=now - timedelta(days=30),
        attempts_before=now - timedelta(minutes=rt.settings.login_failure_window_minutes),
    )


# --- academies -------------------------------------------------------------------------------


def _validated_overrides(
    current: dict[str, Any], patch: dict[str, Any], prefix: str | None
) -> dict[str, Any]:
    """Merged overrides, or a 422 naming each field as the request body does: under `prefix`
    when the settings are one field of the body, at the top when they are the whole body. A rule
    across several settings names "settings"."""
    try:
        return merge_overrides(current, patch)
    except ValidationError as error:
        details = [
            {
                "field": ".".join([*([prefix] if prefix else []), *(str(p) for p in e["loc"])])
                or "settings",
                "message": e["msg"],
            }
            for e in error.errors()
        ]
        raise InvalidInput(
            "; ".join(f"{d['field']}: {d['message']}" for d in details), details=details
        ) from None


def _no_nulls(settings: dict[str, Any]) -> dict[str, Any]:
    """At creation there is no value to return to the default from: null is a mistake there."""
    for key, value in settings.items():
        if value is None:
            raise InvalidInput.field(f"settings.{key}", "may not be null")
    return dict(settings)


def academy_snapshot(academy: Academy) -> dict[str, Any]:
    return {
        "slug": academy.slug,
        "name": academy.name,
        "time_zone": academy.time_zone,
        "default_locale": academy.default_locale,
        "settings": dict(academy.settings),
    }


async def create_academy(
    rt: Runtime, actor: Actor, data: AcademyCreate, *, admin_user_id: int
) -> Academy:
    """Creates an academy with its first admin (the creator, unless the CLI names another)."""
    academies = AcademyRepository(rt.session)
    if await academies.by_slug(data.slug) is not None:
        raise Conflict(f"the slug '{data.slug}' is taken; choose another", code="slug_taken")
    academy = await academies.add(
        Academy(
            slug=data.slug,
            name=data.name,
            time_zone=data.time_zone,
            default_locale=data.default_locale,
            settings=_validated_overrides({}, _no_nulls(data.settings), "settings"),
        )
    )
    await MemberRepository(rt.session, academy.id).add(admin_user_id, {Role.ADMIN.value})
    await audit(
        rt,
        actor,
        "academy.created",
        academy_id=academy.id,
        entity_type="academy",
        entity_id=academy.id,
        after=academy_snapshot(academy),
    )
    return academy


async def update_academy(rt: Runtime, ctx: AcademyContext, data: AcademyUpdate) -> Academy:
    academy = ctx.academy
    before = academy_snapshot(academy)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput.field(field, "may not be null")
        setattr(academy, field, value)
    await rt.session.flush()
    await audit(
        rt,
        ctx.actor,
        "academy.updated",
        academy_id=academy.id,
        entity_type="academy",
        entity_id=academy.id,
        before=before,
        after=academy_snapshot(academy),
    )
    return academy


async def update_settings(rt: Runtime, ctx: AcademyContext, patch: dict[str, Any]) -> Academy:
    academy = ctx.academy
    before = dict(academy.settings)
    academy.settings = _validated_overrides(before, patch, None)
    await rt.session.flush()
    await audit(
        rt,
        ctx.actor,
        "academy.settings_updated",
        academy_id=academy.id,
        entity_type="academy",
        entity_id=academy.id,
        before=before,
        after=dict(academy.settings),
    )
    return academy


def overridden_settings(academy: Academy) -> list[str]:
    defaults = effective_settings({})
    current = effective_settings(academy.settings)
    return sorted(
        k for k in type(current).model_fields if getattr(current, k) != getattr(defaults, k)
    )


# --- members ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    membership: Membership
    user: User
    invitation: IssuedToken | None = None


async def get_member(rt: Runtime, ctx: AcademyContext, user_id: int) -> Member:
    found = await MemberRepository(rt.session, ctx.academy.id).get(user_id)
    if found is None:
        raise NotFound(f"no member {user_id} in this academy")
    return Member(*found)


def _member_snapshot(member: Member) -> dict[str, Any]:
    return {
        "email": member.user.email,
        "roles": sorted(member.membership.role_names),
        "is_active": member.membership.is_active,
    }


async def add_member(rt: Runtime, ctx: AcademyContext, data: MemberCreate) -> Member:
    """Adds an existing user (found by email, any letter case) or creates one; a new user with
    no password gets a one-time invitation instead."""
    members = MemberRepository(rt.session, ctx.academy.id)
    user = await UserRepository(rt.session).by_email_key(email_key(data.email))
    invitation = None
    if user is None:
        user = await create_user(
            rt,
            email=data.email,
            name=data.name,
            password=data.password,
            locale=data.locale or ctx.academy.default_locale,
            time_zone=data.time_zone or ctx.academy.time_zone,
        )
        if data.password is None:
            invitation = await _issue_token(
                rt,
                user,
                TokenKind.INVITATION,
                timedelta(hours=rt.settings.invitation_ttl_hours),
            )
    elif await members.get(user.id) is not None:
        raise Conflict(
            f"{data.email} is already a member; change their roles instead", code="already_member"
        )
    elif data.password is not None:
        raise InvalidInput.field(
            "password", "this person already has an account; leave the password out"
        )
    membership = await members.add(user.id, {r.value for r in data.roles})
    member = Member(membership, user, invitation)
    await audit(
        rt,
        ctx.actor,
        "member.added",
        academy_id=ctx.academy.id,
        entity_type="user",
        entity_id=user.id,
        after=_member_snapshot(member),
    )
    return member


async def update_member(
    rt: Runtime, ctx: AcademyContext, user_id: int, data: MemberUpdate
) -> Member:
    member = await get_member(rt, ctx, user_id)
    members = MemberRepository(rt.session, ctx.academy.id)
    before = _member_snapshot(member)
    was_admin = member.membership.is_active and Role.ADMIN.value in member.membership.role_names
    changes = data.model_dump(exclude_unset=True)
    for field in ("roles", "is_active"):
        if field in changes and changes[field] is None:
            raise InvalidInput.field(field, "may be left out but not null")
    if data.roles is not None:
        members.set_roles(member.membership, {r.value for r in data.roles})
    if data.is_active is not None:
        member.membership.is_active = data.is_active
    await rt.session.flush()
    still_admin = member.membership.is_active and Role.ADMIN.value in member.membership.role_names
    if was_admin and not still_admin and await members.count_active_admins() == 0:
        raise Conflict(
            "an academy must keep at least one active admin; appoint another first",
            code="last_admin",
        )
    await audit(
        rt,
        ctx.actor,
        "member.updated",
        academy_id=ctx.academy.id,
        entity_type="user",
        entity_id=user_id,
        before=before,
        after=_member_snapshot(member),
    )
    return member


async def require_member_with_role(
    rt: Runtime, ctx: AcademyContext, field: str, user_id: int, role: Role
) -> None:
    """A 422 naming `field` unless `user_id` is an active member (and account) holding `role`."""
    found = await MemberRepository(rt.session, ctx.academy.id).get(user_id)
    if found is None or not found[0].is_active or not found[1].is_active:
        raise InvalidInput.field(field, f"user {user_id} is not an active member of this academy")
    if role.value not in found[0].role_names:
        raise InvalidInput.field(field, f"user {user_id} does not have the {role} role")


# --- guardianships ---------------------------------------------------------------------------


async def link_guardian(rt: Runtime, ctx: AcademyContext, data: GuardianshipCreate) -> Guardianship:
    if data.parent_user_id == data.student_user_id:
        raise InvalidInput.field("student_user_id", "a person cannot be their own parent")
    for field, user_id, role in (
        ("parent_user_id", data.parent_user_id, Role.PARENT),
        ("student_user_id", data.student_user_id, Role.STUDENT),
    ):
        await require_member_with_role(rt, ctx, field, user_id, role)
    guardianships = GuardianshipRepository(rt.session, ctx.academy.id)
    if await guardianships.find(data.parent_user_id, data.student_user_id) is not None:
        raise Conflict("this parent is already linked to this student", code="already_linked")
    link = await guardianships.add(
        Guardianship(
            academy_id=ctx.academy.id,
            parent_user_id=data.parent_user_id,
            student_user_id=data.student_user_id,
            created_at=rt.clock.now(),
        )
    )
    await audit(
        rt,
        ctx.actor,
        "guardianship.created",
        academy_id=ctx.academy.id,
        entity_type="guardianship",
        entity_id=link.id,
        after={"parent_user_id": link.parent_user_id, "student_user_id": link.student_user_id},
    )
    return link


async def unlink_guardian(rt: Runtime, ctx: AcademyContext, guardianship_id: int) -> None:
    guardianships = GuardianshipRepository(rt.session, ctx.academy.id)
    link = await guardianships.get(guardianship_id)
    if link is None:
        raise NotFound(f"no guardianship {guardianship_id} in this academy")
    before = {"parent_user_id": link.parent_user_id, "student_user_id": link.student_user_id}
    await guardianships.remove(link)
    await audit(
        rt,
        ctx.actor,
        "guardianship.removed",
        academy_id=ctx.academy.id,
        entity_type="guardianship",
        entity_id=guardianship_id,
        before=before,
    )


# --- API keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedApiKey:
    record: ApiKey
    key: str


async def create_api_key(rt: Runtime, ctx: AcademyContext, data: ApiKeyCreate) -> CreatedApiKey:
    now = rt.clock.now()
    if data.expires_at is not None and data.expires_at <= now:
        raise InvalidInput.field("expires_at", "must be in the future")
    key = new_token(TokenKind.API_KEY)
    record = await ApiKeyRepository(rt.session, ctx.academy.id).add(
        ApiKey(
            academy_id=ctx.academy.id,
            name=data.name,
            prefix=key[:12],
            digest=token_digest(key, rt.secret),
            roles=sorted(r.value for r in data.roles),
            created_by_user_id=ctx.user_id,
            created_at=now,
            # In UTC, as every stored instant: the answer then matches what later reads show.
            expires_at=ensure_utc(data.expires_at) if data.expires_at else None,
        )
    )
    await audit(
        rt,
        ctx.actor,
        "api_key.created",
        academy_id=ctx.academy.id,
        entity_type="api_key",
        entity_id=record.id,
        after={"name": record.name, "roles": record.roles},
    )
    return CreatedApiKey(record=record, key=key)


async def revoke_api_key(rt: Runtime, ctx: AcademyContext, key_id: int) -> ApiKey:
    record = await ApiKeyRepository(rt.session, ctx.academy.id).get(key_id)
    if record is None:
        raise NotFound(f"no API key {key_id} in this academy")
    if record.revoked_at is None:
        record.revoked_at = rt.clock.now()
        await audit(
            rt,
            ctx.actor,
            "api_key.revoked",
            academy_id=ctx.academy.id,
            entity_type="api_key",
            entity_id=record.id,
        )
    return record
