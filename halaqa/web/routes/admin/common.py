"""What the admin pages share: who may open them (the API's own roles), one service call run so
that a refusal leaves nothing half-written, a form handled from its fields to the redirect, the
people to choose from, and paging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar, overload

from babel.dates import format_date
from fastapi import Depends
from fastapi.responses import HTMLResponse, Response

from halaqa.academies.repository import MemberRepository, UserRepository
from halaqa.academies.roles import Role
from halaqa.exceptions import AppError
from halaqa.kit.pagination import PageParams, page_params
from halaqa.web.forms import FieldErrors, Model, errors_of, validate
from halaqa.web.pages import AcademyPage, academy_page, render, see_other

T = TypeVar("T")

# The same roles as the API endpoints behind each page.
StaffPage = Annotated[AcademyPage, Depends(academy_page(Role.ADMIN, Role.SUPERVISOR))]
AdminPage = Annotated[AcademyPage, Depends(academy_page(Role.ADMIN))]
Paging = Annotated[PageParams, Depends(page_params)]
# People offered in a choice list; an academy with more finds them by search on /admin/people.
CHOICES = 500
# The page shown again with a form's problems: (status code, errors next to its fields).
Rerender = Callable[[int, FieldErrors], Awaitable[Response]]


@dataclass(frozen=True)
class Refusal:
    """A service said no: the HTTP status it meant, and its messages next to the fields."""

    status_code: int
    errors: FieldErrors


async def attempt(page: AcademyPage, call: Callable[[], Awaitable[T]]) -> T | Refusal:
    """Runs one service call inside a savepoint. When the service refuses, everything it wrote
    is undone (the rest of the request's transaction is kept) and the refusal comes back."""
    session = page.rt.session
    try:
        async with session.begin_nested():
            return await call()
    except AppError as error:
        # A rolled-back savepoint expires what it touched; the page still shows these two.
        await session.refresh(page.academy)
        await session.refresh(page.user)
        return Refusal(error.status_code, errors_of(error, page.visitor.gettext))


def show(page: AcademyPage, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """An admin page; `saved` says the change just made went through (after its redirect)."""
    saved = page.visitor.request.query_params.get("saved") == "1"
    language = page.visitor.language

    def calendar_day(day: date | None, form: str = "medium") -> str:
        """A calendar date (no time, so no zone to move it to) in the viewer's language."""
        return "" if day is None else format_date(day, form, locale=language)

    return render(
        page, f"admin/{template}", status_code, saved=saved, calendar_day=calendar_day, **context
    )


def saved(page: AcademyPage, path: str) -> str:
    """The page at `path` (which may end in "#part"), saying the change went through."""
    path, mark, part = path.partition("#")
    return page.url(path) + "?saved=1" + mark + part


@overload
async def submit(
    page: AcademyPage,
    form: dict[str, Any],
    model: type[Model],
    call: Callable[[Model], Awaitable[T]],
    rerender: Rerender,
    to: str | Callable[[T], str | Awaitable[Response]],
    *,
    prefix: str = "",
    fields: dict[str, Any] | None = None,
) -> Response: ...
@overload
async def submit(
    page: AcademyPage,
    form: dict[str, Any],
    model: None,
    call: Callable[[None], Awaitable[T]],
    rerender: Rerender,
    to: str | Callable[[T], str | Awaitable[Response]],
    *,
    prefix: str = "",
    fields: dict[str, Any] | None = None,
) -> Response: ...
async def submit(
    page: AcademyPage,
    form: dict[str, Any],
    model: type[Model] | None,
    call: Callable[[Any], Awaitable[T]],
    rerender: Rerender,
    to: str | Callable[[T], str | Awaitable[Response]],
    *,
    prefix: str = "",
    fields: dict[str, Any] | None = None,
) -> Response:
    """One of a page's forms, its fields named `prefix`…, read by the API's input `model` (None:
    a button with no fields; `fields`: what the model reads when not the form's own), then `call`
    with it in a savepoint (`attempt`). Its problems, or the service's refusal, show the page
    again (`rerender`) next to the form's fields. Done, the browser goes to `to`, marked saved:
    a path, or one made from what `call` returned, or else the page made from it (a preview)."""
    body = None
    if model is not None:
        data = unprefixed(form, prefix) if fields is None else fields
        body, errors = validate(model, data, page.visitor.gettext)
        if body is None:
            return await rerender(422, prefixed(errors, prefix))
    result = await attempt(page, lambda: call(body))
    if isinstance(result, Refusal):
        return await rerender(result.status_code, prefixed(result.errors, prefix))
    then = to if isinstance(to, str) else to(result)
    return see_other(saved(page, then)) if isinstance(then, str) else await then


def as_list(value: Any) -> list[str]:
    """A field sent any number of times (checkboxes): its values."""
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


async def choices(page: AcademyPage, role: Role) -> list[tuple[str, str]]:
    """Active members holding `role`, as (id, "name (email)") for a choice list."""
    rows, _ = await MemberRepository(page.rt.session, page.academy.id).page(
        search=None, role=role.value, active=True, offset=0, limit=CHOICES
    )
    return [(str(user.id), f"{user.name} ({user.email})") for _, user in rows]


async def names(page: AcademyPage, user_ids: set[int]) -> dict[int, str]:
    users = await UserRepository(page.rt.session).get_many({i for i in user_ids if i})
    return {user.id: user.name for user in users}


def unprefixed(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The fields of one of several forms on a page, whose names start with `prefix`."""
    return {k.removeprefix(prefix): v for k, v in data.items() if k.startswith(prefix)}


def prefixed(errors: FieldErrors, prefix: str) -> FieldErrors:
    """Errors next to that form's own fields (its form-wide one included)."""
    return {prefix + k: v for k, v in errors.items()}
