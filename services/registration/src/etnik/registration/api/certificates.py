"""HTTP entrypoints of participation certificates: issuing (operators), public verification
by code, and the participant's PDF (through the signed link or signed in)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from etnik.common.mongo import Document
from etnik.registration.api.answers import fonts_for_pdf, idempotent
from etnik.registration.api.dependencies import (
    Caller,
    IdempotencyKey,
    LinkedRegistration,
    Operator,
    OwnedRegistration,
    participant_id,
)
from etnik.registration.certificate_pdf import CertificateSheet, certificate_pdf
from etnik.registration.certificates import MAX_HOURS, public_view
from etnik.registration.container import Container, RegistrationContainer

router = APIRouter(tags=["certificates"])


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
    container: Container,
    operator: Operator,
    body: IssueIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Issue a certificate to every participant of a completed event who attended by its rule
    and has none yet (operators); each is told by email. Repeating it issues nothing twice, and
    a retry with the same Idempotency-Key gets the first answer."""
    hours = body.hours if body else None

    async def act() -> tuple[int, Any]:
        """Issue the certificates; the answer is what a retry gets."""
        outcome = await container.certificates.issue_for_event(event_id, operator.subject, hours)
        answer = IssueOut(
            event_id=event_id,
            attended=outcome.attended,
            issued=outcome.issued,
            already_issued=outcome.already_issued,
            skipped_erased=outcome.skipped_erased,
            hours=outcome.hours,
        )
        return 200, answer.model_dump(mode="json")

    return await idempotent(
        container,
        scope=f"certificates:{event_id}:{operator.subject}",
        key=idempotency_key,
        request={"hours": hours},
        act=act,
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
async def verify_certificate(code: str, container: Container) -> Any:
    """Verify a certificate by the code printed on it (public): what it states, and the name
    shown on it unless the person's data was erased."""
    return public_view(await container.certificates.by_code(code))


# --- The participant ------------------------------------------------------------------------


@router.get("/registrations/by-link/certificate", response_model=OwnCertificateOut)
async def certificate_by_link(registration: LinkedRegistration, container: Container) -> Any:
    """One's certificate for this registration, through the signed link; 404 until issued."""
    return _own(await container.certificates.of_registration(registration))


@router.get(
    "/registrations/by-link/certificate.pdf", response_class=Response, responses=_PDF_ANSWERS
)
async def certificate_pdf_by_link(
    registration: LinkedRegistration, container: Container
) -> Response:
    """One's certificate as a PDF, through the signed link in one's messages."""
    certificate = await container.certificates.of_registration(registration)
    return await _pdf_response(container, certificate)


@router.get("/me/certificates", response_model=list[OwnCertificateOut])
async def my_certificates(container: Container, caller: Caller) -> list[dict[str, Any]]:
    """The signed-in participant's certificates, newest first."""
    return [_own(c) for c in await container.certificates.for_person(participant_id(caller))]


@router.get(
    "/registrations/{registration_id}/certificate.pdf",
    response_class=Response,
    responses=_PDF_ANSWERS,
)
async def certificate_pdf_of_registration(
    registration: OwnedRegistration, container: Container
) -> Response:
    """The certificate of a registration as a PDF, for its owner (signed in) or staff."""
    certificate = await container.certificates.of_registration(registration)
    return await _pdf_response(container, certificate)


async def _pdf_response(container: RegistrationContainer, certificate: Document) -> Response:
    """The certificate as a PDF (never cached: it names its holder)."""
    fonts_for_pdf(container.settings)
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
        verification_url=container.certificates.verification_url(certificate["code"]),
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
