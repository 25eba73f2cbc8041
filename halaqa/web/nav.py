"""The navigation each role sees: one list, so every page links the same places."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from halaqa.academies.roles import Role

if TYPE_CHECKING:
    from halaqa.web.pages import AcademyPage


@dataclass(frozen=True)
class NavItem:
    label: str  # an English msgid, translated in the template
    path: str  # under /a/{slug}


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


TEACHER = (
    NavItem(N_("Today"), "/teach"),
    NavItem(N_("Schedule a session"), "/sessions/new"),
    NavItem(N_("Make-ups owed"), "/makeups"),
    NavItem(N_("Absence requests"), "/absence-requests"),
)
STUDENT = (
    NavItem(N_("My classes"), "/learn"),
    NavItem(N_("Past classes"), "/learn/history"),
    NavItem(N_("My package"), "/learn/balance"),
    NavItem(N_("Absence requests"), "/absence-requests"),
)
PARENT = (
    NavItem(N_("My children"), "/family"),
    NavItem(N_("Absence requests"), "/absence-requests"),
)
STAFF_ITEMS = (
    NavItem(N_("Overview"), "/admin"),
    NavItem(N_("People"), "/admin/people"),
    NavItem(N_("Groups"), "/admin/groups"),
    NavItem(N_("Schedules"), "/admin/schedules"),
    NavItem(N_("Bookings"), "/admin/bookings"),
    NavItem(N_("Subscriptions"), "/admin/subscriptions"),
    NavItem(N_("Reports"), "/admin/reports"),
    NavItem(N_("Settings"), "/admin/settings"),
    NavItem(N_("Meetings"), "/admin/meetings"),
    NavItem(N_("Audit log"), "/admin/audit"),
)


def items(page: AcademyPage) -> list[NavItem]:
    found: list[NavItem] = []
    if page.roles & {Role.ADMIN, Role.SUPERVISOR}:
        found += STAFF_ITEMS
    if Role.TEACHER in page.roles:
        found += TEACHER
    if Role.STUDENT in page.roles:
        found += STUDENT
    if Role.PARENT in page.roles:
        found += PARENT
    unique: dict[str, NavItem] = {item.path: item for item in found}
    return list(unique.values())


def home_path(roles: frozenset[Role]) -> str:
    """Where /a/{slug} leads: the page of the role one most likely came for."""
    if roles & {Role.ADMIN, Role.SUPERVISOR}:
        return "/admin"
    if Role.TEACHER in roles:
        return "/teach"
    if Role.STUDENT in roles:
        return "/learn"
    if Role.PARENT in roles:
        return "/family"
    return "/learn"
