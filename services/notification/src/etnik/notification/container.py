"""Composition root of the notification service: everything one process holds, wired once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from etnik.common.app import ServiceRuntime, container_dependency
from etnik.common.contracts import notification as contracts
from etnik.common.erasure import ErasureLedger
from etnik.common.events import published_by
from etnik.notification.channels import EmailChannel
from etnik.notification.dispatcher import Dispatcher
from etnik.notification.handlers import NotificationHandlers, person_eraser
from etnik.notification.messages import MESSAGES, MessageStore
from etnik.notification.projections import UNSUBSCRIBES, Projections
from etnik.notification.registration_client import RegistrationClient
from etnik.notification.rendering import TemplateRenderer
from etnik.notification.service import NotificationService
from etnik.notification.settings import NotificationSettings
from etnik.notification.templates_store import TemplateStore
from etnik.notification.unsubscribe import UnsubscribeLinks
from etnik.notification.upgrade import publish_legacy_outboxes


@dataclass(frozen=True)
class NotificationContainer:
    """The runtime, the stores its consumers write to, the dispatcher and the use cases."""

    runtime: ServiceRuntime
    settings: NotificationSettings
    projections: Projections
    messages: MessageStore
    erasures: ErasureLedger
    renderer: TemplateRenderer
    templates: TemplateStore
    dispatcher: Dispatcher
    service: NotificationService


def build(settings: NotificationSettings | None = None) -> NotificationContainer:
    """Wire the service: consumers (handlers.py), dispatcher, use cases, startup and loops."""
    settings = settings or NotificationSettings()
    runtime = ServiceRuntime(
        settings,
        publishes=published_by(contracts),
        outbox_collections=(MESSAGES, UNSUBSCRIBES),
    )
    projections = Projections(runtime.db)
    messages = MessageStore(runtime.db)
    erasures = ErasureLedger(
        runtime.db,
        person_eraser(projections, messages),
        runtime.registry,
        retry_interval_s=settings.erasure_retry_interval_s,
    )
    offsets = [timedelta(hours=hours) for hours in settings.reminder_offsets_h]
    NotificationHandlers(projections, messages, offsets, erasures).register(runtime.consumer())

    renderer = TemplateRenderer()
    templates = TemplateStore(runtime.db, renderer)
    links = UnsubscribeLinks(settings.unsubscribe_signing_key(), settings.public_base_url)
    dispatcher = Dispatcher(
        store=messages,
        projections=projections,
        renderer=renderer,
        channel=EmailChannel(settings),
        outbox=runtime.outbox,
        unsubscribe_links=links,
        registrations=RegistrationClient(
            settings.registration_url,
            settings.client_secret(),
            timeout_s=settings.registration_timeout_s,
        ),
        settings=settings,
        registry=runtime.registry,
    )
    service = NotificationService(
        projections=projections,
        messages=messages,
        outbox=runtime.outbox,
        unsubscribe_links=links,
        registry=runtime.registry,
    )

    async def publish_older_outboxes() -> None:
        """Events an older version left in outboxes of its own kind (see upgrade.py)."""
        await runtime.database_initialised.wait()
        await publish_legacy_outboxes(runtime.db, runtime.outbox)

    runtime.on_database_ready(messages.ensure_indexes)
    runtime.on_database_ready(projections.ensure_indexes)
    runtime.on_database_ready(templates.load_into_renderer)
    runtime.on_database_ready(erasures.ensure_indexes)
    runtime.run_in_background(lambda: erasures.run_forever(runtime.database_initialised))
    runtime.run_in_background(dispatcher.run)
    runtime.run_in_background(publish_older_outboxes)
    runtime.run_in_background(templates.refresh_forever)
    runtime.run_in_background(service.publish_campaign_metrics_forever)
    return NotificationContainer(
        runtime=runtime,
        settings=settings,
        projections=projections,
        messages=messages,
        erasures=erasures,
        renderer=renderer,
        templates=templates,
        dispatcher=dispatcher,
        service=service,
    )


Container = Annotated[NotificationContainer, Depends(container_dependency(NotificationContainer))]
