"""HTTP entrypoints of registrations: the public form, staff's lists and exports, and the
owner's view, cancellation and acceptance of an offer (signed in or through the signed link)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import JSONResponse

from etnik.common.auth import Role
from etnik.common.contracts.registration import ParticipantCategory, RegistrationStatus
from etnik.common.mongo import Document
from etnik.registration.api.answers import idempotent, registration_row
from etnik.registration.api.dependencies import (
    Caller,
    Client,
    IdempotencyKey,
    Limit,
    LinkedRegistration,
    NotificationService,
    Offset,
    Operator,
    OwnedRegistration,
    Staff,
)
from etnik.registration.container import Container
from etnik.registration.exports import EXPORT_FORMATS, export_registrations
from etnik.registration.schemas import (
    CancelIn,
    DeliveryOut,
    RegistrationIn,
    RegistrationOut,
    RegistrationPage,
    RegistrationRow,
    RegistrationView,
)

router = APIRouter(tags=["registrations"])


def _filters(
    event_id: str | None,
    status: RegistrationStatus | None,
    region_code: str | None,
    federal_district: str | None,
    category: ParticipantCategory | None,
) -> Document:
    """The filters of a list or an export of registrations; None matches anything."""
    return {
        "event_id": event_id,
        "status": status.value if status else None,
        "region_code": region_code,
        "federal_district": federal_district,
        "category": category.value if category else None,
    }


@router.post(
    "/events/{event_id}/registrations",
    status_code=201,
    response_model=RegistrationOut,
    responses={200: {"description": "This person was already registered: the existing one"}},
)
async def register(
    event_id: str,
    body: RegistrationIn,
    client: Client,
    container: Container,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Public registration form; a person registering twice gets their registration back."""

    async def act() -> tuple[int, Any]:
        """Register; the answer is what a retry gets."""
        result = await container.registering.register(event_id, body, client)
        # The place in the waitlist is not counted here: in a burst that count is what costs
        # most. The owner's view (by link or signed in) shows it.
        shown = registration_row(result.registration) | {"manage_token": result.manage_token}
        body_out = RegistrationOut.model_validate(shown).model_dump(mode="json")
        return (201 if result.created else 200), body_out

    return await idempotent(
        container,
        scope=f"registrations:{event_id}",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        act=act,
    )


@router.get("/registrations", response_model=RegistrationPage)
async def list_registrations(
    container: Container,
    staff: Staff,
    event_id: str | None = None,
    status: RegistrationStatus | None = None,
    region_code: str | None = None,
    federal_district: str | None = None,
    category: ParticipantCategory | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RegistrationPage:
    """Registrations with filters and pagination (operators and moderators)."""
    filters = _filters(event_id, status, region_code, federal_district, category)
    total, items = await container.queries.page(filters, limit, offset)
    return RegistrationPage(
        total=total, items=[RegistrationRow.model_validate(registration_row(r)) for r in items]
    )


@router.get("/registrations/export")
async def export(
    container: Container,
    operator: Operator,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    event_id: str | None = None,
    status: RegistrationStatus | None = None,
    region_code: str | None = None,
    federal_district: str | None = None,
    category: ParticipantCategory | None = None,
) -> Response:
    """Registrations with the people's contacts as CSV or XLSX (operators)."""
    filters = _filters(event_id, status, region_code, federal_district, category)
    content = await export_registrations(container.queries, container.repository, filters, format)
    return Response(
        content,
        media_type=EXPORT_FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="registrations.{format}"'},
    )


@router.get("/registrations/by-link", response_model=RegistrationView)
async def view_by_link(registration: LinkedRegistration, container: Container) -> dict[str, Any]:
    """The owner's view through the signed link in their confirmation."""
    return registration_row(registration) | await container.queries.owner_view(registration)


@router.post("/registrations/by-link/cancel", response_model=RegistrationOut)
async def cancel_by_link(
    registration: LinkedRegistration, container: Container, body: CancelIn | None = None
) -> dict[str, Any]:
    """Cancel one's own registration through the signed link."""
    reason = body.reason if body else None
    return registration_row(
        await container.waitlist.cancel(registration["_id"], reason, by="owner")
    )


@router.post("/registrations/by-link/accept-offer", response_model=RegistrationOut)
async def accept_by_link(registration: LinkedRegistration, container: Container) -> Any:
    """Take the place offered from the waitlist, through the signed link."""
    return registration_row(await container.waitlist.accept_offer(registration["_id"]))


@router.get("/registrations/{registration_id}", response_model=RegistrationView)
async def view_registration(
    registration: OwnedRegistration, container: Container
) -> dict[str, Any]:
    """A registration, for its owner (signed in) or staff."""
    return registration_row(registration) | await container.queries.owner_view(registration)


@router.get(
    "/registrations/{registration_id}/delivery",
    response_model=DeliveryOut,
    summary="What a message about the registration carries (the notification service only)",
)
async def delivery(
    registration_id: str, container: Container, caller: NotificationService, response: Response
) -> dict[str, Any]:
    """The owner's link always; the session link and check-in code only once confirmed.

    Read at send time, so that the online link never travels through Kafka or sits in a
    stored message."""
    registration = await container.queries.registration(registration_id)
    _, details = await container.queries.entitled(registration)
    response.headers["Cache-Control"] = "no-store"
    return {
        "registration_id": registration["_id"],
        "status": registration["status"],
        "manage_url": container.links.url(registration),
        "online_link": details.online_link,
        "check_in_code": details.check_in_code,
        "qr_value": details.qr_value,
        "certificate_url": await container.certificates.download_url(registration),
        "survey_url": await container.surveys.delivery_url(registration),
    }


@router.post("/registrations/{registration_id}/cancel", response_model=RegistrationOut)
async def cancel(
    registration: OwnedRegistration,
    container: Container,
    caller: Caller,
    body: CancelIn | None = None,
) -> dict[str, Any]:
    """Cancel a registration (its owner or an operator); the place goes to the waitlist."""
    if caller.kind != "participant" and not caller.has_any({Role.OPERATOR}):
        raise HTTPException(403, "this action needs another role")
    by = "owner" if caller.kind == "participant" else f"operator:{caller.subject}"
    reason = body.reason if body else None
    return registration_row(await container.waitlist.cancel(registration["_id"], reason, by=by))


@router.post("/registrations/{registration_id}/accept-offer", response_model=RegistrationOut)
async def accept_offer(
    registration: OwnedRegistration, container: Container, caller: Caller
) -> dict[str, Any]:
    """Take the place offered from the waitlist (the signed-in owner)."""
    if registration["person_id"] != caller.subject:
        raise HTTPException(403, "only the person registered can accept the offer")
    return registration_row(await container.waitlist.accept_offer(registration["_id"]))
