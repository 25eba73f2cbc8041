"""Recordings of a session's room through LiveKit egress: started by its teacher or the staff (or
automatically when the session starts, where the academy or session asks for it), stopped by
them or when the room closes, and kept with where the file went once LiveKit says it ended."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from livekit import api as lk

from halaqa.academies.auth import AcademyContext
from halaqa.academies.service import audit
from halaqa.academies.settings import effective_settings
from halaqa.exceptions import Conflict, Forbidden, NotFound, Unavailable
from halaqa.kit.deps import Runtime
from halaqa.meetings.providers.base import ProviderError, RecordingTarget, S3Destination
from halaqa.meetings.providers.livekit import LiveKitProvider
from halaqa.meetings.repository import MeetingRepository
from halaqa.meetings.service import academy_of, livekit_provider, open_room, open_s3_secret
from halaqa.models import Academy, ClassSession, MeetingConfig, SessionRecording, SessionRoom
from halaqa.scheduling import follow_ups, lifecycle
from halaqa.scheduling.lifecycle import Part, Status
from halaqa.scheduling.repository import SessionRepository
from halaqa.scheduling.service import get_session, runner_view, viewer_of
from halaqa.worker.jobs import enqueue, handles

log = logging.getLogger("halaqa.recordings")

RECORD = "meetings.record"
LIVE = frozenset({"starting", "active", "ending"})
_STATUSES = {
    lk.EgressStatus.EGRESS_STARTING: "starting",
    lk.EgressStatus.EGRESS_ACTIVE: "active",
    lk.EgressStatus.EGRESS_ENDING: "ending",
    lk.EgressStatus.EGRESS_COMPLETE: "complete",
    lk.EgressStatus.EGRESS_LIMIT_REACHED: "complete",  # the file is there, cut at the limit
    lk.EgressStatus.EGRESS_FAILED: "failed",
    lk.EgressStatus.EGRESS_ABORTED: "aborted",
}


_PROGRESS = {"starting": 0, "active": 1, "ending": 2}


def _advance(recording: SessionRecording, status: str) -> bool:
    """THE way a recording's status changes: only forwards (starting → active → ending → one
    final status), so an update processed late never takes a recording back, and a final one
    is never undone. Whether it moved."""
    if recording.status not in LIVE:
        return False
    if status in LIVE and _PROGRESS[status] <= _PROGRESS[recording.status]:
        return False
    recording.status = status
    return True


def _nanos(value: int) -> datetime | None:
    return datetime.fromtimestamp(value / 1e9, UTC) if value else None


async def _livekit_config(rt: Runtime, academy_id: int) -> MeetingConfig:
    config = await MeetingRepository(rt.session, academy_id).config()
    if config is None or config.provider != "livekit":
        raise Conflict(
            "recordings need LiveKit; meeting links record on their own side",
            code="recordings_unavailable",
        )
    return config


def _livekit(rt: Runtime, config: MeetingConfig) -> LiveKitProvider:
    try:
        return livekit_provider(rt.settings, config)
    except ProviderError as error:
        raise Unavailable(str(error)) from None


async def _recorder(rt: Runtime, academy_id: int) -> tuple[LiveKitProvider, MeetingConfig]:
    """LiveKit, to start a recording: it needs to know where the file goes."""
    config = await _livekit_config(rt, academy_id)
    if config.recording_path_prefix is None:
        raise Conflict(
            "an admin must first say where recordings go (meeting provider → recordings)",
            code="recordings_not_configured",
        )
    return _livekit(rt, config), config


def _target(
    rt: Runtime, academy: Academy, session: ClassSession, config: MeetingConfig
) -> RecordingTarget:
    # LiveKit fills in {time}: several recordings of one session never overwrite each other.
    path = f"{config.recording_path_prefix}/{academy.slug}/{session.code}-{{time}}.mp4"
    if config.recording_s3_bucket is None:
        return RecordingTarget(file_path=path)
    assert config.recording_s3_access_key is not None
    return RecordingTarget(
        file_path=path,
        s3=S3Destination(
            bucket=config.recording_s3_bucket,
            access_key=config.recording_s3_access_key,
            secret=open_s3_secret(rt.settings, config),
            region=config.recording_s3_region,
            endpoint=config.recording_s3_endpoint,
        ),
    )


async def start(
    rt: Runtime, academy: Academy, session: ClassSession, room: SessionRoom, by_user: int | None
) -> SessionRecording:
    """Starts recording the session's open room; one recording at a time."""
    meetings = MeetingRepository(rt.session, academy.id)
    if any(r.status in LIVE for r in await meetings.recordings(session.id)):
        raise Conflict("this class is being recorded already", code="already_recording")
    provider, config = await _recorder(rt, academy.id)
    try:
        egress_id = await provider.start_recording(
            room.room_name, _target(rt, academy, session, config)
        )
    except ProviderError as error:
        raise Unavailable(f"the recording could not start: {error}") from None
    return await meetings.add_recording(
        SessionRecording(
            academy_id=academy.id,
            session_id=session.id,
            egress_id=egress_id,
            status="starting",
            started_by_user_id=by_user,
            started_at=rt.clock.now(),
        )
    )


async def start_by_hand(rt: Runtime, ctx: AcademyContext, session_id: int) -> SessionRecording:
    view, _by = await runner_view(rt, ctx, session_id)
    session = view.session
    room = await MeetingRepository(rt.session, ctx.academy.id).room(session.id)
    if (
        session.status not in {Status.READY, Status.ONGOING}
        or room is None
        or room.status != "open"
    ):
        raise Conflict("a class is recorded while its room is open", code="not_live")
    recording = await start(rt, ctx.academy, session, room, ctx.user_id)
    await _audit(rt, ctx, "recording.started", recording)
    return recording


async def stop_by_hand(
    rt: Runtime, ctx: AcademyContext, session_id: int, recording_id: int
) -> SessionRecording:
    view, _by = await runner_view(rt, ctx, session_id)
    recording = await MeetingRepository(rt.session, ctx.academy.id).recording(
        view.session.id, recording_id
    )
    if recording is None:
        raise NotFound(f"no recording {recording_id} of this session")
    if recording.status not in LIVE:
        raise Conflict(f"this recording has ended ({recording.status})", code="not_recording")
    # Stopping needs LiveKit only: a recording stops even once the storage is unset.
    provider = _livekit(rt, await _livekit_config(rt, ctx.academy.id))
    try:
        await provider.stop_recording(recording.egress_id)
    except ProviderError as error:
        raise Unavailable(f"the recording could not be stopped: {error}") from None
    _advance(recording, "ending")  # LiveKit says when the file is complete (egress_ended)
    await _audit(rt, ctx, "recording.stopped", recording)
    return recording


async def stop_all(rt: Runtime, academy_id: int, session_id: int) -> None:
    """Asks LiveKit to finish the session's recordings (its room is about to close)."""
    meetings = MeetingRepository(rt.session, academy_id)
    live = [r for r in await meetings.recordings(session_id) if r.status in {"starting", "active"}]
    if not live:
        return
    config = await meetings.config()
    if config is None or config.provider != "livekit":
        # The academy moved to meeting links meanwhile: Halaqa cannot reach that LiveKit any
        # more, which ends the recordings itself when the room empties. The room still closes.
        log.warning(
            "session %s: %s recordings not stopped, the academy no longer uses LiveKit",
            session_id,
            len(live),
        )
        return
    provider = _livekit(rt, config)  # needs no storage: stopping works once it was unset
    for recording in live:
        await provider.stop_recording(recording.egress_id)
        _advance(recording, "ending")


async def visible_recordings(
    rt: Runtime, ctx: AcademyContext, session_id: int
) -> list[SessionRecording]:
    """Its teacher and the staff see a session's recordings; its students and their parents
    too, unless the academy says otherwise."""
    view = await get_session(rt, ctx, session_id)
    part = lifecycle.part_of(view.facts, await viewer_of(rt, ctx))
    students_see = effective_settings(ctx.academy.settings).recordings_visible_to_students
    if part in {Part.STUDENT, Part.PARENT} and not students_see:
        raise Forbidden(
            "this academy shows recordings to teachers and staff only", code="not_allowed"
        )
    return list(await MeetingRepository(rt.session, ctx.academy.id).recordings(session_id))


# Kinds of job queued when a recording's file is complete (people and systems are told).
ON_RECORDING_READY: list[str] = []


def on_recording_ready(kind: str) -> None:
    if kind not in ON_RECORDING_READY:
        ON_RECORDING_READY.append(kind)


async def on_egress(rt: Runtime, academy_id: int, room: SessionRoom, info: lk.EgressInfo) -> None:
    """Follows an egress's progress from LiveKit's webhooks; one started outside Halaqa (from
    LiveKit's own tools) is kept too. A final status is never undone by a late update."""
    meetings = MeetingRepository(rt.session, academy_id)
    recording = await meetings.recording_by_egress(info.egress_id)
    if recording is None:
        recording = await meetings.add_recording(
            SessionRecording(
                academy_id=academy_id,
                session_id=room.session_id,
                egress_id=info.egress_id,
                status="starting",
                started_at=_nanos(info.started_at) or rt.clock.now(),
            )
        )
    status = _STATUSES.get(info.status)
    if status is None or not _advance(recording, status) or status in LIVE:
        return
    recording.ended_at = _nanos(info.ended_at) or rt.clock.now()
    recording.error = info.error or None
    if info.file_results:
        result = info.file_results[0]
        recording.location = result.location or result.filename or None
        recording.duration_seconds = result.duration // 1_000_000_000
        recording.size_bytes = result.size
    if status == "complete":
        await rt.session.flush()  # its id, for the follow-ups
        ready = {
            "academy_id": academy_id,
            "session_id": room.session_id,
            "recording_id": recording.id,
        }
        for kind in ON_RECORDING_READY:
            await enqueue(rt, kind, ready, academy_id=academy_id)


async def _audit(
    rt: Runtime, ctx: AcademyContext, action: str, recording: SessionRecording
) -> None:
    await audit(
        rt,
        ctx.actor,
        action,
        academy_id=ctx.academy.id,
        entity_type="class_session",
        entity_id=recording.session_id,
        after={"recording_id": recording.id, "egress_id": recording.egress_id},
    )


def records_automatically(academy: Academy, session: ClassSession) -> bool:
    if session.record is not None:
        return session.record
    return effective_settings(academy.settings).record_sessions


@handles(RECORD)
async def record_job(rt: Runtime, payload: dict[str, Any]) -> None:
    """Starts the recording of a class that has started, where the academy or session asks for
    it; a failure to start is retried by the job's own retries."""
    academy = await academy_of(rt, payload["academy_id"])
    session = await SessionRepository(rt.session, academy.id).get(payload["session_id"])
    if session is None or session.status != Status.ONGOING:
        return
    if not records_automatically(academy, session):
        return
    try:
        # Meeting links, or the academy has not said where recordings go: its admins see that
        # on the session (no recording) and in the settings; retrying would not change it.
        await _recorder(rt, academy.id)
    except Conflict as refused:
        log.warning("session %s not recorded: %s", session.id, refused.message)
        return
    room = await MeetingRepository(rt.session, academy.id).room(session.id)
    if room is None or room.status != "open":
        # Started before the worker made it ready: the job opening its room may not have run
        # yet (or failed). Opening it again is harmless, and the recording starts at once.
        room = await open_room(rt, academy, session)
        if room.status != "open":
            raise ProviderError(f"the room could not be opened ({room.error}); retried")
    try:
        await start(rt, academy, session, room, None)
    except Conflict as refused:  # started by hand, or by this job before
        log.warning("session %s not recorded again: %s", session.id, refused.message)


follow_ups.on_status(RECORD, Status.ONGOING)
