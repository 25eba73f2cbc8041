"""The demo academy: an admin, three teachers, a dozen students and two parents."""

from __future__ import annotations

from dataclasses import dataclass

from halaqa.academies import service
from halaqa.academies.auth import AcademyContext, Actor, Principal
from halaqa.academies.repository import AcademyRepository, MemberRepository, UserRepository
from halaqa.academies.roles import Role
from halaqa.academies.schemas import AcademyCreate, GuardianshipCreate
from halaqa.kit.deps import Runtime

DEMO_SLUG = "demo"
DEMO_PASSWORD = "halaqa-demo-2026"  # noqa: S105 (printed for the local demo on purpose)
DOMAIN = "demo.halaqa.example"


@dataclass(frozen=True)
class DemoPerson:
    login: str
    name: str
    roles: tuple[Role, ...]
    locale: str = "ar"


ADMIN = DemoPerson("admin", "مدير الأكاديمية — Academy Admin", (Role.ADMIN,))
PEOPLE = (
    DemoPerson("supervisor", "Maryam Al-Harbi — مريم الحربي", (Role.SUPERVISOR,)),
    DemoPerson("teacher.ahmad", "الشيخ أحمد المصري", (Role.TEACHER,)),
    DemoPerson("teacher.sarah", "Sarah Thompson", (Role.TEACHER,), "en"),
    DemoPerson("teacher.fatima", "أ. فاطمة الزهراء", (Role.TEACHER,)),
    *(
        DemoPerson(f"student.{login}", name, (Role.STUDENT,), locale)
        for login, name, locale in (
            ("omar", "عمر بن خالد", "ar"),
            ("aisha", "عائشة يوسف", "ar"),
            ("yusuf", "يوسف إبراهيم", "ar"),
            ("layla", "ليلى حسن", "ar"),
            ("hamza", "حمزة عبد الله", "ar"),
            ("zainab", "زينب علي", "ar"),
            ("adam", "Adam Clarke", "en"),
            ("noor", "Noor Rahman", "en"),
            ("ibrahim", "Ibrahim Diallo", "en"),
            ("maryam", "Maryam Siddiqui", "en"),
            ("khadija", "خديجة سالم", "ar"),
            ("bilal", "Bilal Ahmed", "en"),
        )
    ),
    DemoPerson("parent.khalid", "خالد بن عمر", (Role.PARENT,)),
    DemoPerson("parent.emma", "Emma Clarke", (Role.PARENT,), "en"),
)
# Which parent looks after which children.
FAMILIES = {
    "parent.khalid": ("student.omar", "student.aisha"),
    "parent.emma": ("student.adam",),
}


def email_of(login: str) -> str:
    return f"{login}@{DOMAIN}"


async def load_demo(rt: Runtime) -> bool:
    """Creates the demo academy once. Returns False (and changes nothing) if it exists."""
    if await AcademyRepository(rt.session).by_slug(DEMO_SLUG) is not None:
        return False
    users = UserRepository(rt.session)
    admin = await users.by_email_key(email_of(ADMIN.login)) or await service.create_user(
        rt,
        email=email_of(ADMIN.login),
        name=ADMIN.name,
        password=DEMO_PASSWORD,
        locale="ar",
        time_zone="Asia/Riyadh",
        platform_admin=True,
    )
    academy = await service.create_academy(
        rt,
        Actor(),
        AcademyCreate(
            slug=DEMO_SLUG,
            name="أكاديمية حلقة التجريبية — Halaqa Demo Academy",
            time_zone="Asia/Riyadh",
            default_locale="ar",
        ),
        admin_user_id=admin.id,
    )
    ctx = AcademyContext(
        academy=academy, principal=Principal(user=admin), roles=frozenset({Role.ADMIN})
    )
    ids: dict[str, int] = {}
    for person in PEOPLE:
        user = await users.by_email_key(email_of(person.login)) or await service.create_user(
            rt,
            email=email_of(person.login),
            name=person.name,
            password=DEMO_PASSWORD,
            locale=person.locale,
            time_zone="Asia/Riyadh" if person.locale == "ar" else "Europe/London",
        )
        await MemberRepository(rt.session, academy.id).add(user.id, {r.value for r in person.roles})
        ids[person.login] = user.id
    for parent, children in FAMILIES.items():
        for child in children:
            await service.link_guardian(
                rt, ctx, GuardianshipCreate(parent_user_id=ids[parent], student_user_id=ids[child])
            )
    return True


def demo_logins() -> list[tuple[str, str, str]]:
    """(role, email, password) for every demo person, the admin first."""
    return [(", ".join(p.roles), email_of(p.login), DEMO_PASSWORD) for p in (ADMIN, *PEOPLE)]
