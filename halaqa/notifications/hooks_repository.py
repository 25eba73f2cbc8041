"""All SQL of outbound webhooks: an academy's endpoints and their delivery log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from halaqa.models import WebhookDelivery, WebhookEndpoint


class HookRepository:
    def __init__(self, session: AsyncSession, academy_id: int) -> None:
        self.session = session
        self.academy_id = academy_id

    async def endpoints(self) -> Sequence[WebhookEndpoint]:
        found = await self.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.academy_id == self.academy_id)
            .order_by(WebhookEndpoint.id)
        )
        return found.all()

    async def active_endpoints(self) -> Sequence[WebhookEndpoint]:
        found = await self.session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.academy_id == self.academy_id, WebhookEndpoint.active.is_(True)
            )
        )
        return found.all()

    async def endpoint(self, endpoint_id: int) -> WebhookEndpoint | None:
        found = await self.session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.academy_id == self.academy_id, WebhookEndpoint.id == endpoint_id
            )
        )
        return found.first()

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        self.session.add(endpoint)
        await self.session.flush()
        return endpoint

    async def delete_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()

    async def add_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        self.session.add(delivery)
        await self.session.flush()
        return delivery

    async def delivery_with_endpoint(
        self, delivery_id: int, endpoint_id: int | None = None
    ) -> tuple[WebhookDelivery, WebhookEndpoint] | None:
        query = (
            select(WebhookDelivery, WebhookEndpoint)
            .join(
                WebhookEndpoint,
                (WebhookEndpoint.academy_id == WebhookDelivery.academy_id)
                & (WebhookEndpoint.id == WebhookDelivery.endpoint_id),
            )
            .where(WebhookDelivery.academy_id == self.academy_id, WebhookDelivery.id == delivery_id)
            .with_for_update(of=WebhookDelivery)
        )
        if endpoint_id is not None:
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1])

    async def deliveries(
        self, endpoint_id: int, *, status: str | None, offset: int, limit: int
    ) -> tuple[Sequence[WebhookDelivery], int]:
        where = [
            WebhookDelivery.academy_id == self.academy_id,
            WebhookDelivery.endpoint_id == endpoint_id,
        ]
        if status is not None:
            where.append(WebhookDelivery.status == status)
        total = await self.session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(*where)
        )
        found = await self.session.scalars(
            select(WebhookDelivery)
            .where(*where)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return found.all(), int(total or 0)


async def all_endpoints(session: AsyncSession) -> Sequence[WebhookEndpoint]:
    """Every academy's endpoints (for sealing their secrets again after a rotation)."""
    return (await session.scalars(select(WebhookEndpoint))).all()
