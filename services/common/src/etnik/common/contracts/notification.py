"""Events published by the notification service."""

from __future__ import annotations

from pydantic import AwareDatetime

from etnik.common.events import IntegrationEvent

MESSAGES_TOPIC = "etnik.notification.messages.v1"
RECIPIENTS_TOPIC = "etnik.notification.recipients.v1"


class _MessageFacts(IntegrationEvent):
    """What every event about a message says of it (no content, no address)."""

    topic = MESSAGES_TOPIC
    key_field = "message_id"

    message_id: str
    kind: str
    channel: str
    person_id: str
    trigger_event_id: str


class NotificationSent(_MessageFacts):
    """A message was handed to its channel and accepted."""

    event_type = "ru.etnik.notification.sent"

    sent_at: AwareDatetime


class NotificationFailed(_MessageFacts):
    """A message could not be delivered after its retries."""

    event_type = "ru.etnik.notification.failed"

    reason: str
    failed_at: AwareDatetime


class RecipientUnsubscribed(IntegrationEvent):
    """A person opted out of invitations through the link in one of them."""

    event_type = "ru.etnik.notification.unsubscribed"
    topic = RECIPIENTS_TOPIC
    key_field = "person_id"

    person_id: str
    unsubscribed_at: AwareDatetime
