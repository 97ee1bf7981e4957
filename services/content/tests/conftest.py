"""Fixtures of the content service's tests: sample files, and the service on the real stack."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr
from pymongo import MongoClient
from pymongo.database import Database
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from etnik.common.settings import Environment
from etnik.content.main import create_app
from etnik.content.settings import ContentSettings
from etnik.devstack import Stack
from helpers import served

PdfMaker = Callable[..., bytes]


@pytest.fixture(scope="session")
def make_pdf() -> PdfMaker:
    """Makes one-page PDFs whose text layer holds the given lines (Cyrillic included)."""
    pdfmetrics.registerFont(TTFont("SampleSans", str(ContentSettings().pdf_font_file)))

    def make(*lines: str) -> bytes:
        buffer = io.BytesIO()
        page = canvas.Canvas(buffer, pagesize=A4)
        page.setFont("SampleSans", 12)
        for number, line in enumerate(lines):
            page.drawString(72, 760 - 20 * number, line)
        page.save()
        return buffer.getvalue()

    return make


class TokenSigner:
    """Signs access tokens as the registration service would, with a key of the tests' own."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = "content-tests"
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
        self._jwks = {"keys": [{**jwk, "kid": self.key_id, "alg": "ES256", "use": "sig"}]}

    async def load_jwks(self) -> dict[str, Any]:
        """The JWKS the service under test verifies with."""
        return self._jwks

    def token(self, subject: str, *, kind: str = "operator", roles: tuple[str, ...] = ()) -> str:
        """A valid access token."""
        now = int(time.time())
        claims = {
            "iss": "etnik-registration",
            "aud": "etnik",
            "sub": subject,
            "kind": kind,
            "roles": list(roles),
            "iat": now,
            "exp": now + 3600,
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.key_id})

    def headers(
        self, subject: str, *, kind: str = "operator", roles: tuple[str, ...] = ()
    ) -> dict[str, str]:
        """An Authorization header."""
        return {"Authorization": f"Bearer {self.token(subject, kind=kind, roles=roles)}"}


@dataclass(frozen=True)
class RunningContent:
    """The content service running in this process on the real Kafka and FerretDB."""

    url: str
    database: str
    settings: ContentSettings
    stack: Stack


@pytest.fixture(scope="session")
def signer() -> TokenSigner:
    """The key the tests sign tokens with."""
    return TokenSigner()


# Small, so that tests can go past it quickly.
TEST_UPLOAD_LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="session")
def content_service(infra: Stack, signer: TokenSigner) -> Iterator[RunningContent]:
    """The content service under uvicorn in a thread, with a database and group of its own."""
    suffix = uuid.uuid4().hex[:8]
    settings = ContentSettings(
        environment=Environment.TEST,
        # A name of its own keeps its consumer group apart from a platform in the same run.
        service_name=f"content-it-{suffix}",
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        mongodb_url=infra.mongodb_url,
        mongodb_database=f"etnik_content_it_{suffix}",
        max_upload_bytes=TEST_UPLOAD_LIMIT,
        outbox_relay_interval_s=0.5,
        outbox_relay_grace_s=1,
        kafka_publish_timeout_s=2,
        pseudonym_key=SecretStr("content-tests-pseudonym-key"),
    )
    app = create_app(settings, jwks_loader=signer.load_jwks)
    with served(app, "content-under-test") as url:
        yield RunningContent(url, settings.database_name, settings, infra)


@pytest.fixture
def client(content_service: RunningContent) -> Iterator[httpx.Client]:
    """An HTTP client on the content service under test."""
    with httpx.Client(base_url=content_service.url, timeout=30) as http:
        yield http


@pytest.fixture
def content_db(content_service: RunningContent) -> Iterator[Database[dict[str, Any]]]:
    """The service's own database, to seed projections and to check what was stored."""
    with MongoClient(content_service.stack.mongodb_url, tz_aware=True) as mongo:
        yield mongo[content_service.database]
