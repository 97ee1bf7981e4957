"""Who may see participants-only material: confirmed participants, from registration events."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.mongo import Document


class ParticipantAccess:
    """The confirmed participants of each event."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.participants = db["event_participants"]

    async def ensure_indexes(self) -> None:
        """Look-ups by person."""
        await self.participants.create_index("person_id")

    async def grant(self, event_id: str, person_id: str) -> None:
        """Record that a person holds a confirmed place at an event."""
        await self.participants.update_one(
            {"_id": f"{event_id}:{person_id}"},
            {"$set": {"event_id": event_id, "person_id": person_id}},
            upsert=True,
        )

    async def is_participant(self, event_id: str, person_id: str) -> bool:
        """Whether the person holds a confirmed place at the event."""
        found = await self.participants.find_one({"_id": f"{event_id}:{person_id}"}, {"_id": 1})
        return found is not None
