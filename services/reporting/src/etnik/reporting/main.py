"""Composition root of the reporting service."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from etnik.common.app import ServiceRuntime, create_service_app
from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.contracts.registration import RegistrationConfirmed, RegistrationWaitlisted
from etnik.common.events import CloudEvent
from etnik.common.settings import ServiceSettings
from etnik.reporting.api import router
from etnik.reporting.projections import ReportingProjections


class ReportingSettings(ServiceSettings):
    """Settings of the reporting service."""

    service_name: str = "reporting"


@dataclass(frozen=True)
class ReportingParts:
    """The runtime with the projections its consumers feed."""

    runtime: ServiceRuntime
    projections: ReportingProjections


def build(settings: ReportingSettings) -> ReportingParts:
    """The runtime and its consumers: used by the app and by the AsyncAPI generator."""
    runtime = ServiceRuntime(settings)
    projections = ReportingProjections(runtime.db)
    consumer = runtime.consumer()

    @consumer.on(RegistrationConfirmed)
    async def on_confirmed(envelope: CloudEvent, event: RegistrationConfirmed) -> None:
        await projections.record_registration(event, "confirmed", envelope.time)

    @consumer.on(RegistrationWaitlisted)
    async def on_waitlisted(envelope: CloudEvent, event: RegistrationWaitlisted) -> None:
        await projections.record_registration(event, "waitlisted", envelope.time)

    @consumer.on(NotificationSent)
    async def on_sent(envelope: CloudEvent, event: NotificationSent) -> None:
        await projections.record_notification(event.message_id, event.kind, "sent")

    @consumer.on(NotificationFailed)
    async def on_failed(envelope: CloudEvent, event: NotificationFailed) -> None:
        await projections.record_notification(event.message_id, event.kind, "failed")

    return ReportingParts(runtime, projections)


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    """The reporting service's ASGI app."""
    parts = build(settings or ReportingSettings())
    parts.runtime.on_database_ready(parts.projections.ensure_indexes)
    app = create_service_app(
        parts.runtime,
        title="EtNik reporting",
        description="Programme statistics and grant-fund reports built from the event streams.",
        routers=[router],
    )
    app.state.projections = parts.projections
    return app
