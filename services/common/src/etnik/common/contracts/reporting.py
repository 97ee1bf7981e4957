"""Events published by the reporting service."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from etnik.common.events import IntegrationEvent

REPORTS_TOPIC = "etnik.reporting.reports.v1"


class PartitionOffset(BaseModel):
    """How far the projections had consumed one topic-partition."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0, description="The last offset applied")


class ReportFrozen(IntegrationEvent):
    """A grant report was frozen: its snapshot is stored with the Kafka offsets it was built at."""

    event_type = "ru.etnik.report.frozen"
    topic = REPORTS_TOPIC
    key_field = "report_id"

    report_id: str
    period_start: date
    period_end: date
    generation: int = Field(ge=1, description="Projection generation the report was built from")
    offsets: list[PartitionOffset] = Field(
        description="The last applied offset per topic-partition when the report was built"
    )
    digest: str = Field(description="SHA-256 of the report's canonical JSON")
    frozen_at: AwareDatetime
