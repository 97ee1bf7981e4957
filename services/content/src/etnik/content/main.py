"""Composition root of the content service."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware

from etnik.common.app import ServiceRuntime, create_service_app
from etnik.common.auth import KeyLoader
from etnik.common.contracts.content import (
    MaterialArchived,
    MaterialDownloaded,
    MaterialPublished,
    MaterialUpdated,
    MaterialViewed,
    MechanismRecorded,
    MechanismRetired,
    MediaMentionRecorded,
    StrategyUpdated,
)
from etnik.common.erasure import ErasureLedger, erasure_router
from etnik.common.events import CloudEvent
from etnik.content.access import ParticipantAccess
from etnik.content.api import router
from etnik.content.domain import RuleViolation
from etnik.content.export import ensure_indexes as ensure_export_indexes
from etnik.content.export import router as export_router
from etnik.content.files import FileStore
from etnik.content.inbound import (
    AttendanceRecorded,
    EventChanged,
    EventCreated,
    OrganisationRegistered,
    PersonErased,
    PublicationConsentWithdrawn,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.content.limits import JsonBodyLimit
from etnik.content.mechanisms import MECHANISMS, MechanismCatalogue
from etnik.content.mechanisms_api import router as mechanisms_router
from etnik.content.media import MediaMentions
from etnik.content.publication_consent import PublicationConsent
from etnik.content.repository import OUTBOX_COLLECTIONS, MaterialRepository
from etnik.content.search_index import IndexKeeper, SearchIndex
from etnik.content.service import MaterialService
from etnik.content.settings import ContentSettings
from etnik.content.strategies import STRATEGIES, StrategyService
from etnik.content.video_api import router as video_router
from etnik.content.video_service import VIDEO_VIEWS, VideoService

__all__ = ["ContentParts", "ContentSettings", "build", "create_app"]

log = logging.getLogger(__name__)

PUBLISHES = (
    MaterialPublished,
    MaterialUpdated,
    MaterialArchived,
    MaterialDownloaded,
    StrategyUpdated,
    MediaMentionRecorded,
    MechanismRecorded,
    MechanismRetired,
    MaterialViewed,
)
# JSON bodies are small; only file uploads may be large (they stream into GridFS).
JSON_BODY_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class ContentParts:
    """The runtime, the projections its consumers feed, and the use cases."""

    runtime: ServiceRuntime
    access: ParticipantAccess
    repository: MaterialRepository
    files: FileStore
    materials: MaterialService
    media_mentions: MediaMentions
    strategies: StrategyService
    index_keeper: IndexKeeper
    erasures: ErasureLedger
    mechanisms: MechanismCatalogue
    video: VideoService


def build(settings: ContentSettings, *, jwks_loader: KeyLoader | None = None) -> ContentParts:
    """The runtime, its consumers and use cases: used by the app and the AsyncAPI generator."""
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        outbox_collections=(*OUTBOX_COLLECTIONS, STRATEGIES, MECHANISMS, VIDEO_VIEWS),
        jwks_loader=jwks_loader,
    )
    access = ParticipantAccess(runtime.db)
    repository = MaterialRepository(runtime.db)
    files = FileStore(runtime.db, max_bytes=settings.max_upload_bytes)
    fonts = (settings.pdf_font_file, settings.pdf_bold_font_file)
    index = SearchIndex()
    materials = MaterialService(
        repository,
        files,
        access,
        runtime.outbox,
        index,
        pseudonym_key=settings.pseudonym_key_bytes(),
        fonts=fonts,
    )
    mechanisms = MechanismCatalogue(runtime.db, runtime.outbox)
    strategies = StrategyService(
        runtime.db, access, runtime.outbox, fonts=fonts, catalogue=mechanisms
    )
    video = VideoService(
        runtime.db, materials, files, runtime.outbox, view_window_s=settings.video_view_window_s
    )
    consumer = runtime.consumer()

    @consumer.on(EventCreated)
    async def on_event_created(envelope: CloudEvent, event: EventCreated) -> None:
        await access.record_event(event)

    @consumer.on(EventChanged)
    async def on_event_changed(envelope: CloudEvent, event: EventChanged) -> None:
        await access.record_event(event)

    @consumer.on(OrganisationRegistered)
    async def on_organisation(envelope: CloudEvent, event: OrganisationRegistered) -> None:
        await access.record_organisation(event)

    @consumer.on(RegistrationConfirmed)
    async def on_confirmed(envelope: CloudEvent, event: RegistrationConfirmed) -> None:
        await access.grant(event)

    @consumer.on(RegistrationCancelled)
    async def on_cancelled(envelope: CloudEvent, event: RegistrationCancelled) -> None:
        await access.revoke(event)

    @consumer.on(AttendanceRecorded)
    async def on_attendance(envelope: CloudEvent, event: AttendanceRecorded) -> None:
        await access.record_attendance(event)

    async def erase_person(person_id: str) -> None:
        await materials.forget_author(person_id)
        await video.forget_person(person_id)
        await access.forget_person(person_id)

    # Recorded before it runs, retried until done, listed for operators (etnik.common.erasure).
    erasures = ErasureLedger(
        runtime.db,
        erase_person,
        runtime.registry,
        retry_interval_s=settings.erasure_retry_interval_s,
    )

    @consumer.on(PersonErased)
    async def on_erased(envelope: CloudEvent, event: PersonErased) -> None:
        await erasures.erase(event.person_id)

    publication = PublicationConsent(runtime.db, materials)

    @consumer.on(PublicationConsentWithdrawn)
    async def on_publication_withdrawn(
        envelope: CloudEvent, event: PublicationConsentWithdrawn
    ) -> None:
        await publication.withdrawn(event)

    return ContentParts(
        runtime,
        access,
        repository,
        files,
        materials,
        MediaMentions(repository, access, runtime.outbox),
        strategies,
        IndexKeeper(index, repository, poll_interval_s=settings.search_index_poll_s),
        erasures,
        mechanisms=mechanisms,
        video=video,
    )


def create_app(
    settings: ContentSettings | None = None, *, jwks_loader: KeyLoader | None = None
) -> FastAPI:
    """The content service's ASGI app."""
    settings = settings or ContentSettings()
    parts = build(settings, jwks_loader=jwks_loader)
    parts.runtime.on_database_ready(parts.access.ensure_indexes)
    parts.runtime.on_database_ready(parts.repository.ensure_indexes)
    parts.runtime.on_database_ready(parts.strategies.ensure_indexes)
    parts.runtime.on_database_ready(parts.video.ensure_indexes)
    parts.runtime.on_database_ready(parts.mechanisms.ensure_indexes)
    # The initial catalogue, for a fresh deployment; entries operators changed stay as they are.
    parts.runtime.on_database_ready(parts.mechanisms.seed)
    parts.runtime.on_database_ready(lambda: ensure_export_indexes(parts.repository))
    parts.runtime.run_in_background(parts.index_keeper.run)
    parts.runtime.on_database_ready(parts.erasures.ensure_indexes)
    parts.runtime.run_in_background(
        lambda: parts.erasures.run_forever(parts.runtime.database_initialised)
    )
    if not settings.pdf_font_file.is_file():
        log.warning(
            "PDF exports will fail: font %s is missing (install fonts-dejavu-core)",
            settings.pdf_font_file,
        )
    app = create_service_app(
        parts.runtime,
        title="EtNik content",
        description="Methodological materials, files, publications and NGO development strategies.",
        routers=[router, export_router, erasure_router(), mechanisms_router, video_router],
        # Uploads are bounded here and again while they stream (chunked bodies declare no size).
        max_body_bytes=settings.max_upload_bytes,
    )
    # Innermost, so that the kernel's middleware still gives its answer a request id.
    app.user_middleware.append(Middleware(JsonBodyLimit, max_bytes=JSON_BODY_LIMIT))

    @app.exception_handler(RuleViolation)
    async def refused(request: Request, error: RuleViolation) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
        return JSONResponse(
            {"detail": error.reason}, status_code=error.status_code, headers=headers
        )

    app.state.settings = settings
    app.state.access = parts.access
    app.state.erasures = parts.erasures
    app.state.repository = parts.repository
    app.state.files = parts.files
    app.state.materials = parts.materials
    app.state.media_mentions = parts.media_mentions
    app.state.strategies = parts.strategies
    app.state.video = parts.video
    app.state.mechanisms = parts.mechanisms
    return app
