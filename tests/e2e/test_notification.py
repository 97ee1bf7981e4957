"""Notification on the real stack: calendar files, reminders across a restart, unsubscribes,
operator-edited templates and the delivery log."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from etnik.devstack import Stack
from etnik.notification.unsubscribe import UnsubscribeLinks
from helpers import Mailpit, create_open_event, read_topic, register, wait_until

DEVELOPMENT_UNSUBSCRIBE_KEY = "etnik-development-unsubscribe-key"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def participant(gateway: httpx.Client, operator_token: str) -> dict[str, Any]:
    """A confirmed participant of an event next week."""
    event = create_open_event(gateway, operator_token, title="Сессия для проверки уведомлений")
    email = f"notify.{uuid.uuid4().hex[:8]}@example.org"
    response = register(gateway, event["id"], email)
    assert response.status_code == 201, response.text
    return {"event": event, "email": email, "registration": response.json()}


def test_the_confirmation_carries_a_calendar_file(
    mailpit: Mailpit, participant: dict[str, Any]
) -> None:
    [summary] = wait_until(lambda: mailpit.messages_to(participant["email"]), timeout=30)
    message = mailpit.message(summary["ID"])
    [attachment] = message["Attachments"]
    assert attachment["FileName"] == "event.ics"
    assert attachment["ContentType"].startswith("text/calendar")


def test_reminders_are_scheduled_before_the_event(
    gateway: httpx.Client, operator_token: str, participant: dict[str, Any]
) -> None:
    person_id = participant["registration"]["person_id"]
    starts_at = datetime.fromisoformat(participant["event"]["starts_at"])

    def reminders() -> list[dict[str, Any]]:
        response = gateway.get(
            "/api/notification/messages",
            params={"person_id": person_id, "kind": "event_reminder"},
            headers=_auth(operator_token),
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    scheduled = wait_until(lambda: len(reminders()) == 3 and reminders(), timeout=30)
    due = sorted(datetime.fromisoformat(message["due_at"]) for message in scheduled)
    assert due == sorted(starts_at - timedelta(hours=hours) for hours in (24, 1, 0.02))
    assert {message["status"] for message in scheduled} == {"pending"}


def test_a_reminder_due_while_the_service_was_down_is_sent_when_it_returns(
    platform: Stack, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    # The event starts in 2 minutes: the 72-second reminder falls due in about 48 seconds.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    event = create_open_event(
        gateway,
        operator_token,
        title="Короткая онлайн-встреча",
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=1)).isoformat(),
    )
    email = f"reminder.{uuid.uuid4().hex[:8]}@example.org"
    assert register(gateway, event["id"], email).status_code == 201
    wait_until(lambda: mailpit.messages_to(email), timeout=30, what="the confirmation")

    platform.stop_service("notification")
    try:
        due = start - timedelta(hours=0.02)
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 2)
    finally:
        platform.start_service("notification")

    def reminder_arrived() -> bool:
        return any(m["Subject"].startswith("Напоминание") for m in mailpit.messages_to(email))

    wait_until(reminder_arrived, timeout=40, what="the reminder after the restart")
    assert datetime.now(UTC) < start, "the reminder came after the event had started"


def test_unsubscribing_works_without_signing_in_and_is_published(
    platform: Stack, gateway: httpx.Client, participant: dict[str, Any]
) -> None:
    person_id = participant["registration"]["person_id"]
    links = UnsubscribeLinks(DEVELOPMENT_UNSUBSCRIBE_KEY, platform.gateway_url)
    path = links.url(person_id).removeprefix(platform.gateway_url)

    page = gateway.get(path)
    assert page.status_code == 200
    assert "Отписаться" in page.text
    assert gateway.get(path[:-3] + "abc").status_code == 404

    assert gateway.post(path).status_code == 200
    assert gateway.post(path).status_code == 200  # twice changes nothing
    records = read_topic(
        platform, "etnik.notification.recipients.v1", lambda r: r.key == person_id.encode()
    )
    assert len(records) == 1
    assert json.loads(records[0].value)["type"] == "ru.etnik.notification.unsubscribed"


def test_operators_edit_templates_with_versions_and_preview_them(
    gateway: httpx.Client, operator_token: str, participant: dict[str, Any]
) -> None:
    url = "/api/notification/templates/registration_waitlisted/en"
    broken = gateway.put(
        url,
        json={"source": "{% block text %}no subject{% endblock %}"},
        headers=_auth(operator_token),
    )
    assert broken.status_code == 422
    assert "subject" in broken.json()["detail"]

    current = gateway.get(url, headers=_auth(operator_token)).json()
    edited = current["source"].replace("Waiting list:", "On the waiting list for")
    saved = gateway.put(url, json={"source": edited}, headers=_auth(operator_token))
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == len(current["versions"]) + 1

    preview = gateway.post(
        f"{url}/preview",
        json={
            "person_id": participant["registration"]["person_id"],
            "event_id": participant["event"]["id"],
        },
        headers=_auth(operator_token),
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["subject"] == f"On the waiting list for {participant['event']['title']}"
    assert "14:00 Moscow time / 23:00 your time" in preview.json()["text"]


def test_templates_are_for_operators_only(gateway: httpx.Client) -> None:
    response = gateway.get("/api/notification/templates/invitation/ru")
    assert response.status_code == 401


def test_the_delivery_log_shows_sent_messages_and_resends(
    gateway: httpx.Client, operator_token: str, mailpit: Mailpit, participant: dict[str, Any]
) -> None:
    wait_until(lambda: mailpit.messages_to(participant["email"]), timeout=30)
    log = gateway.get(
        "/api/notification/messages",
        params={
            "person_id": participant["registration"]["person_id"],
            "kind": "registration_confirmed",
        },
        headers=_auth(operator_token),
    ).json()
    [confirmation] = log
    assert confirmation["status"] == "sent"
    assert "context" not in confirmation  # no content or links in the log

    before = len(mailpit.messages_to(participant["email"]))
    resent = gateway.post(
        f"/api/notification/messages/{confirmation['id']}/resend", headers=_auth(operator_token)
    )
    assert resent.status_code == 202
    wait_until(
        lambda: len(mailpit.messages_to(participant["email"])) == before + 1,
        timeout=30,
        what="the resent message",
    )
    missing = gateway.post("/api/notification/messages/nope/resend", headers=_auth(operator_token))
    assert missing.status_code == 404
