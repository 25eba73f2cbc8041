"""The email job: sends one notification's email, and keeps every attempt's outcome on the
notification itself (so a failure is visible and never lost), retrying with growing delays."""

from __future__ import annotations

import logging
from datetime import timedelta
from smtplib import SMTPException
from typing import Any

from halaqa.kit.deps import Runtime
from halaqa.models.notifications import EmailStatus
from halaqa.notifications import mail
from halaqa.notifications.repository import NotificationRepository
from halaqa.notifications.service import SEND_EMAIL, attempt_failed
from halaqa.worker.jobs import enqueue, handles

log = logging.getLogger("halaqa.notifications")
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=2)


@handles(SEND_EMAIL)
async def send_email_job(rt: Runtime, payload: dict[str, Any]) -> None:
    repository = NotificationRepository(rt.session)
    notification = await repository.get(int(payload["notification_id"]), lock=True)
    if notification is None or notification.email_status != EmailStatus.PENDING.value:
        return  # sent already, or nothing to send: running twice sends once
    if rt.settings.smtp_host is None:
        notification.email_status = EmailStatus.NOT_CONFIGURED.value
        return
    user = await repository.recipient(notification)
    now = rt.clock.now()
    message = mail.build_message(rt.settings, notification, user, now)
    try:
        await mail.send(rt.settings, message)
    except (OSError, SMTPException) as error:
        # Answered here rather than raised: a raise would roll back the record of this attempt.
        log.warning("email of notification %s failed: %s", notification.id, error)
        if attempt_failed(
            notification, str(error) or type(error).__name__, rt.settings.email_max_attempts, now
        ):
            delay = min(FIRST_RETRY * 2 ** (notification.email_attempts - 1), LONGEST_RETRY)
            await enqueue(rt, SEND_EMAIL, payload, academy_id=notification.academy_id, delay=delay)
        return
    notification.email_attempts += 1
    notification.email_status = EmailStatus.SENT.value
    notification.email_sent_at = now
    notification.email_error = None
