"""What a participant needs to attend reaches them by email, on the real stack: the session link
(confirmed participants of an online event only), the time, and the link to manage the
registration; a changed link reaches the confirmed participants. The link is read by
notification from registration at send time with a service identity, so it never appears on
Kafka, in a service's log or in a stored message."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import MongoClient

from etnik.common.settings import DEVELOPMENT_NOTIFICATION_CLIENT_SECRET
from etnik.common.topics import SERVICES
from etnik.devstack import Stack
from helpers import Mailpit, bearer, create_open_event, register, wait_until


def _link() -> str:
    return f"https://telemost.yandex.ru/j/e2e-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def online_event(gateway: httpx.Client, operator_token: str) -> dict[str, Any]:
    """An online event with one place: a confirmed participant and a waitlisted one."""
    link = _link()
    event = create_open_event(
        gateway, operator_token, title="Онлайн-сессия со ссылкой", capacity=1, online_link=link
    )
    people = {}
    for role in ("confirmed", "waitlisted"):
        email = f"{role}.{uuid.uuid4().hex[:8]}@example.org"
        answer = register(gateway, event["id"], email)
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == role
        people[role] = {"email": email, "registration": answer.json()}
    return {"event": event, "link": link, **people}


def _mail(mailpit: Mailpit, address: str, subject_start: str) -> dict[str, Any]:
    """The one message to this address whose subject starts so, whole."""

    def arrived() -> list[dict[str, Any]]:
        return [m for m in mailpit.messages_to(address) if m["Subject"].startswith(subject_start)]

    [summary] = wait_until(arrived, timeout=45, what=f"«{subject_start}» to {address}")
    return mailpit.message(summary["ID"])


def _manage_token(text: str) -> str:
    line = next(line for line in text.splitlines() if "/registrations/manage?token=" in line)
    return line.split("token=", 1)[1].strip()


def test_a_confirmed_participant_gets_the_link_the_time_and_the_manage_link(
    gateway: httpx.Client, mailpit: Mailpit, online_event: dict[str, Any]
) -> None:
    confirmed = online_event["confirmed"]
    message = _mail(mailpit, confirmed["email"], "Регистрация подтверждена")
    text = message["Text"]
    assert f"Ссылка для подключения: {online_event['link']}" in text
    assert "14:00 МСК / 23:00 по местному времени" in text
    assert "Управлять регистрацией" in text
    assert f'href="{online_event["link"]}"' in message["HTML"]
    assert "Код для входа" not in text  # an online event has no door
    # The manage link opens this very registration.
    owner = gateway.get(
        "/api/registration/registrations/by-link", params={"token": _manage_token(text)}
    )
    assert owner.status_code == 200, owner.text
    assert owner.json()["id"] == confirmed["registration"]["id"]


def test_a_waitlisted_participant_gets_the_manage_link_but_not_the_session_link(
    gateway: httpx.Client, mailpit: Mailpit, online_event: dict[str, Any]
) -> None:
    waitlisted = online_event["waitlisted"]
    message = _mail(mailpit, waitlisted["email"], "Лист ожидания")
    assert online_event["link"] not in message["Text"]
    assert online_event["link"] not in message["HTML"]
    assert "Управлять регистрацией" in message["Text"]
    owner = gateway.get(
        "/api/registration/registrations/by-link",
        params={"token": _manage_token(message["Text"])},
    )
    assert owner.json()["id"] == waitlisted["registration"]["id"]


def test_a_new_link_reaches_the_confirmed_participants_only(
    gateway: httpx.Client,
    operator_token: str,
    mailpit: Mailpit,
    online_event: dict[str, Any],
) -> None:
    # Their first messages are out before the change, so that what follows is the change's.
    _mail(mailpit, online_event["confirmed"]["email"], "Регистрация подтверждена")
    _mail(mailpit, online_event["waitlisted"]["email"], "Лист ожидания")
    new_link = _link()
    changed = gateway.patch(
        f"/api/registration/events/{online_event['event']['id']}",
        json={"online_link": new_link},
        headers=bearer(operator_token),
    )
    assert changed.status_code == 200, changed.text
    online_event["new_link"] = new_link

    message = _mail(mailpit, online_event["confirmed"]["email"], "Изменения")
    assert f"Новая ссылка для подключения: {new_link}" in message["Text"]
    assert "Теперь оно пройдёт" not in message["Text"]  # the time did not change
    assert "Управлять регистрацией" in message["Text"]
    # Had one been queued for the waitlisted person, it would have gone out with this one.
    time.sleep(2)
    [only] = mailpit.messages_to(online_event["waitlisted"]["email"])
    assert only["Subject"].startswith("Лист ожидания")


def test_an_operator_cannot_edit_the_links_out_of_a_confirmation(
    gateway: httpx.Client, operator_token: str
) -> None:
    url = "/api/notification/templates/registration_confirmed/ru"
    source = gateway.get(url, headers=bearer(operator_token)).json()["source"]
    without = source.replace("{{ online_link }}", "").replace("{% if online_link %}", "{% if 0 %}")
    refused = gateway.put(url, json={"source": without}, headers=bearer(operator_token))
    assert refused.status_code == 422, refused.text
    assert "online_link" in refused.json()["detail"]


def test_the_service_endpoints_are_not_public_and_refuse_people(
    platform: Stack, gateway: httpx.Client, operator_token: str, online_event: dict[str, Any]
) -> None:
    registration_id = online_event["confirmed"]["registration"]["id"]
    credentials = {
        "client_id": "notification",
        "client_secret": DEVELOPMENT_NOTIFICATION_CLIENT_SECRET,
    }
    # Through the gateway they do not exist: services call registration directly.
    assert gateway.post("/api/registration/auth/service-token", json=credentials).status_code == 404
    through_gateway = gateway.get(
        f"/api/registration/registrations/{registration_id}/delivery",
        headers=bearer(operator_token),
    )
    assert through_gateway.status_code == 404

    with httpx.Client(base_url=platform.service_url("registration"), timeout=10) as direct:
        path = f"/registrations/{registration_id}/delivery"
        assert direct.get(path).status_code == 401
        assert direct.get(path, headers=bearer("not.a.token")).status_code == 401
        assert direct.get(path, headers=bearer(operator_token)).status_code == 403
        wrong = direct.post("/auth/service-token", json=credentials | {"client_secret": "x" * 40})
        assert wrong.status_code == 401
        token = direct.post("/auth/service-token", json=credentials).json()["access_token"]
        answer = direct.get(path, headers=bearer(token))
        assert answer.status_code == 200, answer.text
        assert answer.json()["online_link"] == online_event.get("new_link", online_event["link"])


def test_the_links_are_on_no_topic_in_no_service_log_and_in_no_stored_message(
    platform: Stack, mailpit: Mailpit, online_event: dict[str, Any]
) -> None:
    links = [online_event["link"], online_event.get("new_link") or online_event["link"]]
    # Both were sent by now (the tests before waited for them).
    _mail(mailpit, online_event["confirmed"]["email"], "Регистрация подтверждена")

    records = asyncio.run(_every_record(platform.kafka_bootstrap))
    event_id = online_event["event"]["id"].encode()
    assert any(event_id in blob for _, blob in records), "the event's records were not read"
    for link in links:
        found = [topic for topic, blob in records if link.encode() in blob]
        assert found == [], f"the online link is on {sorted(set(found))}"

    for service in (*SERVICES, "gateway"):
        path = platform.log_path(service)
        assert path.exists() or service == "gateway", f"no {service}.log"
        log = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        assert all(link not in log for link in links), f"the online link is in {service}.log"

    with MongoClient(platform.mongodb_url, tz_aware=True) as client:
        messages = client[platform.database_name("notification")]["messages"]
        person_ids = [
            online_event[r]["registration"]["person_id"] for r in ("confirmed", "waitlisted")
        ]
        stored = list(messages.find({"person_id": {"$in": person_ids}}))
    assert stored
    assert all(link not in repr(stored) for link in links)


async def _every_record(bootstrap: str) -> list[tuple[str, bytes]]:
    """Every record on every topic of the platform, from the beginning: (topic, key, value
    and headers run together)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.subscribe(pattern=r"^etnik\..*")
        found: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + 60
        ends: dict[TopicPartition, int] = {}
        while not ends or [p for p, end in ends.items() if await consumer.position(p) < end]:
            assert time.monotonic() < deadline, "the topics were not read to their end"
            batches = await consumer.getmany(timeout_ms=1000)
            for partition, batch in batches.items():
                for record in batch:
                    headers = b"".join(value for _, value in record.headers or ())
                    blob = (record.key or b"") + (record.value or b"") + headers
                    found.append((partition.topic, blob))
            if not ends and consumer.assignment():
                ends = await consumer.end_offsets(list(consumer.assignment()))
        return found
    finally:
        await consumer.stop()
