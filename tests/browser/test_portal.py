"""The portal in a real browser (Debian's Chromium driven by Playwright), through the gateway."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from browsing import SCREENSHOTS
from helpers import (
    Mailpit,
    bearer,
    create_open_event,
    register,
    staff_token,
    wait_until,
    zones_now,
)

CFO_SESSION = "Стратегическая онлайн-сессия по Центральному федеральному округу"


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
    # Upcoming events by track and federal district: narrow the list to the ЦФО sessions.
    page.get_by_label("Направление").select_option("online_sessions")
    page.get_by_label("Федеральный округ").select_option("ЦФО")
    expect(page).to_have_url(re.compile(r"#/\?track=online_sessions&district=%D0%A6%D0%A4%D0%9E$"))
    group = page.locator(
        "section.track",
        has=page.get_by_role("heading", level=2, name="Стратегические онлайн-сессии по округам"),
    )
    expect(group.locator(".meta").first).to_contain_text("ЦФО")
    expect(page.locator("section.track")).to_have_count(1)
    # Other tests may have made sessions of the same name: follow this one's link.
    group.locator(f'a[href="#/event/{cfo_session["id"]}"]').click()
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


# --- The language switch ------------------------------------------------------------------


def test_the_portal_switches_to_english_and_back_and_remembers_the_choice(
    platform: Any, page: Page, cfo_session: dict[str, Any]
) -> None:
    page.goto(f"{platform.gateway_url}/#/event/{cfo_session['id']}")
    expect(page.get_by_role("heading", level=1, name=CFO_SESSION)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.get_by_label("Фамилия, имя, отчество").fill("Ольга Смирнова")

    # A real button, used from the keyboard; its name says which language it leads to.
    switch = page.get_by_role("button", name="English")
    switch.focus()
    page.keyboard.press("Enter")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Русский")).to_be_focused()  # focus stays put
    nav = page.get_by_role("navigation", name="Sections")
    for name in ("Events", "Materials", "My registrations"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(page.locator("footer")).to_contain_text("Moscow time and in your own time zone")
    # Dates in English, both clocks still shown.
    expect(page.locator(".when")).to_have_text(
        re.compile(r"^\d{1,2} [A-Z][a-z]+ \d{4}, 14:00 Moscow time / 23:00 your time$")
    )
    expect(page.get_by_role("heading", level=2, name="Registration")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Ольга Смирнова")  # nothing typed is lost
    expect(page.get_by_label("Whom you represent")).to_be_visible()
    consent = page.get_by_label(re.compile("I consent to the processing of my personal data"))
    expect(consent).not_to_be_checked()
    # The consent's binding text stays Russian, and says so.
    expect(page.locator("#consent-personal-body")).to_have_attribute("lang", "ru")
    expect(page.locator("#consent-personal")).to_contain_text("binding text of this consent")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#email-error")).to_have_text(re.compile("^Please check the email address"))

    # Every message the portal has exists in both languages.
    missing = page.evaluate(
        "() => [...Object.keys(MESSAGES.ru).filter((k) => !(k in MESSAGES.en)),"
        " ...Object.keys(MESSAGES.en).filter((k) => !(k in MESSAGES.ru))]"
    )
    assert missing == []

    # The choice is remembered.
    page.goto(f"{platform.gateway_url}/")
    expect(page.get_by_role("heading", level=1, name="Upcoming events")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.title() == "EtNik: Strategy in Practice"

    page.get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1, name="Ближайшие мероприятия")).to_be_visible()
    nav = page.get_by_role("navigation", name="Разделы")
    expect(nav.get_by_role("link", name="Материалы")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Ближайшие мероприятия")).to_be_visible()


# --- Published materials ------------------------------------------------------------------


@pytest.fixture(scope="module")
def moderator_token(gateway: httpx.Client, operator_token: str) -> str:
    """A moderator other than the administrator: whoever wrote a material may not approve it."""
    return staff_token(gateway, operator_token, "moderator")


def _material(
    gateway: httpx.Client,
    author: str,
    reviewer: str | None,
    body: dict[str, Any],
    file: tuple[str, bytes] | None = None,
) -> dict[str, Any]:
    """A material written by one operator and, with a reviewer, published by another."""
    created = gateway.post("/api/content/materials", json=body, headers=bearer(author))
    assert created.status_code == 201, created.text
    path = f"/api/content/materials/{created.json()['id']}"
    material: dict[str, Any] = created.json()
    if file is not None:
        name, content = file
        uploaded = gateway.put(
            f"{path}/file",
            params={"filename": name},
            content=content,
            headers={**bearer(author), "Content-Type": "application/octet-stream"},
        )
        assert uploaded.status_code == 200, uploaded.text
        material = uploaded.json()
    if reviewer is not None:
        submitted = gateway.post(f"{path}/submit", headers=bearer(author))
        assert submitted.status_code == 200, submitted.text
        approved = gateway.post(f"{path}/approve", headers=bearer(reviewer))
        assert approved.status_code == 200, approved.text
        material = approved.json()
    return material


def test_a_visitor_searches_the_published_materials_and_downloads_one(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str, moderator_token: str
) -> None:
    word = f"этнопроект{uuid.uuid4().hex[:6]}"  # one word that only this test's materials hold
    content = "Памятка для руководителей НКО.\nРабота с молодёжью: план на год.\n".encode()
    recommendation = _material(
        gateway,
        operator_token,
        moderator_token,
        {
            "kind": "recommendation",
            "title": f"Рекомендации по работе с молодёжью {word}",
            "description": "Как вовлекать молодёжь в работу этнокультурной НКО: " + "опыт. " * 80,
            "authors": [{"name": "Анна Петрова"}, {"name": "Марат Ибрагимов"}],
        },
        file=("Памятка для НКО.txt", content),
    )
    for number in range(1, 9):
        _material(
            gateway,
            operator_token,
            moderator_token,
            {"kind": "methodological_collection", "title": f"Сборник {word} № {number}"},
        )
    _material(gateway, operator_token, None, {"kind": "other", "title": f"Черновик {word}"})

    # The file of a published public material is open to anyone, through the gateway.
    anonymous = gateway.get(f"/api/content/materials/{recommendation['id']}/file")
    assert anonymous.status_code == 200
    assert anonymous.content == content

    page.goto(platform.gateway_url + "/")
    page.get_by_role("navigation", name="Разделы").get_by_role("link", name="Материалы").click()
    expect(page.get_by_role("heading", level=1, name="Материалы программы")).to_be_visible()
    # Another form of the words finds it (Russian morphology).
    page.get_by_label("Поиск по материалам").fill(f"молодёжи {word}")
    page.get_by_label("Поиск по материалам").press("Enter")
    expect(page.locator("#materials-count")).to_have_text("Найден 1 материал.")
    expect(page.locator("#materials-count")).to_be_focused()
    [item] = page.locator(".materials li").all()
    expect(item.get_by_role("heading", level=2)).to_have_text(
        f"Рекомендации по работе с молодёжью {word}"
    )
    expect(item).to_contain_text("Рекомендации · Опубликовано")
    expect(item).to_contain_text("Как вовлекать молодёжь в работу этнокультурной НКО")
    expect(item.locator(".summary")).to_have_text(re.compile("…$"))  # a summary, not the whole
    expect(item).to_contain_text("Авторы: Анна Петрова и Марат Ибрагимов")
    link = item.get_by_role("link", name=re.compile("^Скачать «Памятка для НКО.txt» \\(TXT, "))
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename == "Памятка для НКО.txt"
    assert Path(download.path()).read_bytes() == content

    # Nine published (the draft is not), eight at a time.
    page.get_by_label("Поиск по материалам").fill(word)
    page.get_by_role("button", name="Найти").click()
    expect(page.locator("#materials-count")).to_have_text("Найдено 9 материалов. Показано 8 из 9.")
    expect(page.locator(".materials li")).to_have_count(8)
    page.get_by_role("button", name="Показать ещё").click()
    expect(page.locator(".materials li")).to_have_count(9)
    expect(page.locator(".materials li h2").nth(8)).to_be_focused()
    expect(page.get_by_role("button", name="Показать ещё")).to_be_hidden()
    expect(page.locator(".materials")).not_to_contain_text("Черновик")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "materials-list.png"), full_page=True)

    # Filtered by type, in English.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1, name="Programme materials")).to_be_visible()
    expect(page.get_by_label("Search the materials")).to_have_value(word)  # kept in the address
    page.get_by_label("Type of material").select_option("recommendation")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#materials-count")).to_have_text("1 material found.")
    expect(page.locator(".materials li")).to_contain_text("Recommendations · Published")

    # A failing service shows a plain message, never what it sent.
    page.route(
        "**/api/content/materials?**",
        lambda route: route.fulfill(
            status=500,
            content_type="text/plain",
            body='Traceback (most recent call last):\n  File "api.py", line 1\nKeyError: x',
        ),
    )
    page.get_by_label("Search the materials").fill(f"{word} 1")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert")).to_contain_text("Could not load the materials")
    assert "Traceback" not in page.content()


# --- The organisers' questions ------------------------------------------------------------

QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "motivation",
        "label": "Почему вы хотите участвовать?",
        "kind": "text",
        "required": True,
    },
    {
        "key": "experience",
        "label": "Опыт работы в НКО",
        "kind": "choice",
        "required": True,
        "options": ["Меньше года", "1–3 года", "Больше 3 лет"],
    },
    {
        "key": "district",
        "label": "Федеральный округ вашей организации",
        "kind": "choice",
        "options": ["ЦФО", "СЗФО", "ЮФО", "СКФО", "ПФО", "УФО", "СФО", "ДФО"],
    },
    {
        "key": "topics",
        "label": "Какие темы вам интересны?",
        "kind": "multi_choice",
        "options": ["Стратегия", "Фандрайзинг", "Работа с молодёжью"],
    },
    {"key": "needs_hotel", "label": "Нужна ли вам гостиница?", "kind": "boolean", "required": True},
    {"key": "photos", "label": "Можно ли вас фотографировать?", "kind": "boolean"},
]


def _event_with_questions(gateway: httpx.Client, operator_token: str) -> dict[str, Any]:
    event = create_open_event(
        gateway, operator_token, title="Стажировка для лидеров НКО: анкета участника"
    )
    form = gateway.put(
        f"/api/registration/events/{event['id']}/form",
        json={"questions": QUESTIONS},
        headers=bearer(operator_token),
    )
    assert form.status_code == 200, form.text
    return {**event, "form_version": form.json()["version"]}


def _registrations_of(gateway: httpx.Client, token: str, event_id: str) -> dict[str, Any]:
    listed = gateway.get(
        "/api/registration/registrations", params={"event_id": event_id}, headers=bearer(token)
    )
    assert listed.status_code == 200, listed.text
    page: dict[str, Any] = listed.json()
    return page


def test_a_participant_answers_the_organisers_questions_of_every_kind(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str
) -> None:
    event = _event_with_questions(gateway, operator_token)
    consent_text = gateway.get("/api/registration/consent-texts/personal_data").json()
    email = f"questions.{uuid.uuid4().hex[:8]}@example.org"
    page.goto(f"{platform.gateway_url}/#/event/{event['id']}")

    # The consent text and its version stand next to the unticked box; publication is separate.
    expect(page.locator("#consent-personal-body")).to_have_text(consent_text["text"])
    expect(page.locator("#consent-personal")).to_contain_text(f"Редакция {consent_text['version']}")
    personal = page.get_by_role("checkbox", name=re.compile("обработку моих персональных данных"))
    publication = page.get_by_role("checkbox", name=re.compile("на публикацию"))
    expect(personal).not_to_be_checked()
    expect(publication).not_to_be_checked()
    # Required questions are marked, to the eye and to assistive technology.
    expect(page.locator("label[for=q-motivation]")).to_contain_text("*")
    expect(page.locator("#q-motivation")).to_have_attribute("required", "")
    expect(page.get_by_role("group", name=re.compile("Нужна ли вам гостиница"))).to_contain_text(
        "обязательно"
    )

    page.get_by_label("Фамилия, имя, отчество").fill("Зарема Руслановна Алиева")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Кого вы представляете").select_option("ngo_activist")
    page.get_by_label("Почему вы хотите участвовать?").fill("Хочу написать стратегию нашей НКО.")
    page.get_by_role("group", name=re.compile("Опыт работы в НКО")).get_by_label("1–3 года").check()
    page.get_by_label("Федеральный округ вашей организации").select_option("СКФО")
    topics = page.get_by_role("group", name=re.compile("Какие темы вам интересны"))
    topics.get_by_label("Стратегия").check()
    topics.get_by_label("Работа с молодёжью").check()
    page.get_by_role("group", name=re.compile("Нужна ли вам гостиница")).get_by_label("Нет").check()
    # What was typed, answers included, survives a reload.
    page.reload()
    expect(page.get_by_label("Почему вы хотите участвовать?")).to_have_value(
        "Хочу написать стратегию нашей НКО."
    )
    expect(topics.get_by_label("Работа с молодёжью")).to_be_checked()
    personal.check()
    publication.check()
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("alert")).to_contain_text("Регистрация подтверждена")

    listed = _registrations_of(gateway, operator_token, event["id"])
    assert listed["total"] == 1
    [row] = listed["items"]
    stored = gateway.get(
        f"/api/registration/registrations/{row['id']}", headers=bearer(operator_token)
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["form_version"] == event["form_version"]
    assert stored.json()["answers"] == {
        "motivation": "Хочу написать стратегию нашей НКО.",
        "experience": "1–3 года",
        "district": "СКФО",
        "topics": ["Стратегия", "Работа с молодёжью"],
        "needs_hotel": False,
    }
    exported = gateway.get(
        f"/api/registration/people/{row['person_id']}/export", headers=bearer(operator_token)
    )
    assert exported.status_code == 200, exported.text
    consents = {c["scope"]: c["text_version"] for c in exported.json()["consents"]}
    assert consents["personal_data"] == consent_text["version"]
    assert "publication" in consents


def test_a_missing_required_answer_is_shown_next_to_its_question_and_nothing_is_sent(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str
) -> None:
    event = _event_with_questions(gateway, operator_token)
    posted: list[str] = []
    page.on("request", lambda sent: posted.append(sent.url) if sent.method == "POST" else None)
    page.goto(f"{platform.gateway_url}/#/event/{event['id']}")
    page.get_by_label("Фамилия, имя, отчество").fill("Айдар Маратович Галиев")
    page.get_by_label("Электронная почта").fill(f"missing.{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_label("Кого вы представляете").select_option("expert")
    experience = page.get_by_role("group", name=re.compile("Опыт работы в НКО"))
    experience.get_by_label("Меньше года").check()
    page.get_by_label(re.compile("обработку моих персональных данных")).check()
    page.get_by_role("button", name="Зарегистрироваться").click()

    expect(page.locator("#q-motivation-error")).to_have_text(
        "Ответьте на этот вопрос: он обязательный."
    )
    expect(page.locator("#q-needs_hotel-error")).to_have_text(
        "Ответьте на этот вопрос: он обязательный."
    )
    expect(page.locator("#q-experience-error")).to_be_empty()
    motivation = page.get_by_label("Почему вы хотите участвовать?")
    expect(motivation).to_be_focused()
    expect(motivation).to_have_attribute("aria-invalid", "true")
    expect(motivation).to_have_attribute("aria-describedby", re.compile("q-motivation-error"))
    expect(page.locator("#form-status")).to_contain_text("В форме 2 ошибки")
    assert posted == []
    assert _registrations_of(gateway, operator_token, event["id"])["total"] == 0


def test_a_page_still_loading_never_paints_over_the_one_the_visitor_went_on_to(
    platform: Any, page: Page
) -> None:
    # The event list answers slowly; meanwhile the visitor opens the materials.
    def slow(route: Any) -> None:
        page.wait_for_timeout(1500)
        route.continue_()

    page.route("**/api/registration/events?*", slow)
    page.goto(platform.gateway_url + "/", wait_until="commit")
    page.get_by_role("navigation", name="Разделы").get_by_role("link", name="Материалы").click()
    expect(page.get_by_role("heading", level=1, name="Материалы программы")).to_be_visible()
    page.wait_for_timeout(2500)  # the event list has answered by now
    expect(page.get_by_role("heading", level=1, name="Материалы программы")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Ближайшие мероприятия")).to_have_count(0)
