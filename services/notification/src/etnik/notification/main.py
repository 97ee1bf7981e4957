"""Composition root of the notification service."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from etnik.common.app import ServiceRuntime, create_service_app
from etnik.common.contracts.notification import (
    NotificationFailed,
    NotificationSent,
    RecipientUnsubscribed,
)
from etnik.common.erasure import ErasureLedger, erasure_router
from etnik.notification.api import router
from etnik.notification.channels import EmailChannel
from etnik.notification.dispatcher import Dispatcher
from etnik.notification.export import router as export_router
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

log = logging.getLogger(__name__)

PUBLISHES = (NotificationSent, NotificationFailed, RecipientUnsubscribed)


@dataclass(frozen=True)
class NotificationParts:
    """The runtime with the stores its consumers write to."""

    runtime: ServiceRuntime
    projections: Projections
    messages: MessageStore
    erasures: ErasureLedger


def build(settings: NotificationSettings) -> NotificationParts:
    """The runtime and its consumers: used by the app and by the AsyncAPI generator."""
    runtime = ServiceRuntime(
        settings, publishes=PUBLISHES, outbox_collections=(MESSAGES, UNSUBSCRIBES)
    )
    projections = Projections(runtime.db)
    messages = MessageStore(runtime.db)
    offsets = [timedelta(hours=hours) for hours in settings.reminder_offsets_h]
    erasures = ErasureLedger(
        runtime.db,
        person_eraser(projections, messages),
        runtime.registry,
        retry_interval_s=settings.erasure_retry_interval_s,
    )
    NotificationHandlers(projections, messages, offsets, erasures).register(runtime.consumer())
    return NotificationParts(runtime, projections, messages, erasures)


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    """The notification service's ASGI app, with its dispatcher running in the background."""
    settings = settings or NotificationSettings()
    parts = build(settings)
    runtime = parts.runtime
    renderer = TemplateRenderer()
    templates = TemplateStore(runtime.db, renderer)
    links = UnsubscribeLinks(settings.unsubscribe_signing_key(), settings.public_base_url)
    dispatcher = Dispatcher(
        store=parts.messages,
        projections=parts.projections,
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
        projections=parts.projections,
        messages=parts.messages,
        outbox=runtime.outbox,
        unsubscribe_links=links,
        registry=runtime.registry,
    )
    runtime.on_database_ready(parts.messages.ensure_indexes)
    runtime.on_database_ready(parts.projections.ensure_indexes)
    runtime.on_database_ready(templates.load_into_renderer)
    runtime.on_database_ready(parts.erasures.ensure_indexes)
    runtime.run_in_background(lambda: parts.erasures.run_forever(runtime.database_initialised))
    runtime.run_in_background(dispatcher.run)
    runtime.run_in_background(lambda: _publish_legacy_outboxes(runtime))
    runtime.run_in_background(templates.refresh_forever)
    runtime.run_in_background(service.publish_campaign_metrics_forever)
    app = create_service_app(
        runtime,
        title="EtNik notification",
        description="Invitations, confirmations and reminders, in each person's own time zone.",
        routers=[router, export_router, erasure_router()],
    )
    app.state.erasures = parts.erasures
    app.state.messages = parts.messages
    app.state.service = service
    app.state.renderer = renderer
    app.state.templates = templates
    return app


async def _publish_legacy_outboxes(runtime: ServiceRuntime) -> None:
    """Events an older version left in outboxes of its own kind (see upgrade.py)."""
    await runtime.database_initialised.wait()
    await publish_legacy_outboxes(runtime.db, runtime.outbox)
