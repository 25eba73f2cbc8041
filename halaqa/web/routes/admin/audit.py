"""/admin/audit: who changed what, newest first, page by page, as GET /audit-log (admins)."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import Response

from halaqa.academies.repository import AuditRepository
from halaqa.web.routes.admin.common import AdminPage, Paging, names, show

router = APIRouter()


@router.get("/admin/audit")
async def audit_log(slug: str, page: AdminPage, paging: Paging) -> Response:
    action = (page.visitor.request.query_params.get("action") or "").strip()[:60] or None
    entries, total = await AuditRepository(page.rt.session, page.academy.id).page(
        action=action, offset=paging.offset, limit=paging.per_page
    )
    return show(
        page,
        "audit.html",
        entries=entries,
        total=total,
        paging=paging,
        action=action or "",
        actors=await names(page, {e.actor_user_id or 0 for e in entries}),
        as_json=lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1),
    )
