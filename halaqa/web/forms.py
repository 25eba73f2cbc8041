"""Forms: read a posted form into the API's own input models, and turn what is wrong with it
into messages next to each field, in the visitor's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import Request

from halaqa.academies.auth import CSRF_FIELD
from halaqa.exceptions import AppError
from halaqa.web.nav import N_

Model = TypeVar("Model", bound=BaseModel)
FieldErrors = dict[str, str]
# The key for a problem that belongs to no one field (shown above the form).
FORM = "__form__"

# Pydantic's error types, in words a person filling a form understands.
_MESSAGES = {
    "missing": N_("This field is required."),
    "string_too_short": N_("This is too short."),
    "string_too_long": N_("This is too long (at most %(max_length)s characters)."),
    "too_short": N_("Choose at least %(min_length)s."),
    "too_long": N_("Choose at most %(max_length)s."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "decimal_parsing": N_("Enter a number."),
    "greater_than": N_("Enter a number greater than %(gt)s."),
    "greater_than_equal": N_("Enter a number of at least %(ge)s."),
    "less_than": N_("Enter a number less than %(lt)s."),
    "less_than_equal": N_("Enter a number of at most %(le)s."),
    "bool_parsing": N_("Choose yes or no."),
    "datetime_parsing": N_("Enter a date and time."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "date_parsing": N_("Enter a date."),
    "date_from_datetime_parsing": N_("Enter a date."),
    "time_parsing": N_("Enter a time."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "value_error": N_("This value is not valid."),
    "string_pattern_mismatch": N_("This value is not in the expected form."),
    "url_parsing": N_("Enter a full web address (https://…)."),
    "url_scheme": N_("Enter a full web address (https://…)."),
}


async def read_form(request: Request) -> dict[str, Any]:
    """The posted fields; a field sent several times (checkboxes) becomes a list."""
    data: dict[str, Any] = {}
    form = await request.form()
    for key in form:
        if key == CSRF_FIELD:
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        data[key] = values if len(values) > 1 else (values[0] if values else "")
    return data


def _field(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or FORM


def translate_validation(error: ValidationError, gettext: Callable[[str], str]) -> FieldErrors:
    found: FieldErrors = {}
    for problem in error.errors():
        found.setdefault(_field(problem["loc"]), message_for(problem, gettext))
    return found


def message_for(problem: ErrorDetails, gettext: Callable[[str], str]) -> str:
    template = _MESSAGES.get(problem["type"])
    if template is None:
        return problem["msg"]
    context = {k: v for k, v in (problem.get("ctx") or {}).items() if not isinstance(v, Exception)}
    try:
        return gettext(template) % context if context else gettext(template)
    except (KeyError, TypeError, ValueError):
        return gettext(template)


def validate(
    model: type[Model],
    data: Mapping[str, Any],
    gettext: Callable[[str], str],
) -> tuple[Model | None, FieldErrors]:
    """Blank fields count as not given, as a form cannot send "nothing" any other way."""
    given = {k: v for k, v in data.items() if v != ""}
    try:
        return model.model_validate(given), {}
    except ValidationError as error:
        return None, translate_validation(error, gettext)


def errors_of(error: AppError, gettext: Callable[[str], str]) -> FieldErrors:
    """A service's refusal, next to the field it names (else above the form)."""
    from halaqa.web.errors import message_of

    found: FieldErrors = {}
    details = error.details if isinstance(error.details, list) else []
    for detail in details:
        if isinstance(detail, dict) and detail.get("field"):
            found.setdefault(str(detail["field"]), gettext(str(detail.get("message", ""))))
    if not found:
        found[FORM] = message_of(error, gettext)
    return found
