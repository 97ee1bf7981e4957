"""Internships and field business programmes through the API, against the real Kafka and
FerretDB: the host and schedule (each bad one refused with its reason, the stored one kept),
selection of applications with the decisions' audit, and participants' outcomes with their
events; an erased person's outcome text goes with them."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from etnik.common.contracts.registration import INTERNSHIPS_TOPIC, REGISTRATIONS_TOPIC

if TYPE_CHECKING:
    from conftest import RegistrationApp

# 5 to 7 April 2027 in Kazan (Moscow time): three days.
STARTS_AT = "2027-04-05T06:00:00Z"  # 09:00 Moscow
ENDS_AT = "2027-04-07T15:00:00Z"  # 18:00 Moscow


async def _organisation(registration: RegistrationApp) -> dict[str, Any]:
    created = await registration.client.post(
        "/organisations",
        json={"name": f"Дом дружбы народов {uuid.uuid4().hex[:6]}", "kind": "ngo",
              "region_code": "16"},
        headers=registration.auth(registration.admin_token),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    organisation: dict[str, Any] = created.json()
    return organisation


async def _internship_event(registration: RegistrationApp, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": "Стажировка для лидеров этнокультурных НКО в Казани",
        "track": "internships",
        "format": "in_person",
        "starts_at": STARTS_AT,
        "ends_at": ENDS_AT,
        "federal_district": None,
        "region_code": "16",
        "venue": "Казань, ул. Баумана, 1",
        "online_link": None,
    }
    return await registration.event(**(fields | overrides))


def _day(on: str, *items: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "date": on,
        "items": [
            {"starts": starts, "ends": ends, "title": title, "place": "Дом дружбы народов"}
            for starts, ends, title in items
        ],
    }


GOOD_SCHEDULE = [
    _day("2027-04-05", ("09:00", "10:30", "Знакомство с организацией"),
         ("11:00", "13:00", "Проектная мастерская")),
    _day("2027-04-07", ("10:00", "12:00", "Защита проектов")),
]  # fmt: skip


def _details(host: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "host_organisation_id": host["id"],
        "schedule": GOOD_SCHEDULE,
        "places": 2,
        "selection": True,
        **overrides,
    }


async def _published(
    registration: RegistrationApp,
    topic: str,
    event_id: str,
    wanted: set[str],
    count: int = 0,
) -> dict[str, list[dict[str, Any]]]:
    """The events of one programme event on a topic, by type, once every wanted type (and at
    least `count` events) is there."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for _ in range(10):
        found = await registration.published(
            topic, lambda e: e["data"].get("event_id") == event_id, wait_s=10
        )
        by_type = {}
        for envelope in found:
            by_type.setdefault(envelope["type"], []).append(envelope)
        if wanted <= set(by_type) and len(found) >= count:
            return by_type
        await asyncio.sleep(1)
    raise AssertionError(f"missing {wanted - set(by_type)} on {topic}")


async def test_the_host_and_schedule_are_set_and_each_bad_one_is_refused_keeping_the_stored(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    host = await _organisation(registration)
    event = await _internship_event(registration, capacity=10)
    url = f"/events/{event['id']}/internship"

    stored = await registration.client.put(url, json=_details(host), headers=admin)
    assert stored.status_code == 200, stored.text
    details = stored.json()
    assert (details["kind"], details["host_name"], details["places"], details["selection"]) == (
        "internship",
        host["name"],
        2,
        True,
    )
    assert (details["starts_on"], details["ends_on"], details["version"]) == (
        "2027-04-05",
        "2027-04-07",
        1,
    )
    assert [item["title"] for item in details["schedule"][0]["items"]] == [
        "Знакомство с организацией",
        "Проектная мастерская",
    ]
    # The places and selection are the event's own capacity and approval.
    shown = (await registration.client.get(f"/events/{event['id']}")).json()
    assert (shown["capacity"], shown["requires_approval"]) == (2, True)
    # The portal reads the schedule without signing in.
    public = await registration.client.get(url)
    assert public.status_code == 200
    assert public.json()["schedule"] == details["schedule"]

    refusals: list[tuple[dict[str, Any], int, str]] = [
        (_details(host, host_organisation_id="nobody"), 422, "unknown host organisation nobody"),
        (
            _details(host, schedule=[_day("2027-04-08", ("10:00", "11:00", "Экскурсия"))]),
            422,
            "day 1 (2027-04-08): outside the event's dates 2027-04-05 to 2027-04-07",
        ),
        (
            _details(host, schedule=[_day("2027-04-04", ("10:00", "11:00", "Заезд"))]),
            422,
            "outside the event's dates",
        ),
        (
            _details(host, schedule=[_day("2027-04-05", ("10:00", "09:00", "Лекция"))]),
            422,
            "day 1 (2027-04-05), item 1: ends at 09:00, not after it starts at 10:00",
        ),
        (
            _details(host, schedule=[_day("2027-04-05", ("10:00", "10:00", "Лекция"))]),
            422,
            "ends at 10:00, not after it starts at 10:00",
        ),
        (
            _details(
                host,
                schedule=[
                    _day("2027-04-06", ("10:00", "12:00", "Лекция"), ("11:30", "13:00", "Обед"))
                ],
            ),
            422,
            "day 1 (2027-04-06): items 1 and 2 overlap",
        ),
        (
            _details(
                host,
                schedule=[
                    _day("2027-04-06", ("10:00", "11:00", "Лекция")),
                    _day("2027-04-06", ("12:00", "13:00", "Семинар")),
                ],
            ),
            422,
            "day 2 (2027-04-06): this date is already in the schedule",
        ),
        (
            _details(host, schedule=[_day("2027-04-06", ("25:00", "26:00", "Ночь"))]),
            422,
            "item 1: times are HH:MM, 00:00 to 23:59",
        ),
        (_details(host, schedule=[{"date": "2027-04-06", "items": []}]), 422, "at least one item"),
    ]
    for body, status, reason in refusals:
        refused = await registration.client.put(url, json=body, headers=admin)
        assert refused.status_code == status, (body, refused.text)
        assert reason in str(refused.json()["detail"]), (body, refused.text)
    for body in (
        _details(host, places=0),
        _details(host, schedule=[]),
        _details(host, schedule=[_day("2027-04-06", ("10", "11:00", "Лекция"))]),
        {k: v for k, v in _details(host).items() if k != "host_organisation_id"},
    ):
        refused = await registration.client.put(url, json=body, headers=admin)
        assert refused.status_code == 422, (body, refused.text)

    # Nothing refused changed what was stored.
    kept = (await registration.client.get(url)).json()
    assert (kept["version"], kept["schedule"], kept["places"]) == (1, details["schedule"], 2)

    # Only events of an internship or field programme track carry these details.
    session = await registration.event()
    not_one = await registration.client.put(
        f"/events/{session['id']}/internship", json=_details(host), headers=admin
    )
    assert not_one.status_code == 409
    assert "not an internship or a field business programme" in not_one.json()["detail"]
    assert (await registration.client.get(f"/events/{session['id']}/internship")).status_code == 404

    # Moderators read; only operators set.
    moderator = registration.auth(await registration.operator(["moderator"]))
    assert (await registration.client.put(url, json=_details(host))).status_code == 401
    assert (
        await registration.client.put(url, json=_details(host), headers=moderator)
    ).status_code == 403

    # A change is published with what changed; a field programme is named as such.
    changed = await registration.client.put(url, json=_details(host, places=3), headers=admin)
    assert (changed.status_code, changed.json()["version"]) == (200, 2)
    published = await _published(
        registration, INTERNSHIPS_TOPIC, event["id"], {"ru.etnik.internship.details_set"}, count=2
    )
    versions = {
        e["data"]["version"]: e["data"] for e in published["ru.etnik.internship.details_set"]
    }
    assert versions[1]["host_organisation_id"] == host["id"]
    assert versions[1]["schedule"][1]["date"] == "2027-04-07"
    assert versions[2]["changes"] == ["places"]
    assert versions[2]["places"] == 3
    field = await _internship_event(registration, track="field_programmes")
    set_field = await registration.client.put(
        f"/events/{field['id']}/internship", json=_details(host), headers=admin
    )
    assert (set_field.status_code, set_field.json()["kind"]) == (200, "field_programme")


async def _apply(
    registration: RegistrationApp, event_id: str, motivation: str | None = None
) -> dict[str, Any]:
    answers = {"motivation": motivation} if motivation else {}
    applied = await registration.register(event_id, answers=answers)
    assert applied.status_code == 201, applied.text
    body: dict[str, Any] = applied.json()
    return body


async def test_applications_are_selected_by_a_moderator_within_the_places_with_an_audit(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    host = await _organisation(registration)
    event = await _internship_event(registration)
    event_id = event["id"]
    assert (
        await registration.client.put(
            f"/events/{event_id}/internship", json=_details(host), headers=admin
        )
    ).status_code == 200
    form = await registration.client.put(
        f"/events/{event_id}/form",
        json={"questions": [{"key": "motivation", "label": "Почему вы хотите участвовать?",
                             "kind": "text", "required": True}]},
        headers=admin,
    )  # fmt: skip
    assert form.status_code == 200, form.text

    # The form asks for a motivation: without one the application is refused, nothing stored.
    unmotivated = await registration.register(event_id, answers={})
    assert unmotivated.status_code == 422
    assert "motivation: an answer is required" in unmotivated.text
    first = await _apply(registration, event_id, "Хочу перенять опыт работы с молодёжью")
    second = await _apply(registration, event_id, "Готовлю проект языковой школы")
    third = await _apply(registration, event_id, "Интересен опыт Татарстана")
    assert {a["status"] for a in (first, second, third)} == {"pending_approval"}
    listed = await registration.client.get(
        "/registrations", params={"event_id": event_id}, headers=admin
    )
    assert listed.json()["total"] == 3
    # Moderators review the applications with the motivation each gave.
    review = await registration.client.get(
        f"/events/{event_id}/internship/applications", headers=admin
    )
    assert [(a["registration_id"], a["answers"]["motivation"]) for a in review.json()] == [
        (first["id"], "Хочу перенять опыт работы с молодёжью"),
        (second["id"], "Готовлю проект языковой школы"),
        (third["id"], "Интересен опыт Татарстана"),
    ]

    moderator_email = f"mod.{uuid.uuid4().hex[:8]}@example.org"
    created = await registration.client.post(
        "/operators",
        json={"email": moderator_email, "password": "moderator-password-1",
              "roles": ["moderator"]},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    signed_in = await registration.client.post(
        "/auth/token", json={"email": moderator_email, "password": "moderator-password-1"}
    )
    moderator = registration.auth(signed_in.json()["access_token"])

    def decide(application: dict[str, Any], action: str, **body: Any) -> Any:
        return registration.client.post(
            f"/registrations/{application['id']}/{action}", json=body or None, headers=moderator
        )

    assert (await decide(first, "approve")).json()["status"] == "confirmed"
    assert (await decide(second, "approve")).json()["status"] == "confirmed"
    # Both places are taken: a third approval is refused, and the application still waits.
    beyond = await decide(third, "approve")
    assert beyond.status_code == 409
    assert beyond.json()["detail"] == "all 2 places are taken: reject, or add places"
    # A rejection needs its reason.
    for body in ({}, {"reason": ""}, {"reason": "  "}):
        unreasoned = await registration.client.post(
            f"/registrations/{third['id']}/reject", json=body, headers=moderator
        )
        assert unreasoned.status_code == 422, unreasoned.text
        assert "reason" in unreasoned.text
    rejected = await decide(third, "reject", reason="Все места заняты участниками из округа")
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    # A decided application is not decided again.
    again = await decide(first, "reject", reason="Передумали")
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "a confirmed registration cannot be rejected",
    )
    twice = await decide(third, "approve")
    assert (twice.status_code, twice.json()["detail"]) == (
        409,
        "a rejected registration cannot be approved",
    )
    # Places cannot fall below those approved.
    fewer = await registration.client.put(
        f"/events/{event_id}/internship", json=_details(host, places=1), headers=admin
    )
    assert fewer.status_code == 409
    assert "2 places are taken already" in fewer.json()["detail"]
    assert (await registration.client.get(f"/events/{event_id}")).json()["capacity"] == 2

    # The audit: each decision with who made it and when, newest first.
    audit = await registration.client.get(
        f"/events/{event_id}/internship/decisions", headers=moderator
    )
    assert audit.status_code == 200, audit.text
    rows = audit.json()
    assert [row["registration_id"] for row in rows] == [third["id"], second["id"], first["id"]]
    assert [row["decision"] for row in rows] == ["rejected", "approved", "approved"]
    assert rows[0]["reason"] == "Все места заняты участниками из округа"
    assert {row["decided_by_email"] for row in rows} == {moderator_email}
    assert rows[0]["full_name"] == "Айаал Николаев"

    # The applicant is told: the registration's own events, which notification turns into
    # the confirmed and rejected messages; the internship's, for reporting.
    decisions = await _published(
        registration,
        REGISTRATIONS_TOPIC,
        event_id,
        {
            "ru.etnik.registration.pending_approval",
            "ru.etnik.registration.confirmed",
            "ru.etnik.registration.rejected",
        },
        count=6,  # three applications, two approvals, one rejection
    )
    assert len(decisions["ru.etnik.registration.confirmed"]) == 2
    assert decisions["ru.etnik.registration.rejected"][0]["data"]["reason"] == (
        "Все места заняты участниками из округа"
    )
    facts = await _published(
        registration,
        INTERNSHIPS_TOPIC,
        event_id,
        {"ru.etnik.internship.application_received", "ru.etnik.internship.application_decided"},
        count=7,  # the details, three applications, three decisions
    )
    assert len(facts["ru.etnik.internship.application_received"]) == 3
    decided = {
        e["data"]["registration_id"]: e["data"]
        for e in facts["ru.etnik.internship.application_decided"]
    }
    assert {k: v["decision"] for k, v in decided.items()} == {
        first["id"]: "approved",
        second["id"]: "approved",
        third["id"]: "rejected",
    }
    assert decided[third["id"]]["participant_federal_district"] == "ДФО"
    assert "reason" not in decided[third["id"]]


async def test_outcomes_are_recorded_for_those_who_took_part_corrected_and_forgotten_on_erasure(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    host = await _organisation(registration)
    event = await _internship_event(registration)
    event_id = event["id"]
    assert (
        await registration.client.put(
            f"/events/{event_id}/internship", json=_details(host, places=3), headers=admin
        )
    ).status_code == 200
    attended, absent, waiting, rejected = [await _apply(registration, event_id) for _ in range(4)]
    moderator = registration.auth(await registration.operator(["moderator"]))
    for application in (attended, absent):
        approved = await registration.client.post(
            f"/registrations/{application['id']}/approve", headers=moderator
        )
        assert approved.status_code == 200, approved.text
    assert (
        await registration.client.post(
            f"/registrations/{rejected['id']}/reject", json={"reason": "Нет опыта"},
            headers=moderator,
        )
    ).status_code == 200  # fmt: skip

    def record(application: dict[str, Any], **body: Any) -> Any:
        return registration.client.put(
            f"/registrations/{application['id']}/internship-outcome", json=body, headers=admin
        )

    outcome = {"completed": True, "hours": 24, "result": "План развития ресурсного центра"}
    # Before attendance is marked, an approved participant may have an outcome.
    first = await record(attended, **outcome)
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["hours"]) == (1, 24)

    # The one who attended is checked in; the other is marked as not attended.
    view = await registration.client.get(
        "/registrations/by-link", params={"token": attended["manage_token"]}
    )
    code = view.json()["check_in_code"]
    checked = await registration.client.post(
        f"/events/{event_id}/check-in", json={"code": code}, headers=admin
    )
    assert checked.status_code in {200, 201}, checked.text
    finalised = await registration.client.post(
        f"/events/{event_id}/attendance/finalise", headers=admin
    )
    assert finalised.json()["no_shows"] == 1

    for application, reason in (
        (absent, "marked as not attended"),
        (waiting, "this registration is pending approval"),
        (rejected, "this registration is rejected"),
    ):
        refused = await record(application, **outcome)
        assert refused.status_code == 409, refused.text
        assert reason in refused.json()["detail"]
    for body, status, reason in (
        ({**outcome, "hours": 100}, 422, "hours: at most 72 for an event of these dates"),
        ({**outcome, "hours": 0}, 422, "a completed internship has its hours"),
        ({**outcome, "hours": -1}, 422, "hours"),
        ({k: v for k, v in outcome.items() if k != "result"}, 422, "result"),
        ({**outcome, "result": ""}, 422, "result"),
        ({**outcome, "hours": 30, "version": 0}, 409, "it is at version 1"),
    ):
        refused = await record(attended, **body)
        assert refused.status_code == status, (body, refused.text)
        assert reason in refused.text, (body, refused.text)
    unknown = await registration.client.put(
        "/registrations/nobody/internship-outcome", json=outcome, headers=admin
    )
    assert unknown.status_code == 404
    moderator_refused = await registration.client.put(
        f"/registrations/{attended['id']}/internship-outcome", json=outcome, headers=moderator
    )
    assert moderator_refused.status_code == 403

    # Nothing refused changed the outcome; a correction does, with its own event.
    listed = await registration.client.get(f"/events/{event_id}/internship/outcomes", headers=admin)
    assert [(o["registration_id"], o["hours"], o["version"]) for o in listed.json()] == [
        (attended["id"], 24, 1)
    ]
    corrected = await record(attended, **{**outcome, "hours": 30, "version": 1})
    assert (corrected.status_code, corrected.json()["version"]) == (200, 2)
    same = await record(attended, **{**outcome, "hours": 30})
    assert same.json()["version"] == 2  # nothing changed: no new version, no event
    published = await _published(
        registration,
        INTERNSHIPS_TOPIC,
        event_id,
        {"ru.etnik.internship.outcome_recorded", "ru.etnik.internship.outcome_corrected"},
        count=10,  # the details, four applications, three decisions, two outcomes
    )
    assert len(published["ru.etnik.internship.outcome_corrected"]) == 1
    correction = published["ru.etnik.internship.outcome_corrected"][0]["data"]
    assert (correction["changes"], correction["hours"], correction["completed"]) == (
        ["hours"],
        30,
        True,
    )
    # The result text may name people: it stays off the topic.
    assert "План развития" not in str(published)

    # Once the internship is completed, the certificate states the hours recorded.
    for action in ("close-registration", "complete"):
        moved = await registration.client.post(f"/events/{event_id}/{action}", headers=admin)
        assert moved.status_code == 200, moved.text
    issued = await registration.client.post(f"/events/{event_id}/certificates", headers=admin)
    assert issued.status_code == 200, issued.text
    assert issued.json()["issued"] == 1
    certificates = registration.container.repository.certificates
    certificate = await certificates.find_one({"registration_id": attended["id"]})
    assert certificate is not None
    assert certificate["hours"] == 30

    # An erased person's result text goes; completion and hours stay as counts.
    erased = await registration.client.post(f"/people/{attended['person_id']}/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    after = (
        await registration.client.get(f"/events/{event_id}/internship/outcomes", headers=admin)
    ).json()
    assert [(o["result"], o["hours"], o["completed"]) for o in after] == [(None, 30, True)]
