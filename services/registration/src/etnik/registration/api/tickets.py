"""HTTP entrypoints of what a registration gives its owner to attend: the calendar file, and
for in-person and hybrid events the ticket (its QR code and PDF)."""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

from fastapi import APIRouter, Response

from etnik.common.calendar import event_ics
from etnik.common.mongo import Document
from etnik.registration.api.answers import fonts_for_pdf
from etnik.registration.api.dependencies import LinkedRegistration, NotificationService
from etnik.registration.container import Container, RegistrationContainer
from etnik.registration.domain import EventStatus, qr_value
from etnik.registration.ticket import MOSCOW, qr_svg, ticket_pdf

router = APIRouter(tags=["registrations"])


def _ticket_answers(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {media_type: {}}, "description": description},
        403: {"description": "The link is not valid"},
        409: {"description": "No ticket: not confirmed, an online event, or cancelled (why)"},
        410: {"description": "The link has expired"},
    }


@router.get(
    "/registrations/by-link/calendar.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The event as an .ics file"},
        403: {"description": "The link is not valid"},
        410: {"description": "The link has expired"},
    },
)
async def calendar_by_link(registration: LinkedRegistration, container: Container) -> Response:
    """The event of one's registration as a calendar file, through the signed link; with the
    session link only while the registration is confirmed (online and hybrid events)."""
    event, details = await container.queries.entitled(registration)
    day = event["starts_at"].astimezone(UTC).date().isoformat()
    return Response(
        event_ics(
            event_id=event["_id"],
            title=event["title"],
            starts_at=event["starts_at"],
            ends_at=event["ends_at"],
            venue=event.get("venue"),
            online_link=details.online_link,
            cancelled=event["status"] == EventStatus.CANCELLED,
        ),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="etnik-{day}.ics"',
            # It may hold the session link: no shared cache may keep it.
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/registrations/by-link/qr.svg",
    response_class=Response,
    responses=_ticket_answers("image/svg+xml", "The QR code"),
)
async def qr_by_link(registration: LinkedRegistration, container: Container) -> Response:
    """The QR code of one's ticket as an SVG image, through the signed link: what the console
    scans at the door. Only a confirmed registration of an in-person or hybrid event that is
    not cancelled has one; any other answers 409 with the reason."""
    await container.queries.ticketed_event(registration)
    return Response(
        qr_svg(qr_value(registration["check_in_code"])),
        media_type="image/svg+xml",
        headers={
            # It lets its holder in: no shared cache may keep it.
            "Cache-Control": "no-store",
            # Opened on its own, the image runs nothing and loads nothing.
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@router.get(
    "/registrations/by-link/ticket.pdf",
    response_class=Response,
    responses=_ticket_answers("application/pdf", "The ticket"),
)
async def ticket_by_link(registration: LinkedRegistration, container: Container) -> Response:
    """One's ticket as a PDF (A5, in Russian), through the signed link: the event, the
    participant, Moscow and their own time, the venue, the QR code and the code as text.
    Only for a confirmed registration of an in-person or hybrid event that is not cancelled."""
    return await _ticket_pdf(container, registration)


@router.get(
    "/registrations/{registration_id}/delivery/ticket.pdf",
    response_class=Response,
    summary="The ticket a confirmation carries (the notification service only)",
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The ticket"},
        409: {"description": "No ticket: not confirmed, an online event, or cancelled (why)"},
    },
)
async def ticket_for_delivery(
    registration_id: str, container: Container, caller: NotificationService
) -> Response:
    """The same PDF as the participant's page gives, for notification to attach to a
    confirmation or reminder; 409 with the reason when the registration has no ticket."""
    registration = await container.queries.registration(registration_id)
    return await _ticket_pdf(container, registration)


async def _ticket_pdf(container: RegistrationContainer, registration: Document) -> Response:
    """The registration's ticket as a PDF (never cached: it lets its holder in)."""
    ticket = await container.queries.ticket(registration)
    fonts_for_pdf(container.settings)
    content = await asyncio.to_thread(ticket_pdf, ticket)
    day = ticket.starts_at.astimezone(MOSCOW).date().isoformat()
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="etnik-ticket-{day}.pdf"',
            "Cache-Control": "no-store",
        },
    )
