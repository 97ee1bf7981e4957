"""Reference data, programme and event lifecycle, through the API on real Kafka and FerretDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from etnik.common.contracts.registration import (
    EVENTS_TOPIC,
    PEOPLE_TOPIC,
    PROGRAMMES_TOPIC,
    REFERENCE_TOPIC,
)

if TYPE_CHECKING:
    from conftest import RegistrationApp


def of_type(event_type: str, subject: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate on CloudEvents: this type, about this aggregate."""
    return lambda e: e.get("type") == event_type and e.get("subject") == subject


async def test_reference_data_is_seeded_and_public(registration: RegistrationApp) -> None:
    districts = (await registration.client.get("/reference/districts")).json()
    subjects = (await registration.client.get("/reference/subjects")).json()
    assert len(districts) == 8
    by_code = {s["code"]: s for s in subjects}
    assert by_code["41"]["iana_timezone"] == "Asia/Kamchatka"
    assert {c for c, s in by_code.items() if s["federal_district"] is None} == {
        "90",
        "93",
        "94",
        "95",
    }


async def test_only_an_admin_edits_a_subject_and_the_change_is_published(
    registration: RegistrationApp,
) -> None:
    operator = await registration.operator(["operator"])
    body = {"federal_district": "ЮФО"}
    refused = await registration.client.put(
        "/reference/subjects/95", json=body, headers=registration.auth(operator)
    )
    assert refused.status_code == 403
    changed = await registration.client.put(
        "/reference/subjects/95", json=body, headers=registration.auth(registration.admin_token)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["federal_district"] == "ЮФО"
    [event] = await registration.published(
        REFERENCE_TOPIC, of_type("ru.etnik.federal_subject.changed", "95")
    )
    assert event["data"]["changes"] == ["federal_district"]
    unknown = await registration.client.put(
        "/reference/subjects/95",
        json={"federal_district": "XXФО"},
        headers=registration.auth(registration.admin_token),
    )
    assert unknown.status_code == 422


async def test_a_persons_zone_defaults_from_their_subject_and_can_be_set(
    registration: RegistrationApp,
) -> None:
    event = await registration.event()
    email = f"kamchatka.{uuid.uuid4().hex[:8]}@example.org"
    assert (await registration.register(event["id"], email, region_code="41")).status_code == 201
    people = await registration.client.get(
        "/people", params={"email": email}, headers=registration.auth(registration.admin_token)
    )
    [person] = people.json()
    assert person["timezone"] == "Asia/Kamchatka"
    assert person["federal_district"] == "ДФО"
    changed = await registration.client.patch(
        f"/people/{person['id']}",
        json={"timezone": "Asia/Magadan"},
        headers=registration.auth(registration.admin_token),
    )
    assert changed.json()["timezone"] == "Asia/Magadan"
    events = await registration.published(
        PEOPLE_TOPIC,
        lambda e: e["subject"] == person["id"] and e["data"]["timezone"] == "Asia/Magadan",
    )
    assert events


async def test_the_lifecycle_moves_only_through_its_transitions(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event(status="draft")
    event_id = event["id"]
    # A draft is invisible to the public and takes no registrations.
    assert (await registration.client.get(f"/events/{event_id}")).status_code == 404
    assert (await registration.register(event_id)).status_code == 404

    skipped = await registration.client.post(f"/events/{event_id}/open-registration", headers=admin)
    assert skipped.status_code == 409
    assert "cannot become registration_open" in skipped.json()["detail"]
    for action, status in [("publish", "published"), ("open-registration", "registration_open")]:
        moved = await registration.client.post(f"/events/{event_id}/{action}", headers=admin)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status
    assert (await registration.register(event_id)).status_code == 201

    closed = await registration.client.post(f"/events/{event_id}/close-registration", headers=admin)
    assert closed.status_code == 200
    late = await registration.register(event_id)
    assert late.status_code == 409
    assert "not open" in late.json()["detail"]

    cancelled = await registration.client.post(f"/events/{event_id}/cancel", headers=admin)
    assert cancelled.status_code == 200
    final = await registration.client.post(f"/events/{event_id}/publish", headers=admin)
    assert final.status_code == 409

    changes = await registration.published(
        EVENTS_TOPIC,
        lambda e: e["subject"] == event_id and e["type"] == "ru.etnik.event.changed",
    )
    statuses = [e["data"]["status"] for e in changes]
    assert statuses == ["published", "registration_open", "closed", "cancelled"]
    assert all(e["data"]["changes"] == ["status"] for e in changes)
    # The snapshot is whole, and never carries the online link.
    assert changes[-1]["data"]["online_platform"] == "yandex_telemost"
    assert "online_link" not in changes[-1]["data"]


async def test_staff_read_the_form_of_a_draft_that_the_public_cannot_see(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event(status="draft")
    url = f"/operator/events/{event['id']}/form"
    empty = await registration.client.get(url, headers=admin)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"event_id": event["id"], "version": 0, "questions": []}

    question = {"key": "mission", "label": "Миссия НКО", "kind": "text", "required": True}
    put = await registration.client.put(
        f"/events/{event['id']}/form", json={"questions": [question]}, headers=admin
    )
    assert put.status_code == 200, put.text
    assert (await registration.client.get(f"/events/{event['id']}/form")).status_code == 404
    moderator = registration.auth(await registration.operator(["moderator"]))
    current = await registration.client.get(url, headers=moderator)
    assert current.status_code == 200, current.text
    assert current.json()["version"] == 1
    assert current.json()["questions"][0]["label"] == "Миссия НКО"

    check_in = registration.auth(await registration.operator(["check_in"]))
    assert (await registration.client.get(url, headers=check_in)).status_code == 403
    assert (await registration.client.get(url)).status_code == 401
    unknown = await registration.client.get("/operator/events/no-such-event/form", headers=admin)
    assert unknown.status_code == 404


async def test_details_change_with_a_snapshot_and_what_changed(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event()
    changed = await registration.client.patch(
        f"/events/{event['id']}",
        json={"capacity": 150, "online_link": "https://us02web.zoom.us/j/42"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["online_platform"] == "zoom"
    assert "online_link" not in changed.json()
    [event_changed] = await registration.published(
        EVENTS_TOPIC, of_type("ru.etnik.event.changed", event["id"])
    )
    assert event_changed["data"]["changes"] == ["capacity", "online_link", "online_platform"]
    assert event_changed["data"]["capacity"] == 150
    refused = await registration.client.patch(
        f"/events/{event['id']}", json={"status": "completed"}, headers=admin
    )
    assert refused.status_code == 422


async def test_an_explicit_null_for_a_field_every_event_needs_is_a_clear_422(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event()
    for field in ("starts_at", "ends_at", "title", "format", "timezone", "attendance_rule"):
        refused = await registration.client.patch(
            f"/events/{event['id']}", json={field: None}, headers=admin
        )
        assert refused.status_code == 422, (field, refused.text)
        assert field in refused.text
        assert "may not be null" in refused.text
    # Optional details may be cleared with null; the event keeps everything else.
    cleared = await registration.client.patch(
        f"/events/{event['id']}", json={"capacity": None, "venue": None}, headers=admin
    )
    assert cleared.status_code == 200, cleared.text
    stored = (await registration.client.get(f"/events/{event['id']}", headers=admin)).json()
    assert stored["capacity"] is None
    assert stored["starts_at"] == event["starts_at"]
    assert stored["title"] == event["title"]


async def test_event_creation_checks_the_programme_and_place(registration: RegistrationApp) -> None:
    admin = registration.auth(registration.admin_token)
    base = {
        "title": "Сессия",
        "format": "online",
        "starts_at": "2027-03-01T11:00:00Z",
        "ends_at": "2027-03-01T14:00:00Z",
    }
    for extra, reason in [
        ({"track": "no_such_track"}, "has no track"),
        ({"region_code": "00"}, "unknown region code"),
        ({"federal_district": "ЛФО"}, "unknown federal district"),
    ]:
        response = await registration.client.post("/events", json=base | extra, headers=admin)
        assert response.status_code == 422, response.text
        assert reason in response.json()["detail"]
    bad_link = await registration.client.post(
        "/events", json=base | {"online_link": "javascript:alert(1)"}, headers=admin
    )
    assert bad_link.status_code == 422
    programmes = (await registration.client.get("/programmes")).json()
    tracks = {t["id"] for p in programmes for t in p["tracks"]}
    assert {"in_person_session", "online_sessions", "internships", "field_programmes"} <= tracks


async def test_operators_create_and_replace_programmes(registration: RegistrationApp) -> None:
    admin = registration.auth(registration.admin_token)
    programme_id = f"field-{uuid.uuid4().hex[:6]}"
    body = {
        "id": programme_id,
        "title": "Выездные программы 2027",
        "tracks": [{"id": "kazan", "title": "Казань", "kind": "field_programme"}],
    }
    created = await registration.client.put(f"/programmes/{programme_id}", json=body, headers=admin)
    assert created.status_code == 200, created.text
    body["tracks"].append({"id": "ufa", "title": "Уфа", "kind": "field_programme"})
    replaced = await registration.client.put(
        f"/programmes/{programme_id}", json=body, headers=admin
    )
    assert [t["id"] for t in replaced.json()["tracks"]] == ["kazan", "ufa"]
    changes = await registration.published(
        PROGRAMMES_TOPIC,
        lambda e: e["subject"] == programme_id and len(e["data"]["tracks"]) == 2,
    )
    assert changes
    event = await registration.event(programme_id=programme_id, track="ufa")
    assert event["programme_id"] == programme_id
    mismatch = await registration.client.put(
        f"/programmes/{programme_id}x", json=body, headers=admin
    )
    assert mismatch.status_code == 422
