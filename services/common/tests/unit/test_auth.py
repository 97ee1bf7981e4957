"""Token verification refuses every forged, expired or misdirected token."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from etnik.common.auth import InvalidToken, JwtVerifier, Role

ISSUER, AUDIENCE, KID = "etnik-registration", "etnik", "k1"
KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_JWK = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key())), "kid": KID}


def _verifier() -> JwtVerifier:
    async def load() -> dict[str, Any]:
        return {"keys": [PUBLIC_JWK]}

    return JwtVerifier(load, issuers=[ISSUER], audience=AUDIENCE)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": now, "exp": now + 60}
    claims["roles"] = ["operator"]
    return {**claims, **overrides}


def _sign(claims: dict[str, Any], key: Any = KEY, alg: str = "ES256", kid: str = KID) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


async def test_a_valid_token_gives_its_principal() -> None:
    principal = await _verifier().principal(_sign(_claims()))
    assert principal.subject == "u1"
    assert principal.roles == {Role.OPERATOR}


async def test_alg_none_is_refused() -> None:
    token = f"{_b64({'alg': 'none', 'kid': KID})}.{_b64(_claims())}."
    with pytest.raises(InvalidToken, match="algorithm"):
        await _verifier().verify(token)


async def test_hs256_signed_with_the_public_key_is_refused() -> None:
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": KID, "typ": "JWT"}
    signing_input = f"{_b64(header)}.{_b64(_claims())}"
    import hashlib
    import hmac

    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    with pytest.raises(InvalidToken, match="algorithm"):
        await _verifier().verify(token)


async def test_rs256_from_another_key_is_refused() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken, match="algorithm"):
        await _verifier().verify(_sign(_claims(), key=other, alg="RS256"))


async def test_a_token_signed_by_another_ec_key_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidToken, match="invalid token"):
        await _verifier().verify(_sign(_claims(), key=other))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (_claims(exp=int(time.time()) - 120), "expired"),
        (_claims(aud="someone-else"), "audience"),
        (_claims(iss="https://evil.example"), "untrusted issuer"),
    ],
)
async def test_expired_or_misdirected_tokens_are_refused(
    claims: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidToken, match=reason):
        await _verifier().verify(_sign(claims))


async def test_an_unknown_key_id_is_refused() -> None:
    with pytest.raises(InvalidToken, match="unknown signing key"):
        await _verifier().verify(_sign(_claims(), kid="k2"))


async def test_garbage_is_refused() -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        await _verifier().verify("not-a-token")


async def test_unknown_roles_are_dropped() -> None:
    principal = await _verifier().principal(_sign(_claims(roles=["operator", "superuser"])))
    assert principal.roles == {Role.OPERATOR}
