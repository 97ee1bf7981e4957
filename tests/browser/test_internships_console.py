"""An internship in a real browser, through the gateway: an operator sets its host, places and
schedule in the console (a bad schedule refused in Russian, nothing stored), a moderator
selects the applications, the applicants get the platform's messages, an outcome is recorded,
and the portal shows the schedule on the event's page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from browsing import SCREENSHOTS
from helpers import Mailpit, bearer, register, staff_account, wait_until


@contextmanager
def watched(context: BrowserContext, name: str) -> Iterator[Page]:
    """A page whose script errors fail the test; a screenshot of it either way."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)
        context.close()
    assert not errors, f"the console's scripts failed: {errors}"


def sign_in(page: Page, gateway_url: str, account: tuple[str, str], path: str) -> None:
    page.goto(f"{gateway_url}/console/{path}")
    page.get_by_label("Электронная почта").fill(account[0])
    page.get_by_label("Пароль").fill(account[1])
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible(timeout=20_000)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A desk-sized page: the schedule and applications are worked on at a desk."""
    context = browser.new_context(
        locale="ru-RU", timezone_id="Europe/Moscow", viewport={"width": 1280, "height": 900}
    )
    with watched(context, request.node.name) as page:
        yield page


def _internship(gateway: httpx.Client, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A host organisation and an internship next week, three days in Kazan, open."""
    host = gateway.post(
        "/api/registration/organisations",
        json={"name": f"Дом дружбы народов Татарстана {uuid.uuid4().hex[:6]}", "kind": "ngo",
              "region_code": "16"},
        headers=bearer(token),
    )  # fmt: skip
    assert host.status_code == 201, host.text
    first_day = (datetime.now(UTC) + timedelta(days=7)).date()
    starts = datetime(first_day.year, first_day.month, first_day.day, 6, tzinfo=UTC)
    event = gateway.post(
        "/api/registration/events",
        json={
            "title": f"Стажировка для лидеров НКО в Казани {uuid.uuid4().hex[:4]}",
            "track": "internships",
            "format": "in_person",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(days=2, hours=9)).isoformat(),
            "region_code": "16",
            "venue": "Казань",
            "capacity": 10,
            "status": "registration_open",
        },
        headers=bearer(token),
    )
    assert event.status_code == 201, event.text
    form = gateway.put(
        f"/api/registration/events/{event.json()['id']}/form",
        json={"questions": [{"key": "motivation", "label": "Мотивация", "kind": "text",
                             "required": True}]},
        headers=bearer(token),
    )  # fmt: skip
    assert form.status_code == 200, form.text
    return host.json(), event.json()


def test_an_internship_is_scheduled_selected_and_its_outcome_recorded_in_the_console(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    operator_token: str,
    mailpit: Mailpit,
) -> None:
    host, event = _internship(gateway, operator_token)
    event_id = event["id"]
    first_day = datetime.fromisoformat(event["starts_at"]).date()
    day1, day3 = first_day.isoformat(), (first_day + timedelta(days=2)).isoformat()
    staff = staff_account(gateway, operator_token, "operator", "moderator")

    sign_in(page, platform.gateway_url, staff, f"#/internships/{event_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(event["title"])
    page.get_by_label("Принимающая организация").select_option(host["id"])
    page.get_by_label("Число мест").fill("1")
    schedule = page.get_by_label("Программа по дням")
    # Two items that overlap are refused in Russian, naming the day and items; nothing stored.
    schedule.fill(
        f"{day1} 10:00-12:00 Знакомство с организацией; Дом дружбы\n"
        f"{day1} 11:30-13:00 Проектная мастерская; Дом дружбы"
    )
    page.get_by_role("button", name="Сохранить программу").click()
    expect(page.locator("#internship-details .form-status")).to_contain_text(
        f"День 1 ({day1}): пункты 1 и 2 пересекаются по времени."
    )
    stored = gateway.get(f"/api/registration/events/{event_id}/internship")
    assert stored.status_code == 404
    schedule.fill(
        f"{day1} 10:00-12:00 Знакомство с организацией; Дом дружбы\n"
        f"{day1} 12:30-14:00 Проектная мастерская; Дом дружбы\n"
        f"{day3} 10:00-12:00 Защита проектов"
    )
    page.get_by_role("button", name="Сохранить программу").click()
    expect(page.get_by_role("status").filter(has_text="Программа сохранена.")).to_be_visible()
    expect(page.get_by_role("region", name=f"Программа {day3}")).to_contain_text("Защита проектов")

    # Two apply; the moderator approves one and rejects the other with a reason.
    chosen_email = f"chosen.{uuid.uuid4().hex[:8]}@example.org"
    other_email = f"other.{uuid.uuid4().hex[:8]}@example.org"
    chosen = register(gateway, event_id, chosen_email, answers={"motivation": "Школа языка"})
    other = register(gateway, event_id, other_email, full_name="Борис Олегович Ким",
                     answers={"motivation": "Хочу опыта"})  # fmt: skip
    assert (chosen.status_code, other.status_code) == (201, 201), other.text
    page.reload()
    applications = page.get_by_role("region", name="Заявки", exact=True)
    expect(applications).to_contain_text("Школа языка")
    row = page.locator(f'tr[data-application="{chosen.json()["id"]}"]')
    row.get_by_role("button", name=re.compile("^Одобрить")).click()
    expect(page.get_by_role("status").filter(has_text="одобрена")).to_be_visible()
    other_row = page.locator(f'tr[data-application="{other.json()["id"]}"]')
    other_row.get_by_role("button", name=re.compile("^Отклонить")).click()
    page.get_by_label(re.compile("^Причина отказа")).fill("Место одно, выбран кандидат из ДФО")
    page.get_by_role("button", name="Отклонить заявку", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="отклонена")).to_be_visible()
    journal = page.get_by_role("region", name="Журнал решений")
    expect(journal).to_contain_text("Место одно, выбран кандидат из ДФО")
    expect(journal).to_contain_text(staff[0])

    # The applicants are told: each first that the application arrived, then the decision;
    # the rejection with its reason.
    def texts_to(email: str) -> list[str]:
        return [mailpit.message(m["ID"])["Text"] for m in mailpit.messages_to(email)]

    wait_until(lambda: len(mailpit.messages_to(chosen_email)) >= 2, timeout=60,
               what="the confirmation")  # fmt: skip
    wait_until(
        lambda: any("Место одно, выбран кандидат из ДФО" in t for t in texts_to(other_email)),
        timeout=60,
        what="the rejection message with its reason",
    )

    # The participant's outcome.
    page.get_by_label("Завершил(а) стажировку").check()
    page.get_by_label("Часов").fill("20")
    page.get_by_label("Результат (проект, план)").fill("План языковой школы на 2027 год")
    page.get_by_role("button", name="Записать итог").click()
    expect(page.get_by_role("status").filter(has_text="Итог записан")).to_contain_text("20 ч.")
    outcomes = gateway.get(
        f"/api/registration/events/{event_id}/internship/outcomes",
        headers=bearer(operator_token),
    ).json()
    assert [(o["hours"], o["completed"]) for o in outcomes] == [(20, True)]

    # The portal shows the schedule on the event's page.
    page.goto(f"{platform.gateway_url}/#/event/{event_id}")
    expect(page.get_by_role("heading", name="Программа по дням")).to_be_visible()
    expect(page.locator("section.schedule")).to_contain_text("Проектная мастерская")
    expect(page.locator("section.schedule")).to_contain_text(host["name"])
