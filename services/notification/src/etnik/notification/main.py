"""Composition root of the notification service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from etnik.common.app import ServiceRuntime, create_service_app
from etnik.common.auth import Principal, Role, require_roles
from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.contracts.registration import (
    EventCreated,
    PersonRegistered,
    RegistrationConfirmed,
    RegistrationWaitlisted,
)
from etnik.common.events import CloudEvent
from etnik.notification.channels import EmailChannel
from etnik.notification.messages import MESSAGES, Dispatcher, MessageStore
from etnik.notification.projections import Projections
from etnik.notification.rendering import TemplateRenderer
from etnik.notification.settings import NotificationSettings

PUBLISHES = (NotificationSent, NotificationFailed)

router = APIRouter()


@router.get("/messages", tags=["delivery log"], summary="Delivery log (operators)")
async def delivery_log(
    request: Request,
    operator: Annotated[Principal, Depends(require_roles(Role.OPERATOR))],
    person_id: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Messages, newest first, without their rendered content."""
    query: dict[str, Any] = {}
    if person_id:
        query["person_id"] = person_id
    if status:
        query["status"] = status
    store: MessageStore = request.app.state.messages
    cursor = (
        store.collection.find(query, {"context": 0, "outbox": 0, "outbox_since": 0})
        .sort("created_at", -1)
        .skip(offset)
        .limit(limit)
    )
    return [
        {**{k: v for k, v in doc.items() if k != "_id"}, "id": doc["_id"]}
        for doc in await cursor.to_list()
    ]


@dataclass(frozen=True)
class NotificationParts:
    """The runtime with the stores its consumers write to."""

    runtime: ServiceRuntime
    projections: Projections
    messages: MessageStore


def build(settings: NotificationSettings) -> NotificationParts:
    """The runtime and its consumers: used by the app and by the AsyncAPI generator."""
    runtime = ServiceRuntime(settings, publishes=PUBLISHES, outbox_collections=(MESSAGES,))
    projections = Projections(runtime.db)
    messages = MessageStore(runtime.db)
    consumer = runtime.consumer()

    @consumer.on(PersonRegistered)
    async def on_person(envelope: CloudEvent, person: PersonRegistered) -> None:
        await projections.upsert_recipient(person)

    @consumer.on(EventCreated)
    async def on_event(envelope: CloudEvent, event: EventCreated) -> None:
        await projections.upsert_event(event)

    async def enqueue(
        envelope: CloudEvent,
        kind: str,
        registration: RegistrationConfirmed | RegistrationWaitlisted,
    ) -> None:
        await messages.enqueue(
            trigger_event_id=envelope.id,
            kind=kind,
            person_id=registration.person_id,
            context={
                "event_id": registration.event_id,
                "registration_id": registration.registration_id,
            },
        )

    @consumer.on(RegistrationConfirmed)
    async def on_confirmed(envelope: CloudEvent, registration: RegistrationConfirmed) -> None:
        await enqueue(envelope, "registration_confirmed", registration)

    @consumer.on(RegistrationWaitlisted)
    async def on_waitlisted(envelope: CloudEvent, registration: RegistrationWaitlisted) -> None:
        await enqueue(envelope, "registration_waitlisted", registration)

    return NotificationParts(runtime, projections, messages)


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    """The notification service's ASGI app, with its dispatcher running in the background."""
    settings = settings or NotificationSettings()
    parts = build(settings)
    runtime = parts.runtime
    channel = EmailChannel(settings)
    dispatcher = Dispatcher(
        store=parts.messages,
        projections=parts.projections,
        renderer=TemplateRenderer(),
        channel=channel,
        publisher=runtime.publisher,
        outbox=runtime.outbox,
        settings=settings,
        registry=runtime.registry,
    )
    runtime.on_database_ready(parts.messages.ensure_indexes)
    runtime.run_in_background(dispatcher.run)
    app = create_service_app(
        runtime,
        title="EtNik notification",
        description="Invitations, confirmations and reminders, in each person's own time zone.",
        routers=[router],
    )
    app.state.messages = parts.messages
    return app
