"""A participant asked to accept a new version of a consent text on "Мои регистрации", in a
real browser (Debian's Chromium driven by Playwright) through the gateway: the new text is shown
with an unticked box, accepting it is recorded, and the publication consent is withdrawn alone.

It publishes a new version of the publication text (optional for everyone), not of the
personal-data text that every other test's registration shows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from browsing import SCREENSHOTS
from helpers import Mailpit, bearer, create_open_event, register, wait_until

NEW_TEXT = (
    "Я согласен(на) на публикацию моих ФИО, организации и фотографий с мероприятий программы "
    "на сайте, в материалах и в социальных сетях программы (редакция для проверки портала)."
)


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
            text = mailpit.message(summary["ID"]).get("Text", "")
            found = re.search(r"https?://\S+/sign-in\?token=\S+", text)
            if found:
                return found.group(0)
        return None

    found: str = wait_until(link, timeout=30, what="the sign-in email")
    return found


def test_a_participant_accepts_a_new_text_and_withdraws_the_publication_consent(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    event = create_open_event(gateway, operator_token, title="Стратегическая сессия по ЮФО")
    email = f"consents.{uuid.uuid4().hex[:8]}@example.org"
    registered = register(gateway, event["id"], email, consent_publication=True)
    assert registered.status_code == 201, registered.text
    published = gateway.post(
        "/api/registration/consent-texts/publication/versions",
        json={"text_ru": NEW_TEXT},
        headers=bearer(operator_token),
    )
    assert published.status_code == 201, published.text
    version = published.json()["version"]

    page.goto(_sign_in_link(gateway, mailpit, email))
    section = page.get_by_role("region", name="Мои согласия")
    update = section.get_by_role("form", name="Новая редакция согласия на публикацию")
    expect(update).to_contain_text(NEW_TEXT)
    box = update.get_by_role("checkbox")
    expect(box).not_to_be_checked()
    update.get_by_role("button", name="Подтвердить согласие").click()
    expect(update).to_contain_text("Отметьте согласие, чтобы подтвердить его.")
    box.check()
    update.get_by_role("button", name="Подтвердить согласие").click()
    expect(section).to_contain_text(f"(редакция {version})")
    expect(update).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="Отозвать согласие на публикацию").click()
    expect(section).to_contain_text("Согласие на публикацию отозвано")
    # The registration stays on the page.
    expect(
        page.get_by_role("heading", level=2, name="Стратегическая сессия по ЮФО")
    ).to_be_visible()
