"""A wake-up call inside one process: streams wait on it instead of polling the database
blindly, and what commits in this process wakes them at once. Other processes' changes are
seen at the streams' next timed look."""

from __future__ import annotations

import asyncio
import contextlib


class Signal:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def mark(self) -> asyncio.Event:
        """Take this before reading the state, then `wait` on it: a notification that comes
        between the read and the wait is not lost."""
        return self._event

    def notify(self) -> None:
        """Wakes everyone waiting now."""
        self._event.set()
        self._event = asyncio.Event()

    @staticmethod
    async def wait(mark: asyncio.Event, seconds: float) -> None:
        """Until a notification after `mark` was taken, or `seconds` have passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await mark.wait()
