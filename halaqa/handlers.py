"""Every module that registers job handlers and follow-ups, imported by whatever can change a
session or run jobs (the app, the worker, the command line), so they all know every kind."""

from halaqa.billing import jobs as billing_jobs
from halaqa.meetings import jobs as meetings_jobs
from halaqa.meetings import recordings as meetings_recordings
from halaqa.meetings import webhooks as meetings_webhooks
from halaqa.notifications import absences as notifications_absences
from halaqa.notifications import balance as notifications_balance
from halaqa.notifications import bookings as notifications_bookings
from halaqa.notifications import causes as notifications_causes
from halaqa.notifications import events as webhook_events
from halaqa.notifications import jobs as notifications_jobs
from halaqa.notifications import outbound as webhook_outbound

__all__ = [
    "billing_jobs",
    "meetings_jobs",
    "meetings_recordings",
    "meetings_webhooks",
    "notifications_absences",
    "notifications_balance",
    "notifications_bookings",
    "notifications_causes",
    "notifications_jobs",
    "webhook_events",
    "webhook_outbound",
]
