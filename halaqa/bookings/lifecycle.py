"""The booking lifecycle (pure): a request is answered once; every other status is final."""

from __future__ import annotations

from halaqa.bookings.schemas import BookingStatus

# A request is answered once; every other status is final.
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.REQUESTED: frozenset(
        {
            BookingStatus.CONFIRMED,
            BookingStatus.DECLINED,
            BookingStatus.EXPIRED,
            BookingStatus.WITHDRAWN,
        }
    ),
    BookingStatus.CONFIRMED: frozenset(),
    BookingStatus.DECLINED: frozenset(),
    BookingStatus.EXPIRED: frozenset(),
    BookingStatus.WITHDRAWN: frozenset(),
}


class TransitionRefused(ValueError):
    def __init__(self, current: BookingStatus, target: BookingStatus) -> None:
        self.current, self.target = current, target
        self.allowed = sorted(TRANSITIONS[current])
        super().__init__(
            f"a {current} booking cannot become {target}; from {current} it may become: "
            f"{', '.join(self.allowed) or 'nothing'}"
        )


def check_transition(current: BookingStatus, target: BookingStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise TransitionRefused(current, target)


def sources_of(target: BookingStatus) -> list[BookingStatus]:
    """Every status a booking may reach `target` from."""
    return sorted(status for status, targets in TRANSITIONS.items() if target in targets)
