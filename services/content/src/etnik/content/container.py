"""Composition root of the content service: everything one process holds, wired once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from etnik.common.app import ServiceRuntime, container_dependency
from etnik.common.auth import KeyLoader
from etnik.common.contracts import content as contracts
from etnik.common.erasure import ErasureLedger
from etnik.common.events import published_by
from etnik.content.access import ParticipantAccess
from etnik.content.export import ensure_indexes as ensure_export_indexes
from etnik.content.files import FileStore
from etnik.content.handlers import ContentHandlers, person_eraser
from etnik.content.mechanisms import MECHANISMS, MechanismCatalogue
from etnik.content.media import MediaMentions
from etnik.content.publication_consent import PublicationConsent
from etnik.content.repository import OUTBOX_COLLECTIONS, MaterialRepository
from etnik.content.search_index import IndexKeeper, SearchIndex
from etnik.content.service import MaterialService
from etnik.content.settings import ContentSettings
from etnik.content.strategies import STRATEGIES, StrategyService
from etnik.content.video_service import VIDEO_VIEWS, VideoService


@dataclass(frozen=True)
class ContentContainer:
    """The runtime, the projections its consumers feed, the stores and the use cases."""

    runtime: ServiceRuntime
    settings: ContentSettings
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
    publication: PublicationConsent


def build(
    settings: ContentSettings | None = None, *, jwks_loader: KeyLoader | None = None
) -> ContentContainer:
    """Wire the service: consumers (handlers.py), search index, use cases, startup and loops."""
    settings = settings or ContentSettings()
    runtime = ServiceRuntime(
        settings,
        publishes=published_by(contracts),
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
    # Recorded before it runs, retried until done, listed for operators (etnik.common.erasure).
    erasures = ErasureLedger(
        runtime.db,
        person_eraser(materials, video, access),
        runtime.registry,
        retry_interval_s=settings.erasure_retry_interval_s,
    )
    publication = PublicationConsent(runtime.db, materials)
    ContentHandlers(access, erasures, publication).register(runtime.consumer())
    index_keeper = IndexKeeper(index, repository, poll_interval_s=settings.search_index_poll_s)

    runtime.on_database_ready(access.ensure_indexes)
    runtime.on_database_ready(repository.ensure_indexes)
    runtime.on_database_ready(strategies.ensure_indexes)
    runtime.on_database_ready(video.ensure_indexes)
    runtime.on_database_ready(mechanisms.ensure_indexes)
    # The initial catalogue, for a fresh deployment; entries operators changed stay as they are.
    runtime.on_database_ready(mechanisms.seed)
    runtime.on_database_ready(lambda: ensure_export_indexes(repository))
    runtime.on_database_ready(erasures.ensure_indexes)
    runtime.run_in_background(index_keeper.run)
    runtime.run_in_background(lambda: erasures.run_forever(runtime.database_initialised))
    return ContentContainer(
        runtime=runtime,
        settings=settings,
        access=access,
        repository=repository,
        files=files,
        materials=materials,
        media_mentions=MediaMentions(repository, access, runtime.outbox),
        strategies=strategies,
        index_keeper=index_keeper,
        erasures=erasures,
        mechanisms=mechanisms,
        video=video,
        publication=publication,
    )


Container = Annotated[ContentContainer, Depends(container_dependency(ContentContainer))]
