"""A post-event feedback survey end to end, through the gateway: an operator attaches a survey,
the event is completed with one participant checked in and one absent, the one who attended
receives the invitation by email, answers once through its link (a second answer is refused),
and reporting counts the anonymous answer for the event, its track and the grant report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from helpers import Mailpit, bearer, create_open_event, register, staff_token, wait_until

SUBJECT = "Поделитесь впечатлениями"
QUESTIONS = [
    {"id": "overall", "kind": "rating", "label": "Общая оценка сессии", "required": True},
    {"id": "comment", "kind": "text", "label": "Что стоит изменить?"},
]


def _registered(gateway: httpx.Client, event_id: str) -> dict[str, Any]:
    email = f"survey.{uuid.uuid4().hex[:8]}@example.org"
    answer = register(gateway, event_id, email)
    assert answer.status_code == 201, answer.text
    return {"email": email, **answer.json()}


def _invitations(mailpit: Mailpit, address: str) -> list[dict[str, Any]]:
    return [m for m in mailpit.messages_to(address) if m["Subject"].startswith(SUBJECT)]


def test_an_attendee_answers_the_survey_from_the_email_and_reporting_counts_it(
    gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    operator = bearer(operator_token)
    event = create_open_event(
        gateway,
        operator_token,
        title="Очная сессия с опросом участников",
        track="in_person_session",
        format="in_person",
        venue="Москва, ул. Новый Арбат, 36",
    )
    attendee = _registered(gateway, event["id"])
    absent = _registered(gateway, event["id"])
    attached = gateway.put(
        f"/api/registration/events/{event['id']}/survey",
        json={"questions": QUESTIONS},
        headers=operator,
    )
    assert attached.status_code == 200, attached.text
    view = gateway.get(
        "/api/registration/registrations/by-link", params={"token": attendee["manage_token"]}
    )
    checked = gateway.post(
        f"/api/registration/events/{event['id']}/check-in",
        json={"code": view.json()["check_in_code"]},
        headers=bearer(staff_token(gateway, operator_token, "check_in")),
    )
    assert checked.status_code == 200, checked.text
    for action in ("close-registration", "complete"):
        moved = gateway.post(f"/api/registration/events/{event['id']}/{action}", headers=operator)
        assert moved.status_code == 200, moved.text

    [summary] = wait_until(
        lambda: _invitations(mailpit, attendee["email"]),
        timeout=45,
        what=f"«{SUBJECT}» to {attendee['email']}",
    )
    message = mailpit.message(summary["ID"])
    assert event["title"] in message["Subject"]
    link = next(
        line.split(": ", 1)[1].strip()
        for line in message["Text"].splitlines()
        if "/registrations/survey?token=" in line
    )
    assert f'href="{link}"' in message["HTML"].replace("&amp;", "&")
    token = link.split("token=", 1)[1]
    # The link opens the portal (a single-page app), which reads the survey by its token.
    assert urlsplit(link).path == "/registrations/survey"
    page = gateway.get("/registrations/survey", params={"token": token})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    survey = gateway.get("/api/registration/registrations/by-link/survey", params={"token": token})
    assert survey.status_code == 200, survey.text
    assert [q["label"] for q in survey.json()["questions"]] == [q["label"] for q in QUESTIONS]

    body = {"answers": {"overall": 4, "comment": "Больше времени на работу в группах"}}
    url = "/api/registration/registrations/by-link/survey"
    accepted = gateway.post(url, params={"token": token}, json=body)
    assert accepted.status_code == 201, accepted.text
    again = gateway.post(url, params={"token": token}, json={"answers": {"overall": 1}})
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "this survey has already been answered",
    )
    # The one who stayed away is not asked, and cannot answer with their own link.
    assert not _invitations(mailpit, absent["email"])
    refused = gateway.post(url, params={"token": absent["manage_token"]}, json=body)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "only participants who attended can answer",
    )

    def counted() -> dict[str, Any] | None:
        answer = gateway.get(
            "/api/reporting/feedback", params={"event_id": event["id"]}, headers=operator
        )
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["answers"] else None

    feedback = wait_until(counted, timeout=45, what="the answer in reporting")
    [row] = feedback["by_event"]
    assert (row["event_id"], row["title"], row["track"], row["answers"]) == (
        event["id"],
        event["title"],
        "in_person_session",
        1,
    )
    [rating] = row["ratings"]
    assert (rating["label"], rating["mean"], rating["distribution"]["4"]) == (
        "Общая оценка сессии",
        4.0,
        1,
    )
    assert row["comments"][0]["texts"] == ["Больше времени на работу в группах"]
    track = gateway.get(
        "/api/reporting/feedback", params={"track": "in_person_session"}, headers=operator
    ).json()
    assert track["by_track"][0]["track"] == "in_person_session"
    assert track["by_track"][0]["answers"] >= 1

    day = datetime.fromisoformat(event["starts_at"]).date().isoformat()
    report = gateway.get(
        "/api/reporting/reports/grant", params={"start": day, "end": day}, headers=operator
    )
    assert report.status_code == 200, report.text
    in_report = {r["event_id"]: r for r in report.json()["feedback"]["by_event"]}
    assert in_report[event["id"]]["ratings"][0]["mean"] == 4.0
