"""Emails: a notification written as text and HTML in the recipient's language, with the class
as an .ics attachment when it is about one class, sent over SMTP."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any
from urllib.parse import urlsplit

from halaqa.config import Settings, SmtpSecurity
from halaqa.models import Notification, User
from halaqa.models.notifications import NotificationKind
from halaqa.notifications.calendar import FeedEntry, build_calendar
from halaqa.notifications.messages import compose
from halaqa.web.i18n import direction, supported
from halaqa.web.templating import environment

# The kinds about one class whose email carries it as an .ics attachment.
WITH_CALENDAR = frozenset(
    {
        NotificationKind.SESSION_SCHEDULED,
        NotificationKind.SESSION_RESCHEDULED,
        NotificationKind.SESSION_CANCELLED,
    }
)
SMTP_TIMEOUT_S = 30


def build_message(
    settings: Settings, notification: Notification, user: User, now: datetime
) -> EmailMessage:
    language = supported(user.locale) or "en"
    composed = compose(
        notification.kind, notification.payload, language, user.time_zone, settings.base_url
    )
    host = urlsplit(settings.base_url).hostname or "halaqa"
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = formataddr((user.name, user.email))
    message["Subject"] = composed.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(f"notification-{notification.id}", domain=host)
    message["Content-Language"] = language
    text = composed.body + (f"\n\n{composed.link_label}: {composed.link}" if composed.link else "")
    message.set_content(text)
    html = (
        environment(language)
        .get_template("email/notification.html")
        .render(composed=composed, dir=direction(language), language=language)
    )
    message.add_alternative(html, subtype="html")
    if NotificationKind(notification.kind) in WITH_CALENDAR:
        message.add_attachment(
            _calendar(notification.payload, host, now),
            maintype="text",
            subtype="calendar",
            filename="class.ics",
            params={"method": "PUBLISH"},
        )
    return message


def _calendar(payload: dict[str, Any], host: str, now: datetime) -> bytes:
    entry = FeedEntry(
        uid=f"session-{payload['session_id']}@{host}",
        title=str(payload["title"]),
        starts_at=datetime.fromisoformat(payload["starts_at"]),
        ends_at=datetime.fromisoformat(payload["ends_at"]),
        zone=str(payload["zone"]),
        url=str(payload["url"]),
        cancelled=bool(payload.get("cancelled")),
        sequence=int(payload.get("sequence", 0)),
        updated_at=now,
    )
    return build_calendar(str(payload["title"]), [entry], now)


async def send(settings: Settings, message: EmailMessage) -> None:
    await asyncio.to_thread(_send_blocking, settings, message)


def _send_blocking(settings: Settings, message: EmailMessage) -> None:
    assert settings.smtp_host is not None
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.smtp_security is SmtpSecurity.TLS:
        client = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S, context=context
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S)
    with client:
        if settings.smtp_security is SmtpSecurity.STARTTLS:
            client.starttls(context=context)
        if settings.smtp_username and settings.smtp_password:
            client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        client.send_message(message)
