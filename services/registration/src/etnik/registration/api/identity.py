"""HTTP entrypoints of identity: operators' and participants' sign-in, tokens, the JWKS, and
operator accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response

from etnik.registration.api.answers import public
from etnik.registration.api.dependencies import Admin, AnyStaff
from etnik.registration.container import Container
from etnik.registration.schemas import (
    OperatorIn,
    OperatorOut,
    OperatorUpdate,
    PasswordChange,
    RefreshRequest,
    ServiceTokenRequest,
    SignInLinkRequest,
    SignInRequest,
    TokenOut,
    TokenRequest,
)

router = APIRouter(tags=["identity"])


@router.post("/auth/token", response_model=TokenOut, summary="Operator sign-in")
async def sign_in(body: TokenRequest, container: Container) -> TokenOut:
    """Exchange an operator's email and password for an access and a refresh token."""
    tokens = await container.identity.operator_sign_in(body.email, body.password)
    if tokens is None:
        raise HTTPException(401, "wrong email or password")
    return TokenOut(**tokens)


@router.post("/auth/sign-in-link", status_code=202)
async def request_sign_in_link(body: SignInLinkRequest, container: Container) -> dict[str, str]:
    """Email a participant a one-time sign-in link (the same answer for unknown addresses)."""
    await container.identity.request_sign_in_link(str(body.email))
    return {"detail": "if this address is registered, a sign-in link is on its way"}


@router.post("/auth/sign-in", response_model=TokenOut)
async def participant_sign_in(body: SignInRequest, container: Container) -> TokenOut:
    """Exchange a one-time link's token for a participant's tokens."""
    tokens = await container.identity.participant_sign_in(body.token)
    if tokens is None:
        raise HTTPException(401, "this sign-in link is unknown, used or expired")
    return TokenOut(**tokens)


@router.post("/auth/refresh", response_model=TokenOut)
async def refresh(body: RefreshRequest, container: Container) -> TokenOut:
    """Renew the tokens; the refresh token given is spent."""
    tokens = await container.identity.refresh(body.refresh_token)
    if tokens is None:
        raise HTTPException(401, "this refresh token is unknown, revoked or expired")
    return TokenOut(**tokens)


@router.post("/auth/sign-out", status_code=204)
async def sign_out(body: RefreshRequest, container: Container) -> Response:
    """Revoke a refresh token."""
    await container.identity.sign_out(body.refresh_token)
    return Response(status_code=204)


@router.post(
    "/auth/service-token",
    response_model=TokenOut,
    summary="Service sign-in (client credentials)",
)
async def service_token(
    body: ServiceTokenRequest, container: Container, response: Response
) -> TokenOut:
    """Exchange a platform service's client id and secret for a short-lived service token."""
    token = container.identity.service_token(body.client_id, body.client_secret)
    if token is None:
        raise HTTPException(401, "unknown client or wrong secret")
    response.headers["Cache-Control"] = "no-store"
    return TokenOut(**token)


@router.get("/auth/jwks", summary="Public keys that verify access tokens")
async def jwks(container: Container) -> dict[str, Any]:
    """The JSON Web Key Set every service verifies tokens with."""
    keys: dict[str, Any] = container.signing_key.jwks()
    return keys


@router.post("/operators", status_code=201, response_model=OperatorOut)
async def create_operator(body: OperatorIn, container: Container, admin: Admin) -> dict[str, Any]:
    """Create an operator account (administrators only)."""
    accounts = container.accounts
    account_id = await accounts.create(str(body.email), body.password, body.roles, by=admin.subject)
    if account_id is None:
        raise HTTPException(409, "an account with this email exists")
    account = await accounts.get(account_id)
    assert account is not None
    return public(account)


@router.patch("/operators/{account_id}", response_model=OperatorOut)
async def update_operator(
    account_id: str, body: OperatorUpdate, container: Container, admin: Admin
) -> dict[str, Any]:
    """Change an operator's roles, or deactivate or reactivate the account (administrators)."""
    account = await container.accounts.update(
        account_id, roles=body.roles, active=body.active, by=admin.subject
    )
    return public(account)


@router.post("/auth/password", status_code=204)
async def change_password(
    body: PasswordChange, container: Container, operator: AnyStaff
) -> Response:
    """Change one's own operator password; the current one is required."""
    await container.accounts.change_password(
        operator.subject, body.current_password, body.new_password
    )
    return Response(status_code=204)


@router.get("/operators", response_model=list[OperatorOut])
async def list_operators(container: Container, admin: Admin) -> list[dict[str, Any]]:
    """Every operator account (administrators only)."""
    return [public(account) for account in await container.accounts.list()]
