"""Request and response bodies for packages and subscriptions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from halaqa.academies.schemas import Id, PersonRef
from halaqa.catalog.cycles import CycleUnit
from halaqa.catalog.subscription_lifecycle import SubscriptionStatus
from halaqa.kit.validation import CalendarDate, Input, Name

PackageKind = Literal["individual", "group"]
PaymentStatus = Literal["pending", "paid", "failed", "waived"]
SessionsPerCycle = Annotated[int, Field(ge=1, le=1000, description="Sessions in each cycle")]
SessionMinutes = Annotated[int, Field(ge=1, le=720, description="Length of one session")]
PriceCents = Annotated[
    int, Field(ge=0, le=10**12, description="Informational: the price in the currency's cents")
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. SAR")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Notes = Annotated[str, Field(max_length=10_000)]


def _not_before_start(ends_on: dt.date | None, info: ValidationInfo) -> dt.date | None:
    starts_on = info.data.get("starts_on")
    if ends_on is not None and starts_on is not None and ends_on < starts_on:
        raise ValueError("must not be before starts_on")
    return ends_on


# --- packages --------------------------------------------------------------------------------


class PackageCreate(Input):
    name: Name
    kind: PackageKind = Field(description="Lessons with one teacher, or a group's sessions")
    sessions_per_cycle: SessionsPerCycle
    cycle_length: Annotated[int, Field(ge=1, le=366)] = 1
    cycle_unit: CycleUnit = CycleUnit.MONTH
    session_minutes: SessionMinutes
    price_cents: PriceCents | None = None
    currency: Currency | None = Field(None, description="Required with a price")
    active: bool = Field(True, description="Offered for new subscriptions")


class PackageUpdate(Input):
    """A package's kind and cycle cannot change: its subscriptions' cycles are counted by them
    (make a new package instead). A new number of sessions applies from the next cycles."""

    name: Name | None = None
    sessions_per_cycle: SessionsPerCycle | None = None
    session_minutes: SessionMinutes | None = None
    price_cents: PriceCents | None = None
    currency: Currency | None = None
    active: bool | None = Field(None, description="false archives it: no new subscriptions")


class PackageOut(BaseModel):
    id: int
    name: str
    kind: PackageKind
    sessions_per_cycle: int
    cycle_length: int
    cycle_unit: CycleUnit
    session_minutes: int
    price_cents: int | None
    currency: str | None
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


# --- subscriptions ---------------------------------------------------------------------------


class SubscriptionCreate(Input):
    package_id: Id = Field(description="An offered package of this academy")
    student_user_id: Id
    teacher_user_id: Id | None = Field(None, description="Individual packages: the teacher")
    group_id: Id | None = Field(
        None, description="Group packages: the group, in which the student is enrolled"
    )
    starts_on: CalendarDate
    ends_on: CalendarDate | None = Field(None, description="Its last day; null: open-ended")
    notes: Notes | None = None

    _ends_after_start = field_validator("ends_on")(_not_before_start)


class PauseRequest(Input):
    starts_on: CalendarDate = Field(description="The first paused day, today or later")
    ends_on: CalendarDate = Field(description="The last paused day")
    reason: Reason | None = None

    _ends_after_start = field_validator("ends_on")(_not_before_start)


class CancelRequest(Input):
    reason: Reason


class RenewRequest(Input):
    ends_on: CalendarDate = Field(description="The new last day, after the current one")


class PaymentChange(Input):
    status: PaymentStatus = Field(description="waived keeps access as paid does")
    note: Notes | None = None


class PackageBrief(BaseModel):
    id: int
    name: str
    kind: PackageKind
    sessions_per_cycle: int
    cycle_length: int
    cycle_unit: CycleUnit


class GroupRef(BaseModel):
    id: int
    name: str


class SubscriptionOut(BaseModel):
    id: int
    package: PackageBrief
    student: PersonRef
    teacher: PersonRef | None = Field(description="Individual lessons: the teacher")
    group: GroupRef | None = Field(description="Group packages: the group")
    status: SubscriptionStatus
    starts_on: dt.date
    ends_on: dt.date | None = Field(description="Its last day (moved later by pauses)")
    expires_after: dt.date | None = Field(
        description="Its last day of grace: it expires after this unless renewed"
    )
    activated_at: dt.datetime | None
    ended_at: dt.datetime | None = Field(description="When it was cancelled or expired")
    notes: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CycleOut(BaseModel):
    number: int
    starts_on: dt.date
    last_day: dt.date
    quota: int = Field(description="Sessions it may use, those carried over included")
    carried_over: int = Field(description="Unused sessions brought from the cycle before")
    used: int = Field(description="Sessions charged less sessions refunded, from the ledger")
    left: int
    payment_status: PaymentStatus
    payment_note: str | None


class PauseOut(BaseModel):
    id: int
    starts_on: dt.date
    ends_on: dt.date
    reason: str | None
    created_at: dt.datetime
    resumed_at: dt.datetime | None = Field(description="Resumed before its last day")


class SubscriptionDetailOut(SubscriptionOut):
    cycles: list[CycleOut] = Field(description="Every cycle so far, the first first")
    current_cycle: CycleOut | None = Field(description="The cycle of today, while it covers it")
    low_balance: bool = Field(
        description="The current cycle has `low_balance_sessions` sessions left or fewer"
    )
    pauses: list[PauseOut]


class SessionRef(BaseModel):
    id: int
    code: str
    starts_at: dt.datetime | None


class SessionLeftSuspended(SessionRef):
    reason: str = Field(description="Why it could not be scheduled again")


class PauseChangeOut(BaseModel):
    """A pause or a resume, and what it did to the student's lessons with the teacher."""

    subscription: SubscriptionDetailOut
    sessions_suspended: list[SessionRef] = Field(default_factory=list)
    sessions_resumed: list[SessionRef] = Field(default_factory=list)
    sessions_left_suspended: list[SessionLeftSuspended] = Field(
        default_factory=list,
        description="Sessions whose time was taken by another booking meanwhile",
    )
