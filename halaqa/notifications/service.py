"""Notifications: written with their cause (the outbox), shown in the app, emailed by a job.

`notify` is what every cause calls, inside its own transaction: one row per recipient (the bell
shows it), and an email job unless the recipient muted that kind of email or this server sends
none. A dedupe key makes a cause looked at twice tell each person once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from halaqa.academies.auth import Principal
from halaqa.exceptions import Conflict, NotFound
from halaqa.kit.deps import Runtime
from halaqa.models import Notification
from halaqa.models.notifications import Channel, EmailStatus, NotificationKind
from halaqa.notifications.repository import NotificationRepository
from halaqa.worker.jobs import enqueue

SEND_EMAIL = "notifications.send_email"


async def notify(
    rt: Runtime,
    *,
    kind: NotificationKind,
    user_ids: Iterable[int],
    payload: dict[str, Any],
    academy_id: int | None,
    dedupe: str | None = None,
) -> list[Notification]:
    recipients = sorted(set(user_ids))
    if not recipients:
        return []
    repository = NotificationRepository(rt.session)
    keys = {user: f"{dedupe}:{user}" if dedupe else None for user in recipients}
    told = await repository.existing_keys([k for k in keys.values() if k is not None])
    muted = await repository.mutes(recipients, kind.value)
    now = rt.clock.now()
    written = []
    for user in recipients:
        if keys[user] in told:
            continue
        if (user, Channel.IN_APP.value) in muted and (user, Channel.EMAIL.value) in muted:
            continue
        notification = Notification(
            academy_id=academy_id,
            user_id=user,
            kind=kind.value,
            payload=payload,
            dedupe_key=keys[user],
            created_at=now,
            # Muted in the app: kept (its email is tracked here) but never counted as unread.
            read_at=now if (user, Channel.IN_APP.value) in muted else None,
            email_status=_email_status(rt, (user, Channel.EMAIL.value) in muted).value,
            email_attempts=0,
        )
        if not await repository.add(notification):
            continue
        if notification.email_status == EmailStatus.PENDING.value:
            await enqueue(
                rt, SEND_EMAIL, {"notification_id": notification.id}, academy_id=academy_id
            )
        written.append(notification)
    return written


def _email_status(rt: Runtime, muted: bool) -> EmailStatus:
    if muted:
        return EmailStatus.MUTED
    if rt.settings.smtp_host is None:
        return EmailStatus.NOT_CONFIGURED
    return EmailStatus.PENDING


async def my_notifications(
    rt: Runtime, principal: Principal, *, unread_only: bool, offset: int, limit: int
) -> tuple[Sequence[Notification], int]:
    assert principal.user is not None
    return await NotificationRepository(rt.session).of_user(
        principal.user.id, unread_only=unread_only, offset=offset, limit=limit
    )


async def unread_count(rt: Runtime, user_id: int) -> int:
    return await NotificationRepository(rt.session).unread_count(user_id)


async def mark_read(rt: Runtime, principal: Principal, ids: Sequence[int] | None) -> int:
    """Marks some (or, with None, all) of one's own notifications read; others' are untouched."""
    assert principal.user is not None
    return await NotificationRepository(rt.session).mark_read(
        principal.user.id, ids, rt.clock.now()
    )


async def mutes(rt: Runtime, principal: Principal) -> dict[str, set[str]]:
    assert principal.user is not None
    found: dict[str, set[str]] = {}
    for mute in await NotificationRepository(rt.session).mutes_of(principal.user.id):
        found.setdefault(mute.kind, set()).add(mute.channel)
    return found


async def set_mutes(
    rt: Runtime, principal: Principal, wanted: dict[NotificationKind, set[Channel]]
) -> None:
    assert principal.user is not None
    pairs = {
        (kind.value, channel.value) for kind, channels in wanted.items() for channel in channels
    }
    await NotificationRepository(rt.session).replace_mutes(principal.user.id, pairs, rt.clock.now())


async def resend(rt: Runtime, principal: Principal, notification_id: int) -> Notification:
    """Sends a failed email again, when its recipient asks."""
    notification = await NotificationRepository(rt.session).get(notification_id, lock=True)
    if notification is None or not _may_resend(principal, notification):
        raise NotFound("no such notification")
    if notification.email_status != EmailStatus.FAILED.value:
        raise Conflict("only a failed email can be sent again", code="not_failed")
    if rt.settings.smtp_host is None:
        raise Conflict("this server sends no email (no SMTP host)", code="email_not_configured")
    notification.email_status = EmailStatus.PENDING.value
    notification.email_attempts = 0
    await enqueue(
        rt, SEND_EMAIL, {"notification_id": notification.id}, academy_id=notification.academy_id
    )
    return notification


def _may_resend(principal: Principal, notification: Notification) -> bool:
    return principal.user is not None and principal.user.id == notification.user_id


def attempt_failed(
    notification: Notification, error: str, max_attempts: int, now: datetime
) -> bool:
    """Records a failed attempt; True when another is due, False when it is given up."""
    notification.email_attempts += 1
    notification.email_error = error[:2000]
    if notification.email_attempts >= max_attempts:
        notification.email_status = EmailStatus.FAILED.value
        return False
    return True
