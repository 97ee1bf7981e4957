"""Video materials in a real browser: the portal's player (subtitle tracks Chromium can read,
a chapter list that seeks, one view reported per playback) and the console's chapters and
subtitles editor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from browsing import SCREENSHOTS
from helpers import bearer, staff_account, staff_token, wait_until

# An MP4 header (ftyp box) that content sniffing recognises: a file to serve, not to decode.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64 * 1024)
RUSSIAN = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nДобрый день, коллеги!\n\n"
    "00:00:05.000 --> 00:00:09.000\nСегодня о стратегии.\n"
)
ENGLISH = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nGood afternoon, colleagues!\n"


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(locale="ru-RU", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def _published_video(gateway: httpx.Client, author: str, reviewer: str, title: str) -> str:
    created = gateway.post(
        "/api/content/materials", json={"kind": "video", "title": title}, headers=bearer(author)
    )
    assert created.status_code == 201, created.text
    path = f"/api/content/materials/{created.json()['id']}"
    steps = [
        gateway.put(
            f"{path}/file",
            params={"filename": "ролик.mp4"},
            content=MP4,
            headers={**bearer(author), "Content-Type": "application/octet-stream"},
        ),
        gateway.put(
            f"{path}/subtitles/ru",
            content=RUSSIAN.encode(),
            headers={**bearer(author), "Content-Type": "text/vtt"},
        ),
        gateway.put(
            f"{path}/subtitles/en",
            content=ENGLISH.encode(),
            headers={**bearer(author), "Content-Type": "text/vtt"},
        ),
        gateway.put(
            f"{path}/chapters",
            json={
                "chapters": [
                    {"title": "Введение", "start_s": 0},
                    {"title": "Механизмы Стратегии", "start_s": 125},
                ],
                "duration_s": 300,
            },
            headers=bearer(author),
        ),
        gateway.post(f"{path}/submit", headers=bearer(author)),
        gateway.post(f"{path}/approve", headers=bearer(reviewer)),
    ]
    for step in steps:
        assert step.status_code == 200, step.text
    material_id: str = created.json()["id"]
    return material_id


def test_the_portal_plays_a_video_with_subtitles_and_chapters(
    platform: Any, page: Page, gateway: httpx.Client, operator_token: str
) -> None:
    moderator = staff_token(gateway, operator_token, "moderator")
    word = f"видеоурок{uuid.uuid4().hex[:6]}"
    material_id = _published_video(
        gateway, operator_token, moderator, f"Методический видеоролик {word}"
    )

    views: list[Request] = []
    page.on(
        "request",
        lambda sent: views.append(sent) if sent.url.endswith(f"{material_id}/views") else None,
    )
    page.goto(f"{platform.gateway_url}/#/materials?q={word}")
    video = page.locator(".materials video")
    expect(video).to_have_attribute("src", f"/api/content/materials/{material_id}/file")
    tracks = video.locator("track")
    expect(tracks).to_have_count(3)
    expect(video.locator("track[kind=subtitles][srclang=ru]")).to_have_attribute("label", "Русский")
    expect(video.locator("track[kind=subtitles][srclang=en]")).to_have_attribute("label", "English")
    expect(video.locator("track[kind=chapters]")).to_have_attribute(
        "src", f"/api/content/materials/{material_id}/chapters.vtt"
    )

    # Chromium fetches and parses the served WebVTT: the tracks have their cues.
    cues = video.evaluate(
        """async (node) => {
            for (const track of node.textTracks) track.mode = "hidden";
            const loaded = () => [...node.textTracks].every((t) => t.cues && t.cues.length);
            for (let i = 0; i < 100 && !loaded(); i += 1) {
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            const count = (t) => (t.cues ? t.cues.length : 0);
            return [...node.textTracks].map((t) => [t.kind, t.language, count(t)]);
        }"""
    )
    assert sorted(cues) == [["chapters", "ru", 2], ["subtitles", "en", 1], ["subtitles", "ru", 2]]

    # One view per playback, however often playback is paused and resumed.
    for _ in range(3):
        video.evaluate("(node) => node.dispatchEvent(new Event('play'))")
    wait_until(lambda: len(views) == 1, timeout=10, what="the view to be reported")
    response = views[0].response()
    assert response is not None
    assert response.status == 200
    assert response.json() == {"material_id": material_id, "counted": True}

    # The chapter list seeks (and resuming there reports nothing more).
    chapters = page.locator(".materials figure .chapters button")
    expect(chapters).to_have_text(["0:00 Введение", "2:05 Механизмы Стратегии"])
    chapters.nth(1).click()
    assert video.evaluate("(node) => node.currentTime") == 125
    page.wait_for_timeout(500)
    assert len(views) == 1


def test_an_operator_edits_chapters_and_uploads_subtitles_in_the_console(
    platform: Any, browser: Browser, gateway: httpx.Client, operator_token: str
) -> None:
    created = gateway.post(
        "/api/content/materials",
        json={"kind": "video", "title": "Видеоролик для пульта"},
        headers=bearer(operator_token),
    )
    assert created.status_code == 201, created.text
    material_id = created.json()["id"]
    path = f"/api/content/materials/{material_id}"
    uploaded = gateway.put(
        f"{path}/file",
        params={"filename": "ролик.mp4"},
        content=MP4,
        headers={**bearer(operator_token), "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 200, uploaded.text
    email, password = staff_account(gateway, operator_token, "operator")

    context = browser.new_context(locale="ru-RU", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{platform.gateway_url}/console/#/materials/{material_id}")
        page.get_by_label("Электронная почта").fill(email)
        page.get_by_label("Пароль").fill(password)
        page.get_by_role("button", name="Войти").click()
        chapters = page.get_by_label("Главы: по одной в строке, «время название»")
        expect(chapters).to_be_visible(timeout=20_000)

        # A chapter past the end is refused in Russian, naming it; what was typed stays.
        chapters.fill("0:00 Введение\n6:10 После конца")
        page.get_by_label("Длительность видео (если известна)").fill("5:00")
        page.get_by_role("button", name="Сохранить главы").click()
        expect(page.locator("#video-chapters")).to_contain_text(
            "глава 2 «После конца» начинается после конца видео (00:05:00.000)"
        )
        expect(chapters).to_have_value("0:00 Введение\n6:10 После конца")
        chapters.fill("0:00 Введение\n2:05 Механизмы Стратегии")
        page.get_by_role("button", name="Сохранить главы").click()
        expect(page.get_by_text("Главы сохранены")).to_be_visible()

        subtitles = page.get_by_label("Файл субтитров WebVTT (.vtt)")
        subtitles.set_input_files(
            files=[{"name": "ru.srt", "mimeType": "text/plain", "buffer": b"1\n00:00:01,000"}]
        )
        page.get_by_role("button", name="Загрузить субтитры").click()
        expect(page.locator("#video-subtitles")).to_contain_text(
            "строка 1: файл WebVTT должен начинаться со строки «WEBVTT»"
        )
        subtitles.set_input_files(
            files=[{"name": "ru.vtt", "mimeType": "text/vtt", "buffer": RUSSIAN.encode()}]
        )
        page.get_by_role("button", name="Загрузить субтитры").click()
        expect(page.get_by_text("Субтитры загружены")).to_be_visible()
        expect(page.locator(".subtitle-tracks")).to_contain_text("Русский (ru): реплик 2")
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "console-video.png"), full_page=True)
        context.close()
    assert not errors, f"the console's scripts failed: {errors}"

    material = gateway.get(path, headers=bearer(operator_token)).json()
    assert material["chapters"] == [
        {"title": "Введение", "start_s": 0},
        {"title": "Механизмы Стратегии", "start_s": 125},
    ]
    assert material["duration_s"] == 300
    assert [track["language"] for track in material["subtitles"]] == ["ru"]
