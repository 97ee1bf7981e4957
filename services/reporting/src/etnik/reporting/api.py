"""HTTP entrypoints of the reporting service: thin, each builds filters and calls the service."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from aiokafka.errors import KafkaError
from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Query,
    Response,
    status,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from etnik.common.auth import Principal, Role, require_roles, require_roles_or_service
from etnik.common.idempotency import IDEMPOTENCY_HEADER, fingerprint
from etnik.common.pdf_fonts import FontMissing
from etnik.reporting import domain, exports
from etnik.reporting.container import Container
from etnik.reporting.service import ReportingService
from etnik.reporting.settings import ReportingSettings
from etnik.reporting.view import StreamsUnavailable

router = APIRouter()
# Reproducing replays Kafka's topics: when it cannot be read, say so (503).
REPLAY_UNAVAILABLE: tuple[type[BaseException], ...] = (KafkaError, TimeoutError, OSError)

Reader = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.MODERATOR))]
Operator = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]
# A person's export is also asked for by registration, which gathers all four services'.
ExportReader = Annotated[
    Principal, Depends(require_roles_or_service({Role.OPERATOR}, {"registration"}))
]
ExportFormat = Literal["csv", "xlsx", "pdf"]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def reporting(app: Container) -> ReportingService:
    """The reporting use cases of the app's container."""
    return app.service


Reporting = Annotated[ReportingService, Depends(reporting)]


def _period(start: date | None, end: date | None) -> domain.Period:
    try:
        return domain.Period(start, end)
    except domain.InvalidPeriod as error:
        raise RequestValidationError(
            [{"loc": ("query", "end"), "msg": str(error), "type": "value_error"}]
        ) from error


def filters(
    start: Annotated[date | None, Query(description="First day, included (UTC)")] = None,
    end: Annotated[date | None, Query(description="Last day, included (UTC)")] = None,
    district: Annotated[str | None, Query(max_length=50)] = None,
    track: Annotated[str | None, Query(max_length=100)] = None,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
) -> domain.Filters:
    """The console's filters; a period ending before it starts is refused with 422."""
    return domain.Filters(_period(start, end), district, track, event_id)


def report_period(
    start: Annotated[date, Query(description="First day of the report, included")],
    end: Annotated[date, Query(description="Last day of the report, included")],
) -> domain.Period:
    """The period of a grant report: both days are required."""
    return _period(start, end)


Filtered = Annotated[domain.Filters, Depends(filters)]
ReportPeriod = Annotated[domain.Period, Depends(report_period)]


class PeriodBody(BaseModel):
    """A report period in a request body."""

    model_config = ConfigDict(extra="forbid")

    start: date
    end: date

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> PeriodBody:
        domain.Period(self.start, self.end)  # raises InvalidPeriod, a ValueError: 422
        return self

    @property
    def period(self) -> domain.Period:
        """As the domain's period."""
        return domain.Period(self.start, self.end)


class QualitativeBody(PeriodBody):
    """The qualitative results of a period, written by operators."""

    text: str = Field(max_length=20_000)


@router.get("/stats/registrations", tags=["statistics"])
async def registration_stats(
    reader: Reader, service: Reporting, event_id: str | None = None
) -> dict[str, Any]:
    """Registrations in total and by status, for one event or the whole programme."""
    return await service.registration_counts(event_id)


@router.get("/stats/notifications", tags=["statistics"])
async def notification_stats(
    reader: Reader,
    service: Reporting,
    start: Annotated[date | None, Query(description="First day, included (UTC)")] = None,
    end: Annotated[date | None, Query(description="Last day, included (UTC)")] = None,
) -> dict[str, Any]:
    """Messages sent and failed (a message delivered after a failure counts as sent), in
    total and per kind (invitation, registration_confirmed, event_reminder …), by the day of
    the outcome."""
    return await service.notification_counts(_period(start, end))


@router.get("/dashboard/registrations-per-day", tags=["dashboard"])
async def registrations_per_day(
    reader: Reader, service: Reporting, view: Filtered
) -> dict[str, Any]:
    """Registrations per day, by their current status, within the filters."""
    return await service.time_series(view)


@router.get("/dashboard/breakdown", tags=["dashboard"])
async def breakdown(
    reader: Reader,
    service: Reporting,
    view: Filtered,
    by: domain.Breakdown = "district",
) -> dict[str, Any]:
    """Registrations, attendance, no-shows and unique participants per slice."""
    return await service.breakdown(view, by)


@router.get("/dashboard/experts", tags=["dashboard"])
async def experts(reader: Reader, service: Reporting, view: Filtered) -> dict[str, Any]:
    """The roster's experts at the events of the period, district, track or event: how many,
    per event, district, track and role."""
    return await service.experts(view)


@router.get("/dashboard/partnerships", tags=["dashboard"])
async def partnerships(reader: Reader, service: Reporting, view: Filtered) -> dict[str, Any]:
    """Partnerships formed within the period (by the day formed) and district: how many, by
    district and by the kind of sector pair they link, and a row each."""
    return await service.partnerships(view)


@router.get("/feedback", tags=["feedback"])
async def feedback(
    reader: Reader,
    service: Reporting,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    track: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Post-event survey answers per event and per track: how many, each rating's mean and
    distribution, and the free-text answers, anonymous (operators and moderators)."""
    return await service.feedback(event_id, track)


@router.get("/reports/grant", tags=["grant report"])
async def grant_report(reader: Reader, service: Reporting, period: ReportPeriod) -> dict[str, Any]:
    """The grant report for a period, as it stands now."""
    return await service.grant_report(period)


@router.get("/reports/grant/export", tags=["grant report"])
async def export_grant_report(
    app: Container,
    reader: Reader,
    service: Reporting,
    period: ReportPeriod,
    format: ExportFormat = "xlsx",
) -> Response:
    """The grant report for a period as CSV, XLSX or PDF."""
    report = await service.grant_report(period)
    name = f"etnik-grant-report-{period.start}-{period.end}"
    return _export(app.settings, report, format, name)


@router.put("/reports/grant/qualitative", tags=["grant report"])
async def save_qualitative(
    operator: Operator, service: Reporting, body: QualitativeBody
) -> dict[str, Any]:
    """Write the qualitative results of a period (replacing the previous text)."""
    return await service.save_qualitative(body.period, body.text)


@router.post("/reports/frozen", tags=["grant report"], status_code=status.HTTP_201_CREATED)
async def freeze_report(
    app: Container,
    operator: Operator,
    service: Reporting,
    body: PeriodBody,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> JSONResponse:
    """Freeze the grant report of a period: stored with its offsets and announced on Kafka."""

    async def freeze() -> tuple[int, Any]:
        return status.HTTP_201_CREATED, await service.freeze(body.period)

    return await app.runtime.idempotency.run(  # type: ignore[no-any-return]
        scope="reporting.freeze",
        key=idempotency_key,
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        action=freeze,
    )


@router.get("/reports/frozen", tags=["grant report"])
async def frozen_reports(reader: Reader, service: Reporting) -> list[dict[str, Any]]:
    """The latest frozen reports, without their contents."""
    return await service.frozen_list()


@router.get("/reports/frozen/{report_id}", tags=["grant report"])
async def frozen_report(reader: Reader, service: Reporting, report_id: str) -> dict[str, Any]:
    """A frozen report, exactly as it was when frozen."""
    return await service.frozen(report_id)


@router.post("/reports/frozen/{report_id}/reproduce", tags=["grant report"])
async def reproduce_frozen_report(
    reader: Reader, service: Reporting, report_id: str
) -> dict[str, Any]:
    """Replay the topics to the report's offsets, rebuild it and compare digests."""
    try:
        return await service.reproduce(report_id)
    except LookupError as gone:  # partitions the report was frozen from are no longer in Kafka
        raise HTTPException(status.HTTP_409_CONFLICT, str(gone)) from gone
    except REPLAY_UNAVAILABLE as error:
        raise StreamsUnavailable(error) from error


@router.get("/reports/frozen/{report_id}/export", tags=["grant report"])
async def export_frozen_report(
    app: Container,
    reader: Reader,
    service: Reporting,
    report_id: str,
    format: ExportFormat = "xlsx",
) -> Response:
    """A frozen report as CSV, XLSX or PDF."""
    snapshot = await service.frozen(report_id)
    return _export(app.settings, snapshot["report"], format, f"etnik-grant-report-{report_id}")


@router.post("/rebuild", tags=["operations"], status_code=status.HTTP_202_ACCEPTED)
async def start_rebuild(operator: Operator, service: Reporting) -> dict[str, Any]:
    """Replay every topic into a new generation; reads switch over once it has caught up."""
    return await service.start_rebuild()


@router.get("/rebuild", tags=["operations"])
async def rebuild_progress(operator: Operator, service: Reporting) -> dict[str, Any] | None:
    """The latest rebuild: status, and per partition consumed against end offset."""
    return await service.rebuild_progress()


@router.get(
    "/people/{person_id}/export",
    tags=["personal data"],
    summary="What reporting holds about a person (operators, registration)",
)
async def export_person(person_id: str, app: Container, reader: ExportReader) -> dict[str, Any]:
    """The person's pseudonymous rows and the statement that no contacts are held."""
    return await app.person_export.of(person_id)


def _export(
    settings: ReportingSettings, report: dict[str, Any], format: str, name: str
) -> Response:
    if format == "csv":
        content = exports.to_csv(report)
    elif format == "xlsx":
        content = exports.to_xlsx(report)
    else:
        try:
            content = exports.to_pdf(
                report,
                font=Path(settings.reporting_pdf_font),
                bold_font=Path(settings.reporting_pdf_bold_font),
            )
        except FontMissing as missing:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(missing)) from missing
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
