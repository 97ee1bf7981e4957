"""What notification holds about one person, for their export (152-FZ art. 14).

Read by operators and by registration, which gathers every service's part into the person's
one export; never by participants (they ask registration, which checks who they are).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from etnik.common.auth import Principal, Role, require_roles_or_service
from etnik.notification.container import Container
from etnik.notification.messages import MessageStore
from etnik.notification.projections import Projections

router = APIRouter()

Reader = Annotated[Principal, Depends(require_roles_or_service({Role.OPERATOR}, {"registration"}))]
# The recipient projection fields that are the person's own data.
RECIPIENT_FIELDS = ("full_name", "email", "locale", "timezone", "region_code", "unsubscribed_at")


def message_entry(message: dict[str, Any], recipient_email: str | None) -> dict[str, Any]:
    """One message as the person sees it: kind, times, status and the address it went to."""
    context = message.get("context") or {}
    # A message that names its own address (a sign-in link) went there; any other went to the
    # recipient's address (the one held now: a message keeps no copy of it).
    address = context.get("email") or recipient_email
    return {
        "id": message["_id"],
        "kind": message.get("kind"),
        "channel": message.get("channel", "email"),
        "status": message.get("status"),
        "created_at": message.get("created_at"),
        "due_at": message.get("due_at"),
        "sent_at": message.get("sent_at"),
        "failed_at": message.get("failed_at"),
        "attempts": message.get("attempts", 0),
        "last_error": message.get("last_error"),
        "address": address,
        "address_source": "message" if context.get("email") else "recipient",
        "event_id": context.get("event_id"),
        "registration_id": context.get("registration_id"),
    }


async def person_export(
    projections: Projections, messages: MessageStore, person_id: str
) -> dict[str, Any]:
    """The recipient record, every message queued or sent, and the unsubscribe preference."""
    recipient = await projections.recipient(person_id)
    unsubscribe = await projections.unsubscribes.find_one({"_id": person_id})
    # The delivery log's index, (person_id, created_at desc), serves this.
    found = await (
        messages.collection.find({"person_id": person_id}, {"outbox": 0})
        .sort("created_at", -1)
        .to_list()
    )
    registrations = await projections.registrations.find({"person_id": person_id}).to_list()
    email = recipient.get("email") if recipient else None
    unsubscribed_at: datetime | None = (unsubscribe or {}).get("unsubscribed_at") or (
        recipient or {}
    ).get("unsubscribed_at")
    return {
        "service": "notification",
        "person_id": person_id,
        "recipient": (
            {field: recipient.get(field) for field in RECIPIENT_FIELDS} if recipient else None
        ),
        "messages": [message_entry(message, email) for message in found],
        "preferences": {
            "invitations_unsubscribed": unsubscribed_at is not None,
            "unsubscribed_at": unsubscribed_at,
        },
        "registrations": [
            {
                "registration_id": r["_id"],
                "event_id": r.get("event_id"),
                "status": r.get("status"),
                "at": r.get("at"),
            }
            for r in registrations
        ],
    }


@router.get(
    "/people/{person_id}/export",
    tags=["personal data"],
    summary="What notification holds about a person (operators, registration)",
)
async def export_person(person_id: str, app: Container, reader: Reader) -> dict[str, Any]:
    """The person's recipient record, messages and unsubscribe preference (empty if none)."""
    return await person_export(app.projections, app.messages, person_id)
