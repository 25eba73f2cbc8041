"""Reminders before a class (each academy's `reminder_minutes`, 24 hours and 15 minutes by
default): a worker step that looks only at the classes whose reminder came due since it last
looked, so its cost follows what is due, not how many classes there are."""

from __future__ import annotations

from datetime import timedelta

from halaqa.academies.settings import effective_settings
from halaqa.kit.deps import Runtime
from halaqa.models.notifications import NotificationKind
from halaqa.notifications.causes import session_payload
from halaqa.notifications.repository import academy_settings, audience, starting_between
from halaqa.notifications.service import notify
from halaqa.scheduling.lifecycle import Status
from halaqa.worker.repository import MarkRepository

MARK = "reminders"
REMINDED = (Status.SCHEDULED.value, Status.READY.value)


async def send_reminders(rt: Runtime) -> int:
    now = rt.clock.now()
    since = await MarkRepository(rt.session).take(MARK, now)
    if since is None:
        return 0
    offsets_of = {
        academy_id: set(effective_settings(stored).reminder_minutes)
        for academy_id, stored in (await academy_settings(rt.session)).items()
    }
    sent = 0
    for minutes in sorted(set().union(*offsets_of.values()) if offsets_of else set()):
        ahead = timedelta(minutes=minutes)
        # Due between the last look and now: the class starts within `minutes` of then..now.
        for academy_id, session_id, starts_at in await starting_between(
            rt.session, since + ahead, now + ahead, REMINDED
        ):
            if minutes not in offsets_of.get(academy_id, set()) or starts_at <= now:
                continue
            found = await audience(rt.session, academy_id, session_id)
            if found is None:
                continue
            told = await notify(
                rt,
                kind=NotificationKind.REMINDER,
                user_ids=found.teacher_and_students,
                payload=session_payload(found, rt.settings.base_url) | {"minutes": minutes},
                academy_id=academy_id,
                dedupe=f"session:{session_id}:reminder:{minutes}:{starts_at.isoformat()}",
            )
            sent += len(told)
    return sent
