"""Composition root of the reporting service: everything one process holds, wired once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from etnik.common.app import ServiceRuntime, container_dependency
from etnik.common.contracts import reporting as contracts
from etnik.common.events import published_by
from etnik.reporting import handlers
from etnik.reporting.export import PersonExport
from etnik.reporting.metrics import LagMonitor
from etnik.reporting.projections import Generations, ProjectionWriter, Projector
from etnik.reporting.rebuild import REPLAYED_TOPICS, Rebuilder
from etnik.reporting.repository import FROZEN_REPORTS, ReportRepository
from etnik.reporting.service import ReportingService
from etnik.reporting.settings import ReportingSettings
from etnik.reporting.view import ReportView


@dataclass(frozen=True)
class ReportingContainer:
    """The runtime, the projections its consumer feeds and the use cases on top."""

    runtime: ServiceRuntime
    settings: ReportingSettings
    generations: Generations
    service: ReportingService
    lag: LagMonitor
    view: ReportView
    person_export: PersonExport


def build(settings: ReportingSettings | None = None) -> ReportingContainer:
    """Wire the service: its consumer (handlers.py), the view, use cases, startup and loops."""
    settings = settings or ReportingSettings()
    runtime = ServiceRuntime(
        settings, publishes=published_by(contracts), outbox_collections=(FROZEN_REPORTS,)
    )
    generations = Generations(
        runtime.db, settings.pseudonym_key, cache_s=settings.reporting_generation_cache_s
    )
    handlers.subscribe(runtime.consumer(), Projector(generations))

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
    return ReportingContainer(
        runtime=runtime,
        settings=settings,
        generations=generations,
        service=service,
        lag=lag,
        view=view,
        person_export=PersonExport(generations, settings.pseudonym_key),
    )


Container = Annotated[ReportingContainer, Depends(container_dependency(ReportingContainer))]
