"""An invitation campaign across services: registration picks the audience and issues
invitations, notification sends them with an unsubscribe link and reports progress."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from helpers import Mailpit, bearer, create_open_event, wait_until, zones_now


def test_a_campaign_reaches_its_audience_with_an_unsubscribe_link_and_reports_progress(
    gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    event = create_open_event(gateway, operator_token, title="Выездная бизнес-программа")
    category = "media"
    region = "87"  # Чукотский автономный округ
    day_zone, night_zone = zones_now()
    people: dict[str, str] = {}  # email -> zone
    for number, zone in enumerate(z for z in (day_zone, day_zone, night_zone) if z):
        email = f"campaign.{uuid.uuid4().hex[:8]}@example.org"
        response = gateway.post(
            "/api/registration/people",
            json={
                "full_name": f"Журналист Номер {number + 1}",
                "email": email,
                "region_code": region,
                "timezone": zone,
                "category": category,
            },
            headers=bearer(operator_token),
        )
        assert response.status_code == 201, response.text
        people[email] = zone
    awake = [email for email, zone in people.items() if zone == day_zone]
    asleep = [email for email, zone in people.items() if zone == night_zone]

    created = gateway.post(
        "/api/registration/invitation-campaigns",
        json={"event_id": event["id"], "region_codes": [region], "categories": [category]},
        headers=bearer(operator_token),
    )
    assert created.status_code == 201, created.text
    campaign: dict[str, Any] = created.json()
    assert campaign["invitations"] >= len(people)

    # Where it is day, the invitation arrives with its unsubscribe headers...
    for email in awake:
        [summary] = wait_until(lambda email=email: mailpit.messages_to(email), timeout=60)
        assert summary["Subject"] == f"Приглашение: {event['title']}"
        message = mailpit.message(summary["ID"])
        assert "Зарегистрироваться" in message["HTML"]
        headers = mailpit.headers(summary["ID"])
        [unsubscribe] = headers["List-Unsubscribe"]
        assert "/api/notification/unsubscribe/" in unsubscribe
        assert headers["List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]

    def progress() -> dict[str, Any]:
        response = gateway.get(
            f"/api/notification/campaigns/{campaign['id']}", headers=bearer(operator_token)
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    # ...where it is night, it waits for 08:00 there; progress counts both.
    expected_remaining = len(asleep)
    done = wait_until(
        lambda: (answer := progress())["sent"] >= len(awake) and answer,
        timeout=60,
        what="the campaign's invitations to be sent",
    )
    assert done["total"] == campaign["invitations"]
    assert done["remaining"] >= expected_remaining
    assert done["sent"] + done["failed"] + done["dropped"] + done["remaining"] == done["total"]
    for email in asleep:
        assert mailpit.messages_to(email) == []
