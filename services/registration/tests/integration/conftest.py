"""The registration app in this process, against the real Kafka and FerretDB of `infra`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from etnik.devstack import Stack
from etnik.registration.container import RegistrationContainer
from etnik.registration.main import create_app
from etnik.registration.settings import RegistrationSettings
from helpers import read_topic

ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "registration-admin-password-1"  # this test app only


@dataclass
class RegistrationApp:
    """A client on the in-process app, its container, its signing key and the stack."""

    client: httpx.AsyncClient
    container: RegistrationContainer
    private_key: ec.EllipticCurvePrivateKey
    stack: Stack
    admin_token: str

    async def published(
        self, topic: str, match: Callable[[dict[str, Any]], bool], wait_s: float = 20
    ) -> list[dict[str, Any]]:
        """CloudEvents on a topic that the predicate accepts (waits until one is there)."""

        def accept(record: Any) -> bool:
            envelope = _parsed(record.value)
            return envelope is not None and match(envelope)

        records = await asyncio.to_thread(read_topic, self.stack, topic, accept, wait_s)
        return [json.loads(record.value) for record in records]

    def auth(self, token: str) -> dict[str, str]:
        """Authorization header for a bearer token."""
        return {"Authorization": f"Bearer {token}"}

    async def operator(self, roles: list[str]) -> str:
        """A new operator account with these roles, signed in; its access token."""
        email = f"op.{uuid.uuid4().hex[:10]}@example.org"
        password = "operator-password-" + uuid.uuid4().hex[:8]
        created = await self.client.post(
            "/operators",
            json={"email": email, "password": password, "roles": roles},
            headers=self.auth(self.admin_token),
        )
        assert created.status_code == 201, created.text
        signed_in = await self.client.post(
            "/auth/token", json={"email": email, "password": password}
        )
        assert signed_in.status_code == 200, signed_in.text
        token: str = signed_in.json()["access_token"]
        return token

    async def event(self, **overrides: Any) -> dict[str, Any]:
        """An event whose registration is open (unless overridden), created by the admin."""
        body = {
            "title": "Стратегическая онлайн-сессия по Дальневосточному федеральному округу",
            "track": "online_sessions",
            "format": "online",
            "starts_at": "2027-03-01T11:00:00Z",
            "ends_at": "2027-03-01T14:00:00Z",
            "federal_district": "ДФО",
            "online_link": "https://telemost.yandex.ru/j/123456",
            "capacity": 100,
            "status": "registration_open",
            **overrides,
        }
        response = await self.client.post("/events", json=body, headers=self.auth(self.admin_token))
        assert response.status_code == 201, response.text
        event: dict[str, Any] = response.json()
        return event

    async def register(
        self, event_id: str, email: str | None = None, **overrides: Any
    ) -> httpx.Response:
        """Submit the public form."""
        body = {
            "full_name": "Айаал Николаев",
            "email": email or f"p.{uuid.uuid4().hex[:10]}@example.org",
            "category": "ngo_leader",
            "region_code": "14",
            "consent_personal_data": True,
            **overrides,
        }
        return await self.client.post(
            f"/events/{event_id}/registrations",
            json=body,
            headers={"Idempotency-Key": uuid.uuid4().hex, "User-Agent": "pytest-browser/1.0"},
        )


def _parsed(value: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(value)
    except ValueError:
        return None  # another test's garbage on a shared topic
    return parsed if isinstance(parsed, dict) else None


@pytest.fixture(scope="session")
def signing_key(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[ec.EllipticCurvePrivateKey, Path]:
    """The app's signing key, which tests also hold to forge well-signed but wrong tokens."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path_factory.mktemp("keys") / "jwt.pem"
    key_file.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return private_key, key_file


NewApp = Callable[..., contextlib.AbstractAsyncContextManager[RegistrationApp]]


@pytest.fixture(scope="session")
def new_registration_app(
    infra: Stack, signing_key: tuple[ec.EllipticCurvePrivateKey, Path]
) -> NewApp:
    """Start another registration app in this process: `async with new_registration_app(
    database=..., **settings) as app`; a database of its own unless one is named."""

    @contextlib.asynccontextmanager
    async def running(
        database: str | None = None, **overrides: Any
    ) -> AsyncIterator[RegistrationApp]:
        private_key, key_file = signing_key
        fields: dict[str, Any] = {
            "environment": "test",
            "kafka_bootstrap_servers": infra.kafka_bootstrap,
            "mongodb_url": infra.mongodb_url,
            "mongodb_database": database or f"etnik_registration_it_{uuid.uuid4().hex[:8]}",
            "jwt_private_key_file": key_file,
            "admin_email": ADMIN_EMAIL,
            "admin_password": ADMIN_PASSWORD,
            "outbox_relay_interval_s": 0.5,
            "outbox_relay_grace_s": 1,
            "kafka_publish_timeout_s": 5,
            "public_base_url": "https://etnik.test",
            **overrides,
        }
        app = create_app(RegistrationSettings(**fields))
        async with app.router.lifespan_context(app):
            container: RegistrationContainer = app.state.container
            await asyncio.wait_for(container.runtime.database_initialised.wait(), timeout=60)
            await asyncio.wait_for(container.runtime.kafka.started.wait(), timeout=60)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://registration"
            ) as client:
                signed_in = await client.post(
                    "/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                )
                assert signed_in.status_code == 200, signed_in.text
                yield RegistrationApp(
                    client, container, private_key, infra, signed_in.json()["access_token"]
                )

    return running


@pytest.fixture(scope="session")
async def registration(new_registration_app: NewApp) -> AsyncIterator[RegistrationApp]:
    """One app for the session, on its own database, with short offer expiry."""
    async with new_registration_app(offer_ttl_s=2, offer_check_interval_s=0.3) as app:
        yield app
