"""Strategies, compiled collections and media mentions through the API on the real stack."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from pymongo.database import Database
from pypdf import PdfReader

from etnik.common.contracts.content import MEDIA_TOPIC, STRATEGIES_TOPIC
from helpers import read_topic

if TYPE_CHECKING:
    # Fixture types only: conftest is not importable under --import-mode=importlib.
    from conftest import RunningContent, TokenSigner

Db = Database[dict[str, Any]]
PdfMaker = Callable[..., bytes]


def operator(signer: TokenSigner) -> dict[str, str]:
    return signer.headers("strategy-operator", roles=("operator",))


def moderator(signer: TokenSigner) -> dict[str, str]:
    return signer.headers("strategy-moderator", roles=("moderator",))


def seed_organisation_with_history(db: Db) -> str:
    organisation_id = uuid.uuid4().hex
    event_id = uuid.uuid4().hex
    db["known_organisations"].insert_one(
        {"_id": organisation_id, "name": "АНО «Дом дружбы народов»", "federal_district": "СФО"}
    )
    db["known_events"].insert_one(
        {
            "_id": event_id,
            "title": "Стратегическая онлайн-сессия по СФО",
            "starts_at": datetime(2022, 11, 29, 11, tzinfo=UTC),
            "federal_district": "СФО",
        }
    )
    db["known_registrations"].insert_many(
        [
            {
                "_id": uuid.uuid4().hex,
                "event_id": event_id,
                "person_id": uuid.uuid4().hex,
                "organisation_id": organisation_id,
                "status": "confirmed",
                "attended": attended,
            }
            for attended in (True, False)
        ]
    )
    return organisation_id


def test_a_strategy_starts_prefilled_and_every_edit_is_a_version(
    client: httpx.Client, signer: TokenSigner, content_db: Db, content_service: RunningContent
) -> None:
    organisation_id = seed_organisation_with_history(content_db)

    created = client.post(
        "/strategies", json={"organisation_id": organisation_id}, headers=operator(signer)
    )

    assert created.status_code == 201, created.text
    strategy = created.json()
    assert strategy["version"] == 1
    assert "Стратегическая онлайн-сессия по СФО" in strategy["sections"]["participation"]
    assert "зарегистрировано 2, присутствовало 1" in strategy["sections"]["participation"]
    again = client.post(
        "/strategies", json={"organisation_id": organisation_id}, headers=operator(signer)
    )
    assert again.status_code == 409

    edited = client.patch(
        f"/strategies/{organisation_id}",
        json={"sections": {"goals": "Открыть центр национальных культур"}, "expected_version": 1},
        headers=operator(signer),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    stale = client.patch(
        f"/strategies/{organisation_id}",
        json={"sections": {"goals": "Другое"}, "expected_version": 1},
        headers=operator(signer),
    )
    assert stale.status_code == 409
    unknown = client.patch(
        f"/strategies/{organisation_id}",
        json={"sections": {"secret": "x"}},
        headers=operator(signer),
    )
    assert unknown.status_code == 422

    versions = client.get(f"/strategies/{organisation_id}/versions", headers=moderator(signer))
    assert [(v["version"], v["changes"]) for v in versions.json()][1] == (2, ["goals"])
    assert versions.json()[0]["sections"]["goals"].startswith("[")

    events = read_topic(
        content_service.stack,
        STRATEGIES_TOPIC,
        lambda r: json.loads(r.value)["data"]["organisation_id"] == organisation_id,
    )
    assert {json.loads(r.value)["data"]["version"] for r in events} >= {1}

    pdf = client.get(f"/strategies/{organisation_id}/pdf", headers=moderator(signer))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in pdf.headers["content-disposition"]
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "АНО «Дом дружбы народов»" in text
    assert "Открыть центр национальных культур" in text


def test_strategies_of_unknown_organisations_and_for_outsiders_are_refused(
    client: httpx.Client, signer: TokenSigner
) -> None:
    response = client.post(
        "/strategies", json={"organisation_id": "no-such-organisation"}, headers=operator(signer)
    )
    assert response.status_code == 422
    participant = signer.headers("p", kind="participant")
    assert client.get("/strategies/any", headers=participant).status_code == 403
    assert client.get("/strategies/any").status_code == 401


def test_a_collection_compiles_its_published_materials_into_one_pdf(
    client: httpx.Client, signer: TokenSigner, make_pdf: PdfMaker
) -> None:
    def create(**fields: Any) -> str:
        response = client.post("/materials", json=fields, headers=operator(signer))
        assert response.status_code == 201, response.text
        material_id: str = response.json()["id"]
        return material_id

    def publish(material_id: str) -> None:
        client.post(f"/materials/{material_id}/submit", headers=operator(signer))
        approved = client.post(f"/materials/{material_id}/approve", headers=moderator(signer))
        assert approved.status_code == 200, approved.text

    collection_id = create(
        kind="methodological_collection", title="Сборник методических материалов"
    )
    with_file = create(
        kind="recommendation",
        title="Как писать заявку на грант",
        collection_id=collection_id,
        authors=[{"name": "Ольга Смирнова"}],
    )
    pdf = make_pdf("Шаг первый: определите проблему сообщества")
    uploaded = client.put(
        f"/materials/{with_file}/file",
        params={"filename": "заявка.pdf"},
        content=pdf,
        headers=operator(signer),
    )
    assert uploaded.status_code == 200, uploaded.text
    publish(with_file)
    video = create(
        kind="video",
        title="Методический видеоролик",
        video_url="https://vkvideo.ru/video-1_2",
        collection_id=collection_id,
    )
    publish(video)
    create(kind="agenda", title="Неопубликованный черновик", collection_id=collection_id)

    compiled = client.post(f"/materials/{collection_id}/compile", headers=operator(signer))

    assert compiled.status_code == 200, compiled.text
    assert compiled.json()["version"] == 2
    assert compiled.json()["file"]["content_type"] == "application/pdf"
    download = client.get(f"/materials/{collection_id}/file", headers=moderator(signer))
    reader = PdfReader(io.BytesIO(download.content))
    contents = reader.pages[0].extract_text() or ""
    assert "Содержание" in contents
    assert "Как писать заявку на грант" in contents
    assert "Методический видеоролик" in contents
    whole = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert "Неопубликованный черновик" not in whole
    assert "Шаг первый: определите проблему сообщества" in whole
    assert "Ольга Смирнова" in whole
    versions = client.get(f"/materials/{collection_id}/versions", headers=moderator(signer))
    assert versions.json()[-1]["action"] == "compile"

    not_a_collection = client.post(f"/materials/{video}/compile", headers=operator(signer))
    assert not_a_collection.status_code == 422


def test_media_mentions_are_registered_against_known_events(
    client: httpx.Client, signer: TokenSigner, content_db: Db, content_service: RunningContent
) -> None:
    event_id = uuid.uuid4().hex
    content_db["known_events"].insert_one({"_id": event_id, "title": "Сессия ЮФО"})
    url = f"https://example.org/news/{uuid.uuid4().hex}"
    body = {
        "url": url,
        "outlet": "Российская газета",
        "title": "Стартовала программа «ЭтНик»",
        "published_on": "2022-11-30",
        "type": "online",
        "audience_reach": 120000,
        "event_ids": [event_id],
    }

    unknown = client.post(
        "/media-mentions", json={**body, "event_ids": ["nope"]}, headers=operator(signer)
    )
    assert unknown.status_code == 422
    created = client.post("/media-mentions", json=body, headers=operator(signer))
    assert created.status_code == 201, created.text
    assert created.json()["audience_reach"] == 120000
    repeated = client.post("/media-mentions", json=body, headers=operator(signer))
    assert repeated.status_code == 409

    listed = client.get(
        "/media-mentions", params={"event_id": event_id}, headers=moderator(signer)
    ).json()
    assert listed["total"] == 1
    assert listed["items"][0]["url"] == url
    # One event for reporting, published once, even though the URL was posted twice.
    recorded = read_topic(
        content_service.stack,
        MEDIA_TOPIC,
        lambda r: json.loads(r.value)["data"]["url"] == url,
    )
    assert len(recorded) == 1
    data = json.loads(recorded[0].value)["data"]
    assert (data["outlet"], data["audience_reach"], data["event_ids"]) == (
        "Российская газета",
        120000,
        [event_id],
    )
    negative = client.post(
        "/media-mentions",
        json={**body, "url": url + "/2", "audience_reach": -1},
        headers=operator(signer),
    )
    assert negative.status_code == 422
