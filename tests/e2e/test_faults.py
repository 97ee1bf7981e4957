"""Faults: malformed messages, Kafka away, MongoDB away. Nothing accepted is lost."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from pymongo import MongoClient

from etnik.devstack import Stack
from helpers import (
    REGISTRATIONS_TOPIC,
    Mailpit,
    create_open_event,
    publish_raw,
    read_topic,
    register,
    registration_count,
    wait_until,
)


def _readiness(stack: Stack, service: str) -> tuple[int, dict[str, Any]]:
    try:
        response = httpx.get(f"{stack.service_url(service)}/readyz", timeout=10)
    except httpx.HTTPError:
        return 0, {}
    return response.status_code, response.json()


def _all_ready(stack: Stack) -> bool:
    return all(
        _readiness(stack, name)[0] == 200
        for name in ("registration", "notification", "content", "reporting")
    )


def test_a_malformed_message_is_dead_lettered_and_the_next_one_is_handled(
    platform: Stack, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    marker = uuid.uuid4().hex
    garbage = b'{"not": "a cloudevent", "marker": "' + marker.encode() + b'"'
    publish_raw(platform, REGISTRATIONS_TOPIC, garbage, key=b"garbage-" + marker.encode())

    # A valid registration after it, on the same topic, still goes through every consumer.
    event = create_open_event(gateway, operator_token)
    email = f"after.garbage.{marker[:8]}@example.org"
    assert register(gateway, event["id"], email).status_code == 201
    wait_until(lambda: mailpit.messages_to(email), timeout=30, what="the email after the garbage")
    wait_until(lambda: registration_count(gateway, operator_token, event["id"]) == 1, timeout=30)

    for service in ("notification", "reporting", "content"):
        parked = read_topic(
            platform, f"etnik.{service}.deadletter.v1", lambda r: marker.encode() in r.value
        )
        assert len(parked) == 1, f"{service} did not dead-letter the malformed message"
        headers = {k: v.decode() for k, v in parked[0].headers}
        assert headers["x-dlq-error-type"] == "MalformedEvent"
        assert headers["x-dlq-attempts"] == "3"
        assert headers["x-dlq-origin-topic"] == REGISTRATIONS_TOPIC
        assert headers["x-dlq-group"] == f"etnik.{service}"


def test_kafka_away_services_stay_up_keep_what_they_accepted_and_recover(
    platform: Stack, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    event = create_open_event(gateway, operator_token)
    email = f"outage.{uuid.uuid4().hex[:8]}@example.org"
    platform.stop_kafka()
    try:
        wait_until(
            lambda: _readiness(platform, "registration")[0] == 503,
            timeout=30,
            what="registration to report not ready",
        )
        _, body = _readiness(platform, "registration")
        assert body["checks"]["kafka"] is False
        assert body["checks"]["mongodb"] is True
        assert httpx.get(f"{platform.service_url('registration')}/healthz").status_code == 200

        # Accepted while Kafka is away: the answer is a success because the event is in the outbox.
        response = register(gateway, event["id"], email)
        assert response.status_code == 201, response.text
        registration_id = response.json()["id"]
        with MongoClient(platform.mongodb_url) as client:
            stored = client[platform.database_name("registration")]["registrations"].find_one(
                {"_id": registration_id}
            )
        assert stored is not None
        assert [entry["type"] for entry in stored["outbox"]] == ["ru.etnik.registration.confirmed"]

        # A service that starts while Kafka is away comes up, alive but not ready.
        platform.stop_service("reporting")
        platform.start_service("reporting")
        assert _readiness(platform, "reporting")[0] == 503
    finally:
        platform.start_kafka()

    wait_until(lambda: _all_ready(platform), timeout=90, what="every service to recover")
    wait_until(lambda: mailpit.messages_to(email), timeout=60, what="the email after the outage")
    wait_until(
        lambda: registration_count(gateway, operator_token, event["id"]) == 1,
        timeout=60,
        what="reporting to count the registration accepted during the outage",
    )
    with MongoClient(platform.mongodb_url) as client:
        stored = client[platform.database_name("registration")]["registrations"].find_one(
            {"_id": registration_id}
        )
    assert stored is not None
    assert stored["outbox"] == []


def test_mongodb_away_refuses_clearly_and_a_retry_succeeds(
    platform: Stack, gateway: httpx.Client, operator_token: str
) -> None:
    if not platform.uses_ferretdb:
        return  # an external MONGODB_URL is not ours to stop
    event = create_open_event(gateway, operator_token)
    body = {
        "full_name": "Мария Кузнецова",
        "email": f"mongo.{uuid.uuid4().hex[:8]}@example.org",
        "category": "ngo_activist",
        "consent_personal_data": True,
    }
    url = f"/api/registration/events/{event['id']}/registrations"
    key = uuid.uuid4().hex
    platform.stop_ferretdb()
    try:
        refused = gateway.post(url, json=body, headers={"Idempotency-Key": key})
        assert refused.status_code == 503
        assert "nothing was saved" in refused.json()["detail"]
        assert refused.headers["Retry-After"]
        wait_until(
            lambda: (
                _readiness(platform, "registration")[1].get("checks", {}).get("mongodb") is False
            ),
            timeout=20,
            what="registration to report MongoDB unreachable",
        )
    finally:
        platform.start_ferretdb()
    wait_until(lambda: _all_ready(platform), timeout=60, what="every service to recover")
    retried = gateway.post(url, json=body, headers={"Idempotency-Key": key})
    assert retried.status_code == 201, retried.text
