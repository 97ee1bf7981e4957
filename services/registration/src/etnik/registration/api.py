"""HTTP entrypoints of the registration service: thin, each builds a command and calls a handler."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from etnik.common.app import ServiceRuntime
from etnik.common.auth import Principal, Role, require_roles
from etnik.common.idempotency import IDEMPOTENCY_HEADER, fingerprint
from etnik.common.mongo import Document
from etnik.registration.schemas import (
    EventIn,
    EventOut,
    RegistrationIn,
    RegistrationOut,
    TokenOut,
    TokenRequest,
)
from etnik.registration.service import DomainError

router = APIRouter()

Operator = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]


def _event_out(event: Document) -> dict[str, Any]:
    return EventOut(id=event["_id"], **{k: v for k, v in event.items() if k != "_id"}).model_dump(
        mode="json"
    )


def _registration_out(registration: Document) -> dict[str, Any]:
    return RegistrationOut(
        id=registration["_id"],
        event_id=registration["event_id"],
        person_id=registration["person_id"],
        status=registration["status"],
        created_at=registration["created_at"],
    ).model_dump(mode="json")


@router.post("/auth/token", response_model=TokenOut, tags=["identity"], summary="Operator sign-in")
async def sign_in(body: TokenRequest, request: Request) -> TokenOut:
    """Exchange an operator's email and password for a short-lived access token."""
    state = request.app.state
    account = await state.accounts.authenticate(body.email, body.password)
    if account is None:
        raise HTTPException(401, "wrong email or password")
    token, ttl = state.signing_key.issue(
        state.settings, subject=account["_id"], kind="operator", roles=account["roles"]
    )
    return TokenOut(access_token=token, expires_in=ttl)


@router.get("/auth/jwks", tags=["identity"], summary="Public keys that verify access tokens")
async def jwks(request: Request) -> dict[str, Any]:
    """The JSON Web Key Set every service verifies tokens with."""
    keys: dict[str, Any] = request.app.state.signing_key.jwks()
    return keys


@router.post("/events", status_code=201, response_model=EventOut, tags=["programme"])
async def create_event(
    body: EventIn,
    request: Request,
    operator: Operator,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> JSONResponse:
    """Create a programme event (operators)."""
    service = request.app.state.service

    async def action() -> tuple[int, Any]:
        return 201, _event_out(await service.create_event(body))

    runtime: ServiceRuntime = request.app.state.runtime
    return await runtime.idempotency.run(
        scope=f"events:{operator.subject}",
        key=idempotency_key,
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        action=action,
    )


@router.get("/events", response_model=list[EventOut], tags=["programme"])
async def list_events(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Public list of events that are visible (published or later)."""
    visible = ["published", "registration_open", "closed", "completed", "cancelled"]
    events = await request.app.state.repository.list_events(
        statuses=visible, limit=limit, offset=offset
    )
    return [_event_out(event) for event in events]


@router.get("/events/{event_id}", response_model=EventOut, tags=["programme"])
async def get_event(event_id: str, request: Request) -> dict[str, Any]:
    """One visible event."""
    event = await request.app.state.repository.get_event(event_id)
    if event is None or event.get("status") == "draft":
        raise HTTPException(404, "unknown event")
    return _event_out(event)


@router.post(
    "/events/{event_id}/registrations",
    status_code=201,
    response_model=RegistrationOut,
    tags=["registrations"],
    responses={200: {"description": "This person was already registered: the existing one"}},
)
async def register(
    event_id: str,
    body: RegistrationIn,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> JSONResponse:
    """Public registration form; a person registering twice gets their registration back."""
    service = request.app.state.service

    async def action() -> tuple[int, Any]:
        try:
            result = await service.register(event_id, body)
        except DomainError as error:
            return error.status_code, {"detail": error.reason}
        return (201 if result.created else 200), _registration_out(result.registration)

    runtime: ServiceRuntime = request.app.state.runtime
    return await runtime.idempotency.run(
        scope=f"registrations:{event_id}",
        key=idempotency_key,
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        action=action,
    )
