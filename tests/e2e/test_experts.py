"""The roster of experts end to end, through the gateway and Kafka: the portal's list of an
event's experts names only those who consent to publication, with their photo; a withdrawal
hides the expert at once; reporting counts both experts at the event on the dashboard."""

from __future__ import annotations

import uuid

import httpx

from etnik.devstack import Stack
from helpers import bearer, create_open_event, register, wait_until

PHOTO = b"\xff\xd8\xff\xe0" + b"expert-photo" * 20  # a JPEG's signature, then bytes


def test_the_portal_shows_only_consenting_experts_and_reporting_counts_them(
    platform: Stack, gateway: httpx.Client, operator_token: str
) -> None:
    staff = bearer(operator_token)
    event = create_open_event(
        gateway, operator_token, title="Очная стратегическая сессия экспертов"
    )
    experts = {}
    for name, consent in (("Публичная", True), ("Скрытая", False)):
        registered = register(
            gateway,
            event["id"],
            f"expert.{uuid.uuid4().hex[:10]}@example.org",
            full_name=f"Эксперт {name} {uuid.uuid4().hex[:4]}",
            consent_publication=consent,
        )
        assert registered.status_code == 201, registered.text
        created = gateway.post(
            "/api/registration/experts",
            json={
                "person_id": registered.json()["person_id"],
                "field_of_expertise": "Этнокультурное образование",
                "region_codes": ["41"],
                "bio": f"Биография: {name.lower()}.",
            },
            headers={**staff, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert created.status_code == 201, created.text
        expert = created.json()
        assigned = gateway.post(
            f"/api/registration/experts/{expert['id']}/assignments",
            json={"event_id": event["id"], "role": "speaker"},
            headers=staff,
        )
        assert assigned.status_code == 201, assigned.text
        photo = gateway.put(
            f"/api/registration/experts/{expert['id']}/photo",
            content=PHOTO,
            headers={**staff, "Content-Type": "image/jpeg"},
        )
        assert photo.status_code == 204, photo.text
        experts[consent] = expert

    shown = gateway.get(f"/api/registration/events/{event['id']}/experts")
    assert shown.status_code == 200, shown.text
    [card] = shown.json()
    assert (card["id"], card["full_name"], card["roles"]) == (
        experts[True]["id"],
        experts[True]["full_name"],
        ["speaker"],
    )
    assert card["bio"] == "Биография: публичная."
    assert experts[False]["full_name"] not in shown.text
    picture = gateway.get(card["photo_url"])
    assert (picture.status_code, picture.content) == (200, PHOTO)
    assert picture.headers["cache-control"] == "no-store"
    assert gateway.get(f"/api/registration/experts/{experts[False]['id']}/photo").status_code == 404

    withdrawn = gateway.post(
        f"/api/registration/people/{experts[True]['person_id']}/consents/publication/withdraw",
        headers=staff,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert gateway.get(f"/api/registration/events/{event['id']}/experts").json() == []
    assert gateway.get(card["photo_url"]).status_code == 404

    # Reporting counts experts whatever their consent: both are at the event.
    def counted() -> dict[str, object] | None:
        response = gateway.get(
            "/api/reporting/dashboard/experts", params={"event_id": event["id"]}, headers=staff
        )
        assert response.status_code == 200, response.text
        found: dict[str, object] = response.json()
        return found if found["experts"] == 2 else None

    summary = wait_until(counted, timeout=60, what="reporting to count the event's experts")
    assert summary["by_role"] == {"speaker": 2}
    assert summary["by_district"] == {"ЦФО": 2}
