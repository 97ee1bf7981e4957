"""Verifying the platform's access tokens: asymmetric JWTs checked against the JWKS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

# Fixed, never taken from the token's header: this is what stops alg=none and HS/RS confusion.
ALGORITHMS = ["ES256"]
# The `kind` of a token issued to another platform service (client credentials), never a person.
SERVICE_KIND = "service"


class Role(StrEnum):
    """What an operator account may do."""

    ADMIN = "admin"
    OPERATOR = "operator"
    MODERATOR = "moderator"
    CHECK_IN = "check_in"


class Principal(BaseModel):
    """Who is calling: an operator with roles, a participant, or a platform service (no roles)."""

    subject: str
    kind: str
    roles: frozenset[Role] = frozenset()

    def has_any(self, roles: set[Role]) -> bool:
        """Whether the principal holds one of the roles (admin holds every role)."""
        return Role.ADMIN in self.roles or bool(self.roles & roles)


class InvalidToken(Exception):
    """A token that is malformed, forged, expired or meant for someone else."""


KeyLoader = Callable[[], Awaitable[dict[str, Any]]]


class JwtVerifier:
    """Checks signature, algorithm, issuer, audience and expiry; caches the JWKS."""

    def __init__(
        self,
        load_jwks: KeyLoader,
        *,
        issuers: list[str],
        audience: str,
        cache_s: float = 300.0,
        leeway_s: float = 5.0,
    ) -> None:
        self._load_jwks = load_jwks
        self._issuers = issuers
        self._audience = audience
        self._cache_s = cache_s
        self._leeway_s = leeway_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def _key(self, kid: str) -> jwt.PyJWK:
        stale = time.monotonic() - self._loaded_at > self._cache_s
        if kid not in self._keys or stale:
            async with self._lock:
                if kid not in self._keys or time.monotonic() - self._loaded_at > self._cache_s:
                    jwks = jwt.PyJWKSet.from_dict(await self._load_jwks())
                    self._keys = {key.key_id: key for key in jwks.keys if key.key_id}
                    self._loaded_at = time.monotonic()
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken("unknown signing key") from None

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or InvalidToken saying why not."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("malformed token") from error
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken("algorithm not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token names no signing key")
        try:
            key = await self._key(kid)
        except (httpx.HTTPError, jwt.PyJWTError) as error:
            raise InvalidToken("signing keys unavailable") from error
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuers,
                leeway=self._leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("token expired") from error
        except jwt.InvalidAudienceError as error:
            raise InvalidToken("token is for another audience") from error
        except jwt.InvalidIssuerError as error:
            raise InvalidToken("token from an untrusted issuer") from error
        except jwt.PyJWTError as error:
            raise InvalidToken("invalid token") from error
        return claims

    async def principal(self, token: str) -> Principal:
        """The verified caller behind a bearer token."""
        claims = await self.verify(token)
        roles = frozenset(Role(r) for r in claims.get("roles", []) if r in Role._value2member_map_)
        return Principal(
            subject=str(claims["sub"]), kind=str(claims.get("kind", "operator")), roles=roles
        )


def jwks_from_url(url: str, timeout_s: float = 3.0) -> KeyLoader:
    """A key loader that fetches the JWKS published by the registration service."""

    async def load() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.get(url)
            response.raise_for_status()
            keys: dict[str, Any] = response.json()
            return keys

    return load


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; 401 when the token is missing or invalid."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: JwtVerifier = request.app.state.jwt_verifier
    try:
        return await verifier.principal(credentials.credentials)
    except InvalidToken as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            str(error),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from error


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through operators holding one of the roles; 403 for others."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_any(set(roles)):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this action needs another role")
        return principal

    return check


def require_service(*clients: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through only these platform services' tokens; 403 for people."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.kind != SERVICE_KIND or principal.subject not in clients:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this endpoint is for platform services")
        return principal

    return check


def require_roles_or_service(
    roles: set[Role], clients: set[str]
) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through operators holding one of the roles and these platform
    services' tokens; 403 for anyone else (participants among them)."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.kind == SERVICE_KIND:
            if principal.subject in clients:
                return principal
        elif principal.has_any(roles):
            return principal
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this action needs another role")

    return check
