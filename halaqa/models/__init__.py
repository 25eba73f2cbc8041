"""All tables. Importing this package registers every model on Base.metadata."""

from halaqa.models.academies import Academy, ApiKey, Guardianship, Membership, MembershipRole
from halaqa.models.attendance import (
    AbsenceRequest,
    AttendanceOverride,
    AttendanceRecord,
    PresenceEvent,
)
from halaqa.models.audit import AuditEntry
from halaqa.models.auth import AuthToken, LoginAttempt
from halaqa.models.billing import (
    LedgerEntry,
    LedgerFlag,
    Package,
    Subscription,
    SubscriptionCycle,
    SubscriptionPause,
)
from halaqa.models.bookings import Booking, TeacherAvailability
from halaqa.models.catalog import Enrollment, Group
from halaqa.models.evaluations import SessionReport, SessionReportPassage
from halaqa.models.jobs import Job, WorkerMark
from halaqa.models.meetings import MeetingConfig, MeetingEvent, SessionRecording, SessionRoom
from halaqa.models.notifications import CalendarFeed, Notification, NotificationMute
from halaqa.models.scheduling import (
    AcademyHoliday,
    ClassSession,
    Schedule,
    SessionCodeCounter,
    SessionParticipant,
    SessionReschedule,
    SessionStatusChange,
)
from halaqa.models.users import User
from halaqa.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AbsenceRequest",
    "Academy",
    "AcademyHoliday",
    "ApiKey",
    "AttendanceOverride",
    "AttendanceRecord",
    "AuditEntry",
    "AuthToken",
    "Booking",
    "CalendarFeed",
    "ClassSession",
    "Enrollment",
    "Group",
    "Guardianship",
    "Job",
    "LedgerEntry",
    "LedgerFlag",
    "LoginAttempt",
    "MeetingConfig",
    "MeetingEvent",
    "Membership",
    "MembershipRole",
    "Notification",
    "NotificationMute",
    "Package",
    "PresenceEvent",
    "Schedule",
    "SessionCodeCounter",
    "SessionParticipant",
    "SessionRecording",
    "SessionReport",
    "SessionReportPassage",
    "SessionReschedule",
    "SessionRoom",
    "SessionStatusChange",
    "Subscription",
    "SubscriptionCycle",
    "SubscriptionPause",
    "TeacherAvailability",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkerMark",
]
