"""Post-event feedback surveys on the real stack: the operator's versioned questions, who is
asked when the event completes, and the participant's one anonymous answer through the
signed link (answered twice, by someone who did not attend, or with bad answers: refused
with a clear reason, and nothing accepted is lost)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx

from etnik.common.contracts.registration import SURVEY_ANSWERS_TOPIC, SURVEY_REQUESTS_TOPIC
from etnik.common.settings import DEVELOPMENT_NOTIFICATION_CLIENT_SECRET

if TYPE_CHECKING:
    from conftest import RegistrationApp

QUESTIONS = [
    {"id": "overall", "kind": "rating", "label": "Общая оценка сессии", "required": True},
    {"id": "usefulness", "kind": "rating", "label": "Насколько полезны материалы"},
    {"id": "comment", "kind": "text", "label": "Что улучшить?"},
]
NOT_ATTENDED = "only participants who attended can answer"
ALREADY_ANSWERED = "this survey has already been answered"


async def _put_survey(
    registration: RegistrationApp, event_id: str, questions: list[dict[str, Any]] = QUESTIONS
) -> httpx.Response:
    return await registration.client.put(
        f"/events/{event_id}/survey",
        json={"questions": questions},
        headers=registration.auth(registration.admin_token),
    )


async def _check_in(registration: RegistrationApp, event_id: str, manage_token: str) -> None:
    view = await registration.client.get("/registrations/by-link", params={"token": manage_token})
    check_in = registration.auth(await registration.operator(["check_in"]))
    checked = await registration.client.post(
        f"/events/{event_id}/check-in",
        json={"code": view.json()["check_in_code"]},
        headers=check_in,
    )
    assert checked.status_code == 200, checked.text


async def _complete(registration: RegistrationApp, event_id: str) -> None:
    admin = registration.auth(registration.admin_token)
    for action in ("close-registration", "complete"):
        moved = await registration.client.post(f"/events/{event_id}/{action}", headers=admin)
        assert moved.status_code == 200, moved.text


async def _event(registration: RegistrationApp, **overrides: Any) -> dict[str, Any]:
    return await registration.event(
        format="in_person", online_link=None, venue="Москва, Дом народов России", **overrides
    )


async def _participants(registration: RegistrationApp, event_id: str, count: int) -> list[Any]:
    return [(await registration.register(event_id)).json() for _ in range(count)]


def _answer(registration: RegistrationApp, token: str, body: dict[str, Any]) -> Any:
    return registration.client.post(
        "/registrations/by-link/survey", params={"token": token}, json=body
    )


async def test_each_put_makes_a_new_version_and_bad_surveys_are_refused(
    registration: RegistrationApp,
) -> None:
    event = await _event(registration)
    url = f"/events/{event['id']}/survey"
    admin = registration.auth(registration.admin_token)

    missing = await registration.client.get(url, headers=admin)
    assert (missing.status_code, missing.json()["detail"]) == (404, "this event has no survey")

    first = await _put_survey(registration, event["id"])
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1
    assert [q["id"] for q in first.json()["questions"]] == ["overall", "usefulness", "comment"]
    second = await _put_survey(registration, event["id"], QUESTIONS[:1])
    assert second.json()["version"] == 2
    current = await registration.client.get(url, headers=admin)
    assert current.status_code == 200, current.text
    assert current.json()["version"] == 2
    assert current.json()["questions"] == [QUESTIONS[0]]

    moderator = registration.auth(await registration.operator(["moderator"]))
    assert (await registration.client.get(url, headers=moderator)).status_code == 200
    refused = await registration.client.put(url, json={"questions": QUESTIONS}, headers=moderator)
    assert refused.status_code == 403
    assert (await registration.client.put(url, json={"questions": QUESTIONS})).status_code == 401

    bad_surveys = {
        "no questions": [],
        "a duplicate id": [QUESTIONS[0], QUESTIONS[0]],
        "an unknown kind": [{"id": "x", "kind": "choice", "label": "Выбор"}],
        "an id that is not a key": [{"id": "Общая", "kind": "rating", "label": "Оценка"}],
        "an empty label": [{"id": "x", "kind": "text", "label": " "}],
        "an unknown field": [{**QUESTIONS[0], "weight": 2}],
    }
    for problem, questions in bad_surveys.items():
        answer = await _put_survey(registration, event["id"], questions)
        assert answer.status_code == 422, problem
    duplicate = await _put_survey(registration, event["id"], [QUESTIONS[0], QUESTIONS[0]])
    assert "question ids must be unique" in duplicate.text
    assert (await registration.client.get(url, headers=admin)).json()["version"] == 2


async def test_completion_asks_those_who_attended_once_each(registration: RegistrationApp) -> None:
    event = await _event(registration, capacity=3)
    present, other, absent = await _participants(registration, event["id"], 3)
    waiting = (await registration.register(event["id"])).json()
    assert waiting["status"] == "waitlisted"
    await _put_survey(registration, event["id"])
    for participant in (present, other):
        await _check_in(registration, event["id"], participant["manage_token"])

    await _complete(registration, event["id"])

    requests = await registration.published(
        SURVEY_REQUESTS_TOPIC, lambda e: e["data"]["event_id"] == event["id"]
    )
    assert {e["data"]["registration_id"] for e in requests} == {present["id"], other["id"]}
    assert {e["type"] for e in requests} == {"ru.etnik.survey.requested"}
    assert all(e["data"]["survey_version"] == 1 for e in requests)
    stored = registration.container.surveys.requests
    assert await stored.count_documents({"_id": {"$in": [absent["id"], waiting["id"]]}}) == 0

    # Sent again, or a new version: nobody is asked twice.
    send = await registration.client.post(
        f"/events/{event['id']}/survey/send", headers=registration.auth(registration.admin_token)
    )
    assert send.json() == {"invited": 0}
    assert (await _put_survey(registration, event["id"])).json()["version"] == 2
    assert await stored.count_documents({"_id": {"$in": [present["id"], other["id"]]}}) == 2

    # The survey link travels with the message, read at send time, to those who may answer.
    service = await registration.client.post(
        "/auth/service-token",
        json={"client_id": "notification", "client_secret": DEVELOPMENT_NOTIFICATION_CLIENT_SECRET},
    )
    headers = registration.auth(service.json()["access_token"])
    delivery = await registration.client.get(
        f"/registrations/{present['id']}/delivery", headers=headers
    )
    survey_url = delivery.json()["survey_url"]
    assert survey_url.startswith("https://etnik.test/registrations/survey?token=")
    no_show = await registration.client.get(
        f"/registrations/{absent['id']}/delivery", headers=headers
    )
    assert no_show.json()["survey_url"] is None


async def test_a_survey_attached_after_completion_is_sent_at_once(
    registration: RegistrationApp,
) -> None:
    event = await _event(registration)
    [present] = await _participants(registration, event["id"], 1)
    await _check_in(registration, event["id"], present["manage_token"])
    await _complete(registration, event["id"])
    stored = registration.container.surveys.requests
    assert await stored.find_one({"_id": present["id"]}) is None

    assert (await _put_survey(registration, event["id"])).status_code == 200

    [request] = await registration.published(
        SURVEY_REQUESTS_TOPIC, lambda e: e["data"]["registration_id"] == present["id"]
    )
    assert request["data"]["person_id"]
    assert request["data"]["survey_version"] == 1


async def test_answered_once_anonymously_and_a_second_answer_is_refused(
    registration: RegistrationApp,
) -> None:
    event = await _event(registration)
    [present] = await _participants(registration, event["id"], 1)
    await _put_survey(registration, event["id"])
    await _check_in(registration, event["id"], present["manage_token"])
    await _complete(registration, event["id"])
    token = present["manage_token"]

    shown = await registration.client.get("/registrations/by-link/survey", params={"token": token})
    assert shown.status_code == 200, shown.text
    assert (shown.json()["version"], shown.json()["answered"]) == (1, False)
    assert shown.json()["event_title"] == event["title"]

    first = {"answers": {"overall": 5, "comment": "  Больше практики  "}, "version": 1}
    accepted = await _answer(registration, token, first)
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["answers"], accepted.json()["version"]) == (2, 1)

    again = await _answer(registration, token, {"answers": {"overall": 1}})
    assert (again.status_code, again.json()["detail"]) == (409, ALREADY_ANSWERED)
    reopened = await registration.client.get(
        "/registrations/by-link/survey", params={"token": token}
    )
    assert reopened.json()["answered"] is True

    [published] = await registration.published(
        SURVEY_ANSWERS_TOPIC, lambda e: e["data"]["event_id"] == event["id"]
    )
    data = published["data"]
    assert published["type"] == "ru.etnik.survey.answered"
    assert published["subject"] == event["id"]
    assert (data["track"], data["survey_version"]) == ("online_sessions", 1)
    assert [(a["question_id"], a["rating"], a["text"]) for a in data["answers"]] == [
        ("overall", 5, None),
        ("comment", None, "Больше практики"),
    ]
    assert data["answers"][0]["label"] == "Общая оценка сессии"
    assert "T" not in data["answered_on"]  # the day alone
    # Anonymous: nothing in the event leads back to the registration or the person.
    text = json.dumps(published)
    assert present["id"] not in text
    assert present["person_id"] not in text
    # The receipt says that the registration answered, and when; not what.
    receipt = await registration.container.surveys.receipts.find_one({"_id": present["id"]})
    assert receipt is not None
    assert set(receipt) - {"outbox"} == {"_id", "event_id", "survey_version", "answered_at"}
    assert not receipt.get("outbox")  # published, so the staged copy is gone
    exported = await registration.client.get(
        f"/people/{present['person_id']}/export",
        headers=registration.auth(registration.admin_token),
    )
    [answered] = exported.json()["surveys_answered"]
    assert (answered["id"], answered["event_id"]) == (present["id"], event["id"])
    assert "Больше практики" not in exported.text


async def test_two_answers_at_once_keep_exactly_one(registration: RegistrationApp) -> None:
    event = await _event(registration)
    [present] = await _participants(registration, event["id"], 1)
    await _put_survey(registration, event["id"])
    await _check_in(registration, event["id"], present["manage_token"])
    await _complete(registration, event["id"])

    answers = await asyncio.gather(
        *(
            _answer(registration, present["manage_token"], {"answers": {"overall": rating}})
            for rating in (2, 3, 4, 5)
        )
    )

    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    published = await registration.published(
        SURVEY_ANSWERS_TOPIC, lambda e: e["data"]["event_id"] == event["id"]
    )
    assert len(published) == 1
    winner = next(a for a in answers if a.status_code == 201)
    kept = published[0]["data"]["answers"][0]["rating"]
    assert kept == (2, 3, 4, 5)[answers.index(winner)]


async def test_only_participants_who_attended_may_answer(registration: RegistrationApp) -> None:
    event = await _event(registration, capacity=2)
    present, absent = await _participants(registration, event["id"], 2)
    waiting = (await registration.register(event["id"])).json()
    cancelled = (await registration.register(event["id"])).json()
    assert (waiting["status"], cancelled["status"]) == ("waitlisted", "waitlisted")
    gone = await registration.client.post(
        "/registrations/by-link/cancel", params={"token": cancelled["manage_token"]}
    )
    assert gone.status_code == 200, gone.text
    await _put_survey(registration, event["id"])
    await _check_in(registration, event["id"], present["manage_token"])

    # Present, but the event is not over yet.
    early = await _answer(registration, present["manage_token"], {"answers": {"overall": 4}})
    assert (early.status_code, early.json()["detail"]) == (
        409,
        "the survey opens once the event is completed",
    )
    await _complete(registration, event["id"])

    for refused in (absent, waiting, cancelled):
        shown = await registration.client.get(
            "/registrations/by-link/survey", params={"token": refused["manage_token"]}
        )
        assert (shown.status_code, shown.json()["detail"]) == (403, NOT_ATTENDED)
        answer = await _answer(registration, refused["manage_token"], {"answers": {"overall": 1}})
        assert (answer.status_code, answer.json()["detail"]) == (403, NOT_ATTENDED)
    receipts = registration.container.surveys.receipts
    ids = [absent["id"], waiting["id"], cancelled["id"]]
    assert await receipts.count_documents({"_id": {"$in": ids}}) == 0
    # The one who attended still answers.
    accepted = await _answer(registration, present["manage_token"], {"answers": {"overall": 4}})
    assert accepted.status_code == 201, accepted.text


async def test_bad_answers_are_refused_with_the_reason_and_nothing_is_kept(
    registration: RegistrationApp,
) -> None:
    event = await _event(registration)
    [present] = await _participants(registration, event["id"], 1)
    await _put_survey(registration, event["id"])
    await _check_in(registration, event["id"], present["manage_token"])
    await _complete(registration, event["id"])
    token = present["manage_token"]

    reasons = {
        "an unknown question": (
            {"overall": 4, "venue": 5},
            "venue: not a question of this survey",
        ),
        "a rating above 5": ({"overall": 6}, "overall: a rating is a whole number from 1 to 5"),
        "a rating below 1": ({"overall": 0}, "overall: a rating is a whole number from 1 to 5"),
        "a rating as text": ({"overall": "5"}, "overall: a rating is a whole number from 1 to 5"),
        "a required answer missing": ({"comment": "Хорошо"}, "overall: an answer is required"),
        "a blank required answer": ({"overall": None}, "overall: an answer is required"),
        "a number for text": ({"overall": 3, "comment": 5}, "comment: expected text"),
        "an over-long text": (
            {"overall": 3, "comment": "я" * 2001},
            "comment: too long (2001 characters, at most 2000)",
        ),
    }
    for problem, (answers, reason) in reasons.items():
        refused = await _answer(registration, token, {"answers": answers})
        assert refused.status_code == 422, problem
        assert reason in refused.json()["detail"], (problem, refused.text)
    for not_a_rating in (4.5, True):
        refused = await _answer(registration, token, {"answers": {"overall": not_a_rating}})
        assert refused.status_code == 422, not_a_rating
    stale = await _answer(registration, token, {"answers": {"overall": 4}, "version": 7})
    assert stale.status_code == 409
    assert await registration.container.surveys.receipts.find_one({"_id": present["id"]}) is None

    accepted = await _answer(registration, token, {"answers": {"overall": 3, "usefulness": 4}})
    assert accepted.status_code == 201, accepted.text


async def test_a_forged_expired_or_foreign_link_answers_nothing(
    registration: RegistrationApp,
) -> None:
    event = await _event(registration)
    [present] = await _participants(registration, event["id"], 1)
    await _put_survey(registration, event["id"])
    await _check_in(registration, event["id"], present["manage_token"])
    await _complete(registration, event["id"])
    key = registration.container.signing_key
    forged = present["manage_token"][:-4] + "AAAA"
    expired = key.sign_link(purpose="manage", subject=present["id"], ttl_s=-60)
    other_purpose = key.sign_link(purpose="invitation", subject=present["id"], ttl_s=600)
    body = {"answers": {"overall": 5}}

    for token in (forged, "not-a-token", other_purpose):
        assert (await _answer(registration, token, body)).status_code == 403
        shown = await registration.client.get(
            "/registrations/by-link/survey", params={"token": token}
        )
        assert shown.status_code == 403
    assert (await _answer(registration, expired, body)).status_code == 410
    assert await registration.container.surveys.receipts.find_one({"_id": present["id"]}) is None


async def test_an_event_without_a_survey_has_nothing_to_answer(
    registration: RegistrationApp,
) -> None:
    event = await _event(registration)
    [present] = await _participants(registration, event["id"], 1)
    await _check_in(registration, event["id"], present["manage_token"])
    await _complete(registration, event["id"])

    answer = await _answer(registration, present["manage_token"], {"answers": {"overall": 5}})

    assert (answer.status_code, answer.json()["detail"]) == (404, "this event has no survey")
