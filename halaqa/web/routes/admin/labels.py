"""The words the admin pages show for the services' status and kind values (English msgids,
translated where they are shown)."""

from __future__ import annotations

from halaqa.web.nav import N_

ROLES = {
    "admin": N_("Admin"),
    "supervisor": N_("Supervisor"),
    "teacher": N_("Teacher"),
    "student": N_("Student"),
    "parent": N_("Parent"),
}
GROUP_KINDS = {
    "circle": N_("Circle"),
    "course": N_("Course"),
    "interactive_course": N_("Interactive course"),
}
GROUP_STATUSES = {
    "draft": N_("Draft"),
    "published": N_("Published"),
    "active": N_("Active"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
}
# What the button that moves a group (or an enrollment) to the status says.
GROUP_ACTIONS = {
    "published": N_("Publish"),
    "active": N_("Start"),
    "completed": N_("Complete"),
    "cancelled": N_("Cancel the group"),
}
ENROLLMENT_STATUSES = {
    "pending": N_("Pending"),
    "enrolled": N_("Enrolled"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
}
ENROLLMENT_ACTIONS = {
    "enrolled": N_("Approve"),
    "completed": N_("Complete"),
    "cancelled": N_("Withdraw"),
}
SUBSCRIPTION_STATUSES = {
    "pending": N_("Pending"),
    "active": N_("Active"),
    "paused": N_("Paused"),
    "cancelled": N_("Cancelled"),
    "expired": N_("Expired"),
}
PACKAGE_KINDS = {"individual": N_("Individual lessons"), "group": N_("Group sessions")}
CYCLE_UNITS = {"day": N_("Days"), "week": N_("Weeks"), "month": N_("Months")}
PAYMENT_STATUSES = {
    "pending": N_("Payment pending"),
    "paid": N_("Paid"),
    "failed": N_("Payment failed"),
    "waived": N_("Waived"),
}
BOOKING_STATUSES = {
    "requested": N_("Requested"),
    "confirmed": N_("Confirmed"),
    "declined": N_("Declined"),
    "expired": N_("Expired"),
    "withdrawn": N_("Withdrawn"),
}
SESSION_KINDS = {
    "individual": N_("Individual"),
    "group": N_("Group"),
    "trial": N_("Trial"),
    "assessment": N_("Assessment"),
}
SCHEDULE_STATUSES = {
    "active": N_("Active"),
    "ended": N_("Ended"),
    "cancelled": N_("Cancelled"),
}
SKIP_REASONS = {
    "blocked_day": N_("a blocked weekday"),
    "holiday": N_("a holiday"),
    "monthly_target": N_("the month's target is reached"),
    "nonexistent_time": N_("the time does not exist that day (clock change)"),
    "ambiguous_time": N_("the time occurs twice that day (clock change)"),
    "past": N_("already past"),
}
ATTENDANCE_STATUSES = {
    "present": N_("Present"),
    "late": N_("Late"),
    "left_early": N_("Left early"),
    "partial": N_("Partial"),
    "absent": N_("Absent"),
    "excused": N_("Excused"),
}
FLAG_REASONS = {"quota_exhausted": N_("The cycle had no session left")}
LEDGER_KINDS = {"consumed": N_("Charged"), "refunded": N_("Refunded")}
DECIDERS = {"auto": N_("Automatic"), "teacher": N_("Teacher"), "admin": N_("Admin")}
