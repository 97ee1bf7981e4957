"""The publication consent withdrawn on its own, end to end through the gateway and Kafka: a
participant who agreed to publication is credited as an author of a published material, signs
in with their email link and withdraws that consent alone; their registration and data stay,
the withdrawal is published, and content stops showing their name in every version."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

import httpx

from etnik.common.contracts.registration import CONSENTS_TOPIC
from etnik.devstack import Stack
from helpers import (
    Mailpit,
    bearer,
    create_open_event,
    read_topic,
    register,
    staff_token,
    wait_until,
)


def _surname() -> str:
    """A surname no other test uses."""
    letters, vowels = "бвгджзклмнпрстфхцчшщ", "аеиоуя"
    return "Скрыт" + "".join(secrets.choice(letters) + secrets.choice(vowels) for _ in range(4))


def _signed_in(gateway: httpx.Client, mailpit: Mailpit, email: str) -> dict[str, str]:
    """The participant signed in with the link that reached their mailbox."""
    asked = gateway.post("/api/registration/auth/sign-in-link", json={"email": email})
    assert asked.status_code == 202, asked.text

    def link_token() -> str | None:
        for summary in mailpit.messages_to(email):
            text = mailpit.message(summary["ID"]).get("Text", "")
            if match := re.search(r"/sign-in\?token=([A-Za-z0-9_\-]+)", text):
                return match.group(1)
        return None

    token = wait_until(link_token, timeout=60, what="the sign-in link's mail")
    signed_in = gateway.post("/api/registration/auth/sign-in", json={"token": token})
    assert signed_in.status_code == 200, signed_in.text
    return bearer(signed_in.json()["access_token"])


def _names(material: dict[str, Any]) -> list[str]:
    return [author["name"] for author in material["authors"]]


def test_withdrawing_the_publication_consent_hides_the_name_and_keeps_the_registration(
    platform: Stack, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    email = f"publication.{uuid.uuid4().hex[:10]}@example.org"
    full_name = f"Сардана Ивановна {_surname()}"
    event = create_open_event(gateway, operator_token, title="Сессия о публикации имени")
    registered = register(
        gateway, event["id"], email, full_name=full_name, consent_publication=True
    )
    assert registered.status_code == 201, registered.text
    person_id = registered.json()["person_id"]
    colleague = f"Коллега {_surname()}"

    staff = bearer(operator_token)
    created = gateway.post(
        "/api/content/materials",
        json={
            "kind": "recommendation",
            "title": "Рекомендации по сохранению родных языков",
            "access": "public",
            "authors": [
                {"name": full_name, "person_id": person_id, "affiliation": "НКО «Наследие»"},
                {"name": colleague},
            ],
        },
        headers=staff,
    )
    assert created.status_code == 201, created.text
    material_id = created.json()["id"]
    reviewer = bearer(staff_token(gateway, operator_token, "moderator"))
    for step, caller in (("submit", staff), ("approve", reviewer)):
        moved = gateway.post(f"/api/content/materials/{material_id}/{step}", headers=caller)
        assert moved.status_code == 200, moved.text
    shown = gateway.get(f"/api/content/materials/{material_id}")
    assert shown.status_code == 200, shown.text
    assert full_name in _names(shown.json())

    me = _signed_in(gateway, mailpit, email)
    before = {
        c["scope"]: c for c in gateway.get("/api/registration/me/consents", headers=me).json()
    }
    assert before["publication"]["accepted_version"] is not None
    # Withdrawing the processing consent here is refused: that is an erasure (POST /me/erase).
    refused = gateway.post(
        "/api/registration/me/consents",
        json={"action": "withdraw", "scope": "personal_data"},
        headers=me,
    )
    assert refused.status_code == 422, refused.text
    withdrawn = gateway.post(
        "/api/registration/me/consents",
        json={"action": "withdraw", "scope": "publication"},
        headers=me,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    after = {c["scope"]: c for c in withdrawn.json()}
    assert after["publication"]["accepted_version"] is None
    assert after["personal_data"]["accepted_version"] == before["personal_data"]["accepted_version"]

    [record] = read_topic(
        platform, CONSENTS_TOPIC, lambda r: r.key == person_id.encode(), timeout=30
    )
    assert b"ru.etnik.publication_consent.withdrawn" in record.value
    assert email.encode() not in record.value  # ids and times only

    # Content hears it through Kafka and stops showing the name, in every version.
    def hidden() -> dict[str, Any] | None:
        material = gateway.get(f"/api/content/materials/{material_id}").json()
        return material if full_name not in _names(material) else None

    material = wait_until(hidden, timeout=60, what="content to stop showing the name")
    assert colleague in _names(material)  # only this person's name goes
    assert all(
        "Наследие" not in (author.get("affiliation") or "") for author in material["authors"]
    )
    versions = gateway.get(f"/api/content/materials/{material_id}/versions", headers=staff)
    assert versions.status_code == 200, versions.text
    assert full_name not in versions.text
    assert colleague in versions.text

    # The registration and the person stay.
    mine = gateway.get("/api/registration/me/registrations", headers=me).json()
    assert [(r["id"], r["status"]) for r in mine] == [(registered.json()["id"], "confirmed")]
    profile = gateway.get("/api/registration/me", headers=me).json()
    assert (profile["full_name"], profile["email"]) == (full_name, email)
