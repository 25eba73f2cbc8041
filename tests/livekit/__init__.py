"""A test-only stand-in for the LiveKit server (never shipped, never shown to users as LiveKit).

`FakeLiveKit` speaks LiveKit's real wire protocol (Twirp over HTTP, signed webhooks) so Halaqa's
code and the official `livekit-api` SDK can be exercised without a LiveKit server. See
`tests/livekit/server.py` for what it implements and where it deliberately differs.
"""

from tests.livekit.server import (
    Attempt,
    Call,
    Delivery,
    FakeLiveKit,
    ServerThread,
    TwirpFailure,
)

__all__ = ["Attempt", "Call", "Delivery", "FakeLiveKit", "ServerThread", "TwirpFailure"]
