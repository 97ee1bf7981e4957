"""Registrations through the API on real Kafka and FerretDB: capacity, waitlist, offers,
quotas, approval, the versioned form and the consent ledger."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from etnik.common.contracts.registration import REGISTRATIONS_TOPIC

if TYPE_CHECKING:
    from conftest import RegistrationApp


def of_type(event_type: str, subject: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate on CloudEvents: this type, about this aggregate."""
    return lambda e: e.get("type") == event_type and e.get("subject") == subject


async def _seats(registration: RegistrationApp, event_id: str) -> int:
    event = await registration.client.get(f"/events/{event_id}")
    return int(event.json()["seats_taken"])


async def test_a_full_event_waitlists_in_order_and_offers_a_freed_place(
    registration: RegistrationApp,
) -> None:
    event = await registration.event(capacity=1)
    first, second, third = [(await registration.register(event["id"])).json() for _ in range(3)]
    assert first["status"] == "confirmed"
    for waiting, position in ((second, 1), (third, 2)):
        assert waiting["status"] == "waitlisted"
        view = await registration.client.get(
            "/registrations/by-link", params={"token": waiting["manage_token"]}
        )
        assert view.json()["waitlist_position"] == position

    cancelled = await registration.client.post(
        "/registrations/by-link/cancel",
        params={"token": first["manage_token"]},
        json={"reason": "не смогу"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    [offer] = await registration.published(
        REGISTRATIONS_TOPIC, of_type("ru.etnik.registration.offered", second["id"])
    )
    assert offer["data"]["accept_url"].startswith("https://etnik.test/registrations/manage?token=")
    assert await _seats(registration, event["id"]) == 1

    # Nobody takes the offer: after its 2 s expiry the place passes to the next in line.
    await registration.published(
        REGISTRATIONS_TOPIC, of_type("ru.etnik.registration.offered", third["id"]), wait_s=30
    )
    expired = await registration.client.get(
        "/registrations/by-link", params={"token": second["manage_token"]}
    )
    assert expired.json()["status"] == "cancelled"
    accepted = await registration.client.post(
        "/registrations/by-link/accept-offer", params={"token": third["manage_token"]}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "confirmed"
    assert await _seats(registration, event["id"]) == 1


async def test_a_burst_never_overbooks_and_the_waitlist_keeps_arrival_order(
    registration: RegistrationApp,
) -> None:
    event = await registration.event(capacity=10)
    responses = await asyncio.gather(*(registration.register(event["id"]) for _ in range(40)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert sum(b["status"] == "confirmed" for b in bodies) == 10
    assert sum(b["status"] == "waitlisted" for b in bodies) == 30
    assert await _seats(registration, event["id"]) == 10
    admin = registration.auth(registration.admin_token)
    page = await registration.client.get(
        "/registrations", params={"event_id": event["id"], "limit": 500}, headers=admin
    )
    assert page.json()["total"] == 40
    # Positions, read back, follow the order in which the registrations arrived.
    waiting = await registration.container.repository.waiting(event["id"])
    ranks = [await registration.container.repository.waitlist_rank(w) for w in waiting]
    assert ranks == list(range(1, 31))
    arrivals = [(w["waitlisted_at"], w["_id"]) for w in waiting]
    assert arrivals == sorted(arrivals)
    # A freed place goes to the first in line.
    confirmed = next(b for b in bodies if b["status"] == "confirmed")
    cancelled = await registration.client.post(
        f"/registrations/{confirmed['id']}/cancel", headers=admin
    )
    assert cancelled.status_code == 200, cancelled.text
    first_in_line = await registration.container.repository.get(
        registration.container.repository.registrations, waiting[0]["_id"]
    )
    assert first_in_line is not None
    assert first_in_line["status"] == "offered"
    assert await _seats(registration, event["id"]) == 10


async def test_quotas_cap_a_category(registration: RegistrationApp) -> None:
    event = await registration.event(capacity=10, quotas={"media": 1})
    first = await registration.register(event["id"], category="media")
    second = await registration.register(event["id"], category="media")
    expert = await registration.register(event["id"], category="expert")
    assert first.json()["status"] == "confirmed"
    assert second.json()["status"] == "waitlisted"
    assert expert.json()["status"] == "confirmed"
    too_big = await registration.client.post(
        "/events",
        json={
            "title": "Сессия",
            "format": "online",
            "starts_at": "2027-03-01T11:00:00Z",
            "ends_at": "2027-03-01T14:00:00Z",
            "quotas": {"astronaut": 1},
        },
        headers=registration.auth(registration.admin_token),
    )
    assert too_big.status_code == 422


async def test_moderators_approve_or_reject_with_a_reason(registration: RegistrationApp) -> None:
    event = await registration.event(capacity=1, requires_approval=True)
    moderator = registration.auth(await registration.operator(["moderator"]))
    check_in_only = registration.auth(await registration.operator(["check_in"]))
    pending = [(await registration.register(event["id"])).json() for _ in range(3)]
    assert {p["status"] for p in pending} == {"pending_approval"}
    await registration.published(
        REGISTRATIONS_TOPIC, of_type("ru.etnik.registration.pending_approval", pending[0]["id"])
    )

    url = f"/registrations/{pending[0]['id']}/approve"
    assert (await registration.client.post(url, headers=check_in_only)).status_code == 403
    approved = await registration.client.post(url, headers=moderator)
    assert approved.json()["status"] == "confirmed"
    again = await registration.client.post(url, headers=moderator)
    assert again.status_code == 409
    # The only place is taken: the next approval waitlists.
    later = await registration.client.post(
        f"/registrations/{pending[1]['id']}/approve", headers=moderator
    )
    assert later.json()["status"] == "waitlisted"

    reject_url = f"/registrations/{pending[2]['id']}/reject"
    no_reason = await registration.client.post(reject_url, json={}, headers=moderator)
    assert no_reason.status_code == 422
    rejected = await registration.client.post(
        reject_url, json={"reason": "Мероприятие для руководителей НКО"}, headers=moderator
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Мероприятие для руководителей НКО"
    [event_out] = await registration.published(
        REGISTRATIONS_TOPIC, of_type("ru.etnik.registration.rejected", pending[2]["id"])
    )
    assert event_out["data"]["reason"] == "Мероприятие для руководителей НКО"


async def test_answers_keep_the_version_of_the_form(registration: RegistrationApp) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event()
    form_v1 = {
        "questions": [
            {"key": "experience", "label": "Опыт", "kind": "text", "required": True},
            {"key": "format", "label": "Формат", "kind": "choice", "options": ["a", "b"]},
        ]
    }
    put = await registration.client.put(f"/events/{event['id']}/form", json=form_v1, headers=admin)
    assert put.json()["version"] == 1
    missing = await registration.register(event["id"], form_version=1, answers={})
    assert missing.status_code == 422
    assert "experience: an answer is required" in missing.json()["detail"]
    first = await registration.register(
        event["id"], form_version=1, answers={"experience": "10 лет", "format": "a"}
    )
    assert first.status_code == 201, first.text

    form_v2 = {"questions": [{"key": "goals", "label": "Цели", "kind": "text"}]}
    put = await registration.client.put(f"/events/{event['id']}/form", json=form_v2, headers=admin)
    assert put.json()["version"] == 2
    stale = await registration.register(event["id"], form_version=1, answers={"experience": "x"})
    assert stale.status_code == 409
    second = await registration.register(event["id"], form_version=2, answers={"goals": "рост"})
    assert second.status_code == 201

    stored = {
        r["_id"]: r
        for r in await registration.container.repository.find(
            registration.container.repository.registrations, {"event_id": event["id"]}
        )
    }
    assert stored[first.json()["id"]]["form_version"] == 1
    assert stored[first.json()["id"]]["answers"] == {"experience": "10 лет", "format": "a"}
    assert stored[second.json()["id"]]["form_version"] == 2


async def test_consent_is_kept_in_a_ledger_with_its_version_and_origin(
    registration: RegistrationApp,
) -> None:
    text = (await registration.client.get("/consent-texts/personal_data")).json()
    assert text["version"] == 1
    assert "152-ФЗ" in text["text"]
    event = await registration.event()
    response = await registration.register(event["id"], consent_version=1, consent_publication=True)
    assert response.status_code == 201, response.text
    person_id = response.json()["person_id"]
    ledger = await registration.container.repository.find(
        registration.container.repository.consents, {"person_id": person_id}
    )
    assert {(c["scope"], c["text_version"]) for c in ledger} == {
        ("personal_data", 1),
        ("publication", 1),
    }
    assert all(c["user_agent"] == "pytest-browser/1.0" and c["ip"] for c in ledger)
    assert all(c["given_at"] and c["event_id"] == event["id"] for c in ledger)
    # Subscribers learn which texts were accepted from the registration's own event.
    [confirmed] = await registration.published(
        REGISTRATIONS_TOPIC, of_type("ru.etnik.registration.confirmed", response.json()["id"])
    )
    assert (confirmed["data"]["consent_version"], confirmed["data"]["publication_consent"]) == (
        1,
        True,
    )
    outdated = await registration.register(event["id"], consent_version=7)
    assert outdated.status_code == 409


async def test_the_online_link_is_shown_only_once_confirmed(registration: RegistrationApp) -> None:
    event = await registration.event(capacity=1, format="hybrid", venue="Москва, Покровка, 47")
    confirmed = (await registration.register(event["id"])).json()
    waiting = (await registration.register(event["id"])).json()
    public = (await registration.client.get(f"/events/{event['id']}")).json()
    assert "online_link" not in public
    mine = await registration.client.get(
        "/registrations/by-link", params={"token": confirmed["manage_token"]}
    )
    assert mine.json()["online_link"] == "https://telemost.yandex.ru/j/123456"
    assert mine.json()["qr_value"].startswith("ETNIK1:")
    theirs = await registration.client.get(
        "/registrations/by-link", params={"token": waiting["manage_token"]}
    )
    assert theirs.json()["online_link"] is None
    assert theirs.json()["check_in_code"] is None
    # Online only: the link, and no check-in code or QR (there is no door to open).
    online = await registration.event()
    joined = (await registration.register(online["id"])).json()
    view = await registration.client.get(
        "/registrations/by-link", params={"token": joined["manage_token"]}
    )
    assert view.json()["online_link"] == "https://telemost.yandex.ru/j/123456"
    assert view.json()["check_in_code"] is view.json()["qr_value"] is None


async def test_a_person_is_found_again_by_email_and_never_duplicated(
    registration: RegistrationApp,
) -> None:
    email = f"same.{uuid.uuid4().hex[:8]}@example.org"
    first_event, second_event = await registration.event(), await registration.event()
    one = await registration.register(first_event["id"], email)
    two = await registration.register(second_event["id"], email.upper(), full_name="Другое Имя")
    assert one.json()["person_id"] == two.json()["person_id"]
    again = await registration.register(first_event["id"], email)
    assert again.status_code == 200
    assert again.json()["id"] == one.json()["id"]
    assert again.json()["manage_token"] is None  # knowing an email gives no access
    people = await registration.container.repository.find(
        registration.container.repository.people, {"email": email}
    )
    assert len(people) == 1
    assert people[0]["full_name"] == "Айаал Николаев"  # not overwritten by an anonymous form


async def test_organisations_are_found_by_inn_and_people_belong_to_them(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    body = {
        "name": "ПАО Сбербанк",
        "kind": "other",
        "region_code": "77",
        "inn": "7707083893",
        "ogrn": "1027700132195",
        "phone": "8 495 500-55-50",
    }
    created = await registration.client.post("/organisations", json=body, headers=admin)
    assert created.status_code in (200, 201), created.text
    assert created.json()["phone"] == "+74955005550"
    assert created.json()["federal_district"] == "ЦФО"
    again = await registration.client.post("/organisations", json=body, headers=admin)
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]

    event = await registration.event()
    response = await registration.register(
        event["id"], organisation_inn="7707083893", position="Председатель"
    )
    person = await registration.container.repository.get(
        registration.container.repository.people, response.json()["person_id"]
    )
    assert person is not None
    assert person["organisation_id"] == created.json()["id"]
    assert person["position"] == "Председатель"


async def test_lowering_the_capacity_never_lets_a_newcomer_past_it(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event(capacity=3)
    held = [(await registration.register(event["id"])).json() for _ in range(3)]
    assert {h["status"] for h in held} == {"confirmed"}
    lowered = await registration.client.patch(
        f"/events/{event['id']}", json={"capacity": 2}, headers=admin
    )
    assert lowered.status_code == 200
    # Keep the holder of seat 3, above the new capacity: seats 1 and 2 become free numbers.
    repository = registration.container.repository
    stored = [await repository.get(repository.registrations, h["id"]) for h in held]
    by_seat = sorted(stored, key=lambda r: r["seat"] if r else 0)
    for freed in by_seat[:2]:
        assert freed is not None
        cancelled = await registration.client.post(
            f"/registrations/{freed['_id']}/cancel", headers=admin
        )
        assert cancelled.status_code == 200
    # One place is free under the new capacity, whatever seat numbers are left.
    newcomers = [(await registration.register(event["id"])).json() for _ in range(3)]
    assert [n["status"] for n in newcomers] == ["confirmed", "waitlisted", "waitlisted"]
    assert await _seats(registration, event["id"]) == 2
