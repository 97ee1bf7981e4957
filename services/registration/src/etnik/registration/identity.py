"""Identity: signing keys, access tokens, the JWKS, and operator accounts with argon2 passwords."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from etnik.common.auth import ALGORITHMS, KeyLoader, Role
from etnik.common.mongo import Document
from etnik.registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verified against when an account does not exist, so that timing does not reveal which exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class SigningKey:
    """The EC P-256 key that signs access tokens, and its public half as a JWK."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self._private_key = private_key
        public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = hashlib.sha256(public_pem).hexdigest()[:16]
        jwk: dict[str, Any] = json.loads(
            jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key())
        )
        self.public_jwk = {**jwk, "kid": self.key_id, "alg": ALGORITHMS[0], "use": "sig"}

    @classmethod
    def load(cls, settings: RegistrationSettings) -> SigningKey:
        """The configured key; outside production a fresh one when none is configured."""
        if settings.jwt_private_key_file is not None:
            loaded = serialization.load_pem_private_key(
                settings.jwt_private_key_file.read_bytes(), password=None
            )
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError("JWT_PRIVATE_KEY_FILE must hold an EC P-256 private key")
            return cls(loaded)
        log.warning("no JWT_PRIVATE_KEY_FILE: signing with a key generated for this process")
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def jwks(self) -> dict[str, Any]:
        """The public keys, as served at /auth/jwks."""
        return {"keys": [self.public_jwk]}

    def jwks_loader(self) -> KeyLoader:
        """A key loader for this process's own verifier."""

        async def load() -> dict[str, Any]:
            return self.jwks()

        return load

    def issue(
        self,
        settings: RegistrationSettings,
        *,
        subject: str,
        kind: str,
        roles: list[str],
    ) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        now = int(time.time())
        ttl = settings.access_token_ttl_s
        claims = {
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "sub": subject,
            "kind": kind,
            "roles": roles,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(12),
        }
        token = jwt.encode(
            claims, self._private_key, algorithm=ALGORITHMS[0], headers={"kid": self.key_id}
        )
        return token, ttl


class OperatorAccounts:
    """Operator accounts: email, argon2 password hash and roles."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        """One account per email."""
        await self._collection.create_index("email", unique=True)

    async def create(self, email: str, password: str, roles: list[Role]) -> bool:
        """Create an account; False when one with this email exists."""
        try:
            await self._collection.insert_one(
                {
                    "_id": secrets.token_hex(12),
                    "email": email.strip().lower(),
                    "password_hash": _hasher.hash(password),
                    "roles": [role.value for role in roles],
                    "created_at": datetime.now(UTC),
                    "active": True,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def authenticate(self, email: str, password: str) -> Document | None:
        """The account when the password matches, else None (in constant-ish time)."""
        account = await self._collection.find_one({"email": email.strip().lower(), "active": True})
        try:
            _hasher.verify(account["password_hash"] if account else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return account


async def bootstrap_admin(accounts: OperatorAccounts, settings: RegistrationSettings) -> None:
    """Create the first administrator from the settings, when a password is configured."""
    if settings.admin_password is None:
        if not settings.is_production:
            log.warning("ADMIN_PASSWORD not set: no administrator account was created")
        return
    if await accounts.create(
        settings.admin_email, settings.admin_password.get_secret_value(), [Role.ADMIN]
    ):
        log.info("created the administrator account from ADMIN_EMAIL")
