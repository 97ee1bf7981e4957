"""The portal in a real browser (Debian's Chromium driven by Playwright), through the gateway."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from helpers import Mailpit, bearer, create_open_event, register, wait_until, zones_now

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CFO_SESSION = "Стратегическая онлайн-сессия по Центральному федеральному округу"
# The flags that keep a headless Chromium quiet on a machine with no internet.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium; Playwright's own browser download cannot work offline."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: `make test` installs it (Debian package chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A phone-sized page whose clock is in Камчатка, so both times are shown."""
    context = browser.new_context(
        locale="ru-RU", timezone_id="Asia/Kamchatka", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="module")
def cfo_session(gateway: httpx.Client, operator_token: str) -> dict[str, Any]:
    """The Central Federal District's online session, open for registration."""
    return create_open_event(gateway, operator_token, title=CFO_SESSION)


def test_a_participant_registers_on_a_phone_and_finds_the_confirmation_in_mailpit(
    platform: Any, page: Page, cfo_session: dict[str, Any], mailpit: Mailpit
) -> None:
    email = f"browser.{uuid.uuid4().hex[:8]}@example.org"
    page.goto(platform.gateway_url + "/")
    # Other tests may have made sessions of the same name: follow this one's link.
    page.locator(f'a[href="#/event/{cfo_session["id"]}"]').click()
    expect(page.get_by_role("heading", level=1, name=CFO_SESSION)).to_be_visible()
    # 14:00 in Moscow is 23:00 in Камчатка: the page says both.
    expect(page.locator(".when")).to_contain_text("14:00 МСК / 23:00 по вашему времени")

    page.get_by_label("Фамилия, имя, отчество").fill("Ольга Николаевна Смирнова")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Кого вы представляете").select_option("ngo_leader")
    consent = page.get_by_label(re.compile("обработку моих персональных данных"))
    expect(consent).not_to_be_checked()  # never ticked in advance
    consent.check()
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("alert")).to_contain_text("Регистрация подтверждена")

    [summary] = wait_until(lambda: mailpit.messages_to(email), timeout=30, what="the email")
    assert summary["Subject"] == f"Регистрация подтверждена: {CFO_SESSION}"


def test_form_errors_appear_next_to_the_field_in_russian_and_nothing_typed_is_lost(
    platform: Any, page: Page, cfo_session: dict[str, Any]
) -> None:
    page.goto(f"{platform.gateway_url}/#/event/{cfo_session['id']}")
    page.get_by_label("Фамилия, имя, отчество").fill("Иван Петров")
    page.get_by_label("Электронная почта").fill("не-почта")
    page.get_by_role("button", name="Зарегистрироваться").click()

    expect(page.locator("#email-error")).to_contain_text("Проверьте адрес электронной почты")
    expect(page.locator("#consent_personal_data-error")).to_contain_text(
        "Без согласия на обработку персональных данных"
    )
    expect(page.get_by_label("Электронная почта")).to_have_attribute("aria-invalid", "true")

    # A reload (or a lost connection) keeps what was typed.
    page.reload()
    expect(page.get_by_label("Фамилия, имя, отчество")).to_have_value("Иван Петров")


def test_a_lost_connection_keeps_the_form_and_says_so(
    platform: Any, page: Page, cfo_session: dict[str, Any]
) -> None:
    page.goto(f"{platform.gateway_url}/#/event/{cfo_session['id']}")
    page.get_by_label("Фамилия, имя, отчество").fill("Мария Иванова")
    page.get_by_label("Электронная почта").fill(f"offline.{uuid.uuid4().hex[:6]}@example.org")
    page.get_by_label("Кого вы представляете").select_option("expert")
    page.get_by_label(re.compile("обработку моих персональных данных")).check()
    page.route("**/registrations", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("alert")).to_contain_text("Нет связи с сервером")
    expect(page.get_by_label("Фамилия, имя, отчество")).to_have_value("Мария Иванова")
    assert "Traceback" not in page.content()


def test_a_participant_signs_in_by_email_link_and_cancels_in_my_registrations(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    cfo_session: dict[str, Any],
    mailpit: Mailpit,
) -> None:
    email = f"signin.{uuid.uuid4().hex[:8]}@example.org"
    registered = register(gateway, cfo_session["id"], email)
    assert registered.status_code == 201, registered.text

    page.goto(f"{platform.gateway_url}/#/sign-in")
    page.get_by_label("Электронная почта, указанная при регистрации").fill(email)
    page.get_by_role("button", name="Получить ссылку для входа").click()
    expect(page.get_by_role("alert")).to_contain_text("мы отправили на него ссылку для входа")

    def sign_in_link() -> str | None:
        for summary in mailpit.messages_to(email):
            if summary["Subject"].startswith("Вход на портал"):
                found = re.search(
                    r"https?://\S+/sign-in\?token=\S+", mailpit.message(summary["ID"])["Text"]
                )
                return found.group(0) if found else None
        return None

    link = wait_until(sign_in_link, timeout=30, what="the sign-in email")
    page.goto(link)
    expect(page.get_by_role("heading", level=1, name="Мои регистрации")).to_be_visible()
    assert "token=" not in page.url  # the one-time token left the address bar
    entry = page.locator(".registrations li").filter(has_text=CFO_SESSION)
    expect(entry).to_contain_text("Статус: Подтверждена")

    page.once("dialog", lambda dialog: dialog.accept())
    entry.get_by_role("button", name="Отменить регистрацию").click()
    expect(page.locator(".registrations li").filter(has_text=CFO_SESSION)).to_contain_text(
        "Статус: Отменена"
    )

    # The link works once.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("устарела или уже использована")


def test_an_invited_person_registers_through_the_link_in_the_invitation(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    day_zone, _ = zones_now()
    if day_zone is None:
        pytest.skip("it is night in every Russian zone: invitations wait for 08:00 (quiet hours)")
    event = create_open_event(gateway, operator_token, title="Стажировка для лидеров НКО")
    email = f"invited.{uuid.uuid4().hex[:8]}@example.org"
    person = gateway.post(
        "/api/registration/people",
        json={"full_name": "Тимур Рашидович Ахметов", "email": email, "category": "ngo_leader",
              "timezone": day_zone},
        headers=bearer(operator_token),
    )  # fmt: skip
    assert person.status_code == 201, person.text
    invited = gateway.post(
        f"/api/registration/events/{event['id']}/invitations",
        json={"person_id": person.json()["id"]},
        headers=bearer(operator_token),
    )
    assert invited.status_code == 201, invited.text

    def invitation_link() -> str | None:
        for summary in mailpit.messages_to(email):
            text = mailpit.message(summary["ID"])["Text"]
            found = re.search(r"https?://\S+/register\?invitation=\S+", text)
            if found:
                return found.group(0)
        return None

    link = wait_until(invitation_link, timeout=30, what="the invitation email")
    page.goto(link)
    expect(page.get_by_role("heading", level=1, name=event["title"])).to_be_visible()
    expect(page.get_by_text("по персональному приглашению")).to_be_visible()
    assert "invitation=" not in page.url
    page.get_by_label("Фамилия, имя, отчество").fill("Тимур Рашидович Ахметов")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Кого вы представляете").select_option("ngo_leader")
    page.get_by_label(re.compile("обработку моих персональных данных")).check()
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("alert")).to_contain_text("Регистрация подтверждена")
