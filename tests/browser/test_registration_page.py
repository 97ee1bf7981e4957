"""The participant's own page, opened by the link in every message about a registration
(/registrations/manage?token=…), in a real browser through the gateway: the event, the status
in words, the waitlist position, an offer to accept, the session link and check-in code once
confirmed, the calendar file, cancelling with a confirmation, and links that open nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from browsing import SCREENSHOTS
from helpers import Mailpit, create_open_event, register, wait_until

SESSION_LINK = "https://telemost.yandex.ru/j/manage-page"
VENUE = "Москва, ул. Покровка, 47, Дом народов России"
MANAGE_LINK = re.compile(r"https?://\S+/registrations/manage\?token=\S+")

PageFactory = Callable[[str], Page]


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[PageFactory]:
    """Phone-sized pages whose clock is in the zone asked for; screenshots of each at the end."""
    contexts = []

    def open_in(timezone_id: str) -> Page:
        context = browser.new_context(
            locale="ru-RU", timezone_id=timezone_id, viewport={"width": 390, "height": 844}
        )
        contexts.append(context)
        return context.new_page()

    yield open_in
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for number, context in enumerate(contexts):
        for page in context.pages:
            path = SCREENSHOTS / f"{request.node.name}-{number}.png"
            page.screenshot(path=str(path), full_page=True)
        context.close()


def _registered(gateway: httpx.Client, event_id: str, status: str) -> dict[str, Any]:
    """A registration made through the public API, with the token of its manage link."""
    answer = register(gateway, event_id, f"manage.{uuid.uuid4().hex[:8]}@example.org")
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    return body


def _fact(page: Page, term: str) -> Locator:
    """The value of one of the event's facts (format, venue …)."""
    return page.locator(".facts div").filter(has=page.locator("dt", has_text=term)).locator("dd")


def _open(page: Page, platform: Any, token: str) -> None:
    page.goto(f"{platform.gateway_url}/registrations/manage?token={token}")
    expect(page.get_by_role("heading", level=1, name="Моя регистрация")).to_be_visible()


def test_the_link_in_the_confirmation_opens_the_participants_page(
    platform: Any,
    gateway: httpx.Client,
    operator_token: str,
    mailpit: Mailpit,
    open_page: PageFactory,
) -> None:
    title = "Очная сессия с трансляцией: управление регистрацией"
    event = create_open_event(
        gateway,
        operator_token,
        title=title,
        format="hybrid",
        venue=VENUE,
        online_link=SESSION_LINK,
    )
    email = f"manage.{uuid.uuid4().hex[:8]}@example.org"
    registered = register(gateway, event["id"], email)  # from Камчатка (Asia/Kamchatka)
    assert registered.status_code == 201, registered.text

    def link_in_the_confirmation() -> str | None:
        for summary in mailpit.messages_to(email):
            if summary["Subject"].startswith("Регистрация подтверждена"):
                found = MANAGE_LINK.search(mailpit.message(summary["ID"])["Text"])
                return found.group(0) if found else None
        return None

    link = wait_until(link_in_the_confirmation, timeout=45, what="the confirmation's link")
    # Opened on a computer set to Moscow time: the participant's own zone is still shown.
    page = open_page("Europe/Moscow")
    page.goto(link)
    expect(page.get_by_role("heading", level=1, name="Моя регистрация")).to_be_visible()
    assert "token=" not in page.url  # the key left the address bar and the history
    expect(page.get_by_role("heading", level=2, name=title)).to_be_visible()
    expect(page.locator(".when")).to_contain_text("14:00 МСК / 23:00 по вашему времени")
    expect(_fact(page, "Формат")).to_have_text("очно и онлайн")
    expect(_fact(page, "Место проведения")).to_have_text(VENUE)
    expect(page.locator("p.status")).to_have_text("Подтверждена")
    expect(page.get_by_role("link", name=SESSION_LINK)).to_have_attribute("href", SESSION_LINK)
    expect(page.locator(".code")).to_have_text(re.compile(r"^[A-Z0-9]{6,}$"))

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Скачать файл для календаря (.ics)").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".ics")
    calendar = Path(download.path()).read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in calendar
    assert f"UID:{event['id']}@etnik" in calendar
    assert SESSION_LINK in calendar

    # A reload keeps the page (the key stays with this tab).
    page.reload()
    expect(page.locator("p.status")).to_have_text("Подтверждена")


def test_the_waitlist_the_offer_accepted_cancelling_and_an_offer_too_late(
    platform: Any, gateway: httpx.Client, operator_token: str, open_page: PageFactory
) -> None:
    title = "Онлайн-сессия с одним местом: лист ожидания"
    event = create_open_event(
        gateway, operator_token, title=title, capacity=1, online_link=SESSION_LINK
    )
    first = _registered(gateway, event["id"], "confirmed")
    second = _registered(gateway, event["id"], "waitlisted")
    third = _registered(gateway, event["id"], "waitlisted")

    page = open_page("Asia/Kamchatka")
    _open(page, platform, second["manage_token"])
    expect(page.locator("p.status")).to_have_text("В листе ожидания")
    expect(page.locator(".position")).to_have_text("Ваш номер в листе ожидания: 1.")
    expect(page.get_by_role("link", name=SESSION_LINK)).to_have_count(0)
    other = open_page("Asia/Kamchatka")
    _open(other, platform, third["manage_token"])
    expect(other.locator(".position")).to_have_text("Ваш номер в листе ожидания: 2.")

    # The first participant cancels (through their own link): the place is offered to the second.
    cancelled = gateway.post(
        "/api/registration/registrations/by-link/cancel",
        params={"token": first["manage_token"]},
        json={},
    )
    assert cancelled.status_code == 200, cancelled.text
    page.reload()
    expect(page.locator("p.status")).to_have_text("Вам предложено место")
    expect(page.get_by_text("Подтвердите участие до")).to_contain_text("МСК")
    page.get_by_role("button", name="Принять место").click()
    expect(page.get_by_role("status")).to_have_text("Место за вами: регистрация подтверждена.")
    expect(page.locator("p.status")).to_have_text("Подтверждена")
    expect(page.get_by_role("link", name=SESSION_LINK)).to_be_visible()

    # The second cancels on the page, after saying so a second time.
    cancel = page.get_by_role("button", name="Отменить регистрацию")
    cancel.click()
    expect(page.get_by_text(f"Отменить регистрацию на «{title}»?")).to_be_focused()
    page.get_by_role("button", name="Нет, оставить").click()
    expect(cancel).to_be_focused()
    expect(page.locator("p.status")).to_have_text("Подтверждена")
    cancel.click()
    page.get_by_role("button", name="Да, отменить регистрацию").click()
    expect(page.get_by_role("status")).to_contain_text("Регистрация отменена.")
    expect(page.locator("p.status")).to_have_text("Отменена")
    expect(page.get_by_text(re.compile(r"^Вы отменили регистрацию \d"))).to_be_visible()
    expect(page.get_by_role("button", name="Отменить регистрацию")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("календаря"))).to_have_count(0)
    expect(page.get_by_role("link", name=SESSION_LINK)).to_have_count(0)

    # The place goes to the third, who answers after the service has let the offer lapse.
    other.reload()
    expect(other.locator("p.status")).to_have_text("Вам предложено место")

    def too_late(route: Route) -> None:
        route.fulfill(status=410, json={"detail": "the offer has expired"})

    other.route(re.compile(r"/registrations/by-link/accept-offer\?"), too_late)
    other.get_by_role("button", name="Принять место").click()
    expect(other.get_by_role("alert")).to_contain_text("Срок предложения истёк (")
    expect(other.get_by_role("alert")).to_contain_text("место передано следующему")
    expect(other.get_by_role("button", name="Принять место")).to_have_count(0)
    expect(other.locator("p.status")).to_have_text("Срок предложения истёк")
    expect(other.get_by_role("button", name="Отменить регистрацию")).to_have_count(0)


def test_a_link_that_opens_nothing_says_why_in_russian(
    platform: Any, gateway: httpx.Client, operator_token: str, open_page: PageFactory
) -> None:
    # The gateway serves the portal at the link's path; the portal routes it.
    served = gateway.get("/registrations/manage", params={"token": "x"})
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in served.headers["content-security-policy"]

    event = create_open_event(gateway, operator_token, title="Онлайн-сессия: чужие ссылки")
    registered = _registered(gateway, event["id"], "confirmed")
    page = open_page("Europe/Moscow")

    _open(page, platform, registered["manage_token"][:-4] + "AAAA")
    expect(page.get_by_role("alert")).to_have_text(
        "Ссылка недействительна: возможно, она скопирована не полностью. "
        "Откройте ссылку из письма ещё раз."
    )
    expect(page.get_by_role("link", name="войти")).to_have_attribute("href", "#/sign-in")
    expect(page.locator("p.status")).to_have_count(0)

    page.goto(f"{platform.gateway_url}/registrations/manage")
    expect(page.get_by_role("alert")).to_contain_text("Ссылка неполная")


def test_an_offer_the_service_let_lapse_is_shown_as_expired(
    platform: Any, gateway: httpx.Client, operator_token: str, open_page: PageFactory
) -> None:
    """The service cancels an offer nobody took (after 48 hours): the page says why. The
    service's answer is edited in flight, as no test waits 48 hours."""
    event = create_open_event(gateway, operator_token, title="Онлайн-сессия: просроченное место")
    registered = _registered(gateway, event["id"], "confirmed")
    page = open_page("Europe/Moscow")

    def lapsed(route: Route) -> None:
        view = route.fetch().json()
        view |= {
            "status": "cancelled",
            "cancelled_by": "system",
            "offer_expires_at": "2030-01-10T09:00:00Z",
            "online_link": None,
            "check_in_code": None,
        }
        route.fulfill(json=view)

    page.route(re.compile(r"/registrations/by-link\?"), lapsed)
    _open(page, platform, registered["manage_token"])
    expect(page.locator("p.status")).to_have_text("Отменена")
    expect(page.get_by_role("alert")).to_have_text(
        "Срок предложения истёк (10 января 2030 г., 12:00 МСК / 21:00 по вашему времени): "
        "место передано следующему в листе ожидания."
    )
    expect(page.get_by_role("button", name="Отменить регистрацию")).to_have_count(0)
