"""HTTP entrypoints of personal data (152-FZ): a person's export and erasure, and the
signed-in participant's own profile, registrations, export and withdrawal."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

from etnik.registration.api.answers import fonts_for_pdf, public, registration_row
from etnik.registration.api.dependencies import Admin, Caller, participant_id
from etnik.registration.container import Container, RegistrationContainer
from etnik.registration.export_pdf import export_pdf
from etnik.registration.schemas import PersonOut, PersonUpdate, RegistrationOut
from etnik.registration.ticket import MOSCOW

router = APIRouter(tags=["personal data"])


@router.get("/people/{person_id}/export")
async def export_person(person_id: str, container: Container, admin: Admin) -> dict[str, Any]:
    """Everything every service holds about a person (administrators, e.g. for a written
    request); a service that did not answer is named in `missing_sections`."""
    return await container.privacy.export(person_id)


@router.get("/people/{person_id}/export.pdf")
async def export_person_pdf(person_id: str, container: Container, admin: Admin) -> Response:
    """The same export as a readable PDF in Russian (administrators)."""
    return await _export_pdf(container, person_id)


@router.post("/people/{person_id}/erase", response_model=PersonOut)
async def erase_person(person_id: str, container: Container, admin: Admin) -> dict[str, Any]:
    """Erase a person on their written withdrawal (administrators)."""
    return public(await container.privacy.erase(person_id, by=f"operator:{admin.subject}"))


@router.get("/me", response_model=PersonOut)
async def me(container: Container, caller: Caller) -> dict[str, Any]:
    """The signed-in participant's profile."""
    return public(await container.directory.person(participant_id(caller)))


@router.patch("/me", response_model=PersonOut)
async def update_me(body: PersonUpdate, container: Container, caller: Caller) -> dict[str, Any]:
    """Change one's own details (the time zone among them)."""
    return public(await container.directory.update_person(participant_id(caller), body))


@router.get("/me/registrations", response_model=list[RegistrationOut])
async def my_registrations(container: Container, caller: Caller) -> list[dict[str, Any]]:
    """The signed-in participant's registrations."""
    queries = container.queries
    return [
        registration_row(r) | {"waitlist_position": await queries.waitlist_position(r)}
        for r in await queries.for_person(participant_id(caller))
    ]


@router.get("/me/export")
async def export_me(container: Container, caller: Caller) -> dict[str, Any]:
    """Everything every service holds about the signed-in participant, as JSON."""
    return await container.privacy.export(participant_id(caller))


@router.get("/me/export.pdf")
async def export_me_pdf(container: Container, caller: Caller) -> Response:
    """The signed-in participant's export as a readable PDF in Russian."""
    return await _export_pdf(container, participant_id(caller))


async def _export_pdf(container: RegistrationContainer, person_id: str) -> Response:
    """A person's export rendered as a PDF (never cached: it is personal data)."""
    exported = await container.privacy.export(person_id)
    fonts_for_pdf(container.settings)
    content = await asyncio.to_thread(export_pdf, exported)
    day = exported["exported_at"].astimezone(MOSCOW).date().isoformat()
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="etnik-personal-data-{day}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/me/erase", response_model=PersonOut)
async def erase_me(container: Container, caller: Caller) -> dict[str, Any]:
    """Withdraw consent: anonymise the participant here and tell every service to do the same."""
    return public(await container.privacy.erase(participant_id(caller), by="self"))
