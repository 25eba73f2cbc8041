"""Class sessions: lifecycle, recurrence, conflicts, scheduling."""
