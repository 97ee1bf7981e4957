"""Video materials through the HTTP API on real FerretDB and Kafka: chapters, WebVTT
subtitles, range requests on the video, and views counted once per viewer and window."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from pymongo.database import Database

from etnik.common.contracts.content import MATERIALS_TOPIC
from etnik.common.contracts.registration import PersonErased
from etnik.common.events import CloudEvent
from helpers import publish_raw, read_topic, wait_until

if TYPE_CHECKING:
    from conftest import RunningContent, TokenSigner

AUTHOR = "video-author"
REVIEWER = "video-reviewer"

Db = Database[dict[str, Any]]

# An MP4 header (ftyp box) that content sniffing recognises, then a pattern spanning
# several GridFS chunks, so that ranges cross chunk boundaries.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(
    (i * 7) % 251 for i in range(600_000)
)

SUBTITLES_RU = (
    "WEBVTT\n"
    "\n"
    "NOTE Субтитры методического видеоролика\n"
    "\n"
    "1\n"
    "00:00:01.000 --> 00:00:04.000\n"
    "Добрый день, коллеги!\n"
    "\n"
    "00:00:05.000 --> 00:00:09.500 align:start\n"
    "Сегодня о стратегии национальной политики.\n"
)

ENGLISH = "WEBVTT\n\n00:01.000 --> 00:04.000\nGood afternoon, colleagues!\n"


def author(signer: TokenSigner) -> dict[str, str]:
    return signer.headers(AUTHOR, roles=("operator",))


def reviewer(signer: TokenSigner) -> dict[str, str]:
    return signer.headers(REVIEWER, roles=("moderator",))


def new_video(client: httpx.Client, signer: TokenSigner, **fields: Any) -> dict[str, Any]:
    """A draft video with its MP4 file."""
    body = {"kind": "video", "title": "Методический видеоролик «ЭтНик»", **fields}
    created = client.post("/materials", json=body, headers=author(signer))
    assert created.status_code == 201, created.text
    material_id = created.json()["id"]
    uploaded = client.put(
        f"/materials/{material_id}/file",
        params={"filename": "ролик.mp4"},
        content=MP4,
        headers={**author(signer), "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["file"]["content_type"] == "video/mp4"
    material: dict[str, Any] = uploaded.json()
    return material


def publish(client: httpx.Client, signer: TokenSigner, material_id: str) -> dict[str, Any]:
    submitted = client.post(f"/materials/{material_id}/submit", headers=author(signer))
    assert submitted.status_code == 200, submitted.text
    approved = client.post(f"/materials/{material_id}/approve", headers=reviewer(signer))
    assert approved.status_code == 200, approved.text
    material: dict[str, Any] = approved.json()
    return material


def put_subtitles(
    client: httpx.Client,
    signer: TokenSigner,
    material_id: str,
    content: bytes | str,
    language: str = "ru",
    **params: str,
) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    return client.put(
        f"/materials/{material_id}/subtitles/{language}",
        params=params,
        content=body,
        headers={**author(signer), "Content-Type": "text/vtt"},
    )


# --- Video material ------------------------------------------------------------------------


def test_a_video_needs_a_link_or_a_video_file_before_review(
    client: httpx.Client, signer: TokenSigner
) -> None:
    draft = client.post(
        "/materials", json={"kind": "video", "title": "Видео без ссылки"}, headers=author(signer)
    )
    assert draft.status_code == 201, draft.text
    refused = client.post(f"/materials/{draft.json()['id']}/submit", headers=author(signer))
    assert refused.status_code == 422
    assert "video_url or a video file" in refused.json()["detail"]
    # With its own MP4 it goes to review.
    video = new_video(client, signer)
    assert publish(client, signer, video["id"])["status"] == "published"


# --- Chapters ------------------------------------------------------------------------------


def test_chapters_are_versioned_and_served_as_a_webvtt_track(
    client: httpx.Client, signer: TokenSigner
) -> None:
    video = new_video(client, signer)
    chapters = [
        {"title": "Введение", "start_s": 0},
        {"title": "Механизмы Стратегии", "start_s": 65.5},
        {"title": "Итоги", "start_s": 120},
    ]
    saved = client.put(
        f"/materials/{video['id']}/chapters",
        json={"chapters": chapters, "duration_s": 150},
        headers=author(signer),
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["chapters"] == chapters
    assert saved.json()["duration_s"] == 150
    assert saved.json()["version"] == video["version"] + 1

    versions = client.get(f"/materials/{video['id']}/versions", headers=reviewer(signer)).json()
    assert versions[-1]["action"] == "chapters"
    assert versions[-1]["changes"] == ["duration_s", "chapters"]

    publish(client, signer, video["id"])
    track = client.get(f"/materials/{video['id']}/chapters.vtt")
    assert track.status_code == 200
    assert track.headers["content-type"] == "text/vtt; charset=utf-8"
    assert track.text == (
        "WEBVTT\n\n"
        "chapter-1\n00:00:00.000 --> 00:01:05.500\nВведение\n\n"
        "chapter-2\n00:01:05.500 --> 00:02:00.000\nМеханизмы Стратегии\n\n"
        "chapter-3\n00:02:00.000 --> 00:02:30.000\nИтоги\n"
    )


def test_bad_chapters_are_refused_each_with_its_reason(
    client: httpx.Client, signer: TokenSigner
) -> None:
    video = new_video(client, signer)
    good = [{"title": "Введение", "start_s": 0}, {"title": "Итоги", "start_s": 60}]
    accepted = client.put(
        f"/materials/{video['id']}/chapters",
        json={"chapters": good, "duration_s": 90},
        headers=author(signer),
    )
    assert accepted.status_code == 200, accepted.text
    cases = [
        (
            [{"title": "Итоги", "start_s": 60}, {"title": "Введение", "start_s": 0}],
            "chapter 2 «Введение» at 00:00:00.000 starts before chapter 1",
        ),
        (
            [{"title": "Введение", "start_s": 10}, {"title": "Дубль", "start_s": 10}],
            "chapter 2 «Дубль» at 00:00:10.000 starts at the same time as chapter 1",
        ),
        (
            [{"title": "Введение", "start_s": 0}, {"title": "После конца", "start_s": 95}],
            "chapter 2 «После конца» at 00:01:35.000 starts after the video ends (00:01:30.000)",
        ),
    ]
    for chapters, reason in cases:
        refused = client.put(
            f"/materials/{video['id']}/chapters",
            json={"chapters": chapters},
            headers=author(signer),
        )
        assert refused.status_code == 422, chapters
        assert reason in refused.json()["detail"]
    for body in (
        {"chapters": [{"title": "", "start_s": 0}]},
        {"chapters": [{"title": "Минус", "start_s": -1}]},
        {"chapters": [{"title": "Лишнее", "start_s": 0, "end_s": 5}]},
        {"chapters": [], "duration_s": 0},
    ):
        refused = client.put(
            f"/materials/{video['id']}/chapters", json=body, headers=author(signer)
        )
        assert refused.status_code == 422, body
        assert refused.json()["detail"]
    # A shorter duration that would cut off an accepted chapter is refused too.
    shorter = client.put(
        f"/materials/{video['id']}/chapters",
        json={"chapters": good, "duration_s": 50},
        headers=author(signer),
    )
    assert shorter.status_code == 422
    assert "starts after the video ends (00:00:50.000)" in shorter.json()["detail"]
    # Nothing accepted was lost.
    kept = client.get(f"/materials/{video['id']}", headers=author(signer)).json()
    assert kept["chapters"] == good
    assert kept["duration_s"] == 90
    assert kept["version"] == accepted.json()["version"]


def test_chapters_and_subtitles_belong_to_videos_only(
    client: httpx.Client, signer: TokenSigner
) -> None:
    created = client.post(
        "/materials",
        json={"kind": "recommendation", "title": "Рекомендации без видео"},
        headers=author(signer),
    )
    material_id = created.json()["id"]
    chapters = client.put(
        f"/materials/{material_id}/chapters",
        json={"chapters": [{"title": "Глава", "start_s": 0}]},
        headers=author(signer),
    )
    assert chapters.status_code == 422
    assert "belong to video materials" in chapters.json()["detail"]
    subtitles = put_subtitles(client, signer, material_id, SUBTITLES_RU)
    assert subtitles.status_code == 422
    assert "belong to video materials" in subtitles.json()["detail"]
    unknown = put_subtitles(client, signer, uuid.uuid4().hex, SUBTITLES_RU)
    assert unknown.status_code == 404
    participant = signer.headers("someone", kind="participant")
    forbidden = client.put(
        f"/materials/{material_id}/chapters", json={"chapters": []}, headers=participant
    )
    assert forbidden.status_code == 403


# --- Subtitles -----------------------------------------------------------------------------


def test_subtitles_are_served_as_webvtt_per_language(
    client: httpx.Client, signer: TokenSigner, content_db: Db
) -> None:
    video = new_video(client, signer)
    # A byte-order mark and Windows line ends are accepted and normalised.
    windows = ("\ufeff" + SUBTITLES_RU).replace("\n", "\r\n").encode()
    russian = put_subtitles(client, signer, video["id"], windows)
    assert russian.status_code == 200, russian.text
    english = put_subtitles(
        client,
        signer,
        video["id"],
        ENGLISH,
        language="en",
        label="English (translation)",
    )
    assert english.status_code == 200, english.text
    assert english.json()["subtitles"] == [
        {"language": "en", "label": "English (translation)", "cues": 1, "size": len(ENGLISH)},
        {
            "language": "ru",
            "label": "Русский",
            "cues": 2,
            "size": len(SUBTITLES_RU.encode()),
        },
    ]
    versions = client.get(f"/materials/{video['id']}/versions", headers=reviewer(signer)).json()
    assert [entry["action"] for entry in versions[-2:]] == ["subtitles", "subtitles"]

    # Drafts' tracks stay unknown to the public; published, they are served.
    assert client.get(f"/materials/{video['id']}/subtitles/ru.vtt").status_code == 404
    publish(client, signer, video["id"])
    served = client.get(f"/materials/{video['id']}/subtitles/ru.vtt")
    assert served.status_code == 200
    assert served.headers["content-type"] == "text/vtt; charset=utf-8"
    assert served.text == SUBTITLES_RU
    missing = client.get(f"/materials/{video['id']}/subtitles/tt.vtt")
    assert missing.status_code == 404
    assert "no subtitles in «tt»" in missing.json()["detail"]

    # Removing a track is a change to a published material: back to review, like its file.
    removed = client.delete(f"/materials/{video['id']}/subtitles/en", headers=author(signer))
    assert removed.status_code == 200, removed.text
    assert removed.json()["status"] == "in_review"
    assert [track["language"] for track in removed.json()["subtitles"]] == ["ru"]
    stored = content_db["materials"].find_one({"_id": video["id"]})
    assert stored is not None
    # The earlier version still names the English track's file.
    assert any(
        track["language"] == "en"
        for entry in stored["history"]
        for track in entry["state"].get("subtitles") or []
    )


def test_malformed_subtitles_are_refused_naming_the_line(
    client: httpx.Client, signer: TokenSigner, make_pdf: Any
) -> None:
    video = new_video(client, signer)
    assert put_subtitles(client, signer, video["id"], SUBTITLES_RU).status_code == 200
    cases = [
        ("1\n00:00:01,000 --> 00:00:04,000\nSRT\n", "line 1: a WebVTT file starts with"),
        (
            "WEBVTT\n\n00:00:01,000 --> 00:00:04,000\nЗапятая\n",
            "line 3: the cue timing «00:00:01,000 --> 00:00:04,000» is not",
        ),
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nПервая\n\n"
            "00:00:08.000 --> 00:00:06.000\nНазад\n",
            "line 6: the cue ends (00:00:06.000) before or when it starts (00:00:08.000)",
        ),
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nА\n00:00:03.000 --> 00:00:04.000\nБ\n",
            "line 5: cue text may not hold «-->»",
        ),
        ("WEBVTT\n\n\n", "the file holds no cue"),
        (
            # Windows-1251, as old subtitle files often are.
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nПривет, коллеги\n".encode("cp1251"),
            "line 4: subtitles must be UTF-8 text",
        ),
    ]
    for content, reason in cases:
        refused = put_subtitles(client, signer, video["id"], content)
        assert refused.status_code == 422, content
        assert reason in refused.json()["detail"], refused.json()
    # Not text at all: the wrong type.
    pdf = put_subtitles(client, signer, video["id"], make_pdf("Не субтитры"))
    assert pdf.status_code == 415
    assert "application/pdf" in pdf.json()["detail"]
    empty = put_subtitles(client, signer, video["id"], b"")
    assert empty.status_code == 422
    bad_language = put_subtitles(client, signer, video["id"], SUBTITLES_RU, language="Russian")
    assert bad_language.status_code == 422
    # The accepted track is still there, unchanged.
    kept = client.get(f"/materials/{video['id']}/subtitles/ru.vtt", headers=author(signer))
    assert kept.text == SUBTITLES_RU


def test_a_chapter_change_on_a_published_video_goes_back_to_review(
    client: httpx.Client, signer: TokenSigner
) -> None:
    video = new_video(client, signer)
    publish(client, signer, video["id"])
    changed = client.put(
        f"/materials/{video['id']}/chapters",
        json={"chapters": [{"title": "Введение", "start_s": 0}]},
        headers=author(signer),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "in_review"
    assert client.get(f"/materials/{video['id']}").status_code == 404
    assert publish_again(client, signer, video["id"])["chapters"] == [
        {"title": "Введение", "start_s": 0}
    ]


def publish_again(client: httpx.Client, signer: TokenSigner, material_id: str) -> dict[str, Any]:
    approved = client.post(f"/materials/{material_id}/approve", headers=reviewer(signer))
    assert approved.status_code == 200, approved.text
    material: dict[str, Any] = approved.json()
    return material


# --- The video itself, by ranges -----------------------------------------------------------


def test_the_video_is_served_by_ranges(client: httpx.Client, signer: TokenSigner) -> None:
    video = new_video(client, signer)
    publish(client, signer, video["id"])
    path = f"/materials/{video['id']}/file"
    whole = client.get(path)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert hashlib.sha256(whole.content).hexdigest() == hashlib.sha256(MP4).hexdigest()
    # Across the first GridFS chunk boundary (255 KiB).
    first, last = 261_000, 262_999
    part = client.get(path, headers={"Range": f"bytes={first}-{last}"})
    assert part.status_code == 206
    assert part.content == MP4[first : last + 1]
    assert part.headers["content-range"] == f"bytes {first}-{last}/{len(MP4)}"
    tail = client.get(path, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206
    assert tail.content == MP4[-100:]
    # A browser's first request: from 0 to the end.
    opened = client.get(path, headers={"Range": "bytes=0-"})
    assert opened.status_code == 206
    assert len(opened.content) == len(MP4)
    outside = client.get(path, headers={"Range": f"bytes={len(MP4)}-"})
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(MP4)}"


# --- Views ---------------------------------------------------------------------------------


def views_of(stack: Any, material_id: str) -> list[dict[str, Any]]:
    return [
        json.loads(record.value)
        for record in read_topic(
            stack,
            MATERIALS_TOPIC,
            lambda r: (
                r.key == material_id.encode()
                and json.loads(r.value)["type"] == "ru.etnik.material.viewed"
            ),
        )
    ]


def test_views_count_once_per_viewer_within_the_window(
    client: httpx.Client, signer: TokenSigner, content_service: RunningContent, content_db: Db
) -> None:
    video = new_video(client, signer)
    publish(client, signer, video["id"])
    path = f"/materials/{video['id']}/views"
    participant = signer.headers(f"person-{uuid.uuid4().hex}", kind="participant")
    browser = uuid.uuid4().hex

    # A flood from one participant and from one anonymous browser: one view each.
    counted = [client.post(path, headers=participant).json()["counted"] for _ in range(5)]
    assert counted == [True, False, False, False, False]
    anonymous = [client.post(path, json={"viewer": browser}).json()["counted"] for _ in range(3)]
    assert anonymous == [True, False, False]
    assert client.post(path, json={"viewer": uuid.uuid4().hex}).json()["counted"] is True

    events = views_of(content_service.stack, video["id"])
    assert len(events) == 3
    data = [event["data"] for event in events]
    assert {item["viewer_kind"] for item in data} == {"participant", "anonymous"}
    assert all(item["title"] == video["title"] for item in data)
    # Pseudonyms only: neither the person's id nor the browser's key leave the service.
    raw = json.dumps(data)
    assert "person-" not in raw
    assert browser not in raw
    assert len({item["viewer"] for item in data}) == 3

    # Once the window has passed, the same viewer's next playback is a new view.
    window = timedelta(seconds=content_service.settings.video_view_window_s)
    records = content_db["video_views"].find({"material_id": video["id"]})
    participant_record = next(r for r in records if r["viewer_kind"] == "participant")
    content_db["video_views"].update_one(
        {"_id": participant_record["_id"]},
        {"$set": {"last_counted_at": participant_record["last_counted_at"] - window}},
    )
    assert client.post(path, headers=participant).json()["counted"] is True
    again = content_db["video_views"].find_one({"_id": participant_record["_id"]})
    assert again is not None
    assert again["views"] == 2
    assert len(views_of(content_service.stack, video["id"])) == 4


def test_bad_views_are_refused(client: httpx.Client, signer: TokenSigner) -> None:
    unknown = client.post(f"/materials/{uuid.uuid4().hex}/views", json={"viewer": "a" * 32})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "unknown material"

    draft = new_video(client, signer)
    path = f"/materials/{draft['id']}/views"
    # The public does not learn of drafts; staff are told why it does not count.
    assert client.post(path, json={"viewer": "b" * 32}).status_code == 404
    staff = client.post(path, headers=author(signer))
    assert staff.status_code == 409
    assert staff.json()["detail"] == "views are counted only for published material"

    linked = client.post(
        "/materials",
        json={
            "kind": "video",
            "title": "Ролик на RUTUBE",
            "video_url": "https://rutube.ru/video/abc/",
        },
        headers=author(signer),
    ).json()
    publish(client, signer, linked["id"])
    no_file = client.post(f"/materials/{linked['id']}/views", json={"viewer": "c" * 32})
    assert no_file.status_code == 409
    assert no_file.json()["detail"] == "this material has no video file to play"

    published = new_video(client, signer)
    publish(client, signer, published["id"])
    path = f"/materials/{published['id']}/views"
    without_key = client.post(path)
    assert without_key.status_code == 422
    assert "viewer key" in without_key.json()["detail"]
    for body in ({"viewer": "short"}, {"viewer": "x" * 32, "ip": "1.2.3.4"}):
        refused = client.post(path, json=body)
        assert refused.status_code == 422, body
    assert client.post(path, json={"viewer": "d" * 32}).json()["counted"] is True

    archived = client.post(f"/materials/{published['id']}/archive", headers=author(signer))
    assert archived.status_code == 200
    assert client.post(path, json={"viewer": "e" * 32}).status_code == 404
    assert client.post(path, headers=author(signer)).status_code == 409


def test_the_video_and_its_tracks_through_the_gateway(
    gateway: httpx.Client, operator_token: str
) -> None:
    admin = {"Authorization": f"Bearer {operator_token}"}
    created = gateway.post(
        "/api/content/materials",
        json={"kind": "video", "title": "Методический видеоролик через шлюз"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    path = f"/api/content/materials/{created.json()['id']}"
    uploaded = gateway.put(
        f"{path}/file",
        params={"filename": "ролик.mp4"},
        content=MP4,
        headers={**admin, "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 200, uploaded.text
    subtitles = gateway.put(
        f"{path}/subtitles/ru",
        content=SUBTITLES_RU.encode(),
        headers={**admin, "Content-Type": "text/vtt"},
    )
    assert subtitles.status_code == 200, subtitles.text
    chapters = gateway.put(
        f"{path}/chapters",
        json={"chapters": [{"title": "Введение", "start_s": 0}], "duration_s": 10},
        headers=admin,
    )
    assert chapters.status_code == 200, chapters.text

    # nginx passes the Range through and the service answers it, across a chunk boundary.
    first, last = 260_000, 400_000
    part = gateway.get(f"{path}/file", headers={**admin, "Range": f"bytes={first}-{last}"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {first}-{last}/{len(MP4)}"
    assert part.content == MP4[first : last + 1]
    whole = gateway.get(f"{path}/file", headers=admin)
    assert whole.status_code == 200
    assert whole.content == MP4

    track = gateway.get(f"{path}/subtitles/ru.vtt", headers=admin)
    assert track.headers["content-type"] == "text/vtt; charset=utf-8"
    assert track.text == SUBTITLES_RU
    chapters_track = gateway.get(f"{path}/chapters.vtt", headers=admin)
    assert chapters_track.headers["content-type"] == "text/vtt; charset=utf-8"
    assert "00:00:00.000 --> 00:00:10.000\nВведение" in chapters_track.text


def test_an_erased_persons_views_are_forgotten(
    client: httpx.Client, signer: TokenSigner, content_service: RunningContent, content_db: Db
) -> None:
    video = new_video(client, signer)
    publish(client, signer, video["id"])
    person_id = f"person-{uuid.uuid4().hex}"
    path = f"/materials/{video['id']}/views"
    participant = signer.headers(person_id, kind="participant")
    assert client.post(path, headers=participant).json()["counted"] is True
    assert client.post(path, json={"viewer": uuid.uuid4().hex}).json()["counted"] is True

    erased = PersonErased(person_id=person_id, erased_at=datetime.now(UTC))
    envelope = CloudEvent.wrap(erased, source="/etnik/registration")
    publish_raw(
        content_service.stack,
        erased.topic,
        envelope.model_dump_json().encode(),
        person_id.encode(),
    )

    def kinds() -> list[str]:
        records = content_db["video_views"].find({"material_id": video["id"]})
        return sorted(record["viewer_kind"] for record in records)

    wait_until(lambda: kinds() == ["anonymous"], timeout=30, what="the person's views to go")
