"""The worker's due-scan: each session's next automatic step, taken when its time has come."""

from __future__ import annotations

import logging

from halaqa.academies.auth import Actor
from halaqa.academies.repository import AcademyRepository
from halaqa.academies.settings import effective_settings
from halaqa.attendance.batch import finalise_many
from halaqa.attendance.finalisation import finalise
from halaqa.attendance.service import in_room_now
from halaqa.exceptions import AppError
from halaqa.kit.deps import Runtime
from halaqa.kit.logs import log_context
from halaqa.models import ClassSession
from halaqa.scheduling.calendar import refresh_next_step, timing_of
from halaqa.scheduling.lifecycle import By
from halaqa.scheduling.repository import SessionRepository, due_sessions
from halaqa.scheduling.service import transition
from halaqa.scheduling.steps import TARGETS, Step, completion_deferred_until, due_now

log = logging.getLogger("halaqa.scheduling")

BATCH = 200  # steps per tick; what is left waits for the next tick, oldest first
SYSTEM = Actor()


async def run_due_steps(rt: Runtime, *, batch: int = BATCH) -> int:
    """Takes every session whose step is due, oldest first, and moves it through the lifecycle
    as the system. A step that no longer applies (the session was moved or changed by someone)
    is dropped and the session's next step recomputed. Returns how many sessions changed."""
    now = rt.clock.now()
    academies = AcademyRepository(rt.session)
    changed = 0
    to_finalise: list[ClassSession] = []
    for session in await due_sessions(rt.session, now, batch):
        with log_context(session_id=session.id, academy_id=session.academy_id):
            academy = await academies.get(session.academy_id)
            assert academy is not None
            settings = effective_settings(academy.settings)
            step = due_now(timing_of(session), settings, now)
            if step is None:
                refresh_next_step(session, settings)
                continue
            if step is Step.COMPLETE:
                in_room = await in_room_now(rt, session, settings.reconnect_merge_seconds)
                later = completion_deferred_until(timing_of(session), settings, now, in_room)
                if later is not None:
                    session.next_step_at = later  # running over: look again shortly
                    continue
            if step is Step.FINALIZE:
                to_finalise.append(session)  # all at once, below
                continue
            try:
                async with rt.session.begin_nested():
                    await transition(
                        rt, session, TARGETS[step], By.SYSTEM, SYSTEM, reason="automatic"
                    )
                changed += 1
                log.info("session %s: automatic step %s", session.id, step)
            except AppError as error:  # the lifecycle refused: nothing to do for this one
                log.warning("session %s: step %s refused: %s", session.id, step, error)
                session.next_step_at = None
    return changed + await _finalise_all(rt, to_finalise)


async def _finalise_all(rt: Runtime, sessions: list[ClassSession]) -> int:
    """Finalises the due sessions in one batch (a backlog after downtime costs a few statements,
    not a few per session); should the batch fail, each is finalised on its own, so one that
    cannot be settled holds up no other."""
    keys = [(session.academy_id, session.id) for session in sessions]
    try:
        async with rt.session.begin_nested():
            await finalise_many(rt, sessions)
        return len(sessions)
    except AppError as error:
        log.warning("finalising %s sessions at once failed (%s): one at a time", len(keys), error)
    done = 0
    for academy_id, session_id in keys:
        with log_context(session_id=session_id, academy_id=academy_id):
            # Read afresh: the failed batch's savepoint took its changes back.
            session = await SessionRepository(rt.session, academy_id).get(session_id, lock=True)
            assert session is not None
            try:
                async with rt.session.begin_nested():
                    await finalise(rt, session)
                done += 1
            except AppError as error:
                log.warning("session %s: finalisation refused: %s", session_id, error)
                session.next_step_at = None
    return done
