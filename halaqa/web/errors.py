"""How a page answers an error: sign-in when signed out, otherwise a page in the visitor's
language that says what went wrong and what to do."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from halaqa.academies.auth import SESSION_COOKIE
from halaqa.exceptions import AppError, NotAuthenticated
from halaqa.web.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_COOKIE,
    from_accept_language,
    supported,
    translations,
)
from halaqa.web.nav import N_
from halaqa.web.templating import environment

# What an error code means to a person, where the service's own English text is too technical.
CODE_MESSAGES = {
    "not_found": N_("This page does not exist, or you have no access to it."),
    "role_required": N_("Your role in this academy does not allow this."),
    "forbidden": N_("You are not allowed to do this."),
    "csrf_failed": N_("The form expired. Reload the page and try again."),
    "bad_credentials": N_("Wrong email or password."),
    "rate_limited": N_("Too many attempts. Wait a few minutes and try again."),
    "conflict": N_("Someone changed this at the same time. Reload the page and try again."),
    "not_a_participant": N_("You are not a participant of this session."),
    "too_early": N_("Joining opens shortly before the class starts."),
    "ended": N_("This class has ended."),
    "cancelled": N_("This class was cancelled."),
    "invitation_invalid": N_(
        "This invitation is not valid: it may have been used already or have expired. "
        "Ask for a new one."
    ),
    "internal_error": N_("Something went wrong on our side. It was logged; please try again."),
}


def message_of(error: AppError, gettext: Callable[[str], str]) -> str:
    """The code's message if there is one, else the service's message translated where the
    catalogue has it (English otherwise)."""
    template = CODE_MESSAGES.get(error.code)
    return gettext(template) if template else gettext(error.message)


def is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path in {"/healthz", "/readyz", "/metrics"})


def error_page(request: Request, error: AppError) -> Response:
    if isinstance(error, NotAuthenticated) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    language = (
        supported(request.cookies.get(LANGUAGE_COOKIE))
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT_LANGUAGE
    )
    user_language = getattr(request.state, "language", None)
    language = user_language or language
    gettext = translations(language).gettext
    html = (
        environment(language)
        .get_template("error.html")
        .render(
            message=message_of(error, gettext),
            status_code=error.status_code,
            signed_in=SESSION_COOKIE in request.cookies,
            page=None,
            academy=None,
            nav=[],
            csrf="",
            visitor=None,
            request=request,
        )
    )
    return HTMLResponse(html, status_code=error.status_code)
