"""Request and response bodies for academies, people and auth."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AwareDatetime,
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
    create_model,
    field_validator,
)

from halaqa.academies.roles import Role
from halaqa.academies.settings import AcademySettings
from halaqa.kit.validation import Input, Locale, Name, Password, TimeZoneName

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$"),
    Field(description="3–40 lower-case letters, digits and dashes", examples=["al-noor"]),
]
Roles = Annotated[list[Role], Field(min_length=1, max_length=5)]
Id = Annotated[int, Field(ge=1, le=2**62)]


def _unique_roles(roles: list[Role] | None) -> list[Role] | None:
    if roles is not None and len(set(roles)) != len(roles):
        raise ValueError("each role may appear once")
    return roles


# --- academies -------------------------------------------------------------------------------


class AcademyCreate(Input):
    slug: Slug
    name: Name
    time_zone: TimeZoneName
    default_locale: Locale = "ar"
    # Any JSON values here: AcademySettings checks them and names each bad key.
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the default settings"
    )


class AcademyUpdate(Input):
    name: Name | None = None
    time_zone: TimeZoneName | None = None
    default_locale: Locale | None = None


class AcademyOut(BaseModel):
    slug: str
    name: str
    time_zone: str
    default_locale: str
    created_at: datetime


class AcademyWithSettings(AcademyOut):
    settings: AcademySettings
    overridden: list[str] = Field(description="Settings that differ from the defaults")


AcademySettingsPatch: type[Input] = create_model(  # type: ignore[call-overload]
    "AcademySettingsPatch",
    __base__=Input,
    __doc__="Any subset of the settings; null returns a setting to its default.",
    **{
        name: (cast(Any, field.annotation) | None, Field(None, description=field.description))
        for name, field in AcademySettings.model_fields.items()
    },
)


# --- people ----------------------------------------------------------------------------------


class PersonRef(BaseModel):
    user_id: int
    name: str


class UserCreate(Input):
    email: EmailStr
    name: Name
    password: Password
    locale: Locale = "ar"
    time_zone: TimeZoneName = "UTC"


class MemberCreate(Input):
    email: EmailStr
    name: Name
    roles: Roles
    password: Password | None = Field(
        None, description="Omit to invite: the answer then carries a one-time invitation"
    )
    locale: Locale | None = None
    time_zone: TimeZoneName | None = None

    _roles_unique = field_validator("roles")(_unique_roles)


class MemberUpdate(Input):
    roles: Roles | None = None
    is_active: bool | None = None

    _roles_unique = field_validator("roles")(_unique_roles)


class Invitation(BaseModel):
    token: str = Field(
        description="Shown once; the invited person sets a password with it at "
        "POST /api/v1/auth/invitations/accept"
    )
    expires_at: datetime


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    roles: list[Role]
    is_active: bool = Field(description="Whether the membership is active in this academy")
    account_active: bool
    invitation_pending: bool
    locale: str
    time_zone: str
    joined_at: datetime


class MemberCreated(MemberOut):
    invitation: Invitation | None = None


class GuardianshipCreate(Input):
    parent_user_id: Id
    student_user_id: Id


class GuardianshipOut(BaseModel):
    id: int
    parent: PersonRef
    student: PersonRef
    created_at: datetime


# --- API keys and audit ----------------------------------------------------------------------


class ApiKeyCreate(Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    roles: Roles = Field(default_factory=lambda: [Role.ADMIN])
    # Aware only: a naive instant cannot be compared with the clock's (it used to answer 500).
    expires_at: AwareDatetime | None = Field(
        None, description="With a zone, e.g. 2026-06-01T00:00Z"
    )

    _roles_unique = field_validator("roles")(_unique_roles)


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    roles: list[Role]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once: store it now, only a digest is kept")


class AuditEntryOut(BaseModel):
    id: int
    action: str
    entity_type: str
    entity_id: str | None
    actor_user_id: int | None
    actor_api_key_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


# --- auth and the current user ---------------------------------------------------------------


class LoginRequest(Input):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=200)]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_at: datetime


class InvitationAccept(Input):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    password: Password


class PasswordChange(Input):
    current_password: Annotated[str, Field(min_length=1, max_length=200)]
    new_password: Password


class MeUpdate(Input):
    name: Name | None = None
    locale: Locale | None = None
    time_zone: TimeZoneName | None = None


class MyMembership(BaseModel):
    academy: AcademyOut
    roles: list[Role]
    children: list[PersonRef] = Field(description="Students linked to this user as a parent")


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    locale: str
    time_zone: str
    is_platform_admin: bool
    memberships: list[MyMembership]
