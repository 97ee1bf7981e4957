"""One registration travels through every service, through the gateway, on real infrastructure."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from etnik.devstack import Stack
from helpers import (
    REGISTRATIONS_TOPIC,
    Mailpit,
    create_open_event,
    metric,
    publish_raw,
    read_topic,
    register,
    registration_count,
    wait_until,
)


@pytest.fixture(scope="module")
def registered(platform: Stack, gateway: httpx.Client, operator_token: str) -> dict[str, Any]:
    """A person from Камчатка registered for the ЦФО online session."""
    event = create_open_event(gateway, operator_token)
    email = f"anna.{uuid.uuid4().hex[:8]}@example.org"
    response = register(gateway, event["id"], email)
    assert response.status_code == 201, response.text
    return {"event": event, "email": email, "registration": response.json()}


def test_the_registration_is_stored(platform: Stack, registered: dict[str, Any]) -> None:
    with MongoClient(platform.mongodb_url, tz_aware=True) as client:
        stored = client[platform.database_name("registration")]["registrations"].find_one(
            {"_id": registered["registration"]["id"]}
        )
    assert stored is not None
    assert stored["status"] == "confirmed"
    assert stored["consent"]["personal_data"] is True


def test_a_registration_event_is_on_kafka(platform: Stack, registered: dict[str, Any]) -> None:
    registration_id = registered["registration"]["id"]
    records = read_topic(platform, REGISTRATIONS_TOPIC, lambda r: r.key == registration_id.encode())
    assert len(records) == 1
    envelope = json.loads(records[0].value)
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "ru.etnik.registration.confirmed"
    assert envelope["subject"] == registration_id
    assert envelope["data"]["event_id"] == registered["event"]["id"]
    headers = dict(records[0].headers)
    assert headers["content-type"] == b"application/cloudevents+json"
    assert headers["traceparent"].startswith(b"00-")


def test_notification_sends_a_confirmation_in_the_recipients_time(
    mailpit: Mailpit, registered: dict[str, Any]
) -> None:
    messages = wait_until(
        lambda: mailpit.messages_to(registered["email"]), timeout=30, what="the confirmation"
    )
    assert len(messages) == 1
    message = mailpit.message(messages[0]["ID"])
    assert message["Subject"].startswith("Регистрация подтверждена")
    # 14:00 in Moscow is 23:00 in Камчатка, and the email says both.
    assert "14:00 МСК / 23:00 по местному времени" in message["Text"]
    assert "Анна Петровна Иванова" in message["HTML"]


def test_reporting_counts_the_registration(
    gateway: httpx.Client, operator_token: str, registered: dict[str, Any]
) -> None:
    event_id = registered["event"]["id"]
    wait_until(
        lambda: registration_count(gateway, operator_token, event_id) == 1,
        timeout=30,
        what="reporting to count the registration",
    )


def test_a_redelivered_event_sends_one_email_and_counts_once(
    platform: Stack,
    gateway: httpx.Client,
    operator_token: str,
    mailpit: Mailpit,
    registered: dict[str, Any],
) -> None:
    event_id, email = registered["event"]["id"], registered["email"]
    wait_until(lambda: mailpit.messages_to(email), timeout=30, what="the first email")
    wait_until(lambda: registration_count(gateway, operator_token, event_id) == 1, timeout=30)
    duplicates_before = {
        service: metric(platform, service, "etnik_events_consumed_total", outcome="duplicate")
        for service in ("notification", "reporting")
    }

    registration_id = registered["registration"]["id"]
    [record] = read_topic(
        platform, REGISTRATIONS_TOPIC, lambda r: r.key == registration_id.encode()
    )
    publish_raw(platform, REGISTRATIONS_TOPIC, record.value, record.key)

    # Both consumers saw the copy and recognised it by its event id...
    for service, before in duplicates_before.items():
        wait_until(
            lambda service=service, before=before: (
                metric(platform, service, "etnik_events_consumed_total", outcome="duplicate")
                > before
            ),
            timeout=30,
            what=f"{service} to see the duplicate",
        )
    # ...and nothing changed: still one email and one count.
    assert len(mailpit.messages_to(email)) == 1
    assert registration_count(gateway, operator_token, event_id) == 1
    # The JSON log says which event was ignored.
    event_id_of_copy = json.loads(record.value)["id"]
    assert any(
        line.get("event_id") == event_id_of_copy and "duplicate" in line["message"]
        for line in json_log(platform, "notification")
    )


def json_log(stack: Stack, service: str) -> list[dict[str, Any]]:
    """Every JSON line a service has logged so far."""
    lines = stack.log_path(service).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_logs_are_json_and_carry_the_request_id(platform: Stack, gateway: httpx.Client) -> None:
    request_id = f"test-{uuid.uuid4().hex}"
    response = gateway.get("/api/registration/events", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == request_id
    line = wait_until(
        lambda: next(
            (
                row
                for row in json_log(platform, "registration")
                if row.get("request_id") == request_id
            ),
            None,
        ),
        timeout=10,
        what="the request's log line",
    )
    assert line["message"] == "GET /events 200"
    assert line["service"] == "registration"
    assert line["level"] == "INFO"


def test_registering_twice_returns_the_existing_registration(
    gateway: httpx.Client, registered: dict[str, Any]
) -> None:
    again = register(gateway, registered["event"]["id"], registered["email"].upper())
    assert again.status_code == 200
    assert again.json()["id"] == registered["registration"]["id"]


def test_a_retried_request_returns_the_first_response(
    gateway: httpx.Client, operator_token: str
) -> None:
    event = create_open_event(gateway, operator_token)
    key = uuid.uuid4().hex
    body = {
        "full_name": "Пётр Сидоров",
        "email": f"petr.{uuid.uuid4().hex[:8]}@example.org",
        "category": "expert",
        "consent_personal_data": True,
    }
    url = f"/api/registration/events/{event['id']}/registrations"
    first = gateway.post(url, json=body, headers={"Idempotency-Key": key})
    second = gateway.post(url, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    other = gateway.post(
        url, json={**body, "full_name": "Другой"}, headers={"Idempotency-Key": key}
    )
    assert other.status_code == 422


@pytest.mark.parametrize("service", ["registration", "notification", "content", "reporting"])
def test_api_docs_work_offline_through_the_gateway(gateway: httpx.Client, service: str) -> None:
    page = gateway.get(f"/api/{service}/docs")
    assert page.status_code == 200
    assert f"/api/{service}/openapi.json" in page.text
    assert "cdn." not in page.text
    script = gateway.get(f"/api/{service}/static-offline-docs/swagger-ui-bundle.js")
    assert script.status_code == 200
    spec = gateway.get(f"/api/{service}/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"].startswith("EtNik")


def test_http_and_broker_metrics_share_one_registry(
    platform: Stack, registered: dict[str, Any]
) -> None:
    text = httpx.get(f"{platform.service_url('notification')}/metrics", timeout=5).text
    assert "http_requests_total" in text  # FastAPI, from the instrumentator
    assert "faststream_received_messages_total" in text  # the Kafka broker
    assert "etnik_events_consumed_total" in text  # the reliable consumer
    assert "etnik_notifications_total" in text  # the dispatcher
