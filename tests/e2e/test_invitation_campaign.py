"""An invitation campaign across services: registration picks the audience and issues
invitations, notification sends them with an unsubscribe link and reports progress."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from etnik.devstack import Stack
from etnik.registration.reference import federal_subjects
from helpers import Mailpit, bearer, create_open_event, metric, wait_until, zones_now


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


def _region_in(zone: str) -> str:
    """A federal subject whose time zone is `zone`."""
    return next(str(s["_id"]) for s in federal_subjects() if s["iana_timezone"] == zone)


def _organisation(
    gateway: httpx.Client, token: str, region: str, email: str | None
) -> dict[str, Any]:
    response = gateway.post(
        "/api/registration/organisations",
        json={
            "name": f"Национально-культурная автономия {uuid.uuid4().hex[:6]}",
            "kind": "national_cultural_autonomy",
            "region_code": region,
            **({"email": email} if email else {}),
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    organisation: dict[str, Any] = response.json()
    return organisation


def test_an_organisations_invitation_goes_to_its_contact_address_in_its_regions_hours(
    platform: Stack, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    def invitations_handled() -> float:
        return metric(
            platform,
            "notification",
            "etnik_events_consumed_total",
            type="ru.etnik.invitation.issued",
            outcome="handled",
        )

    handled_before = invitations_handled()
    event = create_open_event(gateway, operator_token, title="Стажировка для НКО")
    day_zone, night_zone = zones_now()
    addresses: dict[str, str] = {}  # email -> organisation id
    for zone in (day_zone, night_zone):
        if zone is None:
            continue
        email = f"nka.{uuid.uuid4().hex[:8]}@example.org"
        organisation = _organisation(gateway, operator_token, _region_in(zone), email)
        addresses[email] = organisation["id"]
        issued = gateway.post(
            f"/api/registration/events/{event['id']}/invitations",
            json={"organisation_id": organisation["id"]},
            headers=bearer(operator_token),
        )
        assert issued.status_code == 201, issued.text
    without_address = _organisation(gateway, operator_token, "77", None)
    issued = gateway.post(
        f"/api/registration/events/{event['id']}/invitations",
        json={"organisation_id": without_address["id"]},
        headers=bearer(operator_token),
    )
    assert issued.status_code == 201, issued.text  # the link is still the operators' to give

    def log_of(organisation_id: str) -> list[dict[str, Any]]:
        response = gateway.get(
            "/api/notification/messages",
            params={"person_id": f"organisation:{organisation_id}"},
            headers=bearer(operator_token),
        )
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        return entries

    wait_until(
        lambda: invitations_handled() >= handled_before + len(addresses) + 1,
        timeout=60,
        what="notification to take in the three invitations",
    )
    if day_zone is not None:
        email = next(iter(addresses))
        [summary] = wait_until(lambda: mailpit.messages_to(email), timeout=60)
        assert summary["Subject"] == f"Приглашение: {event['title']}"
        assert (
            "/api/notification/unsubscribe/"
            in mailpit.headers(summary["ID"])["List-Unsubscribe"][0]
        )
    if night_zone is not None:
        email = list(addresses)[-1]
        # Quiet hours are those of the organisation's region: queued, not sent.
        [entry] = wait_until(lambda: log_of(addresses[email]), timeout=60)
        assert entry["kind"] == "invitation"
        assert entry["status"] == "pending"
        assert mailpit.messages_to(email) == []
    assert log_of(without_address["id"]) == []
