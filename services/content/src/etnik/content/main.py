"""Composition root of the content service."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from etnik.common.app import ServiceRuntime, create_service_app
from etnik.common.contracts.registration import RegistrationConfirmed
from etnik.common.events import CloudEvent
from etnik.common.settings import ServiceSettings
from etnik.content.access import ParticipantAccess


class ContentSettings(ServiceSettings):
    """Settings of the content service."""

    service_name: str = "content"


@dataclass(frozen=True)
class ContentParts:
    """The runtime with the projections its consumers feed."""

    runtime: ServiceRuntime
    access: ParticipantAccess


def build(settings: ContentSettings) -> ContentParts:
    """The runtime and its consumers: used by the app and by the AsyncAPI generator."""
    runtime = ServiceRuntime(settings)
    access = ParticipantAccess(runtime.db)
    consumer = runtime.consumer()

    @consumer.on(RegistrationConfirmed)
    async def on_confirmed(envelope: CloudEvent, event: RegistrationConfirmed) -> None:
        await access.grant(event.event_id, event.person_id)

    return ContentParts(runtime, access)


def create_app(settings: ContentSettings | None = None) -> FastAPI:
    """The content service's ASGI app."""
    parts = build(settings or ContentSettings())
    parts.runtime.on_database_ready(parts.access.ensure_indexes)
    app = create_service_app(
        parts.runtime,
        title="EtNik content",
        description="Methodological materials, files, publications and NGO development strategies.",
    )
    app.state.access = parts.access
    return app
