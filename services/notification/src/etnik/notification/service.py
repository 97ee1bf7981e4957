"""Use cases of the notification service beyond consuming events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from etnik.common.contracts.notification import RecipientUnsubscribed
from etnik.common.outbox import Outbox, update_with_outbox
from etnik.notification.messages import INVITATION, MessageStore
from etnik.notification.projections import Projections
from etnik.notification.unsubscribe import UnsubscribeLinks

CAMPAIGN_STATUSES = ("pending", "sent", "failed", "dropped")


class NotificationService:
    """Unsubscribes and campaign progress."""

    def __init__(
        self,
        *,
        projections: Projections,
        messages: MessageStore,
        outbox: Outbox,
        unsubscribe_links: UnsubscribeLinks,
        registry: CollectorRegistry,
    ) -> None:
        self.projections = projections
        self.messages = messages
        self._outbox = outbox
        self.unsubscribe_links = unsubscribe_links
        self._campaign_gauge = Gauge(
            "etnik_campaign_messages",
            "Invitations of a campaign by status (pending means still to send)",
            ["campaign_id", "status"],
            registry=registry,
        )

    async def unsubscribe(self, person_id: str) -> None:
        """Stop invitations to a person and publish it; doing it twice changes nothing."""
        now = datetime.now(UTC)
        staged = self._outbox.stage(RecipientUnsubscribed(person_id=person_id, unsubscribed_at=now))
        recipients = self.projections.recipients
        result = await recipients.update_one(
            {"_id": person_id, "unsubscribed_at": None},
            update_with_outbox({"$set": {"unsubscribed_at": now}}, staged),
        )
        if result.modified_count:
            await self._outbox.flush(recipients, person_id, staged)
            await self.messages.drop_pending(
                {"person_id": person_id, "kind": INVITATION}, "the recipient unsubscribed"
            )

    async def campaign_progress(self, campaign_id: str) -> dict[str, Any]:
        """Invitations of a campaign by status, and the same as metrics."""
        counts = dict.fromkeys(CAMPAIGN_STATUSES, 0)
        pipeline: list[dict[str, Any]] = [
            {"$match": {"context.campaign_id": campaign_id, "kind": INVITATION}},
            {"$group": {"_id": "$status", "count": {"$sum": 1}}},
        ]
        async for row in await self.messages.collection.aggregate(pipeline):
            counts[str(row["_id"])] = int(row["count"])
        for status, count in counts.items():
            self._campaign_gauge.labels(campaign_id, status).set(count)
        return {
            "campaign_id": campaign_id,
            "total": sum(counts.values()),
            "sent": counts["sent"],
            "failed": counts["failed"],
            "dropped": counts["dropped"],
            "remaining": counts["pending"],
        }

    async def publish_campaign_metrics_forever(self, interval_s: float = 5.0) -> None:
        """Keep the progress metrics of campaigns still sending up to date."""
        while True:
            pipeline: list[dict[str, Any]] = [
                {"$match": {"kind": INVITATION, "status": "pending"}},
                {"$group": {"_id": "$context.campaign_id"}},
            ]
            campaigns = [
                row["_id"] async for row in await self.messages.collection.aggregate(pipeline)
            ]
            for campaign_id in campaigns:
                if campaign_id:
                    await self.campaign_progress(str(campaign_id))
            await asyncio.sleep(interval_s)
