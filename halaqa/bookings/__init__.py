"""Tutoring bookings: teachers' weekly availability, free slots, and booking requests."""
