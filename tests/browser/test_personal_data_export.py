"""The participant downloads their personal data from "Мои регистрации" in a real browser
(Debian's Chromium driven by Playwright), through the gateway: JSON and a PDF in Russian."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from browsing import SCREENSHOTS
from helpers import Mailpit, create_open_event, register, wait_until


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A desktop-sized page in Russian."""
    context = browser.new_context(locale="ru-RU", timezone_id="Europe/Moscow")
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def _sign_in_link(gateway: httpx.Client, mailpit: Mailpit, email: str) -> str:
    asked = gateway.post("/api/registration/auth/sign-in-link", json={"email": email})
    assert asked.status_code == 202, asked.text

    def link() -> str | None:
        for summary in mailpit.messages_to(email):
            if summary["Subject"].startswith("Вход на портал"):
                text = mailpit.message(summary["ID"])["Text"]
                found = re.search(r"https?://\S+/sign-in\?token=\S+", text)
                return found.group(0) if found else None
        return None

    found: str = wait_until(link, timeout=30, what="the sign-in email")
    return found


def test_a_participant_downloads_their_data_as_json_and_pdf(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    event = create_open_event(gateway, operator_token, title="Стратегическая сессия по СЗФО")
    email = f"mydata.{uuid.uuid4().hex[:8]}@example.org"
    name = "Ольга Николаевна Выучейская"
    registered = register(gateway, event["id"], email, full_name=name)
    assert registered.status_code == 201, registered.text

    page.goto(_sign_in_link(gateway, mailpit, email))
    expect(page.get_by_role("heading", level=1, name="Мои регистрации")).to_be_visible()
    section = page.get_by_role("region", name="Мои персональные данные")
    expect(section).to_contain_text("ст. 14 152-ФЗ")

    with page.expect_download() as pdf_download:
        section.get_by_role("button", name="Скачать мои данные (PDF)").click()
    pdf = pdf_download.value
    assert pdf.suggested_filename == "etnik-personal-data.pdf"
    pdf_path = pdf.path()
    pages = PdfReader(io.BytesIO(pdf_path.read_bytes())).pages
    text = " ".join(" ".join(p.extract_text() or "" for p in pages).split())
    assert "Сведения о ваших персональных данных" in text
    assert name in text
    assert email in text

    with page.expect_download() as json_download:
        section.get_by_role("button", name="Скачать мои данные (JSON)").click()
    exported = json.loads(json_download.value.path().read_text(encoding="utf-8"))
    assert exported["person"]["email"] == email
    assert set(exported["services"]) == {"notification", "content", "reporting"}
    assert exported["privacy_notice"]["rights"]
