"""A package running low, told to the student and their parents after the charge that brings
its cycle to the academy's `low_balance_sessions` or below, and again when nothing is left;
once per number of classes left in a cycle."""

from __future__ import annotations

from typing import Any

from halaqa.academies.repository import AcademyRepository
from halaqa.academies.settings import effective_settings
from halaqa.billing.service import on_ledger_entry
from halaqa.catalog.subscription_repository import SubscriptionRepository
from halaqa.kit.deps import Runtime
from halaqa.models.notifications import NotificationKind
from halaqa.notifications.repository import cycle_of, parents_of
from halaqa.notifications.service import notify
from halaqa.worker.jobs import handles

BALANCE_CHANGED = "notifications.balance_changed"


@handles(BALANCE_CHANGED)
async def balance_changed(rt: Runtime, payload: dict[str, Any]) -> None:
    if payload.get("kind") != "consumed":
        return  # a refund only ever raises the balance
    academy_id, cycle_id = payload["academy_id"], payload["cycle_id"]
    found = await cycle_of(rt.session, academy_id, cycle_id)
    academy = await AcademyRepository(rt.session).get(academy_id)
    if found is None or academy is None:
        return
    cycle, package, student = found
    used = await SubscriptionRepository(rt.session, academy_id).used_in_cycles([cycle_id])
    left = max(cycle.quota - used.get(cycle_id, 0), 0)
    if left > effective_settings(academy.settings).low_balance_sessions:
        return
    kind = NotificationKind.BALANCE_EXHAUSTED if left == 0 else NotificationKind.BALANCE_LOW
    await notify(
        rt,
        kind=kind,
        user_ids=[student.id, *await parents_of(rt.session, academy_id, student.id)],
        payload={
            "student": student.name,
            "student_id": student.id,
            "left": left,
            "package": package,
            "subscription_id": payload["subscription_id"],
            "cycle_id": cycle_id,
            "path": f"/a/{academy.slug}/learn/balance",
        },
        academy_id=academy_id,
        dedupe=f"cycle:{cycle_id}:left:{left}",
    )


on_ledger_entry(BALANCE_CHANGED)
