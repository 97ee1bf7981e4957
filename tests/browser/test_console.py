"""The operator console in a real browser (Debian's Chromium driven by Playwright), through
the gateway: events, approval, check-in by code and by QR from a fake camera, an invitation
campaign, the grant report, and how refusals and failures look."""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    expect,
)
from pypdf import PdfReader

from browsing import CHROMIUM_ARGS, SCREENSHOTS, chromium_executable
from helpers import (
    Mailpit,
    bearer,
    create_open_event,
    register,
    staff_account,
    staff_token,
    wait_until,
    zones_now,
)
from qr_images import ticket_qr_image

ROOT = Path(__file__).resolve().parents[2]
JSQR = ROOT / "web" / "console" / "vendor" / "jsQR.js"
PARTICIPANT = "Анна Петровна Иванова"  # the name helpers.register gives


@contextmanager
def watched(context: BrowserContext, name: str) -> Iterator[Page]:
    """A page whose script errors fail the test; a screenshot of it either way."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The gateway's Content-Security-Policy reports what it blocks on the console.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)
        context.close()
    assert not errors, f"the console's scripts failed: {errors}"


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A phone-sized page (390 px), as an operator at the door would hold it."""
    context = browser.new_context(
        locale="ru-RU",
        timezone_id="Europe/Moscow",
        viewport={"width": 390, "height": 844},
        accept_downloads=True,
    )
    with watched(context, request.node.name) as page:
        yield page


@pytest.fixture(scope="module")
def staff(gateway: httpx.Client, operator_token: str) -> tuple[str, str]:
    """An operator who is also a moderator and checks people in, but not an administrator."""
    return staff_account(gateway, operator_token, "operator", "moderator", "check_in")


def sign_in(page: Page, gateway_url: str, account: tuple[str, str], path: str = "") -> None:
    page.goto(f"{gateway_url}/console/{path}")
    page.get_by_label("Электронная почта").fill(account[0])
    page.get_by_label("Пароль").fill(account[1])
    page.get_by_role("button", name="Войти").click()
    # argon2 on a busy two-core machine can take a while.
    expect(page.get_by_role("button", name="Выйти")).to_be_visible(timeout=20_000)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", level=1, name="Вход в пульт оператора")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Вы вышли")).to_be_visible()


def next_week_at(hour: int) -> str:
    """A datetime-local value a week ahead at this hour (on the event's wall clock)."""
    day = (datetime.now(UTC) + timedelta(days=7)).date()
    return f"{day.isoformat()}T{hour:02d}:00"


def event_card(page: Page, title: str) -> Any:
    return page.locator("li.card").filter(has=page.get_by_role("heading", name=title, exact=True))


def go(page: Page, section: str) -> None:
    """Open a section from the navigation, which folds behind «Меню» on a phone."""
    navigation = page.get_by_role("navigation", name="Разделы пульта")
    menu = navigation.get_by_role("button", name=re.compile("^Меню"))
    if menu.is_visible():
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
    navigation.get_by_role("link", name=section).click()
    # Wait for the section itself: until it paints, the previous page's fields are still there.
    expect(page.get_by_role("heading", level=1, name=section, exact=True)).to_be_visible()


def number(progress: Any, label: str) -> Any:
    """The figure next to a term of a campaign's progress."""
    return progress.locator(f"xpath=.//dt[normalize-space()='{label}']/following-sibling::dd[1]")


def registration_view(gateway: httpx.Client, token: str, registration_id: str) -> dict[str, Any]:
    response = gateway.get(
        f"/api/registration/registrations/{registration_id}", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def test_an_operator_runs_an_event_from_creation_to_the_grant_report(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    operator_token: str,
    staff: tuple[str, str],
) -> None:
    title = f"Стратегическая сессия для лидеров НКО {uuid.uuid4().hex[:6]}"
    sign_in(page, platform.gateway_url, staff)
    expect(page.get_by_role("heading", level=1, name="Мероприятия")).to_be_visible()

    # Create a draft that needs approval, with quotas and a registration window.
    page.get_by_role("link", name="Новое мероприятие").click()
    page.get_by_label("Название", exact=True).fill(title)
    page.get_by_label("Направление").select_option("online_sessions")
    # Hybrid: the door checks in by the code on the ticket, which only in-person formats give.
    page.get_by_label("Формат", exact=True).select_option("hybrid")
    page.get_by_label("Ссылка на трансляцию").fill("https://telemost.yandex.ru/j/4815162342")
    page.get_by_label("Место проведения (для очного формата)").fill("Москва, Дом народов России")
    page.get_by_label("Федеральный округ").select_option("ЦФО")
    page.get_by_label("Число мест").fill("30")
    page.get_by_label("Руководитель НКО").fill("20")
    page.get_by_label("Начало", exact=True).fill(next_week_at(14))
    page.get_by_label("Окончание", exact=True).fill(next_week_at(17))
    page.get_by_label("Часовой пояс мероприятия").select_option("Europe/Moscow")
    page.get_by_label("Регистрация закрывается").fill(next_week_at(12))
    page.get_by_label("Заявки одобряет модератор").check()
    page.get_by_role("button", name="Создать черновик").click()
    expect(page.get_by_role("status").filter(has_text="создан")).to_contain_text(title)

    card = event_card(page, title)
    expect(card).to_contain_text("Черновик")
    expect(card).to_contain_text("заявки одобряет модератор")
    card.get_by_role("button", name="Опубликовать").click()
    expect(card).to_contain_text("Опубликовано")
    card.get_by_role("button", name="Открыть регистрацию").click()
    expect(card).to_contain_text("Регистрация открыта")
    event_id = card.get_attribute("data-event-id")
    assert event_id
    event = gateway.get(f"/api/registration/events/{event_id}").json()
    assert event["requires_approval"] is True
    assert event["quotas"] == {"ngo_leader": 20}
    assert event["starts_at"].startswith(next_week_at(11))  # 14:00 in Moscow is 11:00 UTC

    # A participant applies on the portal (here through the same API).
    email = f"applicant.{uuid.uuid4().hex[:8]}@example.org"
    applied = register(gateway, event_id, email)
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "pending_approval"
    registration_id = applied.json()["id"]
    late = register(gateway, event_id, f"late.{uuid.uuid4().hex[:8]}@example.org",
                    full_name="Борис Олегович Ким", category="other")  # fmt: skip
    assert late.status_code == 201, late.text

    # The operator approves it in the list of the event's registrations.
    card.get_by_role("link", name="Регистрации").click()
    expect(page.get_by_role("heading", level=1, name="Регистрации")).to_be_visible()
    row = page.locator(f'tr[data-registration-id="{registration_id}"]')
    expect(row).to_contain_text(PARTICIPANT)
    expect(row).to_contain_text("На рассмотрении")
    row.get_by_role("button", name=re.compile("^Одобрить")).click()
    expect(page.get_by_role("status").filter(has_text="одобрена")).to_contain_text(
        "регистрация подтверждена"
    )
    expect(page.locator(f'tr[data-registration-id="{registration_id}"]')).to_contain_text(
        "Подтверждена"
    )
    # The other one is refused, with a reason the applicant will read.
    other = page.locator(f'tr[data-registration-id="{late.json()["id"]}"]')
    other.get_by_role("button", name=re.compile("^Отклонить")).click()
    reason = page.get_by_label(re.compile("^Причина отказа"))
    expect(reason).to_be_focused()
    reason.fill("—")
    page.get_by_role("button", name="Отклонить заявку", exact=True).click()
    expect(page.get_by_role("paragraph").filter(has_text="Слишком коротко")).to_be_visible()
    reason.fill("Программа рассчитана на руководителей НКО.")
    page.get_by_role("button", name="Отклонить заявку", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="отклонена")).to_contain_text("Борис")
    expect(other).to_contain_text("Отклонена")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-registrations-phone.png"), full_page=True)
    with page.expect_download() as export:
        page.get_by_role("button", name="Выгрузить XLSX").click()
    assert export.value.suggested_filename == "registrations.xlsx"
    with zipfile.ZipFile(Path(export.value.path())) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
    code = registration_view(gateway, operator_token, registration_id)["check_in_code"]
    assert code

    # At the door: the code typed from the ticket, with a dash and in lower case.
    go(page, "Отметка на входе")
    page.get_by_label("Мероприятие").select_option(event_id)
    typed = f"{code[:4]}-{code[4:]}".lower()
    page.get_by_label("Код участника").fill(typed)
    page.get_by_role("button", name="Отметить").click()
    expect(page.locator(".check-result")).to_contain_text(f"{PARTICIPANT}: отмечен(а)")
    page.get_by_label("Код участника").fill(code)
    page.get_by_role("button", name="Отметить").click()
    expect(page.locator(".check-result")).to_contain_text("уже отмечен(а) ранее")
    rows = gateway.get(
        "/api/registration/registrations",
        params={"event_id": event_id, "status": "confirmed"},
        headers=bearer(operator_token),
    ).json()["items"]
    assert [r["attendance"] for r in rows] == ["attended"]

    # An invitation campaign to officials of the Altai Republic, watched as it goes out.
    day_zone, _ = zones_now()
    official = {
        "full_name": "Айдар Тадышевич Кергилов",
        "email": f"official.{uuid.uuid4().hex[:8]}@example.org",
        "region_code": "04",
        "category": "government_official",
        "timezone": day_zone or "Asia/Barnaul",
    }
    invited = gateway.post(
        "/api/registration/people", json=official, headers=bearer(operator_token)
    )
    assert invited.status_code == 201, invited.text
    go(page, "Приглашения")
    page.get_by_label("Мероприятие").select_option(event_id)
    page.get_by_label("04 — Республика Алтай").check()
    page.get_by_label("Представитель органа власти").check()
    page.get_by_role("button", name="Разослать приглашения").click()
    expect(page.get_by_role("status").filter(has_text="Кампания создана")).to_contain_text(
        "приглашений — 1"
    )
    progress = page.locator("article.campaign").first
    expect(number(progress, "Всего")).to_have_text("1")
    if day_zone is not None:
        expect(progress.locator(".state")).to_have_text("Рассылка завершена.", timeout=60_000)
        expect(number(progress, "Отправлено")).to_have_text("1")
    else:  # night everywhere in Russia: the invitation waits for 08:00 (quiet hours)
        expect(progress.locator(".state")).to_have_text("Рассылка идёт…")
        expect(number(progress, "Ожидают отправки")).to_have_text("1")

    # The dashboard draws its charts and exports the grant report.
    go(page, "Сводка и отчёт")
    expect(page.locator("figcaption", has_text="Участники по федеральным округам")).to_be_visible()
    messages = page.locator("figure", has=page.locator("figcaption", has_text="Письма по видам"))
    expect(messages).to_contain_text("Подтверждения регистрации")
    if day_zone is not None:
        expect(messages).to_contain_text("Приглашения")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    with page.expect_download() as xlsx_download:
        page.get_by_role("button", name="Скачать XLSX").click()
    xlsx = Path(xlsx_download.value.path()).read_bytes()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    with zipfile.ZipFile(BytesIO(xlsx)) as book:
        assert "xl/workbook.xml" in book.namelist()
    with page.expect_download() as pdf_download:
        page.get_by_role("button", name="Скачать PDF").click()
    pdf = Path(pdf_download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 1000


def y4m_with_qr(value: str, path: Path) -> None:
    """A still video (Y4M, 4:2:0) of a QR code, for Chromium's fake camera.

    The QR matrix comes from reportlab's encoder, already in the lock (the content service
    renders PDFs with reportlab): no new dependency for one test.
    """
    from reportlab.graphics.barcode import qrencoder

    qr = qrencoder.QRCode(4, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(value)
    qr.make()
    modules = qr.getModuleCount()
    width, height, scale = 640, 480, 8
    size = (modules + 8) * scale  # four modules of quiet zone on each side
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray(b"\xeb" * (width * height))  # white (video range)
    for row in range(modules):
        for column in range(modules):
            if qr.isDark(row, column):
                for y in range(top + (row + 4) * scale, top + (row + 5) * scale):
                    start = y * width + left + (column + 4) * scale
                    luma[start : start + scale] = b"\x10" * scale  # black
    y4m_still(bytes(luma), width, height, path)


def y4m_with_image(image: Any, path: Path) -> None:
    """A still video of a greyscale PIL image (a ticket's QR code held up to the camera),
    centred on white, shrunk to fit if need be."""
    from PIL import Image

    width, height = 640, 480
    frame = Image.new("L", (width, height), 255)
    picture = image.copy()
    picture.thumbnail((440, 440))
    frame.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    # Full-range grey to video range (16 black … 235 white), as Y4M's luma expects.
    luma = bytes(16 + value * 219 // 255 for value in frame.tobytes())
    y4m_still(luma, width, height, path)


def y4m_still(luma: bytes, width: int, height: int, path: Path) -> None:
    """Three identical grey frames (Y4M, 4:2:0, no colour) from their luma plane."""
    chroma = b"\x80" * (width * height // 4)
    frame = b"FRAME\n" + luma + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 3)


def scan_at_the_door(
    playwright: Playwright,
    platform: Any,
    staff: tuple[str, str],
    event_id: str,
    video: Path,
    name: str,
) -> None:
    """The console's check-in page with the video as its camera: the participant is checked in."""
    if not JSQR.is_file():
        pytest.fail("web/console/vendor/jsQR.js is missing: run `make web` (make test does)")
    # The fake camera is a launch flag: this needs a browser of its own.
    camera_browser = playwright.chromium.launch(
        executable_path=chromium_executable(),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(locale="ru-RU", viewport={"width": 390, "height": 844})
        context.grant_permissions(["camera"], origin=platform.gateway_url)
        with watched(context, name) as page:
            sign_in(page, platform.gateway_url, staff, f"#/check-in?event_id={event_id}")
            expect(page.get_by_role("heading", level=1, name="Отметка на входе")).to_be_visible()
            page.get_by_role("button", name="Включить камеру").click()
            expect(page.locator(".check-result")).to_contain_text(
                f"{PARTICIPANT}: отмечен(а)", timeout=30_000
            )
            page.get_by_role("button", name="Выключить камеру").click()
            expect(page.get_by_text("Камера выключена.")).to_be_visible()
    finally:
        camera_browser.close()


def test_the_door_checks_a_participant_in_by_the_qr_code_on_their_ticket(
    platform: Any,
    playwright: Playwright,
    gateway: httpx.Client,
    operator_token: str,
    staff: tuple[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    event = create_open_event(
        gateway,
        operator_token,
        title="Стажировка для лидеров НКО (QR)",
        track="in_person_session",
        format="in_person",
        venue="Казань, ул. Баумана, 1",
    )
    registered = register(gateway, event["id"], f"qr.{uuid.uuid4().hex[:8]}@example.org")
    assert registered.status_code == 201, registered.text
    registration_id = registered.json()["id"]
    qr_value = registration_view(gateway, operator_token, registration_id)["qr_value"]
    assert qr_value.startswith("ETNIK1:")
    video = tmp_path / "ticket.y4m"
    y4m_with_qr(qr_value, video)

    scan_at_the_door(playwright, platform, staff, event["id"], video, request.node.name)

    rows = gateway.get(
        "/api/registration/registrations",
        params={"event_id": event["id"]},
        headers=bearer(operator_token),
    ).json()["items"]
    assert [r["attendance"] for r in rows] == ["attended"]


def test_a_participant_downloads_a_pdf_ticket_whose_qr_code_opens_the_door(
    platform: Any,
    playwright: Playwright,
    browser: Browser,
    gateway: httpx.Client,
    operator_token: str,
    staff: tuple[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    title = "Очная стратегическая сессия: билет"
    event = create_open_event(
        gateway,
        operator_token,
        title=title,
        track="in_person_session",
        format="in_person",
        venue="Москва, ул. Покровка, 47, Дом народов России",
    )
    registered = register(gateway, event["id"], f"ticket.{uuid.uuid4().hex[:8]}@example.org")
    assert registered.status_code == 201, registered.text
    assert registered.json()["status"] == "confirmed"
    token = registered.json()["manage_token"]

    # The participant opens the link from their confirmation and downloads the ticket.
    context = browser.new_context(
        locale="ru-RU",
        timezone_id="Asia/Kamchatka",
        viewport={"width": 390, "height": 844},
        accept_downloads=True,
    )
    with watched(context, f"{request.node.name}-participant") as page:
        page.goto(f"{platform.gateway_url}/registrations/manage?token={token}")
        expect(page.get_by_role("heading", level=1, name="Моя регистрация")).to_be_visible()
        qr = page.get_by_role("img", name="QR-код билета для входа на мероприятие")
        expect(qr).to_be_visible()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=qr.element_handle()
        )
        assert qr.evaluate("img => img.naturalWidth") > 0
        code = page.locator("figure.ticket .code").inner_text()
        with page.expect_download() as downloading:
            page.get_by_role("link", name="Скачать билет (PDF)").click()
        download = downloading.value
        assert re.fullmatch(r"etnik-ticket-\d{4}-\d{2}-\d{2}\.pdf", download.suggested_filename)
        pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = PdfReader(BytesIO(pdf)).pages
    text = " ".join(" ".join(page.extract_text() or "" for page in pages).split())
    assert PARTICIPANT in text
    assert title in text
    assert f"Код для входа: {code}" in text

    # The gateway serves the participant's ticket but not the notification service's copy.
    hidden = gateway.get(
        f"/api/registration/registrations/{registered.json()['id']}/delivery/ticket.pdf"
    )
    assert hidden.status_code == 404

    # At the door, the operator's camera reads the QR code printed on that PDF.
    video = tmp_path / "pdf-ticket.y4m"
    y4m_with_image(ticket_qr_image(pdf), video)
    scan_at_the_door(playwright, platform, staff, event["id"], video, request.node.name)

    rows = gateway.get(
        "/api/registration/registrations",
        params={"event_id": event["id"]},
        headers=bearer(operator_token),
    ).json()["items"]
    assert [(r["attendance"], r["id"]) for r in rows] == [("attended", registered.json()["id"])]


def test_a_refused_event_shows_russian_errors_next_to_the_fields_and_keeps_the_draft(
    platform: Any, page: Page, staff: tuple[str, str]
) -> None:
    sign_in(page, platform.gateway_url, staff, "#/events/new")
    expect(page.get_by_role("heading", level=1, name="Новое мероприятие")).to_be_visible()
    page.get_by_label("Название", exact=True).fill("Ок")
    page.get_by_label("Формат", exact=True).select_option("online")
    page.get_by_label("Ссылка на трансляцию").fill("telemost")
    page.get_by_label("Число мест").fill("0")
    page.get_by_label("Начало", exact=True).fill(next_week_at(14))
    page.get_by_label("Окончание", exact=True).fill(next_week_at(17))
    refused: list[int] = []
    page.on(
        "response",
        lambda r: refused.append(r.status) if r.url.endswith("/api/registration/events") else None,
    )
    page.get_by_role("button", name="Создать черновик").click()

    # The service's 422, each problem in Russian under its own field.
    expect(page.locator("#event-new-title-error")).to_have_text(
        "Слишком коротко: нужно не меньше 3 символов."
    )
    expect(page.locator("#event-new-capacity-error")).to_have_text("Введите число не меньше 1.")
    expect(page.locator("#event-new-online_link-error")).to_contain_text("https://")
    expect(page.get_by_label("Число мест")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Исправьте отмеченные поля")
    assert refused == [422]

    # A rule across fields is placed at the field it is about.
    page.get_by_label("Название", exact=True).fill("Сессия с ошибкой во времени")
    page.get_by_label("Ссылка на трансляцию").fill("https://vk.com/video-1_2")
    page.get_by_label("Число мест").fill("10")
    page.get_by_label("Окончание", exact=True).fill(next_week_at(9))
    page.get_by_role("button", name="Создать черновик").click()
    expect(page.locator("#event-new-ends_at-error")).to_have_text(
        "Окончание должно быть позже начала."
    )
    expect(page.locator("#event-new-title-error")).to_have_text("")
    assert refused == [422, 422]

    # What was typed survives a reload.
    page.reload()
    expect(page.get_by_label("Название", exact=True)).to_have_value("Сессия с ошибкой во времени")
    expect(page.get_by_label("Окончание", exact=True)).to_have_value(next_week_at(9))


def test_a_server_failure_shows_a_friendly_message_with_the_request_id_and_no_stack_trace(
    platform: Any, page: Page, staff: tuple[str, str]
) -> None:
    sign_in(page, platform.gateway_url, staff)

    def crash(route: Route) -> None:
        route.fulfill(
            status=500,
            headers={"Content-Type": "application/json", "X-Request-ID": "req-console-500-test"},
            body='{"detail": "Traceback (most recent call last):\\n  File \\"api.py\\", line 1"}',
        )

    page.route(re.compile(r".*/api/registration/registrations\?.*"), crash)
    go(page, "Регистрации")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Сервис временно недоступен")
    expect(alert).to_contain_text("req-console-500-test")
    assert "Traceback" not in page.content()

    # Reporting still reading the streams after a start: how far it has come, in Russian.
    def preparing(route: Route) -> None:
        route.fulfill(
            status=503,
            headers={"Content-Type": "application/json", "Retry-After": "30"},
            body='{"detail": "the report is not ready yet: 120000 of 2424844 events read since '
            'the service started; try again in a minute"}',
        )

    page.route(re.compile(r".*/api/reporting/dashboard/.*"), preparing)
    go(page, "Сводка и отчёт")
    expect(page.get_by_role("alert")).to_contain_text("Статистика готовится")
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"из 2\s424\s844 событий"))

    # The gateway's own 502 on a form: the message, and nothing typed is lost.
    def bad_gateway(route: Route) -> None:
        route.fulfill(
            status=502,
            headers={"Content-Type": "application/json", "X-Request-ID": "req-console-502-test"},
            body='{"detail":"Service unavailable","message":"Сервис недоступен",'
            '"request_id":"req-console-502-test"}',
        )

    page.route(re.compile(r".*/api/registration/events$"), bad_gateway)
    page.goto(f"{platform.gateway_url}/console/#/events/new")
    page.get_by_label("Название", exact=True).fill("Выездная бизнес-программа в Якутске")
    page.get_by_label("Формат", exact=True).select_option("in_person")
    page.get_by_label("Начало", exact=True).fill(next_week_at(10))
    page.get_by_label("Окончание", exact=True).fill(next_week_at(18))
    page.get_by_role("button", name="Создать черновик").click()
    expect(page.get_by_role("alert")).to_contain_text("req-console-502-test")
    expect(page.get_by_role("alert")).to_contain_text("Введённые данные сохранены")
    expect(page.get_by_label("Название", exact=True)).to_have_value(
        "Выездная бизнес-программа в Якутске"
    )

    # A lost connection says so; the draft is still there after a reload.
    offline = re.compile(r".*/api/registration/events$")
    page.route(offline, lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Создать черновик").click()
    expect(page.get_by_role("alert")).to_contain_text("Нет связи с сервером")
    page.reload()
    expect(page.get_by_label("Название", exact=True)).to_have_value(
        "Выездная бизнес-программа в Якутске"
    )
    assert "Traceback" not in page.content()


def test_each_role_sees_only_what_it_may_do_and_signing_out_ends_the_session(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str
) -> None:
    door = staff_account(gateway, operator_token, "check_in")
    sign_in(page, platform.gateway_url, door)
    navigation = page.get_by_role("navigation", name="Разделы пульта")
    navigation.get_by_role("button", name="Меню: Отметка на входе").click()
    expect(navigation.get_by_role("link")).to_have_text(["Отметка на входе", "Онлайн-посещаемость"])
    expect(page.get_by_role("heading", level=1, name="Отметка на входе")).to_be_visible()
    expect(page.get_by_text("регистратор на входе")).to_be_visible()
    stored = json.loads(page.evaluate("sessionStorage.getItem('etnik-console-session')"))
    assert stored["roles"] == ["check_in"]

    # An access token about to expire is renewed with the refresh token before it is used.
    page.evaluate(
        """() => {
            const value = JSON.parse(sessionStorage.getItem('etnik-console-session'));
            value.expires_at = Date.now() - 1000;
            sessionStorage.setItem('etnik-console-session', JSON.stringify(value));
        }"""
    )
    with page.expect_response(re.compile(r".*/api/registration/auth/refresh$")) as refreshed:
        page.reload()  # a fresh page asks for the events again
    assert refreshed.value.status == 200
    expect(page.get_by_role("heading", level=1, name="Отметка на входе")).to_be_visible()
    renewed_session = json.loads(page.evaluate("sessionStorage.getItem('etnik-console-session')"))
    assert renewed_session["access_token"] != stored["access_token"]
    assert renewed_session["refresh_token"] != stored["refresh_token"]
    stored = renewed_session

    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", level=1, name="Вход в пульт оператора")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('etnik-console-session')") is None
    # Signing out revoked the refresh token on the server, not only in the tab.
    renewed = gateway.post(
        "/api/registration/auth/refresh", json={"refresh_token": stored["refresh_token"]}
    )
    assert renewed.status_code == 401


def tiny_pdf() -> bytes:
    """A one-page PDF: the content service judges a file's type by its content."""
    from reportlab.pdfgen import canvas

    buffer = BytesIO()
    document = canvas.Canvas(buffer)
    document.drawString(72, 720, "EtNik: recommendations")
    document.showPage()
    document.save()
    return buffer.getvalue()


def test_materials_go_from_upload_through_review_to_publication_with_mentions_and_a_strategy(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    operator_token: str,
    staff: tuple[str, str],
    tmp_path: Path,
) -> None:
    # Made first: the content service learns of organisations from the event stream.
    organisation = gateway.post(
        "/api/registration/organisations",
        json={"name": f"АНО «Дом дружбы народов» {uuid.uuid4().hex[:4]}", "kind": "ngo",
              "region_code": "16"},
        headers=bearer(operator_token),
    )  # fmt: skip
    assert organisation.status_code == 201, organisation.text
    title = f"Рекомендации по стратегии НКО {uuid.uuid4().hex[:6]}"
    upload = tmp_path / "рекомендации.pdf"
    upload.write_bytes(tiny_pdf())

    sign_in(page, platform.gateway_url, staff)
    go(page, "Материалы")
    page.get_by_role("link", name="Новый материал").click()
    page.get_by_label("Вид материала").select_option("recommendation")
    page.get_by_label("Название", exact=True).fill(title)
    page.get_by_label("Описание").fill("Как написать стратегию развития организации.")
    page.get_by_label("Теги через запятую").fill("стратегия, НКО")
    page.get_by_label("Файл (можно загрузить и позже)").set_input_files(str(upload))
    page.get_by_role("button", name="Создать черновик").click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Черновик создан")).to_contain_text(
        "файл загружен"
    )
    expect(page.locator(".facts")).to_contain_text("рекомендации.pdf")
    page.get_by_role("button", name="Отправить на проверку").click()
    expect(page.locator(".facts")).to_contain_text("На проверке")
    # The author may not approve their own material: the refusal is explained.
    page.get_by_role("button", name="Одобрить и опубликовать").click()
    expect(page.get_by_role("alert")).to_contain_text("Нельзя одобрить материал")
    material_url = page.url

    # Another moderator publishes it.
    sign_out(page)
    reviewer = staff_account(gateway, operator_token, "moderator")
    page.get_by_label("Электронная почта").fill(reviewer[0])
    page.get_by_label("Пароль").fill(reviewer[1])
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible(timeout=20_000)
    page.goto(material_url)
    page.get_by_role("button", name="Одобрить и опубликовать").click()
    expect(page.locator(".facts")).to_contain_text("Опубликован")
    versions = page.get_by_role("region", name="Версии материала")
    expect(versions).to_contain_text("одобрен и опубликован")
    with page.expect_download() as version_file:
        versions.get_by_role("button", name=re.compile("Скачать файл версии")).first.click()
    assert Path(version_file.value.path()).read_bytes().startswith(b"%PDF")
    sign_out(page)

    # A media mention for the grant report.
    sign_in(page, platform.gateway_url, staff)
    go(page, "Публикации в СМИ")
    page.get_by_label("Ссылка на публикацию").fill(
        f"https://rg.ru/2026/03/02/etnik-{uuid.uuid4().hex[:6]}.html"
    )
    page.get_by_label("Издание, сайт или канал").fill("Российская газета")
    page.get_by_label("Заголовок").fill("Этнокультурные НКО учатся стратегии")
    page.get_by_label("Дата публикации").fill("2026-03-02")
    page.get_by_label("Тип СМИ").select_option("print")
    page.get_by_label("Охват (оценка)").fill("120000")
    page.get_by_role("button", name="Добавить публикацию").click()
    expect(page.get_by_role("status").filter(has_text="учтена")).to_contain_text(
        "Российская газета"
    )
    expect(page.get_by_role("region", name="Публикации в СМИ")).to_contain_text("120")

    # The organisation's development strategy: made from the template, edited, as a PDF.
    go(page, "Стратегии НКО")
    page.get_by_label("Организация").select_option(organisation.json()["id"])
    page.get_by_role("button", name="Открыть").click()
    create = page.get_by_role("button", name="Создать стратегию по шаблону")
    create.click()
    goals = page.get_by_label("Цели развития на 1–3 года")
    expect(goals).to_be_visible(timeout=20_000)
    goals.fill("Открыть воскресную школу родного языка к сентябрю 2027 года.")
    page.get_by_role("button", name="Сохранить стратегию").click()
    expect(page.get_by_role("status").filter(has_text="Стратегия сохранена")).to_contain_text(
        "версия 2"
    )
    expect(goals).to_have_value("Открыть воскресную школу родного языка к сентябрю 2027 года.")
    with page.expect_download() as strategy_pdf:
        page.get_by_role("button", name="Скачать PDF").click()
    assert Path(strategy_pdf.value.path()).read_bytes().startswith(b"%PDF")


def test_questions_waitlist_and_online_attendance(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    operator_token: str,
    staff: tuple[str, str],
) -> None:
    event = create_open_event(gateway, operator_token, title="Онлайн-сессия по ПФО", capacity=1)
    first_email = f"first.{uuid.uuid4().hex[:8]}@example.org"
    first = register(gateway, event["id"], first_email)
    second = register(gateway, event["id"], f"second.{uuid.uuid4().hex[:8]}@example.org")
    assert first.json()["status"] == "confirmed", first.text
    assert second.json()["status"] == "waitlisted", second.text

    # Custom questions: a choice with one option is refused next to that question.
    sign_in(page, platform.gateway_url, staff, f"#/events/{event['id']}/form")
    expect(page.get_by_text("Текущая версия анкеты: 0")).to_be_visible()
    page.get_by_role("button", name="Добавить вопрос").click()
    page.get_by_label("Текст вопроса").fill("Какой формат вам удобнее?")
    page.get_by_label("Ключ (латиницей)").fill("preferred_format")
    page.get_by_label("Тип ответа").select_option("choice")
    options = page.get_by_label("Варианты ответа (каждый с новой строки)")
    options.fill("Утро")
    page.get_by_role("button", name="Сохранить анкету").click()
    expect(page.locator('[data-error-for="questions.0"]')).to_contain_text(
        "не меньше двух вариантов"
    )
    options.fill("Утро\nВечер")
    page.get_by_role("button", name="Сохранить анкету").click()
    expect(page.get_by_role("status").filter(has_text="Анкета сохранена")).to_contain_text(
        "версия 1"
    )
    form = gateway.get(f"/api/registration/events/{event['id']}/form").json()
    assert form["questions"][0]["options"] == ["Утро", "Вечер"]

    # The waitlist, in order.
    page.goto(f"{platform.gateway_url}/console/#/waitlist?event_id={event['id']}")
    waitlist = page.get_by_role("region", name="Лист ожидания")
    expect(waitlist).to_contain_text(PARTICIPANT)
    expect(waitlist.locator("tbody tr")).to_have_count(1)

    # One more place: the change is saved and the first in the waitlist is offered it.
    go(page, "Мероприятия")
    card = page.locator(f'li[data-event-id="{event["id"]}"]')
    card.get_by_role("link", name="Изменить").click()
    expect(page.get_by_label("Число мест")).to_have_value("1")
    page.get_by_label("Число мест").fill("2")
    page.get_by_role("button", name="Сохранить изменения").click()
    expect(page.get_by_role("status").filter(has_text="сохранены")).to_contain_text(
        "Онлайн-сессия по ПФО"
    )
    changed = gateway.get(f"/api/registration/events/{event['id']}").json()
    assert changed["capacity"] == 2
    assert changed["starts_at"] == event["starts_at"]  # what was not touched is not sent

    # Minutes from the video platform, matched to the registration by email.
    go(page, "Онлайн-посещаемость")
    page.get_by_label("Мероприятие").select_option(event["id"])
    page.get_by_label("Или вставьте данные").fill(f"email;minutes\n{first_email};150")
    page.get_by_role("button", name="Загрузить посещаемость").click()
    expect(page.get_by_role("status").filter(has_text="Загружено записей")).to_contain_text(
        "засчитано присутствие: 1"
    )
    rows = gateway.get(
        "/api/registration/registrations",
        params={"event_id": event["id"], "status": "confirmed"},
        headers=bearer(operator_token),
    ).json()["items"]
    assert [(r["attendance"], r["minutes_attended"]) for r in rows] == [("attended", 150)]

    # The same on a wide screen, for the record.
    page.set_viewport_size({"width": 1280, "height": 900})
    go(page, "Мероприятия")
    expect(event_card(page, "Онлайн-сессия по ПФО").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-events-desktop.png"), full_page=False)


def test_an_operator_attaches_a_survey_that_an_attendee_answers_and_sees_the_answers(
    platform: Any,
    page: Page,
    browser: Browser,
    gateway: httpx.Client,
    operator_token: str,
    staff: tuple[str, str],
    mailpit: Mailpit,
) -> None:
    title = f"Очная сессия с опросом {uuid.uuid4().hex[:6]}"
    event = create_open_event(
        gateway,
        operator_token,
        title=title,
        track="in_person_session",
        format="in_person",
        venue="Элиста, ул. Ленина, 249",
    )
    email = f"feedback.{uuid.uuid4().hex[:8]}@example.org"
    registered = register(gateway, event["id"], email)
    assert registered.status_code == 201, registered.text
    code = registration_view(gateway, operator_token, registered.json()["id"])["check_in_code"]
    checked = gateway.post(
        f"/api/registration/events/{event['id']}/check-in",
        json={"code": code},
        headers=bearer(staff_token(gateway, operator_token, "check_in")),
    )
    assert checked.status_code == 200, checked.text
    for action in ("close-registration", "complete"):
        moved = gateway.post(
            f"/api/registration/events/{event['id']}/{action}", headers=bearer(operator_token)
        )
        assert moved.status_code == 200, moved.text

    # The editor starts from two usual questions; a key that is not Latin is refused in place.
    sign_in(page, platform.gateway_url, staff, "#/events")
    event_card(page, title).get_by_role("link", name="Опрос после мероприятия").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Опрос после мероприятия: {title}")
    expect(page.get_by_text("У мероприятия пока нет опроса.")).to_be_visible()
    labels = page.get_by_label("Текст вопроса")
    expect(labels).to_have_count(2)
    labels.nth(0).fill("Насколько полезной была сессия для вашей НКО?")
    keys = page.get_by_label("Ключ вопроса (латиницей)")
    keys.nth(1).fill("Комментарий")
    page.get_by_role("button", name="Сохранить опрос").click()
    expect(page.locator('[data-error-for="questions.1.id"]')).to_contain_text("латинские")
    survey_url = f"/api/registration/events/{event['id']}/survey"
    assert gateway.get(survey_url, headers=bearer(operator_token)).status_code == 404
    keys.nth(1).fill("comment")
    page.get_by_role("button", name="Сохранить опрос").click()
    expect(page.get_by_role("status").filter(has_text="Опрос сохранён")).to_contain_text(
        "версия 1. Посетившие мероприятие получат приглашение ответить"
    )
    saved = gateway.get(survey_url, headers=bearer(operator_token)).json()
    assert [(q["id"], q["kind"]) for q in saved["questions"]] == [
        ("overall", "rating"),
        ("comment", "text"),
    ]

    # The attendee answers on the portal through the link in the invitation.
    [summary] = wait_until(
        lambda: [m for m in mailpit.messages_to(email) if m["Subject"].startswith("Поделитесь")],
        timeout=45,
        what=f"the survey invitation to {email}",
    )
    link = re.search(
        r"https?://\S+/registrations/survey\?token=\S+", mailpit.message(summary["ID"])["Text"]
    )
    assert link, "the invitation has no survey link"
    portal = browser.new_context(locale="ru-RU").new_page()
    portal.goto(link.group(0))
    expect(portal.get_by_role("heading", name="Опрос участников")).to_be_visible()
    rating = portal.get_by_role("group", name=re.compile("Насколько полезной была сессия"))
    rating.get_by_label("4", exact=True).check()
    portal.get_by_label("Что стоит изменить в следующий раз?").fill("Больше практики в группах")
    portal.get_by_role("button", name="Отправить ответы").click()
    expect(portal.get_by_role("status")).to_have_text("Спасибо! Ваши ответы приняты.")
    portal.reload()
    expect(portal.get_by_text("Вы уже ответили на этот опрос. Спасибо!")).to_be_visible()
    portal.context.close()

    # Back in the console: the answer is counted, anonymous; nobody is left to invite.
    def counted() -> bool:
        page.reload()
        answers = page.get_by_role("region", name="Ответы")
        expect(answers).to_be_visible()
        return "Ответов: 1." in answers.inner_text()

    wait_until(counted, timeout=45, what="the answer counted in the console")
    answers = page.get_by_role("region", name="Ответы")
    expect(answers).to_contain_text("средняя оценка 4")
    expect(answers).to_contain_text("Больше практики в группах")
    expect(answers).not_to_contain_text(email)
    page.get_by_role("button", name="Разослать приглашения ответить").click()
    expect(page.get_by_role("status").filter(has_text="Новых адресатов нет")).to_be_visible()


def _agreement_pdf() -> bytes:
    """A one-page PDF, as an agreement scanned to a file would be."""
    from reportlab.pdfgen import canvas

    buffer = BytesIO()
    sheet = canvas.Canvas(buffer)
    sheet.drawString(72, 720, "Partnership agreement")
    sheet.save()
    return buffer.getvalue()


def test_an_operator_records_a_partnership_and_sees_it_counted_on_the_dashboard(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    operator_token: str,
    staff: tuple[str, str],
) -> None:
    operator = bearer(operator_token)
    organisation = gateway.post(
        "/api/registration/organisations",
        json={"name": f"НКО «Дружба народов» {uuid.uuid4().hex[:6]}", "kind": "ngo",
              "region_code": "05"},
        headers=operator,
    )  # fmt: skip
    assert organisation.status_code == 201, organisation.text
    ngo = organisation.json()
    counted_url = "/api/reporting/dashboard/partnerships"
    before = gateway.get(counted_url, params={"district": "СКФО"}, headers=operator).json()
    subject = f"Совместный курс дагестанских языков {uuid.uuid4().hex[:6]}"

    sign_in(page, platform.gateway_url, staff, "#/partnerships")
    expect(page.get_by_role("heading", level=1, name="Партнёрства")).to_be_visible()
    page.get_by_label("Предмет партнёрства").fill(subject)
    page.get_by_label("Дата соглашения").fill(datetime.now(UTC).date().isoformat())
    page.get_by_label("Организация из базы").nth(0).select_option(ngo["id"])
    # The second party left empty is refused in place, and nothing is recorded.
    page.get_by_role("button", name="Записать партнёрство").click()
    expect(page.locator('[data-error-for="parties.1.organisation_id"]')).to_have_text(
        "Выберите организацию или впишите название."
    )
    listed = gateway.get(
        "/api/registration/partnerships", params={"organisation_id": ngo["id"]}, headers=operator
    )
    assert listed.json() == []
    page.get_by_label("Или название").nth(1).fill("Министерство по национальной политике РД")
    page.get_by_label("Сектор").nth(1).select_option("authority")
    page.get_by_label("Соглашение (файл, можно не прикладывать)").set_input_files(
        {"name": "agreement.pdf", "mimeType": "application/pdf", "buffer": _agreement_pdf()}
    )
    page.get_by_role("button", name="Записать партнёрство").click()
    expect(page.get_by_role("status").filter(has_text="Партнёрство записано")).to_contain_text(
        "Соглашение сохранено."
    )
    registry = page.get_by_role("region", name="Партнёрства", exact=True)
    expect(registry).to_contain_text(subject)
    expect(registry).to_contain_text("Министерство по национальной политике РД (Орган власти)")

    [stored] = gateway.get(
        "/api/registration/partnerships", params={"organisation_id": ngo["id"]}, headers=operator
    ).json()
    assert (stored["federal_district"], stored["version"]) == ("СКФО", 2)  # from the NGO
    document = gateway.get(
        f"/api/content/materials/{stored['document_material_id']}", headers=operator
    ).json()
    assert (document["access"], document["file"]["filename"]) == ("operators", "agreement.pdf")

    # The dashboard, narrowed to the district, counts it among the NGO–authority pairs.
    go(page, "Сводка и отчёт")
    page.get_by_label("Федеральный округ").select_option("СКФО")
    totals = page.locator(".totals")
    expected = str(before["formed"] + 1)

    def counted() -> bool:
        page.get_by_role("button", name="Показать").click()
        expect(page.get_by_role("status").filter(has_text="Считаем")).to_have_count(0)
        return number(totals, "Партнёрств заключено").inner_text() == expected

    wait_until(counted, timeout=45, what="the partnership counted on the dashboard")
    chart = page.locator("figure").filter(has_text="Партнёрства по сочетанию секторов")
    pairs = before["by_sector_pair"].get("ngo–authority", 0) + 1
    expect(chart.locator("tr").filter(has_text="НКО – Орган власти")).to_contain_text(str(pairs))


def test_an_operator_keeps_the_mechanisms_catalogue_and_links_a_strategys_goals_to_it(
    platform: Any,
    page: Page,
    gateway: httpx.Client,
    operator_token: str,
    staff: tuple[str, str],
) -> None:
    operator = bearer(operator_token)
    organisation = gateway.post(
        "/api/registration/organisations",
        json={"name": f"НКО «Родные языки» {uuid.uuid4().hex[:6]}", "kind": "ngo",
              "region_code": "16"},
        headers=operator,
    )  # fmt: skip
    assert organisation.status_code == 201, organisation.text
    ngo = organisation.json()
    code = f"leaders_school_{uuid.uuid4().hex[:6]}"

    sign_in(page, platform.gateway_url, staff, "#/mechanisms")
    expect(page.get_by_role("heading", level=1, name="Механизмы Стратегии")).to_be_visible()
    catalogue = page.get_by_role("region", name="Каталог механизмов")
    expect(catalogue).to_contain_text("Курсы и клубы изучения родных языков народов России")
    page.get_by_label("Код", exact=True).fill("Школа")  # not a Latin slug: refused in place
    page.get_by_label("Название механизма").fill("Школа лидеров этнокультурных НКО")
    page.get_by_label("Задача Стратегии").select_option("civil_society")
    page.get_by_role("button", name="Добавить в каталог").click()
    expect(page.locator('[data-error-for="code"]')).to_contain_text("латинские строчные буквы")
    page.get_by_label("Код", exact=True).fill(code)
    page.get_by_role("button", name="Добавить в каталог").click()
    expect(page.get_by_role("status").filter(has_text="добавлен в каталог")).to_be_visible()
    expect(catalogue).to_contain_text(code)

    # The organisation's strategy: a goal without a mechanism is refused in place, then saved.
    def content_knows() -> bool:
        created = gateway.post(
            "/api/content/strategies", json={"organisation_id": ngo["id"]}, headers=operator
        )
        return created.status_code == 201

    wait_until(content_knows, timeout=30, what="content to know the organisation")
    page.goto(f"{platform.gateway_url}/console/#/strategies?organisation_id={ngo['id']}")
    expect(page.get_by_role("button", name="Сохранить стратегию")).to_be_visible(timeout=20_000)
    page.get_by_label("Вектор развития", exact=True).select_option("languages")
    page.get_by_role("button", name="Добавить цель").click()
    page.get_by_label("Цель", exact=True).fill("Открыть курсы татарского языка для детей")
    page.get_by_role("button", name="Сохранить стратегию").click()
    expect(page.locator('[data-error-for="goals.0.mechanisms"]')).to_have_text(
        "Выберите хотя бы один механизм Стратегии."
    )
    unsaved = gateway.get(f"/api/content/strategies/{ngo['id']}", headers=operator).json()
    assert (unsaved["version"], unsaved["goals"]) == (1, [])
    goal = page.get_by_role("group", name="Механизмы Стратегии для этой цели")
    goal.get_by_label("Курсы и клубы изучения родных языков народов России").check()
    goal.get_by_label("Школа лидеров этнокультурных НКО").check()
    page.get_by_role("button", name="Сохранить стратегию").click()
    expect(page.get_by_role("status").filter(has_text="Стратегия сохранена")).to_contain_text(
        "версия 2"
    )
    stored = gateway.get(f"/api/content/strategies/{ngo['id']}", headers=operator).json()
    assert stored["vector"] == {"kind": "languages", "text": ""}
    assert stored["goals"] == [
        {
            "text": "Открыть курсы татарского языка для детей",
            "mechanisms": [code, "native_language_courses"],  # in the catalogue's order
        }
    ]
