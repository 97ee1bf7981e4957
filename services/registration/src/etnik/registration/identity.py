"""Identity: signing keys, access tokens, the JWKS, and operator accounts with argon2 passwords."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from etnik.common.auth import ALGORITHMS, SERVICE_KIND, KeyLoader, Role
from etnik.common.contracts.registration import OperatorAccountChanged, SignInLinkRequested
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, update_with_outbox, with_outbox
from etnik.registration.errors import DomainError
from etnik.registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verified against when an account does not exist, so that timing does not reveal which exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_DUMMY_CLIENT_SECRET = secrets.token_urlsafe(32)


LINK_ISSUER = "etnik-registration-links"
LINK_AUDIENCE_PREFIX = "etnik:link:"


class LinkInvalid(Exception):
    """A link token that is malformed, forged or meant for another purpose."""


class LinkExpired(LinkInvalid):
    """A link token past its expiry."""


def _key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    public_pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(public_pem).hexdigest()[:16]


def _public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    return {**jwk, "kid": _key_id(public_key), "alg": ALGORITHMS[0], "use": "sig"}


def _load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """The public half of an EC P-256 key from a PEM file holding either half."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path.name} must hold an EC P-256 key")
        return private.public_key()
    public = serialization.load_pem_public_key(data)
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ValueError(f"{path.name} must hold an EC P-256 key")
    return public


class SigningKey:
    """The EC P-256 key that signs tokens and links, and the keys it replaced, as JWKs.

    Rotation: the new key signs; the previous ones stay in the JWKS and verify links until
    everything they signed has expired (see docs/operations.md).
    """

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        previous: list[ec.EllipticCurvePublicKey] | None = None,
    ) -> None:
        self._private_key = private_key
        self.key_id = _key_id(private_key.public_key())
        self.public_jwk = _public_jwk(private_key.public_key())
        self._verifying = {self.key_id: private_key.public_key()}
        for public_key in previous or []:
            self._verifying.setdefault(_key_id(public_key), public_key)

    @classmethod
    def load(cls, settings: RegistrationSettings) -> SigningKey:
        """The configured key; outside production a fresh one when none is configured."""
        previous = [_load_public_key(path) for path in settings.jwt_previous_key_files]
        if settings.jwt_private_key_file is not None:
            loaded = serialization.load_pem_private_key(
                settings.jwt_private_key_file.read_bytes(), password=None
            )
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError("JWT_PRIVATE_KEY_FILE must hold an EC P-256 private key")
            return cls(loaded, previous)
        log.warning("no JWT_PRIVATE_KEY_FILE: signing with a key generated for this process")
        return cls(ec.generate_private_key(ec.SECP256R1()), previous)

    def jwks(self) -> dict[str, Any]:
        """The public keys, as served at /auth/jwks: the signing key first."""
        return {"keys": [_public_jwk(key) for key in self._verifying.values()]}

    def jwks_loader(self) -> KeyLoader:
        """A key loader for this process's own verifier."""

        async def load() -> dict[str, Any]:
            """This process's public keys."""
            return self.jwks()

        return load

    def sign_link(self, *, purpose: str, subject: str, ttl_s: int, **claims: Any) -> str:
        """A signed link token (manage, invitation): its own audience, never an access token."""
        now = int(time.time())
        body = {
            "iss": LINK_ISSUER,
            "aud": f"{LINK_AUDIENCE_PREFIX}{purpose}",
            "sub": subject,
            "iat": now,
            "exp": now + ttl_s,
            **claims,
        }
        return jwt.encode(
            body, self._private_key, algorithm=ALGORITHMS[0], headers={"kid": self.key_id}
        )

    def verify_link(self, token: str, *, purpose: str) -> dict[str, Any]:
        """The claims of a link token; LinkExpired or LinkInvalid when it cannot be used."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._verifying.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise LinkInvalid("this link is not valid")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=f"{LINK_AUDIENCE_PREFIX}{purpose}",
                issuer=LINK_ISSUER,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise LinkExpired("this link has expired") from error
        except jwt.PyJWTError as error:
            raise LinkInvalid("this link is not valid") from error
        return claims

    def issue(
        self,
        settings: RegistrationSettings,
        *,
        subject: str,
        kind: str,
        roles: list[str],
        ttl_s: int | None = None,
    ) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        now = int(time.time())
        ttl = ttl_s or settings.access_token_ttl_s
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
    """Operator accounts: email, argon2 password hash and roles; every change is an event."""

    def __init__(self, collection: AsyncCollection[Document], staging: Outbox) -> None:
        self._collection = collection
        self._staging = staging

    async def ensure_indexes(self) -> None:
        """One account per email."""
        await self._collection.create_index("email", unique=True)

    async def create(
        self, email: str, password: str, roles: list[Role], *, by: str | None = None
    ) -> str | None:
        """Create an account and return its id; None when one with this email exists."""
        account_id = secrets.token_hex(12)
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        now = datetime.now(UTC)
        account = {
            "_id": account_id,
            "email": email.strip().lower(),
            "password_hash": password_hash,
            "roles": [role.value for role in roles],
            "created_at": now,
            "active": True,
        }
        staged = self._staging.stage(_account_changed(account, ["created"], by, now))
        try:
            await self._collection.insert_one(with_outbox(account, staged))
        except DuplicateKeyError:
            return None
        await self._staging.flush(self._collection, account_id, staged)
        return account_id

    async def update(
        self, account_id: str, *, roles: list[Role] | None, active: bool | None, by: str
    ) -> Document:
        """Change an account's roles or activity; an administrator cannot lock themselves out."""
        current = await self._collection.find_one({"_id": account_id}, {"password_hash": 0})
        if current is None:
            raise DomainError(404, "unknown operator account")
        changes: Document = {}
        if roles is not None and sorted(r.value for r in roles) != sorted(current["roles"]):
            changes["roles"] = sorted({role.value for role in roles})
        if active is not None and active != current.get("active", True):
            changes["active"] = active
        if not changes:
            return current
        if account_id == by and (
            changes.get("active") is False
            or Role.ADMIN.value not in changes.get("roles", ["admin"])
        ):
            raise DomainError(409, "administrators cannot deactivate or demote themselves")
        now = datetime.now(UTC)
        after = {**current, **changes}
        staged = self._staging.stage(_account_changed(after, sorted(changes), by, now))
        await self._collection.update_one(
            {"_id": account_id},
            update_with_outbox({"$set": {**changes, "updated_at": now}}, staged),
        )
        await self._staging.flush(self._collection, account_id, staged)
        return after

    async def change_password(self, account_id: str, current: str, new: str) -> None:
        """Replace one's own password after proving the current one."""
        account = await self._collection.find_one({"_id": account_id, "active": True})
        if account is None or not await asyncio.to_thread(
            _password_matches, account["password_hash"], current
        ):
            raise DomainError(403, "the current password is not right")
        now = datetime.now(UTC)
        password_hash = await asyncio.to_thread(_hasher.hash, new)
        staged = self._staging.stage(_account_changed(account, ["password"], account_id, now))
        await self._collection.update_one(
            {"_id": account_id},
            update_with_outbox(
                {"$set": {"password_hash": password_hash, "updated_at": now}}, staged
            ),
        )
        await self._staging.flush(self._collection, account_id, staged)

    async def authenticate(self, email: str, password: str) -> Document | None:
        """The account when the password matches, else None (in constant-ish time)."""
        account = await self._collection.find_one({"email": email.strip().lower(), "active": True})
        stored_hash = account["password_hash"] if account else _DUMMY_HASH
        # argon2 takes tens of milliseconds of CPU: off the event loop, so requests keep flowing.
        if not await asyncio.to_thread(_password_matches, stored_hash, password):
            return None
        return account

    async def get(self, account_id: str) -> Document | None:
        """An active account by id (without its password hash)."""
        return await self._collection.find_one(
            {"_id": account_id, "active": True}, {"password_hash": 0}
        )

    async def list(self) -> list[Document]:
        """Every account, without password hashes."""
        return await self._collection.find({}, {"password_hash": 0}).sort("email", 1).to_list()


def _account_changed(
    account: Document, changes: list[str], by: str | None, at: datetime
) -> OperatorAccountChanged:
    # No email and never a hash: the event is an audit trail of roles, not a staff directory.
    return OperatorAccountChanged(
        account_id=account["_id"],
        roles=list(account["roles"]),
        active=bool(account.get("active", True)),
        changes=changes,
        changed_by=by,
        changed_at=at,
    )


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(raw: str) -> str:
    """What is stored of a bearer secret (refresh token, sign-in link): never the secret itself."""
    return hashlib.sha256(raw.encode()).hexdigest()


class RefreshTokens:
    """Long-lived, revocable refresh tokens; each use rotates the token."""

    def __init__(self, collection: AsyncCollection[Document], ttl_s: int) -> None:
        self._collection = collection
        self._ttl = timedelta(seconds=ttl_s)

    async def ensure_indexes(self) -> None:
        """Look-ups by subject (sign-out everywhere, erasure)."""
        await self._collection.create_index("subject")

    async def issue(self, *, subject: str, kind: str) -> str:
        """A new refresh token for a subject."""
        raw = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        await self._collection.insert_one(
            {
                "_id": token_digest(raw),
                "subject": subject,
                "kind": kind,
                "created_at": now,
                "expires_at": now + self._ttl,
                "revoked_at": None,
            }
        )
        return raw

    async def consume(self, raw: str) -> Document | None:
        """Revoke a live token and return it (for rotation); None if unknown, used or expired."""
        now = datetime.now(UTC)
        return await self._collection.find_one_and_update(
            {"_id": token_digest(raw), "revoked_at": None, "expires_at": {"$gt": now}},
            {"$set": {"revoked_at": now}},
        )

    async def revoke_subject(self, subject: str) -> None:
        """Revoke every token of a subject."""
        await self._collection.update_many(
            {"subject": subject, "revoked_at": None}, {"$set": {"revoked_at": datetime.now(UTC)}}
        )


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


class IdentityService:
    """Sign-in of operators (password) and participants (one-time email link); tokens."""

    def __init__(
        self,
        *,
        settings: RegistrationSettings,
        signing_key: SigningKey,
        accounts: OperatorAccounts,
        refresh_tokens: RefreshTokens,
        sign_in_links: AsyncCollection[Document],
        people: AsyncCollection[Document],
        staging: Outbox,
    ) -> None:
        self._settings = settings
        self._key = signing_key
        self._accounts = accounts
        self._refresh = refresh_tokens
        self._links = sign_in_links
        self._people = people
        self._staging = staging

    async def _tokens(self, *, subject: str, kind: str, roles: list[str]) -> dict[str, Any]:
        access, ttl = self._key.issue(self._settings, subject=subject, kind=kind, roles=roles)
        refresh = await self._refresh.issue(subject=subject, kind=kind)
        return {"access_token": access, "expires_in": ttl, "refresh_token": refresh}

    async def operator_sign_in(self, email: str, password: str) -> dict[str, Any] | None:
        """Tokens for an operator whose password matches, else None."""
        account = await self._accounts.authenticate(email, password)
        if account is None:
            return None
        return await self._tokens(subject=account["_id"], kind="operator", roles=account["roles"])

    async def request_sign_in_link(self, email: str) -> None:
        """Stage a one-time link for notification to email; silent for unknown addresses."""
        person = await self._people.find_one({"email": email.strip().lower()})
        if person is None or person.get("erased"):
            return  # the answer is the same either way: no way to learn who is registered
        raw = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=self._settings.sign_in_link_ttl_s)
        link_id = token_digest(raw)
        base = self._settings.public_base_url.rstrip("/")
        staged = self._staging.stage(
            SignInLinkRequested(
                person_id=person["_id"],
                email=person["email"],
                locale=person.get("locale", "ru"),
                link=f"{base}/sign-in?token={raw}",
                expires_at=expires,
            )
        )
        await self._links.insert_one(
            with_outbox(
                {
                    "_id": link_id,
                    "person_id": person["_id"],
                    "created_at": now,
                    "expires_at": expires,
                    "used_at": None,
                },
                staged,
            )
        )
        await self._staging.flush(self._links, link_id, staged)

    async def participant_sign_in(self, raw: str) -> dict[str, Any] | None:
        """Tokens for the person a one-time link belongs to; None if unknown, used or expired."""
        now = datetime.now(UTC)
        link = await self._links.find_one_and_update(
            {"_id": token_digest(raw), "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}},
        )
        if link is None:
            return None
        person = await self._people.find_one({"_id": link["person_id"]})
        if person is None or person.get("erased"):
            return None
        return await self._tokens(subject=person["_id"], kind="participant", roles=[])

    async def refresh(self, raw: str) -> dict[str, Any] | None:
        """New tokens for a live refresh token, which is spent; None if it cannot be used."""
        spent = await self._refresh.consume(raw)
        if spent is None:
            return None
        if spent["kind"] == "operator":
            # Roles are read again, so a changed or deactivated account takes effect here.
            account = await self._accounts.get(spent["subject"])
            if account is None:
                return None
            return await self._tokens(
                subject=account["_id"], kind="operator", roles=account["roles"]
            )
        person = await self._people.find_one({"_id": spent["subject"]})
        if person is None or person.get("erased"):
            return None
        return await self._tokens(subject=person["_id"], kind="participant", roles=[])

    def service_token(self, client_id: str, client_secret: str) -> dict[str, Any] | None:
        """A short-lived token of kind "service" for a platform service that proves its client
        secret (no refresh token: it asks again); None for an unknown client or a wrong secret."""
        expected = self._settings.service_clients().get(client_id)
        # Compared in constant time, and against something even for an unknown client.
        matches = hmac.compare_digest(
            (expected or _DUMMY_CLIENT_SECRET).encode(), client_secret.encode()
        )
        if expected is None or not matches:
            log.warning("a service token was refused: unknown client or wrong secret")
            return None
        token, ttl = self._key.issue(
            self._settings,
            subject=client_id,
            kind=SERVICE_KIND,
            roles=[],
            ttl_s=self._settings.service_token_ttl_s,
        )
        log.info("issued a service token to %s", client_id)
        return {"access_token": token, "expires_in": ttl}

    def own_service_token(self) -> str:
        """A short-lived service token of registration itself, for its reads from the other
        services (a person's export): signed here, so no secret is exchanged."""
        token, _ = self._key.issue(
            self._settings,
            subject=self._settings.service_name,
            kind=SERVICE_KIND,
            roles=[],
            ttl_s=self._settings.service_token_ttl_s,
        )
        return token

    async def sign_out(self, raw: str) -> None:
        """Revoke a refresh token (access tokens end by themselves within minutes)."""
        await self._refresh.consume(raw)

    async def sign_out_everywhere(self, subject: str) -> None:
        """Revoke every refresh token of a subject."""
        await self._refresh.revoke_subject(subject)
