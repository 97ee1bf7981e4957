"""The projections folded in memory from a history of events, as the report view and a rebuild
fold them: what the unit tests count and what the integration tests load into a generation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from etnik.common.events import CloudEvent, EventReader
from etnik.reporting import domain
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import READERS, ProjectionWriter
from etnik.reporting.service import report_from_fold

PSEUDONYM_KEY = b"test-pseudonym-key-0123"


def read(envelope: CloudEvent) -> EventReader:
    """The producer's data in an envelope, read as reporting reads it: through its own reader
    of the envelope's type (inbound.py), as the live consumer and a rebuild do."""
    return READERS[envelope.type].model_validate(envelope.data)


def fold(history: Iterable[CloudEvent], *, columnar: bool = True) -> ProjectionFold:
    """Every event's projection writes applied in memory, in the order given (no I/O)."""
    writer, folded = ProjectionWriter(PSEUDONYM_KEY), ProjectionFold(columnar=columnar)
    for item in history:
        for collection, write in writer.writes_for(item, read(item)):
            folded.apply(collection, write)
    return folded


def documents(
    history: Iterable[CloudEvent], *, columnar: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """The folded documents by collection, as lists (to compare, or to load in a generation)."""
    return {name: list(rows) for name, rows in fold(history, columnar=columnar).documents().items()}


def report(
    history: Iterable[CloudEvent], period: domain.Period, qualitative: str = ""
) -> dict[str, Any]:
    """The grant report for a period from the folded history, as the service counts it."""
    return report_from_fold(period, qualitative, fold(history))
