"""The roster of experts in a real browser, through the gateway: an operator adds a person of
the directory as an expert with a photo in the console, assigns them to the strategic session
(bad dates and a second identical role refused in place, in Russian) and moves their travel on;
the portal's event page shows the expert who consents to publication, and not the other."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from browsing import SCREENSHOTS
from helpers import bearer, create_open_event, register, staff_account

# A real 1×1 PNG, so that the portal's <img> loads.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A desktop page whose script errors fail the test; a screenshot of it either way."""
    context = browser.new_context(locale="ru-RU", timezone_id="Europe/Moscow")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"experts-{request.node.name}.png"), full_page=True)
        context.close()
    assert not errors, f"the page's scripts failed: {errors}"


def test_an_operator_keeps_the_roster_and_the_portal_shows_only_consenting_experts(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str
) -> None:
    operator = bearer(operator_token)
    account = staff_account(gateway, operator_token, "operator")
    event = create_open_event(
        gateway, operator_token, title="Очная стратегическая сессия экспертов"
    )
    email = f"expert.{uuid.uuid4().hex[:10]}@example.org"
    name = f"Туйаара Эксперт {uuid.uuid4().hex[:4]}"
    registered = register(gateway, event["id"], email, full_name=name, consent_publication=True)
    assert registered.status_code == 201, registered.text
    # A second expert, without the publication consent, added through the API.
    hidden_name = f"Скрытый Эксперт {uuid.uuid4().hex[:4]}"
    hidden = register(
        gateway, event["id"], f"hidden.{uuid.uuid4().hex[:10]}@example.org", full_name=hidden_name
    )
    created = gateway.post(
        "/api/registration/experts",
        json={"person_id": hidden.json()["person_id"], "field_of_expertise": "Медиа"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    assigned = gateway.post(
        f"/api/registration/experts/{created.json()['id']}/assignments",
        json={"event_id": event["id"], "role": "moderator"},
        headers=operator,
    )
    assert assigned.status_code == 201, assigned.text

    page.goto(f"{platform.gateway_url}/console/#/experts")
    page.get_by_label("Электронная почта").fill(account[0])
    page.get_by_label("Пароль").fill(account[1])
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", level=1, name="Эксперты")).to_be_visible(timeout=20_000)

    # Someone not in the directory is refused in place.
    page.get_by_label("Электронная почта эксперта").fill("nobody.here@example.org")
    page.get_by_label("Область экспертизы").fill("Стратегии этнокультурных НКО")
    page.get_by_role("button", name="Добавить в реестр").click()
    expect(page.locator('[data-error-for="email"]')).to_have_text("Такого человека нет в базе.")
    page.get_by_label("Электронная почта эксперта").fill(email)
    page.get_by_label("Регионы работы").select_option(["14", "75"])
    page.get_by_label("Краткая биография").fill(
        "Двадцать лет с национально-культурными автономиями."
    )
    page.get_by_label("Фотография (JPEG, PNG или WebP до 1 МБ)").set_input_files(
        {"name": "expert.png", "mimeType": "image/png", "buffer": PIXEL}
    )
    page.get_by_role("button", name="Добавить в реестр").click()
    expect(page.get_by_role("status").filter(has_text="в реестре экспертов")).to_contain_text(
        "Фотография сохранена."
    )
    roster = page.get_by_role("region", name="Эксперты", exact=True)
    expect(roster).to_contain_text(name)
    expect(roster).to_contain_text("согласие есть")

    # Assign: departure before arrival is refused in place; then saved.
    form = page.locator("form#expert-assignment")
    form.get_by_label("Эксперт").select_option(label=name)
    form.get_by_label("Мероприятие").select_option(event["id"])
    form.get_by_label("Роль").select_option("speaker")
    day = event["starts_at"][:10]
    form.get_by_label("Дата приезда").fill(day)
    form.get_by_label("Дата отъезда").fill("2020-01-01")
    form.get_by_role("button", name="Назначить").click()
    expect(form.locator('[data-error-for="departure_on"]')).to_have_text(
        "Отъезд не может быть раньше приезда."
    )
    form.get_by_label("Дата отъезда").fill(day)
    form.get_by_role("button", name="Назначить").click()
    expect(form.get_by_role("status").filter(has_text="Назначение сохранено")).to_be_visible()
    # The same role again: the server's 409, in Russian, at the role.
    form.get_by_label("Эксперт").select_option(label=name)
    form.get_by_label("Мероприятие").select_option(event["id"])
    form.get_by_label("Роль").select_option("speaker")
    form.get_by_role("button", name="Назначить").click()
    expect(form.locator('[data-error-for="role"]')).to_have_text(
        "Эксперт уже назначен на это мероприятие в роли «спикер»."
    )

    travel = page.get_by_role("region", name="Назначения", exact=True)
    row = travel.locator("tr").filter(has_text=name)
    expect(row).to_contain_text("Приглашён")
    row.get_by_label(f"Новый статус: {name}").select_option("confirmed")
    row.get_by_role("button", name="Сохранить").click()
    expect(travel.locator("tr").filter(has_text=name)).to_contain_text("Подтвердил участие")

    # The portal's event page: the consenting expert with photo and role; not the other one.
    page.goto(f"{platform.gateway_url}/#/event/{event['id']}")
    experts = page.get_by_role("region", name="Эксперты")
    expect(experts).to_contain_text(name)
    expect(experts).to_contain_text("Спикер")
    expect(experts).to_contain_text("Двадцать лет с национально-культурными автономиями.")
    expect(experts).not_to_contain_text(hidden_name)
    photo = experts.get_by_role("img", name=f"Фотография: {name}")
    expect(photo).to_be_visible()
    assert photo.evaluate("(img) => img.complete && img.naturalWidth") == 1
