"""Accessibility of the portal and the console, checked by axe-core in a real browser.

axe-core (from npm, pinned in web/package-lock.json) is injected into each page and run with
the WCAG 2.1 A and AA rules: labels, names, contrast, landmarks, ARIA. Serious and critical
findings fail the test; the report lists each rule with the elements it found.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from browsing import SCREENSHOTS
from helpers import create_open_event, register, staff_account

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A phone-sized page; the CSP is bypassed only so that axe itself can be injected."""
    if not AXE.is_file():
        pytest.fail("axe-core is missing: `make web` installs it (npm ci in web/)")
    context = browser.new_context(
        locale="ru-RU", viewport={"width": 390, "height": 844}, bypass_csp=True
    )
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"a11y-{request.node.name}.png"), full_page=True)
    context.close()


def violations(page: Page) -> list[str]:
    """Serious and critical WCAG findings on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


@pytest.fixture(scope="module")
def open_event(gateway: httpx.Client, operator_token: str) -> dict[str, Any]:
    """An event with a custom question, so the form is checked with one."""
    event = create_open_event(gateway, operator_token, title="Доступность: онлайн-сессия")
    form = gateway.put(
        f"/api/registration/events/{event['id']}/form",
        json={"questions": [{"key": "mission", "label": "Миссия вашей НКО", "kind": "text",
                             "required": True}]},
        headers={"Authorization": f"Bearer {operator_token}"},
    )  # fmt: skip
    assert form.status_code == 200, form.text
    return event


def test_the_portals_pages_pass_wcag_aa(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    operator_token: str,
    open_event: dict[str, Any],
) -> None:
    registered = register(
        gateway,
        open_event["id"],
        f"a11y.{uuid.uuid4().hex[:8]}@example.org",
        answers={"mission": "Сохранение языков народов России"},
    )
    assert registered.status_code == 201, registered.text
    manage = f"/registrations/manage?token={registered.json()['manage_token']}"
    # A confirmed place at a venue: the page shows the ticket (QR code, PDF).
    in_person = create_open_event(
        gateway,
        operator_token,
        title="Доступность: очная сессия",
        track="in_person_session",
        format="in_person",
        venue="Москва, ул. Покровка, 47",
    )
    ticketed = register(gateway, in_person["id"], f"a11y.{uuid.uuid4().hex[:8]}@example.org")
    assert ticketed.status_code == 201, ticketed.text
    ticket = f"/registrations/manage?token={ticketed.json()['manage_token']}"
    found: dict[str, list[str]] = {}
    for name, path, ready in [
        ("events", "/", "Ближайшие мероприятия"),
        ("event and form", f"/#/event/{open_event['id']}", "Доступность: онлайн-сессия"),
        ("materials", "/#/materials", "Материалы программы"),
        ("sign-in", "/#/sign-in", None),
        ("registration", manage, "Моя регистрация"),
        ("registration with a ticket", ticket, "Моя регистрация"),
        ("registration link not valid", manage[:-4] + "AAAA", "Моя регистрация"),
    ]:
        page.goto(platform.gateway_url + path)
        if ready:
            expect(page.get_by_role("heading", level=1, name=ready)).to_be_visible()
        else:
            expect(page.get_by_role("heading", level=1)).to_be_visible()
        if name == "event and form":
            # With its errors shown: the error state must be as accessible as the rest.
            page.get_by_role("button", name="Зарегистрироваться").click()
            expect(page.locator("[aria-invalid=true]").first).to_be_visible()
        if name == "registration":
            # With the cancellation asked to be confirmed.
            page.get_by_role("button", name="Отменить регистрацию").click()
            expect(page.get_by_role("button", name="Нет, оставить")).to_be_visible()
        if name == "registration with a ticket":
            expect(page.get_by_role("img", name="QR-код билета для входа")).to_be_visible()
            expect(page.get_by_role("link", name="Скачать билет (PDF)")).to_be_visible()
        if name == "registration link not valid":
            expect(page.get_by_role("alert")).to_be_visible()
        found[name] = violations(page)
    assert not any(found.values()), found
    # The check itself can fail: an input without a label is reported.
    page.evaluate("document.getElementById('main').append(document.createElement('input'))")
    assert any(finding.startswith("label ") for finding in violations(page))


def test_the_consoles_pages_pass_wcag_aa(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    operator_token: str,
    open_event: dict[str, Any],
) -> None:
    email, password = staff_account(gateway, operator_token, "operator", "moderator")
    page.goto(f"{platform.gateway_url}/console/")
    expect(page.get_by_label("Пароль")).to_be_visible()
    found = {"sign-in": violations(page)}
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    for section in [
        "events",
        "events/new",
        f"events/{open_event['id']}/survey",
        "registrations",
        "campaigns",
        "materials",
        "media",
        "partnerships",
        "experts",
        "mechanisms",
        "dashboard",
    ]:
        page.goto(f"{platform.gateway_url}/console/#/{section}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")
        found[section] = violations(page)
    assert not any(found.values()), found
