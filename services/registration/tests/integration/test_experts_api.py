"""The roster of experts through the API, against the real Kafka and FerretDB: experts kept by
operators with an event per change; assignments to events and the travel each needs; every
bad input refused with its reason and nothing accepted lost; the public sees only experts who
consent to publication, at once no longer after a withdrawal; erasure reaches the roster."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import TYPE_CHECKING, Any

from pypdf import PdfReader

from etnik.common.contracts.registration import EXPERTS_TOPIC

if TYPE_CHECKING:
    from conftest import RegistrationApp

# A PNG's signature and a few bytes: the service keeps what it is given, it does not decode.
PHOTO = b"\x89PNG\r\n\x1a\n" + b"expert-photo" * 10


async def _person(
    registration: RegistrationApp, event_id: str, *, publication: bool, region: str = "14"
) -> str:
    """A person of the directory (through the public form), with or without publication
    consent; their id."""
    registered = await registration.register(
        event_id, full_name=f"Эксперт {uuid.uuid4().hex[:6]}", region_code=region,
        consent_publication=publication,
    )  # fmt: skip
    assert registered.status_code in (200, 201), registered.text
    person_id: str = registered.json()["person_id"]
    return person_id


async def _expert(registration: RegistrationApp, person_id: str, **fields: Any) -> dict[str, Any]:
    created = await registration.client.post(
        "/experts",
        json={
            "person_id": person_id,
            "field_of_expertise": "Стратегическое планирование в этнокультурных НКО",
            "region_codes": ["14", "75"],
            "bio": "Двадцать лет работы с национально-культурными автономиями.",
            **fields,
        },
        headers={
            **registration.auth(registration.admin_token),
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    assert created.status_code == 201, created.text
    expert: dict[str, Any] = created.json()
    return expert


async def _published(
    registration: RegistrationApp, expert_id: str, versions: int
) -> list[dict[str, Any]]:
    """An expert's events up to a version, in version order (the outbox relay may publish the
    first ones late, when Kafka was not connected yet)."""
    for _ in range(10):
        found = await registration.published(
            EXPERTS_TOPIC, lambda e: e["data"]["expert_id"] == expert_id, wait_s=30
        )
        by_version = {e["data"]["version"]: e for e in found}
        if len(by_version) >= versions:
            return [by_version[v] for v in sorted(by_version)]
        await asyncio.sleep(1)
    raise AssertionError(f"expert {expert_id}: {sorted(by_version)} published, not {versions}")


async def _roster(registration: RegistrationApp, **params: Any) -> list[dict[str, Any]]:
    listed = await registration.client.get(
        "/experts",
        params={"limit": 500, **params},
        headers=registration.auth(registration.admin_token),
    )
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def test_the_roster_is_kept_with_an_event_per_change_and_bad_input_refused(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event()
    person_id = await _person(registration, event["id"], publication=False)
    expert = await _expert(registration, person_id)
    assert (expert["person_id"], expert["region_codes"], expert["version"]) == (
        person_id,
        ["14", "75"],
        1,
    )
    assert expert["full_name"].startswith("Эксперт ")
    assert expert["publication_consent"] is False

    # Bad inputs: each refused with its reason, and the expert recorded stays as it was.
    unknown_region = await registration.client.post(
        "/experts",
        json={"person_id": await _person(registration, event["id"], publication=False),
              "field_of_expertise": "Этнокультурное образование", "region_codes": ["99"]},
        headers=admin,
    )  # fmt: skip
    assert unknown_region.status_code == 422
    assert "unknown federal subject code 99" in unknown_region.json()["detail"]
    unknown_person = await registration.client.post(
        "/experts",
        json={"person_id": "no-such-person", "field_of_expertise": "Этнокультурное образование"},
        headers=admin,
    )
    assert unknown_person.status_code == 422
    assert "unknown person" in unknown_person.json()["detail"]
    twice = await registration.client.post(
        "/experts", json={"person_id": person_id, "field_of_expertise": "Другое"}, headers=admin
    )
    assert twice.status_code == 409
    assert "already on the roster" in twice.json()["detail"]
    bad_change = await registration.client.patch(
        f"/experts/{expert['id']}", json={"region_codes": ["14", "00"]}, headers=admin
    )
    assert bad_change.status_code == 422
    assert "unknown federal subject code 00" in bad_change.json()["detail"]
    assert (
        await registration.client.get("/experts/no-such-expert", headers=admin)
    ).status_code == 404
    kept = (await registration.client.get(f"/experts/{expert['id']}", headers=admin)).json()
    assert (kept["region_codes"], kept["version"]) == (["14", "75"], 1)

    # Operators change; moderators read only; the public reads no roster.
    changed = await registration.client.patch(
        f"/experts/{expert['id']}",
        json={"version": 1, "region_codes": ["03"], "bio": "Коротко."},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["region_codes"], changed.json()["version"]) == (["03"], 2)
    stale = await registration.client.patch(
        f"/experts/{expert['id']}", json={"version": 1, "bio": "Иначе."}, headers=admin
    )
    assert stale.status_code == 409
    assert "version 2" in stale.json()["detail"]
    moderator = registration.auth(await registration.operator(["moderator"]))
    assert (await registration.client.get("/experts", headers=moderator)).status_code == 200
    refused = await registration.client.post(
        "/experts", json={"person_id": person_id, "field_of_expertise": "Другое"}, headers=moderator
    )
    assert refused.status_code == 403
    assert (await registration.client.get("/experts")).status_code == 401
    assert expert["id"] in {e["id"] for e in await _roster(registration, region_code="03")}

    removed = await registration.client.delete(f"/experts/{expert['id']}", headers=admin)
    assert removed.status_code == 204
    assert expert["id"] not in {e["id"] for e in await _roster(registration)}
    assert (
        await registration.client.get(f"/experts/{expert['id']}", headers=admin)
    ).status_code == 404

    published = await _published(registration, expert["id"], versions=3)
    types = [e["type"] for e in published]
    assert types == [
        "ru.etnik.expert.rostered",
        "ru.etnik.expert.changed",
        "ru.etnik.expert.removed",
    ]
    assert published[1]["data"]["changes"] == ["bio", "region_codes"]
    # Events carry ids and non-personal fields: no name, no biography.
    assert all("bio" not in e["data"] and "full_name" not in e["data"] for e in published)


async def test_assignments_and_travel_with_every_bad_input_refused(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    # The in-person strategic session: 1-2 March 2027.
    session = await registration.event(
        title="Очная стратегическая сессия экспертов", format="in_person", online_link=None,
        venue="Якутск, ул. Ленина, 1", starts_at="2027-03-01T01:00:00Z",
        ends_at="2027-03-02T08:00:00Z",
    )  # fmt: skip
    other = await registration.event()
    expert = await _expert(
        registration, await _person(registration, other["id"], publication=False)
    )
    url = f"/experts/{expert['id']}/assignments"

    assigned = await registration.client.post(
        url,
        json={"event_id": session["id"], "role": "speaker",
              "arrival_on": "2027-02-28", "departure_on": "2027-03-03"},
        headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
    )  # fmt: skip
    assert assigned.status_code == 201, assigned.text
    [speaker] = assigned.json()["assignments"]
    assert (speaker["role"], speaker["travel_status"], speaker["arrival_on"]) == (
        "speaker",
        "invited",
        "2027-02-28",
    )
    # A different role at the same event is fine.
    moderating = await registration.client.post(
        url, json={"event_id": session["id"], "role": "moderator"}, headers=admin
    )
    assert moderating.status_code == 201, moderating.text
    moderator_id = next(
        a["assignment_id"] for a in moderating.json()["assignments"] if a["role"] == "moderator"
    )

    bad = [
        ({"event_id": session["id"], "role": "speaker"}, 409, "already assigned as speaker"),
        ({"event_id": "no-such-event", "role": "speaker"}, 422, "unknown event"),
        ({"event_id": session["id"], "role": "keynote"}, 422, "role"),
        ({"event_id": other["id"], "role": "facilitator",
          "arrival_on": "2027-03-02", "departure_on": "2027-03-01"}, 422,
         "departure_on is before arrival_on"),
        ({"event_id": other["id"], "role": "facilitator", "arrival_on": "2027-01-10"}, 422,
         "more than 7 days before"),
        ({"event_id": other["id"], "role": "facilitator", "departure_on": "2027-04-01"}, 422,
         "more than 7 days after"),
        ({"event_id": other["id"], "role": "facilitator", "arrival_on": "2027-03-05"}, 422,
         "after the event ends"),
    ]  # fmt: skip
    for body, status, reason in bad:
        refused = await registration.client.post(url, json=body, headers=admin)
        assert refused.status_code == status, (body, refused.text)
        assert reason in refused.text, (body, refused.text)
    unknown_expert = await registration.client.post(
        "/experts/no-such-expert/assignments",
        json={"event_id": session["id"], "role": "speaker"},
        headers=admin,
    )
    assert unknown_expert.status_code == 404
    assert "unknown expert" in unknown_expert.json()["detail"]
    kept = (await registration.client.get(f"/experts/{expert['id']}", headers=admin)).json()
    assert sorted(a["role"] for a in kept["assignments"]) == ["moderator", "speaker"]

    # Change: a role held already at the event, bad dates and a jump in the travel are refused.
    change_url = f"{url}/{speaker['assignment_id']}"
    for body, status, reason in [
        ({"role": "moderator"}, 409, "already assigned as moderator"),
        ({"role": "host"}, 422, "role"),
        ({"departure_on": "2027-02-27"}, 422, "departure_on is before arrival_on"),
        ({"travel_status": "arrived"}, 409, "cannot go from invited to arrived"),
        ({"travel_status": "lost"}, 422, "travel_status"),
    ]:
        refused = await registration.client.patch(change_url, json=body, headers=admin)
        assert refused.status_code == status, (body, refused.text)
        assert reason in refused.text, (body, refused.text)
    missing = await registration.client.patch(
        f"{url}/no-such-assignment", json={"travel_status": "confirmed"}, headers=admin
    )
    assert missing.status_code == 404
    assert "unknown assignment" in missing.json()["detail"]

    for status in ("confirmed", "travel_booked", "arrived"):
        moved = await registration.client.patch(
            change_url, json={"travel_status": status}, headers=admin
        )
        assert moved.status_code == 200, moved.text
    final = await registration.client.patch(
        change_url, json={"travel_status": "declined"}, headers=admin
    )
    assert final.status_code == 409
    assert "it is final" in final.json()["detail"]
    redated = await registration.client.patch(
        change_url, json={"role": "facilitator", "arrival_on": "2027-03-01"}, headers=admin
    )
    assert redated.status_code == 200, redated.text
    now = {a["assignment_id"]: a for a in redated.json()["assignments"]}
    assert (now[speaker["assignment_id"]]["role"], now[speaker["assignment_id"]]["arrival_on"]) == (
        "facilitator",
        "2027-03-01",
    )
    assert now[speaker["assignment_id"]]["travel_status"] == "arrived"

    unassigned = await registration.client.delete(f"{url}/{moderator_id}", headers=admin)
    assert unassigned.status_code == 200, unassigned.text
    assert [a["role"] for a in unassigned.json()["assignments"]] == ["facilitator"]
    again = await registration.client.delete(f"{url}/{moderator_id}", headers=admin)
    assert again.status_code == 404
    by_event = await _roster(registration, event_id=session["id"])
    assert [e["id"] for e in by_event] == [expert["id"]]

    published = await registration.published(
        EXPERTS_TOPIC,
        lambda e: e["data"]["expert_id"] == expert["id"] and e["data"]["version"] == 8,
        wait_s=30,
    )
    [latest] = published
    assert latest["data"]["assignments"] == [
        {"assignment_id": speaker["assignment_id"], "event_id": session["id"],
         "role": "facilitator", "travel_status": "arrived"},
    ]  # fmt: skip
    assert "arrival_on" not in str(latest["data"])


async def test_the_public_sees_only_consenting_experts_and_a_withdrawal_hides_at_once(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event()
    consenting = await _expert(
        registration, await _person(registration, event["id"], publication=True)
    )
    silent = await _expert(
        registration, await _person(registration, event["id"], publication=False)
    )
    assert consenting["publication_consent"] is True
    for expert, role in ((consenting, "speaker"), (consenting, "moderator"), (silent, "speaker")):
        assigned = await registration.client.post(
            f"/experts/{expert['id']}/assignments",
            json={"event_id": event["id"], "role": role},
            headers=admin,
        )
        assert assigned.status_code == 201, assigned.text
    for expert in (consenting, silent):
        photo = await registration.client.put(
            f"/experts/{expert['id']}/photo",
            content=PHOTO,
            headers={**admin, "Content-Type": "image/png"},
        )
        assert photo.status_code == 204, photo.text
    not_a_photo = await registration.client.put(
        f"/experts/{consenting['id']}/photo",
        content=b"%PDF-1.4",
        headers={**admin, "Content-Type": "application/pdf"},
    )
    assert not_a_photo.status_code == 415
    assert "image/jpeg" in not_a_photo.json()["detail"]

    shown = await registration.client.get(f"/events/{event['id']}/experts")
    assert shown.status_code == 200, shown.text
    [card] = shown.json()
    assert card["id"] == consenting["id"]
    assert card["roles"] == ["speaker", "moderator"]
    assert card["bio"] == consenting["bio"]
    assert card["full_name"] == consenting["full_name"]
    assert card["photo_url"] == f"/api/registration/experts/{consenting['id']}/photo"
    photo = await registration.client.get(f"/experts/{consenting['id']}/photo")
    assert (photo.status_code, photo.content) == (200, PHOTO)
    assert photo.headers["content-type"] == "image/png"
    assert (await registration.client.get(f"/experts/{silent['id']}/photo")).status_code == 404
    assert (await registration.client.get(f"/experts/{silent['id']}/card")).status_code == 404
    assert (await registration.client.get(f"/experts/{consenting['id']}/card")).status_code == 200
    assert (await registration.client.get("/events/no-such-event/experts")).status_code == 404

    withdrawn = await registration.client.post(
        f"/people/{consenting['person_id']}/consents/publication/withdraw", headers=admin
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert (await registration.client.get(f"/events/{event['id']}/experts")).json() == []
    assert (await registration.client.get(f"/experts/{consenting['id']}/card")).status_code == 404
    assert (await registration.client.get(f"/experts/{consenting['id']}/photo")).status_code == 404
    # The roster keeps them for operators.
    kept = (await registration.client.get(f"/experts/{consenting['id']}", headers=admin)).json()
    assert (kept["publication_consent"], kept["bio"], kept["has_photo"]) == (
        False,
        consenting["bio"],
        True,
    )


async def test_erasure_reaches_the_roster_and_a_campaign_for_experts_reaches_the_roster(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event()
    # Zabaykalsky Krai (75): people of other tests are elsewhere.
    on_roster = await _person(registration, event["id"], publication=True, region="75")
    not_on_roster = await _person(registration, event["id"], publication=True, region="75")
    expert = await _expert(registration, on_roster)
    await registration.client.post(
        f"/experts/{expert['id']}/assignments",
        json={"event_id": event["id"], "role": "facilitator"},
        headers=admin,
    )

    # Both registered as NGO leaders; «expert» reaches the one on the roster.
    session = await registration.event(title="Очная стратегическая сессия: приглашение экспертов")
    campaign = await registration.client.post(
        "/invitation-campaigns",
        json={"event_id": session["id"], "categories": ["expert"], "region_codes": ["75"]},
        headers=admin,
    )
    assert campaign.status_code == 201, campaign.text
    assert campaign.json()["invitations"] == 1
    invited = await registration.client.get(f"/events/{session['id']}/invitations", headers=admin)
    assert [i["person_id"] for i in invited.json()] == [on_roster]
    assert not_on_roster != on_roster

    exported = await registration.client.get(f"/people/{on_roster}/export", headers=admin)
    assert exported.status_code == 200, exported.text
    assert exported.json()["expert"]["bio"] == expert["bio"]
    pdf = await registration.client.get(f"/people/{on_roster}/export.pdf", headers=admin)
    assert pdf.status_code == 200, pdf.text
    printed = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Реестр экспертов" in printed
    assert "Стратегическое планирование" in printed
    await registration.client.put(
        f"/experts/{expert['id']}/photo",
        content=PHOTO,
        headers={**admin, "Content-Type": "image/png"},
    )

    erased = await registration.client.post(f"/people/{on_roster}/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    assert expert["id"] not in {e["id"] for e in await _roster(registration)}
    assert (await registration.client.get(f"/experts/{expert['id']}/card")).status_code == 404
    assert (await registration.client.get(f"/experts/{expert['id']}/photo")).status_code == 404
    assert (await registration.client.get(f"/events/{event['id']}/experts")).json() == []
    [erasure] = await registration.published(
        EXPERTS_TOPIC,
        lambda e: e["data"]["expert_id"] == expert["id"] and e["type"] == "ru.etnik.expert.erased",
        wait_s=30,
    )
    assert erasure["data"]["person_id"] is None
    assert erasure["data"]["field_of_expertise"] is None
    # The assignment stays as a count, naming nobody.
    assert [a["role"] for a in erasure["data"]["assignments"]] == ["facilitator"]
    stored = await registration.container.repository.people.database["experts"].find_one(
        {"_id": expert["id"]}
    )
    assert stored is not None
    assert "person_id" not in stored
    assert stored["bio"] is None
    photos = registration.container.repository.people.database["expert_photos"]
    assert await photos.find_one({"_id": expert["id"]}) is None
