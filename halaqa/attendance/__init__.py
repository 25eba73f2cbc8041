"""Attendance: presence events folded into exact seconds, and the statuses they earn."""
