"""A person's export, registration's side, on the real Kafka and FerretDB: the other services'
parts are read with registration's own service token; a service that hangs, cannot be reached
or refuses is named as a missing section with its reason (the export is still given, never
silently incomplete); the PDF is readable Russian; a participant exports only themself.

The other services here are stand-ins on real sockets (one never answers, one port is closed,
one refuses and records the token it was shown); the whole path with the real services is
tests/e2e/test_person_export.py.
"""

from __future__ import annotations

import asyncio
import io
import socket
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from pypdf import PdfReader

if TYPE_CHECKING:
    from conftest import NewApp, RegistrationApp

PEER_TIMEOUT_S = 1.0
SIGN_IN_LINKS_TOPIC = "etnik.registration.sign_in_links.v1"
ADMIN_EMAIL = "export-admin@example.org"
ADMIN_PASSWORD = "export-admin-password-1"  # this test app only


class Peers:
    """Stand-ins for the other services: hung, gone, and refusing (recording the token)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.servers: list[asyncio.Server] = []

    async def hung(self) -> str:
        """Accepts the connection and never answers."""

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the client gives up
            writer.close()

        return await self._serve(hold)

    async def refusing(self) -> str:
        """Answers 403, as a service does to a token it does not accept."""

        async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            for line in head.split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "authorization":
                    self.tokens.append(value.strip().removeprefix("Bearer "))
            body = b'{"detail": "this action needs another role"}'
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            writer.close()

        return await self._serve(refuse)

    @staticmethod
    def gone() -> str:
        """A port nothing listens on."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, handler: Any) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        self.servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.fixture(scope="module")
async def peers() -> AsyncIterator[Peers]:
    """The stand-in services for this module."""
    stand_ins = Peers()
    yield stand_ins
    for server in stand_ins.servers:
        server.close()


@pytest.fixture(scope="module")
async def exporting(new_registration_app: NewApp, peers: Peers) -> AsyncIterator[RegistrationApp]:
    """A registration app of its own whose export reads the stand-ins, with a short timeout."""
    async with new_registration_app(
        notification_url=await peers.hung(),
        content_url=peers.gone(),
        reporting_url=await peers.refusing(),
        export_peer_timeout_s=PEER_TIMEOUT_S,
    ) as app:
        yield app


async def _participant(app: RegistrationApp, event_id: str, name: str) -> tuple[str, str, str]:
    """A registered person signed in with their email link: (person id, email, access token)."""
    email = f"export.{uuid.uuid4().hex[:8]}@example.org"
    registered = await app.register(event_id, email, full_name=name)
    assert registered.status_code == 201, registered.text
    person_id = registered.json()["person_id"]
    await app.client.post("/auth/sign-in-link", json={"email": email})
    [link] = await app.published(SIGN_IN_LINKS_TOPIC, lambda e: e["subject"] == person_id)
    tokens = await app.client.post(
        "/auth/sign-in", json={"token": link["data"]["link"].split("token=")[1]}
    )
    assert tokens.status_code == 200, tokens.text
    return person_id, email, tokens.json()["access_token"]


def _pdf_text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


async def test_a_service_that_does_not_answer_is_named_missing_and_the_rest_is_given(
    exporting: RegistrationApp, peers: Peers
) -> None:
    event = await exporting.event()
    person_id, email, _ = await _participant(exporting, event["id"], "Сардана Егорова")
    admin = exporting.auth(exporting.admin_token)

    started = time.monotonic()
    answer = await exporting.client.get(f"/people/{person_id}/export", headers=admin)
    took = time.monotonic() - started

    assert answer.status_code == 200, answer.text
    exported = answer.json()
    # The services are read side by side: one hung service costs one timeout, not the request.
    assert took < PEER_TIMEOUT_S + 3, took
    assert exported["complete"] is False
    assert exported["missing_sections"] == ["notification", "content", "reporting"]
    sections = exported["services"]
    assert sections["notification"]["status"] == "missing"
    assert sections["notification"]["reason"] == "timeout"
    assert sections["content"]["reason"] == "unreachable"
    assert sections["reporting"]["reason"] == "refused"
    assert all("data" not in section for section in sections.values())
    # What registration holds is all there.
    assert exported["person"]["email"] == email
    assert [r["event_title"] for r in exported["registrations"]] == [event["title"]]
    assert exported["consents"][0]["scope"] == "personal_data"
    notice = exported["privacy_notice"]
    for part in ("purposes", "categories", "recipients", "retention", "rights", "how_to_exercise"):
        assert notice[part], part
    assert any("SMTP" in recipient["name"] for recipient in notice["recipients"])
    # The services were asked with registration's own service token, which they can verify.
    claims = jwt.decode(
        peers.tokens[-1],
        exporting.private_key.public_key(),
        algorithms=["ES256"],
        audience="etnik",
        issuer="etnik-registration",
    )
    assert (claims["kind"], claims["sub"], claims["roles"]) == ("service", "registration", [])


async def test_the_pdf_is_readable_russian_and_says_which_part_is_missing(
    exporting: RegistrationApp,
) -> None:
    event = await exporting.event()
    person_id, email, token = await _participant(exporting, event["id"], "Туйаара Петрова")

    mine = await exporting.client.get("/me/export.pdf", headers=exporting.auth(token))

    assert mine.status_code == 200, mine.text
    assert mine.headers["content-type"] == "application/pdf"
    assert mine.headers["cache-control"] == "no-store"
    assert 'filename="etnik-personal-data-' in mine.headers["content-disposition"]
    text = _pdf_text(mine.content)
    for heading in (
        "Сведения о ваших персональных данных",
        "Сервис регистрации",
        "Регистрации на мероприятия",
        "Сервис уведомлений",
        "Раздел не получен: сервис не ответил вовремя",
        "Раздел не получен: сервис недоступен",
        "Раздел не получен: сервис отказал в доступе",
        "Обработка персональных данных (ст. 14 152-ФЗ)",
        "Цели обработки",
        "Категории данных",
        "Получатели данных",
        "Сроки хранения",
        "Ваши права",
    ):
        assert heading in text, heading
    assert "Туйаара Петрова" in text
    assert email in text
    assert event["title"] in text
    # An administrator answering a written request gets the same document.
    theirs = await exporting.client.get(
        f"/people/{person_id}/export.pdf", headers=exporting.auth(exporting.admin_token)
    )
    assert theirs.status_code == 200, theirs.text
    assert email in _pdf_text(theirs.content)


async def test_a_participant_exports_only_themself(exporting: RegistrationApp) -> None:
    event = await exporting.event()
    me, my_email, token = await _participant(exporting, event["id"], "Айсен Иванов")
    other, other_email, _ = await _participant(exporting, event["id"], "Нюргун Сидоров")
    as_me = exporting.auth(token)

    for path in (f"/people/{other}/export", f"/people/{other}/export.pdf"):
        refused = await exporting.client.get(path, headers=as_me)
        assert refused.status_code == 403, (path, refused.text)
        # Their own id on the operators' route is refused too: a participant uses /me.
        assert (
            await exporting.client.get(path.replace(other, me), headers=as_me)
        ).status_code == 403
    for path in (
        "/me/export",
        "/me/export.pdf",
        f"/people/{other}/export",
        f"/people/{other}/export.pdf",
    ):
        assert (await exporting.client.get(path)).status_code == 401, path
    check_in = exporting.auth(await exporting.operator(["check_in"]))
    assert (
        await exporting.client.get(f"/people/{other}/export", headers=check_in)
    ).status_code == 403

    mine = await exporting.client.get("/me/export", headers=as_me)
    assert mine.status_code == 200, mine.text
    assert mine.json()["person"]["id"] == me
    assert my_email in mine.text
    assert other_email not in mine.text
    unknown = await exporting.client.get(
        f"/people/{uuid.uuid4().hex}/export", headers=exporting.auth(exporting.admin_token)
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "unknown person"
