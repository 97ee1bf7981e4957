"""Helpers for tests that talk to the real stack."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from etnik.devstack import Stack


class Mailpit:
    """Reads messages that arrived at the local SMTP sink."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def messages_to(self, address: str) -> list[dict[str, Any]]:
        """Summaries of every message to this address."""
        response = self._client.get("/api/v1/search", params={"query": f'to:"{address}"'})
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def headers(self, message_id: str) -> dict[str, list[str]]:
        """A message's headers, each with all its values."""
        response = self._client.get(f"/api/v1/message/{message_id}/headers")
        response.raise_for_status()
        headers: dict[str, list[str]] = response.json()
        return headers

    def message(self, message_id: str) -> dict[str, Any]:
        """One message whole: headers, text, HTML, attachments."""
        response = self._client.get(f"/api/v1/message/{message_id}")
        response.raise_for_status()
        message: dict[str, Any] = response.json()
        return message


def wait_until(
    condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition"
) -> Any:
    """Poll until the condition is truthy; fail with what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


REGISTRATIONS_TOPIC = "etnik.registration.registrations.v1"


@contextlib.contextmanager
def served(app: Any, name: str) -> Iterator[str]:
    """An ASGI app under uvicorn in a thread of its own, on a free port, until the block ends;
    yields its base URL once `/readyz` answers 200."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=90, what=f"{name} to be ready")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _session_at_14_moscow() -> tuple[str, str]:
    """Next week's session, 14:00-17:00 Moscow time (11:00 UTC)."""
    day = (datetime.now(UTC) + timedelta(days=7)).date()
    start = datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)
    return start.isoformat(), (start + timedelta(hours=3)).isoformat()


def create_open_event(gateway: httpx.Client, token: str, **overrides: Any) -> dict[str, Any]:
    """Create an event whose registration is open, through the gateway."""
    starts_at, ends_at = _session_at_14_moscow()
    body = {
        "title": "Стратегическая онлайн-сессия по Центральному федеральному округу",
        "track": "online_sessions",
        "format": "online",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": "Europe/Moscow",
        "federal_district": "ЦФО",
        "capacity": 100,
        "status": "registration_open",
        **overrides,
    }
    response = gateway.post(
        "/api/registration/events", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()
    return event


def register(gateway: httpx.Client, event_id: str, email: str, **overrides: Any) -> httpx.Response:
    """Submit the public registration form through the gateway."""
    body = {
        "full_name": "Анна Петровна Иванова",
        "email": email,
        "category": "ngo_leader",
        "region_code": "41",
        "timezone": "Asia/Kamchatka",
        "consent_personal_data": True,
        **overrides,
    }
    return gateway.post(
        f"/api/registration/events/{event_id}/registrations",
        json=body,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


def read_topic(stack: Stack, topic: str, predicate: Any, timeout: float = 20) -> list[Any]:
    """Every record on a topic (from the start) that the predicate accepts."""

    async def collect() -> list[Any]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=stack.kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        found: list[Any] = []
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while not found and asyncio.get_running_loop().time() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    found.extend(r for r in records if predicate(r))
        finally:
            await consumer.stop()
        return found

    return asyncio.run(collect())


def publish_raw(stack: Stack, topic: str, value: bytes, key: bytes | None) -> None:
    """Put bytes on a topic exactly as given, as another system (or a replay) would."""

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key)
        finally:
            await producer.stop()

    asyncio.run(send())


def metric(stack: Stack, service: str, sample: str, **labels: str) -> float:
    """The sum of one sample on a service's /metrics over series matching the labels."""
    text = httpx.get(f"{stack.service_url(service)}/metrics", timeout=5).text
    return sum(
        value.value
        for family in text_string_to_metric_families(text)
        for value in family.samples
        if value.name == sample and all(value.labels.get(k) == v for k, v in labels.items())
    )


def registration_count(gateway: httpx.Client, token: str, event_id: str) -> int:
    """What reporting's API says about one event."""
    response = gateway.get(
        "/api/reporting/stats/registrations",
        params={"event_id": event_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def staff_account(gateway: httpx.Client, admin_token: str, *roles: str) -> tuple[str, str]:
    """A new operator account with these roles, created by an admin: (email, password)."""
    email = f"{'-'.join(roles)}.{uuid.uuid4().hex[:8]}@example.org"
    password = f"staff-{uuid.uuid4().hex}"
    created = gateway.post(
        "/api/registration/operators",
        json={"email": email, "password": password, "roles": list(roles)},
        headers=bearer(admin_token),
    )
    assert created.status_code == 201, created.text
    return email, password


def staff_token(gateway: httpx.Client, admin_token: str, *roles: str) -> str:
    """A new operator account with these roles, created by an admin, and its access token."""
    email, password = staff_account(gateway, admin_token, *roles)
    signed_in = gateway.post(
        "/api/registration/auth/token", json={"email": email, "password": password}
    )
    assert signed_in.status_code == 200, signed_in.text
    token: str = signed_in.json()["access_token"]
    return token


RUSSIAN_ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg",
                 "Asia/Omsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk",
                 "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka")  # fmt: skip


# Between them, one is always in daytime and one at night (22:00-08:00), whatever the hour.
AROUND_THE_CLOCK = ("Asia/Kamchatka", "Europe/Moscow", "America/New_York", "Asia/Tokyo")


def zone_where(*, night: bool, zones: tuple[str, ...] = RUSSIAN_ZONES) -> str | None:
    """The first of these zones where it is now night (quiet hours) or day, if any."""
    now = datetime.now(UTC)
    for zone in zones:
        local = now.astimezone(ZoneInfo(zone))
        minutes = local.hour * 60 + local.minute
        # Margins keep the zone on the same side of 08:00 and 22:00 for the length of a test.
        if night and not 7 * 60 + 50 <= minutes < 22 * 60 + 5:
            return zone
        if not night and 8 * 60 + 5 <= minutes < 21 * 60 + 50:
            return zone
    return None


def zones_now() -> tuple[str | None, str | None]:
    """A Russian zone where it is day, and one where it is night (quiet hours), if any now."""
    return zone_where(night=False), zone_where(night=True)
