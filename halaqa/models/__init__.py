"""All tables. Importing this package registers every model on Base.metadata."""

from halaqa.models.academies import Academy, ApiKey, Guardianship, Membership, MembershipRole
from halaqa.models.audit import AuditEntry
from halaqa.models.auth import AuthToken, LoginAttempt
from halaqa.models.catalog import Enrollment, Group
from halaqa.models.scheduling import (
    ClassSession,
    SessionCodeCounter,
    SessionParticipant,
    SessionReschedule,
    SessionStatusChange,
)
from halaqa.models.users import User

__all__ = [
    "Academy",
    "ApiKey",
    "AuditEntry",
    "AuthToken",
    "ClassSession",
    "Enrollment",
    "Group",
    "Guardianship",
    "LoginAttempt",
    "Membership",
    "MembershipRole",
    "SessionCodeCounter",
    "SessionParticipant",
    "SessionReschedule",
    "SessionStatusChange",
    "User",
]
