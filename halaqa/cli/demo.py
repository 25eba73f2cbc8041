"""The demo academy: an admin, three teachers, a dozen students and two parents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from halaqa.academies import service
from halaqa.academies.auth import AcademyContext, Actor, Principal
from halaqa.academies.repository import AcademyRepository, MemberRepository, UserRepository
from halaqa.academies.roles import Role
from halaqa.academies.schemas import AcademyCreate, GuardianshipCreate
from halaqa.catalog import service as catalog
from halaqa.catalog.lifecycle import GroupStatus
from halaqa.catalog.schemas import EnrollmentCreate, GroupCreate
from halaqa.config import Settings
from halaqa.kit.deps import Runtime
from halaqa.meetings import service as meetings
from halaqa.meetings.schemas import MeetingConfigIn, RecordingStorageIn
from halaqa.schedules import service as schedules
from halaqa.schedules.schemas import ScheduleCreate, Slot
from halaqa.scheduling import service as scheduling
from halaqa.scheduling.schemas import LocalStart, SessionCreate

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


@dataclass(frozen=True)
class DemoGroup:
    kind: Literal["circle", "course"]
    name: str
    teacher: str
    students: tuple[str, ...]
    capacity: int | None = None
    time_zone: str | None = None
    publish: bool = False


CIRCLE = DemoGroup(
    "circle",
    "حلقة الفجر — Dawn circle",
    "teacher.ahmad",
    ("student.omar", "student.aisha", "student.yusuf", "student.layla"),
)
GROUPS = (
    CIRCLE,
    DemoGroup(
        "course",
        "Arabic for beginners — العربية للمبتدئين",
        "teacher.sarah",
        ("student.adam", "student.noor", "student.ibrahim"),
        capacity=10,
        time_zone="Europe/London",
        publish=True,
    ),
)


@dataclass(frozen=True)
class DemoSession:
    kind: Literal["individual", "group", "trial"]
    title: str
    teacher: str
    student: str | None  # None: the circle's students
    day: int  # 0 is tomorrow, in the academy's zone
    at: time
    minutes: int


SESSIONS = (
    DemoSession("group", "حلقة الفجر: مراجعة جزء عم", "teacher.ahmad", None, 0, time(6), 45),
    DemoSession(
        "individual",
        "تجويد: أحكام النون الساكنة",
        "teacher.fatima",
        "student.zainab",
        0,
        time(17),
        30,
    ),
    DemoSession(
        "individual", "Tajweed with Bilal", "teacher.fatima", "student.bilal", 0, time(18), 30
    ),
    DemoSession(
        "trial", "Trial lesson — درس تجريبي", "teacher.sarah", "student.maryam", 1, time(16), 30
    ),
    DemoSession("group", "حلقة الفجر: حفظ سورة الملك", "teacher.ahmad", None, 1, time(6), 45),
)


@dataclass(frozen=True)
class DemoSchedule:
    title: str
    teacher: str
    student: str | None  # None: the group's students
    group: DemoGroup | None
    slots: tuple[tuple[int, time], ...]  # (weekday, local start), 0 = Monday
    minutes: int
    monthly_target: int | None = None


WEEKLY = (
    DemoSchedule(
        "Arabic for beginners — weekly class",
        "teacher.sarah",
        None,
        GROUPS[1],
        ((0, time(18)), (2, time(18))),
        60,
    ),
    DemoSchedule(
        "حفظ: جزء تبارك — Hifz with Khadija",
        "teacher.fatima",
        "student.khadija",
        None,
        ((6, time(16)), (1, time(16)), (3, time(16))),
        30,
        monthly_target=12,
    ),
)


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
    await meetings.set_config(rt, ctx, demo_meetings(rt.settings))
    await _load_classes(rt, ctx, ids)
    return True


def demo_meetings(settings: Settings) -> MeetingConfigIn:
    """LiveKit when the server has one for the demo; otherwise public Jitsi rooms, so that
    joining works out of the box."""
    if settings.demo_livekit_url is None:
        return MeetingConfigIn(provider="link", jitsi_base_url="https://meet.jit.si")
    return MeetingConfigIn(
        provider="livekit",
        livekit_url=settings.demo_livekit_url,
        livekit_api_key=settings.demo_livekit_api_key,
        livekit_api_secret=settings.demo_livekit_api_secret,
        recordings=RecordingStorageIn(path_prefix="demo"),
    )


async def _load_classes(rt: Runtime, ctx: AcademyContext, ids: dict[str, int]) -> None:
    """A circle, a course, a few upcoming sessions and two weekly schedules, so the demo's
    calendar is not empty."""
    group_ids: dict[str, int] = {}
    for group in GROUPS:
        made = await catalog.create_group(
            rt,
            ctx,
            GroupCreate(
                kind=group.kind,
                name=group.name,
                teacher_user_id=ids[group.teacher],
                capacity=group.capacity,
                time_zone=group.time_zone,
            ),
        )
        group_ids[group.name] = made.id
        if group.publish:
            await catalog.change_group_status(rt, ctx, made.id, GroupStatus.PUBLISHED)
        for student in group.students:
            await catalog.enrol(rt, ctx, made.id, EnrollmentCreate(student_user_id=ids[student]))
    local_now = rt.clock.now().astimezone(ZoneInfo(ctx.academy.time_zone))
    tomorrow = local_now.date() + timedelta(days=1)
    for session in SESSIONS:
        await scheduling.create_session(
            rt,
            ctx,
            SessionCreate(
                kind=session.kind,
                title=session.title,
                teacher_user_id=ids[session.teacher],
                student_user_id=ids[session.student] if session.student else None,
                group_id=group_ids[CIRCLE.name] if session.kind == "group" else None,
                local_start=LocalStart(
                    date=tomorrow + timedelta(days=session.day), time=session.at
                ),
                duration_minutes=session.minutes,
            ),
        )
    for weekly in WEEKLY:
        await schedules.create_schedule(
            rt,
            ctx,
            ScheduleCreate(
                kind="group" if weekly.group else "individual",
                title=weekly.title,
                teacher_user_id=ids[weekly.teacher],
                student_user_id=ids[weekly.student] if weekly.student else None,
                group_id=group_ids[weekly.group.name] if weekly.group else None,
                slots=[Slot(weekday=day, start=at) for day, at in weekly.slots],
                duration_minutes=weekly.minutes,
                starts_on=tomorrow,
                monthly_target=weekly.monthly_target,
            ),
        )


def demo_logins() -> list[tuple[str, str, str]]:
    """(role, email, password) for every demo person, the admin first."""
    return [(", ".join(p.roles), email_of(p.login), DEMO_PASSWORD) for p in (ADMIN, *PEOPLE)]
