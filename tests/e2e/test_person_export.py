"""A person's export end to end, through the gateway: someone registers, receives messages, is
named as an author of a material, then downloads what every service holds about them (JSON and
a Russian PDF); no participant reads another person's data, nor any service's export route; a
service that is down makes the export say which part is missing and why."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from etnik.devstack import Stack
from helpers import Mailpit, bearer, create_open_event, register, staff_token, wait_until

PEERS = ("notification", "content", "reporting")


def _pdf_text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


def _signed_in(gateway: httpx.Client, mailpit: Mailpit, email: str) -> str:
    """The participant's access token, through the link in the sign-in email."""
    asked = gateway.post("/api/registration/auth/sign-in-link", json={"email": email})
    assert asked.status_code in {200, 202}, asked.text

    def link_token() -> str | None:
        for summary in mailpit.messages_to(email):
            if summary["Subject"].startswith("Вход на портал"):
                text = mailpit.message(summary["ID"])["Text"]
                found = re.search(r"/sign-in\?token=([^\s&]+)", text)
                return found.group(1) if found else None
        return None

    token = wait_until(link_token, timeout=30, what="the sign-in email")
    signed_in = gateway.post("/api/registration/auth/sign-in", json={"token": token})
    assert signed_in.status_code == 200, signed_in.text
    access: str = signed_in.json()["access_token"]
    return access


def _person(gateway: httpx.Client, event_id: str, name: str, **form: Any) -> dict[str, Any]:
    email = f"export.{uuid.uuid4().hex[:8]}@example.org"
    answer = register(gateway, event_id, email, full_name=name, **form)
    assert answer.status_code == 201, answer.text
    return {"email": email, "name": name, **answer.json()}


@pytest.fixture(scope="module")
def named_author(gateway: httpx.Client, operator_token: str, mailpit: Mailpit) -> dict[str, Any]:
    """A confirmed participant, signed in, with messages sent and a material naming them."""
    event = create_open_event(gateway, operator_token, title="Стратегическая сессия по ПФО")
    organisation = f"АНО «Татарский культурный центр {uuid.uuid4().hex[:6]}»"
    person = _person(
        gateway,
        event["id"],
        "Гульнара Рашитовна Хайруллина",
        organisation_name=organisation,
        organisation_kind="ngo",
    )
    material = gateway.post(
        "/api/content/materials",
        json={
            "kind": "recommendation",
            "title": f"Рекомендации для этнокультурных НКО {uuid.uuid4().hex[:6]}",
            "authors": [{"name": person["name"], "person_id": person["person_id"]}],
        },
        headers=bearer(operator_token),
    )
    assert material.status_code == 201, material.text
    # Another names them only in its first version: an editor credited someone else since.
    earlier = gateway.post(
        "/api/content/materials",
        json={
            "kind": "agenda",
            "title": f"Программа сессии {uuid.uuid4().hex[:6]}",
            "authors": [{"name": person["name"], "person_id": person["person_id"]}],
        },
        headers=bearer(operator_token),
    )
    assert earlier.status_code == 201, earlier.text
    edited = gateway.patch(
        f"/api/content/materials/{earlier.json()['id']}",
        json={"authors": [{"name": "Редакция программы"}]},
        headers=bearer(operator_token),
    )
    assert edited.status_code == 200, edited.text
    # Their organisation's development strategy, once content knows the organisation.
    exported = gateway.get(
        f"/api/registration/people/{person['person_id']}/export", headers=bearer(operator_token)
    )
    organisation_id = exported.json()["organisation"]["id"]

    def strategy() -> dict[str, Any] | None:
        created = gateway.post(
            "/api/content/strategies",
            json={"organisation_id": organisation_id},
            headers=bearer(operator_token),
        )
        return created.json() if created.status_code == 201 else None

    wait_until(strategy, timeout=30, what="content to know the organisation")
    token = _signed_in(gateway, mailpit, person["email"])
    return {
        **person,
        "organisation": organisation,
        "organisation_id": organisation_id,
        "event": event,
        "material": material.json(),
        "earlier": edited.json(),
        "token": token,
    }


def test_the_export_gathers_what_every_service_holds(
    gateway: httpx.Client, named_author: dict[str, Any]
) -> None:
    person = named_author
    as_person = bearer(person["token"])

    def gathered() -> dict[str, Any] | None:
        answer = gateway.get("/api/registration/me/export", headers=as_person)
        assert answer.status_code == 200, answer.text
        exported: dict[str, Any] = answer.json()
        sections = exported["services"]
        if not exported["complete"]:
            return None
        kinds = {m["kind"] for m in sections["notification"]["data"]["messages"]}
        rows = sections["reporting"]["data"]["registrations"]
        access = sections["content"]["data"]["access"]["registrations"]
        held = {"registration_confirmed", "sign_in_link"} <= kinds and rows and access
        return exported if held else None

    # Notification and reporting learn of the registration from Kafka, a moment later.
    exported = wait_until(gathered, timeout=60, what="every service's part of the export")

    assert exported["missing_sections"] == []
    assert exported["person"]["email"] == person["email"]
    assert [r["id"] for r in exported["registrations"]] == [person["id"]]
    notification = exported["services"]["notification"]["data"]
    assert notification["recipient"]["email"] == person["email"]
    sign_in = [m for m in notification["messages"] if m["kind"] == "sign_in_link"]
    assert sign_in[0]["address"] == person["email"]
    assert sign_in[0]["status"] in {"pending", "sent"}
    assert notification["preferences"]["invitations_unsubscribed"] is False
    content = exported["services"]["content"]["data"]
    materials = {m["id"]: m for m in content["materials"]}
    assert set(materials) == {person["material"]["id"], person["earlier"]["id"]}
    material = materials[person["material"]["id"]]
    assert material["role"] == "author"
    assert material["named_as"] == [{"name": person["name"], "affiliation": None}]
    earlier = materials[person["earlier"]["id"]]
    assert earlier["role"] == "named_in_earlier_version"
    assert earlier["named_as"] == []
    assert earlier["versions_naming_person"] == [1]
    [access] = content["access"]["registrations"]
    assert (access["registration_id"], access["status"]) == (person["id"], "confirmed")
    assert access["organisation_id"] == person["organisation_id"]
    assert content["access"]["events_open_to_person"] == [person["event"]["id"]]
    [strategy] = content["strategies"]
    assert strategy["organisation_id"] == person["organisation_id"]
    assert strategy["organisation_name"] == person["organisation"]
    reporting = exported["services"]["reporting"]["data"]
    assert reporting["contacts_held"] is False
    assert "не хранит контактных данных" in reporting["statement"]
    assert [r["registration_id"] for r in reporting["registrations"]] == [person["id"]]
    # Reporting holds the person under a pseudonym only: neither the id nor the address.
    assert person["person_id"] not in str(reporting["registrations"])
    assert person["email"] not in str(reporting)
    assert exported["privacy_notice"]["purposes"]

    pdf = gateway.get("/api/registration/me/export.pdf", headers=as_person)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    text = _pdf_text(pdf.content)
    for heading in (
        "Сведения о ваших персональных данных",
        "Сервис регистрации",
        "Сервис уведомлений",
        "Сервис материалов",
        "Сервис отчётности",
        "Материалы, в которых вы указаны",
        "Обработка персональных данных (ст. 14 152-ФЗ)",
        "Сроки хранения",
    ):
        assert heading in text, heading
    assert person["name"] in text
    assert person["email"] in text
    assert person["material"]["title"] in text
    assert "Стратегии развития вашей организации" in text
    assert "Раздел не получен" not in text


def test_no_participant_reads_another_persons_export(
    gateway: httpx.Client, operator_token: str, named_author: dict[str, Any]
) -> None:
    event = create_open_event(gateway, operator_token, title="Стажировка для лидеров НКО")
    stranger = _person(gateway, event["id"], "Другой Участник Программы")
    # A signed-in participant, with the token every participant gets.
    as_participant = bearer(named_author["token"])
    check_in = bearer(staff_token(gateway, operator_token, "check_in"))

    for path in (
        f"/api/registration/people/{stranger['person_id']}/export",
        f"/api/registration/people/{stranger['person_id']}/export.pdf",
    ):
        assert gateway.get(path, headers=as_participant).status_code == 403, path
        assert gateway.get(path).status_code == 401, path
    for service in PEERS:
        for person_id in (stranger["person_id"], named_author["person_id"]):
            path = f"/api/{service}/people/{person_id}/export"
            # Not even their own part: participants ask registration, which knows who they are.
            assert gateway.get(path, headers=as_participant).status_code == 403, path
            assert gateway.get(path).status_code == 401, path
            assert gateway.get(path, headers=check_in).status_code == 403, path
        # An operator answering a written request may read each part.
        answered = gateway.get(
            f"/api/{service}/people/{stranger['person_id']}/export", headers=bearer(operator_token)
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["service"] == service
        assert named_author["email"] not in answered.text
    answered = gateway.get(
        f"/api/registration/people/{stranger['person_id']}/export.pdf",
        headers=bearer(operator_token),
    )
    assert answered.status_code == 200, answered.text
    assert stranger["email"] in _pdf_text(answered.content)
    # The participant's own export names nobody else.
    mine = gateway.get("/api/registration/me/export", headers=as_participant)
    assert mine.status_code == 200, mine.text
    assert stranger["email"] not in mine.text
    assert stranger["person_id"] not in mine.text


def test_a_service_that_is_down_is_named_missing_in_the_export(
    platform: Stack, gateway: httpx.Client, operator_token: str, named_author: dict[str, Any]
) -> None:
    person = named_author
    platform.stop_service("content")
    try:
        answer = gateway.get(
            f"/api/registration/people/{person['person_id']}/export",
            headers=bearer(operator_token),
        )
        assert answer.status_code == 200, answer.text
        exported = answer.json()
        assert exported["complete"] is False
        assert exported["missing_sections"] == ["content"]
        assert exported["services"]["content"] == {
            "status": "missing",
            "reason": "unreachable",
            "detail": "content unreachable (ConnectError)",
        }
        # The rest is there.
        assert exported["person"]["email"] == person["email"]
        assert exported["services"]["notification"]["status"] == "complete"
        pdf = gateway.get("/api/registration/me/export.pdf", headers=bearer(person["token"]))
        assert pdf.status_code == 200, pdf.text
        text = _pdf_text(pdf.content)
        assert "Выгрузка неполная" in text
        assert "Раздел не получен: сервис недоступен" in text
    finally:
        platform.start_service("content")
        wait_until(
            lambda: (
                httpx.get(f"{platform.service_url('content')}/readyz", timeout=5).status_code == 200
            ),
            timeout=90,
            what="content ready again",
        )
