"""The media-mention registry: publications about the programme, for the grant report."""

from __future__ import annotations

import hashlib
from typing import Any

from etnik.common.contracts.content import MediaMentionRecorded
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, with_outbox
from etnik.content.access import ParticipantAccess
from etnik.content.domain import RuleViolation
from etnik.content.repository import MaterialRepository, now_utc
from etnik.content.schemas import MediaMentionIn, MediaMentionOut


class MediaMentions:
    """Registering and listing media mentions."""

    def __init__(
        self, repository: MaterialRepository, access: ParticipantAccess, outbox: Outbox
    ) -> None:
        self._repo = repository
        self._access = access
        self._outbox = outbox

    async def register(self, mention: MediaMentionIn, *, by: str) -> dict[str, Any]:
        """Store a mention linked to known events; 422 for an unknown event, 409 for a repeat."""
        for event_id in mention.event_ids:
            if not await self._access.event_exists(event_id):
                raise RuleViolation(422, f"unknown event {event_id}")
        url = str(mention.url)
        # One mention per URL: the id is derived from it, so a repeat is refused.
        mention_id = hashlib.sha256(url.encode()).hexdigest()[:32]
        recorded_at = now_utc()
        document: Document = {
            "_id": mention_id,
            "url": url,
            "outlet": mention.outlet,
            "title": mention.title,
            "published_on": mention.published_on.isoformat(),
            "type": mention.type.value,
            "audience_reach": mention.audience_reach,
            "event_ids": sorted(set(mention.event_ids)),
            "registered_by": by,
            "registered_at": recorded_at,
        }
        # The reporting service counts mentions and their reach from this event.
        staged = self._outbox.stage(
            MediaMentionRecorded(
                mention_id=mention_id,
                url=url,
                outlet=mention.outlet,
                title=mention.title,
                type=mention.type.value,
                published_on=mention.published_on,
                audience_reach=mention.audience_reach,
                event_ids=document["event_ids"],
                recorded_at=recorded_at,
            )
        )
        if not await self._repo.insert_media_mention(with_outbox(document, staged)):
            raise RuleViolation(409, "this URL is already registered as a media mention")
        await self._outbox.flush(self._repo.media_mentions, mention_id, staged)
        return _out(document)

    async def page(self, *, event_id: str | None, limit: int, offset: int) -> dict[str, Any]:
        """A page of mentions, newest first."""
        items, total = await self._repo.list_media_mentions(
            event_id=event_id, limit=limit, offset=offset
        )
        return {
            "items": [_out(item) for item in items],
            "total": total,
            "limit": limit,
            "offset": offset,
        }


def _out(document: Document) -> dict[str, Any]:
    return MediaMentionOut(id=document["_id"], **document).model_dump(mode="json")
