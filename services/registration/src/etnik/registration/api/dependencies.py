"""What routes declare (FastAPI `Annotated` dependencies): the caller and the roles a route
needs, the registration a route is about, and the shared header and query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request

from etnik.common.auth import Principal, Role, current_principal, require_roles, require_service
from etnik.common.idempotency import IDEMPOTENCY_HEADER
from etnik.common.mongo import Document
from etnik.registration.consents import ClientContext
from etnik.registration.container import Container
from etnik.registration.settings import NOTIFICATION_CLIENT

Caller = Annotated[Principal, Depends(current_principal)]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Operator = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]
Moderator = Annotated[Principal, Depends(require_roles(Role.MODERATOR))]
Staff = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.MODERATOR))]
CheckIn = Annotated[Principal, Depends(require_roles(Role.CHECK_IN))]
AnyStaff = Annotated[
    Principal, Depends(require_roles(Role.OPERATOR, Role.MODERATOR, Role.CHECK_IN))
]
AttendanceRecorder = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.CHECK_IN))]
NotificationService = Annotated[Principal, Depends(require_service(NOTIFICATION_CLIENT))]
IdempotencyKey = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
# An invitation-only event is shown to the holder of an invitation link to it, to nobody else.
InvitationToken = Annotated[
    str | None,
    Query(alias="invitation", max_length=2000, description="The token of an invitation link"),
]
LinkToken = Annotated[str, Query(max_length=2000, description="The token of the owner's link")]


def participant_id(caller: Principal) -> str:
    """The signed-in participant's person id; 403 for anyone else."""
    if caller.kind != "participant":
        raise HTTPException(403, "this is a participant's own page; sign in with your email link")
    return caller.subject


def client_context(request: Request) -> ClientContext:
    """Where the request came from, kept with the consents it gives (152-FZ evidence)."""
    return ClientContext(
        # The gateway replaces X-Real-IP with the connection's address; a client cannot set it.
        ip=request.headers.get("x-real-ip") or (request.client.host if request.client else None),
        user_agent=request.headers.get("user-agent"),
    )


async def registration_by_link(token: LinkToken, container: Container) -> Document:
    """The registration the owner's signed link points at; 410 expired, 403 not valid."""
    return await container.queries.by_link(token)


async def owned_registration(
    registration_id: str, container: Container, caller: Caller
) -> Document:
    """The registration if the caller owns it or is staff; 404 otherwise (no id probing)."""
    registration = await container.queries.registration(registration_id)
    staff = caller.has_any({Role.OPERATOR, Role.MODERATOR, Role.CHECK_IN})
    owner = caller.kind == "participant" and registration["person_id"] == caller.subject
    if not (staff or owner):
        raise HTTPException(404, "unknown registration")
    return registration


Client = Annotated[ClientContext, Depends(client_context)]
LinkedRegistration = Annotated[Document, Depends(registration_by_link)]
OwnedRegistration = Annotated[Document, Depends(owned_registration)]
