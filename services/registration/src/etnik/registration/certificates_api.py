"""HTTP entrypoints of participation certificates: issuing (operators), public verification
by code, and the participant's PDF (through the signed link or signed in)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from etnik.common.idempotency import fingerprint
from etnik.common.mongo import Document
from etnik.common.pdf_fonts import FontMissing, register_fonts
from etnik.registration.api import App, Caller, IdempotencyKey, Operator, _owned, _run
from etnik.registration.certificate_pdf import CertificateSheet, certificate_pdf
from etnik.registration.certificates import MAX_HOURS, public_view
from etnik.registration.container import Services
from etnik.registration.errors import DomainError

router = APIRouter(tags=["certificates"])

LinkToken = Annotated[str, Query(max_length=2000)]


class IssueIn(BaseModel):
    """How many hours the new certificates state; the event's length when left out."""

    model_config = ConfigDict(extra="forbid")

    hours: float | None = Field(default=None, gt=0, le=MAX_HOURS, multiple_of=0.5)


class IssueOut(BaseModel):
    """What a bulk issue did."""

    event_id: str
    attended: int = Field(description="Participants who attended by the event's rule")
    issued: int = Field(description="Certificates issued now")
    already_issued: int = Field(description="Attended participants who had one already")
    skipped_erased: int = Field(description="Attended participants whose data was erased")
    hours: float = Field(description="Hours the certificates issued now state")


class CertificateOut(BaseModel):
    """A certificate as anyone holding its code sees it: no personal data but the name shown
    on it, and not even that once the person was erased."""

    code: str
    full_name: str | None = Field(description="The name printed on it; null when withheld")
    name_withheld: bool = Field(description="The person's data was erased")
    event_title: str
    programme_title: str
    event_date: date
    event_end_date: date | None = Field(default=None, description="Set for a multi-day event")
    hours: float
    issued_at: datetime


class OwnCertificateOut(CertificateOut):
    """One's own certificate, with the registration it belongs to."""

    registration_id: str
    event_id: str


def _own(certificate: Document) -> dict[str, Any]:
    return public_view(certificate) | {
        "registration_id": certificate["registration_id"],
        "event_id": certificate["event_id"],
    }


_PDF_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The certificate (A4 landscape)"},
    404: {"description": "No certificate has been issued for this registration"},
    410: {"description": "The link has expired, or the participant's data was erased"},
}


# --- Operators ------------------------------------------------------------------------------


@router.post("/events/{event_id}/certificates", response_model=IssueOut)
async def issue_certificates(
    event_id: str,
    app: App,
    operator: Operator,
    body: IssueIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Issue a certificate to every participant of a completed event who attended by its rule
    and has none yet (operators); each is told by email. Repeating it issues nothing twice, and
    a retry with the same Idempotency-Key gets the first answer."""
    hours = body.hours if body else None

    async def action() -> tuple[int, Any]:
        """Issue once; the idempotency store replays the answer to a retry."""
        try:
            outcome = await app.certificates.issue_for_event(event_id, operator.subject, hours)
        except DomainError as error:
            return error.status_code, {"detail": error.reason}
        answer = IssueOut(
            event_id=event_id,
            attended=outcome.attended,
            issued=outcome.issued,
            already_issued=outcome.already_issued,
            skipped_erased=outcome.skipped_erased,
            hours=outcome.hours,
        )
        return 200, answer.model_dump(mode="json")

    return await app.runtime.idempotency.run(
        scope=f"certificates:{event_id}:{operator.subject}",
        key=idempotency_key,
        request_fingerprint=fingerprint({"hours": hours}),
        action=action,
    )


# --- Anyone holding a code ------------------------------------------------------------------


@router.get(
    "/certificates/{code}",
    response_model=CertificateOut,
    responses={
        404: {"description": "No certificate has this code"},
        422: {"description": "This cannot be a certificate code"},
    },
)
async def verify_certificate(code: str, app: App) -> Any:
    """Verify a certificate by the code printed on it (public): what it states, and the name
    shown on it unless the person's data was erased."""
    return public_view(await _run(lambda: app.certificates.by_code(code)))


# --- The participant ------------------------------------------------------------------------


@router.get("/registrations/by-link/certificate", response_model=OwnCertificateOut)
async def certificate_by_link(token: LinkToken, app: App) -> Any:
    """One's certificate for this registration, through the signed link; 404 until issued."""
    registration = await _run(lambda: app.registrations.by_link(token))
    return _own(await _run(lambda: app.certificates.of_registration(registration)))


@router.get(
    "/registrations/by-link/certificate.pdf", response_class=Response, responses=_PDF_ANSWERS
)
async def certificate_pdf_by_link(token: LinkToken, app: App) -> Response:
    """One's certificate as a PDF, through the signed link in one's messages."""
    registration = await _run(lambda: app.registrations.by_link(token))
    certificate = await _run(lambda: app.certificates.of_registration(registration))
    return await _pdf_response(app, certificate)


@router.get("/me/certificates", response_model=list[OwnCertificateOut])
async def my_certificates(app: App, caller: Caller) -> list[dict[str, Any]]:
    """The signed-in participant's certificates, newest first."""
    if caller.kind != "participant":
        raise HTTPException(403, "this is a participant's own page; sign in with your email link")
    return [_own(c) for c in await app.certificates.for_person(caller.subject)]


@router.get(
    "/registrations/{registration_id}/certificate.pdf",
    response_class=Response,
    responses=_PDF_ANSWERS,
)
async def certificate_pdf_of_registration(
    registration_id: str, app: App, caller: Caller
) -> Response:
    """The certificate of a registration as a PDF, for its owner (signed in) or staff."""
    registration = await _owned(app, registration_id, caller)
    certificate = await _run(lambda: app.certificates.of_registration(registration))
    return await _pdf_response(app, certificate)


async def _pdf_response(app: Services, certificate: Document) -> Response:
    settings = app.settings
    try:
        register_fonts(settings.pdf_font_file, settings.pdf_bold_font_file, setting="PDF_FONT_FILE")
    except FontMissing as missing:
        raise HTTPException(503, str(missing)) from missing
    sheet = CertificateSheet(
        full_name=certificate["full_name"],
        event_title=certificate["event_title"],
        programme_title=certificate["programme_title"],
        event_date=date.fromisoformat(certificate["event_date"]),
        event_end_date=(
            date.fromisoformat(certificate["event_end_date"])
            if certificate.get("event_end_date")
            else None
        ),
        hours=certificate["hours"],
        code=certificate["code"],
        verification_url=app.certificates.verification_url(certificate["code"]),
        issued_at=certificate["issued_at"],
    )
    content = await asyncio.to_thread(certificate_pdf, sheet)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f'attachment; filename="etnik-certificate-{certificate["event_date"]}.pdf"'
            ),
            # It names its holder and is reached by a personal link: no shared cache keeps it.
            "Cache-Control": "no-store",
        },
    )
