"""The portal's certificate pages in Chromium: the participant's page behind the management link
shows the certificate once issued, and the address printed on it verifies the code publicly."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from etnik.devstack import Stack
from helpers import Mailpit, bearer, create_open_event, register, staff_token, wait_until


@pytest.fixture(scope="module")
def certified(gateway: httpx.Client, operator_token: str) -> dict[str, Any]:
    """A completed event whose one participant was checked in and issued a certificate."""
    event = create_open_event(
        gateway,
        operator_token,
        title="Очная сессия с сертификатами",
        track="in_person_session",
        format="in_person",
        venue="Улан-Удэ, ул. Ленина, 54",
    )
    email = f"cert.{uuid.uuid4().hex[:8]}@example.org"
    answer = register(gateway, event["id"], email, full_name="Дарима Батуева")
    assert answer.status_code == 201, answer.text
    person = answer.json()
    view = gateway.get(
        "/api/registration/registrations/by-link", params={"token": person["manage_token"]}
    )
    checked = gateway.post(
        f"/api/registration/events/{event['id']}/check-in",
        json={"code": view.json()["check_in_code"]},
        headers=bearer(staff_token(gateway, operator_token, "check_in")),
    )
    assert checked.status_code == 200, checked.text
    for action in ("close-registration", "complete", "certificates"):
        done = gateway.post(
            f"/api/registration/events/{event['id']}/{action}", headers=bearer(operator_token)
        )
        assert done.status_code == 200, done.text
    own = gateway.get(
        "/api/registration/registrations/by-link/certificate",
        params={"token": person["manage_token"]},
    )
    return {"token": person["manage_token"], "code": own.json()["code"], "email": email}


@pytest.fixture
def page(browser: Browser) -> Page:
    """A fresh page in Russian."""
    return browser.new_context(locale="ru-RU").new_page()


def test_the_participants_page_shows_the_certificate_and_its_verification(
    platform: Stack, page: Page, certified: dict[str, Any]
) -> None:
    page.goto(f"{platform.gateway_url}/registrations/manage?token={certified['token']}")

    card = page.get_by_role("region", name="Сертификат участника")
    expect(card).to_contain_text(certified["code"])
    download = card.get_by_role("link", name="Скачать сертификат (PDF)")
    expect(download).to_have_attribute(
        "href",
        f"/api/registration/registrations/by-link/certificate.pdf?token={certified['token']}",
    )
    card.get_by_role("link", name="Страница проверки сертификата").click()

    expect(page.get_by_role("heading", name="Проверка сертификата")).to_be_visible()
    expect(
        page.get_by_text(f"Сертификат с кодом {certified['code']} действителен.")
    ).to_be_visible()
    expect(page.get_by_text("Дарима Батуева")).to_be_visible()
    expect(page.get_by_text("Очная сессия с сертификатами")).to_be_visible()
    expect(page.get_by_text("3 часа")).to_be_visible()


def test_the_printed_address_verifies_the_code_and_an_unknown_one_is_explained(
    platform: Stack, page: Page, certified: dict[str, Any]
) -> None:
    page.goto(f"{platform.gateway_url}/certificates/{certified['code']}")
    expect(page.get_by_text("Дарима Батуева")).to_be_visible()
    assert page.url.endswith(f"/#/certificate/{certified['code']}")

    code = page.get_by_label("Код проверки")
    code.fill("ABCD-EFGH-JKLM")
    page.get_by_role("button", name="Проверить").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Сертификата с таким кодом нет. Проверьте, что код введён так, как напечатан."
    )
    page.get_by_label("Код проверки").fill("не код")
    page.get_by_role("button", name="Проверить").click()
    expect(page.get_by_role("alert")).to_contain_text("Это не код сертификата")


def test_a_signed_in_participant_downloads_the_certificate_from_their_list(
    platform: Stack,
    page: Page,
    gateway: httpx.Client,
    mailpit: Mailpit,
    certified: dict[str, Any],
) -> None:
    requested = gateway.post(
        "/api/registration/auth/sign-in-link", json={"email": certified["email"]}
    )
    assert requested.status_code == 202, requested.text

    def sign_in_link() -> str | None:
        for summary in mailpit.messages_to(certified["email"]):
            if summary["Subject"].startswith("Вход на портал"):
                text = mailpit.message(summary["ID"])["Text"]
                found = re.search(r"https?://\S+/sign-in\?token=\S+", text)
                return found.group(0) if found else None
        return None

    page.goto(wait_until(sign_in_link, timeout=30, what="the sign-in email"))
    entry = page.locator(".registrations li").filter(has_text="Очная сессия с сертификатами")

    with page.expect_download() as started:
        entry.get_by_role("button", name="Скачать сертификат (PDF)").click()

    saved = started.value.path()
    assert Path(saved).read_bytes().startswith(b"%PDF")
