"""Use cases of the notification service beyond consuming events."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.notification import RecipientUnsubscribed
from etnik.common.outbox import Outbox, with_outbox
from etnik.notification.domain import INVITATION
from etnik.notification.messages import MessageStore
from etnik.notification.projections import Projections
from etnik.notification.unsubscribe import UnsubscribeLinks

CAMPAIGN_STATUSES = ("pending", "sent", "failed", "dropped")
# A campaign's metrics are refreshed while it was active here this recently.
CAMPAIGN_ACTIVE_S = 600.0
# Campaigns other replicas send are looked for this often.
CAMPAIGN_DISCOVERY_S = 300.0


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
        self.unsubscribes = projections.unsubscribes
        self._outbox = outbox
        self.unsubscribe_links = unsubscribe_links
        self._campaign_gauge = Gauge(
            "etnik_campaign_messages",
            "Invitations of a campaign by status (pending means still to send)",
            ["campaign_id", "status"],
            registry=registry,
        )

    async def unsubscribe(self, person_id: str) -> None:
        """Stop invitations to a person and publish it; doing it twice changes nothing.

        The unsubscribe and its event are one document in `unsubscribes`, written by one
        insert (whose `_id` makes a second one impossible); the recipient projection and
        the pending invitations follow. A request that failed half way is completed by
        the next one, since each step is idempotent.
        """
        now = datetime.now(UTC)
        staged = self._outbox.stage(RecipientUnsubscribed(person_id=person_id, unsubscribed_at=now))
        recipient = await self.projections.recipient(person_id)
        if recipient is not None and recipient.get("unsubscribed_at") is not None:
            # Unsubscribed before unsubscribes were kept apart: published back then.
            now, staged = recipient["unsubscribed_at"], []
        try:
            document = {"_id": person_id, "unsubscribed_at": now}
            await self.unsubscribes.insert_one(
                with_outbox(document, staged) if staged else document
            )
        except DuplicateKeyError:
            existing = await self.unsubscribes.find_one({"_id": person_id})
            now = existing["unsubscribed_at"] if existing else now
            staged = []
        await self.projections.recipients.update_one(
            {"_id": person_id, "unsubscribed_at": None}, {"$set": {"unsubscribed_at": now}}
        )
        if staged:
            await self._outbox.flush(self.unsubscribes, person_id, staged)
        await self.messages.drop_pending(
            {"person_id": person_id, "kind": INVITATION}, "the recipient unsubscribed"
        )

    async def campaign_progress(self, campaign_id: str) -> dict[str, Any]:
        """Invitations of a campaign by status, and the same as metrics."""
        return (await self._progress([campaign_id]))[campaign_id]

    async def _progress(self, campaign_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Progress of several campaigns, counted from their messages in one query."""
        counts = {campaign_id: dict.fromkeys(CAMPAIGN_STATUSES, 0) for campaign_id in campaign_ids}
        cursor = self.messages.collection.find(
            {"context.campaign_id": {"$in": campaign_ids}, "kind": INVITATION},
            {"status": 1, "context.campaign_id": 1},
        )
        async for message in cursor:
            status = str(message.get("status"))
            campaign = str(message["context"]["campaign_id"])
            counts[campaign][status] = counts[campaign].get(status, 0) + 1
        progress: dict[str, dict[str, Any]] = {}
        for campaign_id, by_status in counts.items():
            for status, count in by_status.items():
                self._campaign_gauge.labels(campaign_id, status).set(count)
            progress[campaign_id] = {
                "campaign_id": campaign_id,
                "total": sum(by_status.values()),
                "sent": by_status["sent"],
                "failed": by_status["failed"],
                "dropped": by_status["dropped"],
                "remaining": by_status["pending"],
            }
        return progress

    async def publish_campaign_metrics_forever(self, interval_s: float = 10.0) -> None:
        """Keep the progress metrics of campaigns still sending up to date.

        Campaigns queued or sent here are known without searching; those of other replicas
        are looked for every few minutes. All are counted by one aggregation per pass.
        """
        active = self.messages.active_campaigns
        last_discovery = float("-inf")
        while True:
            if time.monotonic() - last_discovery >= CAMPAIGN_DISCOVERY_S:
                last_discovery = time.monotonic()
                pipeline: list[dict[str, Any]] = [
                    {"$match": {"kind": INVITATION, "status": "pending"}},
                    {"$group": {"_id": "$context.campaign_id"}},
                ]
                async for row in await self.messages.collection.aggregate(pipeline):
                    self.messages.note_campaign(row["_id"])
            now = time.monotonic()
            for campaign_id in [c for c, seen in active.items() if seen < now - CAMPAIGN_ACTIVE_S]:
                active.pop(campaign_id, None)
            if active:
                for campaign_id, progress in (await self._progress(list(active))).items():
                    if progress["remaining"] == 0 and now - active.get(campaign_id, now) > 60:
                        active.pop(campaign_id, None)  # finished a while ago: counted a last time
            # Counting takes a twentieth of the time at most, however large the campaigns.
            await asyncio.sleep(max(interval_s, (time.monotonic() - now) * 20))
