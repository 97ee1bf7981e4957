"""Composition root of the reporting service."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from etnik.common.app import ServiceRuntime, create_service_app
from etnik.common.contracts.reporting import ReportFrozen
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.reporting.api import install_error_handlers, router
from etnik.reporting.export import PersonExport
from etnik.reporting.export import router as export_router
from etnik.reporting.metrics import LagMonitor
from etnik.reporting.projections import (
    PROJECTED_EVENTS,
    Generations,
    ProjectionWriter,
    Projector,
)
from etnik.reporting.rebuild import REPLAYED_TOPICS, Rebuilder
from etnik.reporting.repository import FROZEN_REPORTS, ReportRepository
from etnik.reporting.service import ReportingService
from etnik.reporting.settings import ReportingSettings
from etnik.reporting.view import ReportView

__all__ = ["ReportingParts", "ReportingSettings", "build", "create_app"]


@dataclass(frozen=True)
class ReportingParts:
    """The runtime with the projections its consumer feeds and the use cases on top."""

    runtime: ServiceRuntime
    generations: Generations
    service: ReportingService
    lag: LagMonitor
    view: ReportView


def build(settings: ReportingSettings) -> ReportingParts:
    """The runtime and its consumer: used by the app and by the AsyncAPI generator."""
    runtime = ServiceRuntime(
        settings, publishes=(ReportFrozen,), outbox_collections=(FROZEN_REPORTS,)
    )
    generations = Generations(
        runtime.db, settings.pseudonym_key, cache_s=settings.reporting_generation_cache_s
    )
    projector = Projector(generations)
    consumer = runtime.consumer()

    async def project(envelope: CloudEvent, event: IntegrationEvent) -> None:
        await projector.apply(envelope, event)

    for contract in PROJECTED_EVENTS:
        consumer.on(contract)(project)
    consumer.after_each_message(projector.record_position)

    reports = ReportRepository(runtime.db)
    rebuilder = Rebuilder(
        generations,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        stale_after_s=settings.reporting_rebuild_stale_s,
    )
    view = ReportView(
        ProjectionWriter(settings.pseudonym_key),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=REPLAYED_TOPICS,
    )
    service = ReportingService(
        generations,
        reports,
        outbox=runtime.outbox,
        rebuilder=rebuilder,
        view=view,
        report_wait_s=settings.reporting_report_wait_s,
    )
    lag = LagMonitor(
        generations,
        runtime.registry,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=REPLAYED_TOPICS,
        interval_s=settings.reporting_metrics_interval_s,
        view=view,
    )
    runtime.on_database_ready(generations.ensure_initialised)
    runtime.on_database_ready(reports.ensure_indexes)
    runtime.run_in_background(lag.run)
    runtime.run_in_background(view.run)
    return ReportingParts(runtime, generations, service, lag, view)


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    """The reporting service's ASGI app."""
    settings = settings or ReportingSettings()
    parts = build(settings)
    app = create_service_app(
        parts.runtime,
        title="EtNik reporting",
        description="Programme statistics and grant-fund reports built from the event streams.",
        routers=[router, export_router],
    )
    app.state.reporting = parts.service
    app.state.person_export = PersonExport(parts.generations, settings.pseudonym_key)
    install_error_handlers(app)
    return app
