"""Materials through the HTTP API on real FerretDB and Kafka: workflow, versions, access, search."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from pymongo import AsyncMongoClient
from pymongo.database import Database

from etnik.common.contracts.content import MATERIALS_TOPIC
from etnik.common.contracts.registration import (
    EVENTS_TOPIC,
    EventCreated,
    EventFormat,
    ParticipantCategory,
    PersonErased,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.common.events import CloudEvent
from etnik.content.access import ParticipantAccess
from helpers import publish_raw, read_topic, wait_until

if TYPE_CHECKING:
    # Fixture types only: conftest is not importable under --import-mode=importlib.
    from conftest import RunningContent, TokenSigner

AUTHOR = "operator-author"
REVIEWER = "moderator-reviewer"

Db = Database[dict[str, Any]]


def as_author(signer: TokenSigner) -> dict[str, str]:
    return signer.headers(AUTHOR, roles=("operator",))


def as_reviewer(signer: TokenSigner) -> dict[str, str]:
    return signer.headers(REVIEWER, roles=("moderator",))


def seed_event(db: Db, title: str = "Стратегическая сессия ЦФО") -> str:
    """An event the service has learned of (as its consumer would record it)."""
    event_id = uuid.uuid4().hex
    db["known_events"].insert_one({"_id": event_id, "title": title, "status": "published"})
    return event_id


def create(client: httpx.Client, signer: TokenSigner, **fields: Any) -> dict[str, Any]:
    body = {"kind": "recommendation", "title": "Рекомендации по развитию НКО", **fields}
    response = client.post("/materials", json=body, headers=as_author(signer))
    assert response.status_code == 201, response.text
    material: dict[str, Any] = response.json()
    return material


def publish(client: httpx.Client, signer: TokenSigner, material_id: str) -> dict[str, Any]:
    submitted = client.post(f"/materials/{material_id}/submit", headers=as_author(signer))
    assert submitted.status_code == 200, submitted.text
    approved = client.post(f"/materials/{material_id}/approve", headers=as_reviewer(signer))
    assert approved.status_code == 200, approved.text
    material: dict[str, Any] = approved.json()
    return material


def test_a_draft_is_invisible_to_the_public(client: httpx.Client, signer: TokenSigner) -> None:
    draft = create(client, signer, title="Черновик рекомендаций")
    assert draft["status"] == "draft"
    assert client.get(f"/materials/{draft['id']}").status_code == 404
    participant = signer.headers("someone", kind="participant")
    assert client.get(f"/materials/{draft['id']}", headers=participant).status_code == 404
    listed = client.get("/materials", params={"q": "Черновик рекомендаций"}).json()
    assert draft["id"] not in [item["id"] for item in listed["items"]]
    # Staff see it.
    seen = client.get(f"/materials/{draft['id']}", headers=as_reviewer(signer))
    assert seen.status_code == 200


def test_publishing_makes_it_public_and_tells_kafka(
    client: httpx.Client, signer: TokenSigner, content_service: RunningContent
) -> None:
    material = create(client, signer, title="Повестка онлайн-сессии", kind="agenda")
    in_review = client.post(f"/materials/{material['id']}/submit", headers=as_author(signer))
    assert in_review.json()["status"] == "in_review"
    assert client.get(f"/materials/{material['id']}").status_code == 404

    published = client.post(f"/materials/{material['id']}/approve", headers=as_reviewer(signer))
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert client.get(f"/materials/{material['id']}").status_code == 200

    [record] = read_topic(
        content_service.stack, MATERIALS_TOPIC, lambda r: r.key == material["id"].encode()
    )
    envelope = json.loads(record.value)
    assert envelope["type"] == "ru.etnik.material.published"
    assert envelope["data"]["version"] == 3
    assert envelope["data"]["kind"] == "agenda"

    archived = client.post(f"/materials/{material['id']}/archive", headers=as_author(signer))
    assert archived.json()["status"] == "archived"
    assert client.get(f"/materials/{material['id']}").status_code == 404
    archived_events = read_topic(
        content_service.stack,
        MATERIALS_TOPIC,
        lambda r: (
            r.key == material["id"].encode()
            and json.loads(r.value)["type"] == "ru.etnik.material.archived"
        ),
    )
    assert len(archived_events) == 1


def test_a_reviewer_may_not_approve_their_own_material(
    client: httpx.Client, signer: TokenSigner
) -> None:
    both_roles = signer.headers("operator-and-moderator", roles=("operator", "moderator"))
    response = client.post(
        "/materials", json={"kind": "presentation", "title": "Моя презентация"}, headers=both_roles
    )
    material_id = response.json()["id"]
    client.post(f"/materials/{material_id}/submit", headers=both_roles)

    refused = client.post(f"/materials/{material_id}/approve", headers=both_roles)
    assert refused.status_code == 403
    assert "wrote or edited" in refused.json()["detail"]
    # An operator without the moderator role may not approve anyone's material.
    assert (
        client.post(f"/materials/{material_id}/approve", headers=as_author(signer)).status_code
        == 403
    )
    assert (
        client.get(f"/materials/{material_id}", headers=both_roles).json()["status"] == "in_review"
    )


def test_a_moderator_who_rejected_a_material_may_approve_its_resubmission(
    client: httpx.Client, signer: TokenSigner
) -> None:
    material = create(client, signer, title="Рекомендации на доработку")
    client.post(f"/materials/{material['id']}/submit", headers=as_author(signer))
    rejected = client.post(f"/materials/{material['id']}/reject", headers=as_reviewer(signer))
    assert rejected.json()["status"] == "draft", rejected.text
    client.patch(
        f"/materials/{material['id']}",
        json={"description": "Исправлено по замечаниям"},
        headers=as_author(signer),
    )
    client.post(f"/materials/{material['id']}/submit", headers=as_author(signer))

    approved = client.post(f"/materials/{material['id']}/approve", headers=as_reviewer(signer))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"


def test_changing_a_published_materials_substance_sends_it_back_to_review(
    client: httpx.Client,
    signer: TokenSigner,
    content_service: RunningContent,
    make_pdf: Callable[..., bytes],
) -> None:
    material = publish(client, signer, create(client, signer, title="Методичка к сессии")["id"])
    renamed = client.patch(
        f"/materials/{material['id']}",
        json={"title": "Методичка к онлайн-сессии"},
        headers=as_author(signer),
    )
    assert renamed.json()["status"] == "published"  # metadata alone stays published

    changed = client.patch(
        f"/materials/{material['id']}",
        json={"access": "operators"},
        headers=as_author(signer),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "in_review"
    assert client.get(f"/materials/{material['id']}").status_code == 404
    [withdrawn] = read_topic(
        content_service.stack,
        MATERIALS_TOPIC,
        lambda r: (
            r.key == material["id"].encode()
            and json.loads(r.value)["type"] == "ru.etnik.material.archived"
        ),
    )
    assert json.loads(withdrawn.value)["data"]["version"] == changed.json()["version"]

    # In review nothing changes until a moderator decides; approved, a new file needs review too.
    assert (
        client.patch(
            f"/materials/{material['id']}", json={"access": "public"}, headers=as_author(signer)
        ).status_code
        == 409
    )
    approved = client.post(f"/materials/{material['id']}/approve", headers=as_reviewer(signer))
    assert approved.json()["status"] == "published"
    uploaded = client.put(
        f"/materials/{material['id']}/file",
        params={"filename": "plan.pdf"},
        content=make_pdf("План работы"),
        headers={**as_author(signer), "Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["status"] == "in_review"
    republished = client.post(f"/materials/{material['id']}/approve", headers=as_reviewer(signer))
    assert republished.json()["status"] == "published"
    assert republished.json()["file"]["filename"] == "plan.pdf"


def test_a_step_out_of_order_is_a_conflict(client: httpx.Client, signer: TokenSigner) -> None:
    material = create(client, signer)
    response = client.post(f"/materials/{material['id']}/approve", headers=as_reviewer(signer))
    assert response.status_code == 409
    assert "draft" in response.json()["detail"]


def test_every_change_is_a_version_and_old_ones_stay_readable(
    client: httpx.Client, signer: TokenSigner
) -> None:
    material = create(client, signer, title="Первая редакция", tags=["стратегия"])
    edited = client.patch(
        f"/materials/{material['id']}",
        json={"title": "Вторая редакция", "tags": ["Стратегия", "НКО"]},
        headers=as_author(signer),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    assert edited.json()["tags"] == ["нко", "стратегия"]
    unchanged = client.patch(
        f"/materials/{material['id']}", json={"title": "Вторая редакция"}, headers=as_author(signer)
    )
    assert unchanged.json()["version"] == 2  # nothing changed, no new version

    versions = client.get(f"/materials/{material['id']}/versions", headers=as_reviewer(signer))
    assert versions.status_code == 200
    first, second = versions.json()
    assert (first["version"], first["action"], first["by"]) == (1, "create", AUTHOR)
    assert first["state"]["title"] == "Первая редакция"
    assert second["changes"] == ["title", "tags"]
    assert second["state"]["title"] == "Вторая редакция"
    assert datetime.fromisoformat(second["at"]) >= datetime.fromisoformat(first["at"])
    # The history is for staff only.
    assert client.get(f"/materials/{material['id']}/versions").status_code == 401


def test_unknown_references_are_refused(
    client: httpx.Client, signer: TokenSigner, content_db: Db
) -> None:
    for field in ("event_id", "organisation_id", "collection_id"):
        response = client.post(
            "/materials",
            json={"kind": "other", "title": "Материал", field: "no-such-id"},
            headers=as_author(signer),
        )
        assert response.status_code == 422, field
        assert "unknown" in response.json()["detail"]
    event_id = seed_event(content_db)
    assert create(client, signer, event_id=event_id)["event_id"] == event_id


def test_bad_bodies_get_a_clear_422(client: httpx.Client, signer: TokenSigner) -> None:
    cases = [
        {"kind": "poem", "title": "Неизвестный вид"},
        {"kind": "other", "title": "Лишнее поле", "status": "published"},
        {"kind": "other", "title": "Закрытый без события", "access": "participants"},
        {"kind": "other", "title": "Округ", "federal_district": "Марс"},
    ]
    for body in cases:
        response = client.post("/materials", json=body, headers=as_author(signer))
        assert response.status_code == 422, body
        assert response.json()["detail"]


def test_video_links_are_classified(client: httpx.Client, signer: TokenSigner) -> None:
    video = create(
        client,
        signer,
        kind="video",
        title="Методический видеоролик",
        video_url="https://rutube.ru/video/abc/",
    )
    assert video["video_platform"] == "rutube"


def project(
    content_service: RunningContent, change: Callable[[ParticipantAccess], Awaitable[None]]
) -> None:
    """Apply a registration event to the service's projection, as its consumer would."""

    async def run() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            content_service.stack.mongodb_url
        )
        try:
            await change(ParticipantAccess(client[content_service.database]))
        finally:
            await client.close()

    asyncio.run(run())


def test_participants_material_needs_a_confirmed_registration(
    client: httpx.Client, signer: TokenSigner, content_db: Db, content_service: RunningContent
) -> None:
    event_id = seed_event(content_db)
    material = create(
        client,
        signer,
        title="Запись сессии",
        kind="session_recording",
        access="participants",
        event_id=event_id,
    )
    publish(client, signer, material["id"])
    person = uuid.uuid4().hex
    participant = signer.headers(person, kind="participant")
    path = f"/materials/{material['id']}"

    assert client.get(path).status_code == 404
    assert client.get(path, headers=participant).status_code == 404

    facts = {
        "registration_id": uuid.uuid4().hex,
        "event_id": event_id,
        "person_id": person,
        "category": ParticipantCategory.NGO_LEADER,
    }
    now = datetime.now(UTC)
    project(
        content_service,
        lambda access: access.grant(RegistrationConfirmed(**facts, registered_at=now)),
    )
    assert client.get(path, headers=participant).status_code == 200
    found = client.get("/materials", params={"event_id": event_id}, headers=participant).json()
    assert [item["id"] for item in found["items"]] == [material["id"]]
    assert client.get("/materials", params={"event_id": event_id}).json()["total"] == 0

    project(
        content_service,
        lambda access: access.revoke(RegistrationCancelled(**facts, cancelled_at=now)),
    )
    assert client.get(path, headers=participant).status_code == 404


def test_operators_only_material_is_hidden_from_participants(
    client: httpx.Client, signer: TokenSigner
) -> None:
    material = create(client, signer, title="Внутренняя памятка", access="operators")
    publish(client, signer, material["id"])
    assert client.get(f"/materials/{material['id']}").status_code == 404
    participant = signer.headers("p", kind="participant")
    assert client.get(f"/materials/{material['id']}", headers=participant).status_code == 404
    assert client.get(f"/materials/{material['id']}", headers=as_author(signer)).status_code == 200


def test_a_forged_token_is_401(client: httpx.Client) -> None:
    response = client.get("/materials", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401


def test_search_understands_russian_word_forms_and_filters(
    client: httpx.Client, signer: TokenSigner
) -> None:
    marker = uuid.uuid4().hex[:8]
    strategy = create(
        client,
        signer,
        kind="ngo_strategy",
        title=f"Стратегии развития этнокультурных организаций {marker}",
        tags=[marker, "развитие"],
        federal_district="ПФО",
    )
    agenda = create(
        client,
        signer,
        kind="agenda",
        title=f"Повестка стратегической сессии {marker}",
        tags=[marker],
    )
    for material in (strategy, agenda):
        publish(client, signer, material["id"])

    def ids(**params: Any) -> list[str]:
        response = client.get("/materials", params={"tag": marker, **params})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(q="стратегия") == [strategy["id"]]
    assert ids(q="развитию этнокультурной организации") == [strategy["id"]]
    assert ids(q="сессиям") == [agenda["id"]]
    assert sorted(ids()) == sorted([strategy["id"], agenda["id"]])
    assert ids(kind="agenda") == [agenda["id"]]
    assert ids(federal_district="ПФО") == [strategy["id"]]
    assert ids(q="несуществующее") == []
    first_page = client.get("/materials", params={"tag": marker, "limit": 1}).json()
    second_page = client.get("/materials", params={"tag": marker, "limit": 1, "offset": 1}).json()
    assert first_page["total"] == second_page["total"] == 2
    assert {first_page["items"][0]["id"], second_page["items"][0]["id"]} == {
        strategy["id"],
        agenda["id"],
    }


def test_events_from_registration_are_learned_over_kafka(
    client: httpx.Client, signer: TokenSigner, content_service: RunningContent
) -> None:
    starts = datetime.now(UTC) + timedelta(days=30)
    event = EventCreated(
        event_id=uuid.uuid4().hex,
        title="Стратегическая онлайн-сессия по ДФО",
        format=EventFormat.ONLINE,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        timezone="Asia/Vladivostok",
        federal_district="ДФО",
        status="published",
    )
    envelope = CloudEvent.wrap(event, source="/etnik/content-tests")
    publish_raw(
        content_service.stack, EVENTS_TOPIC, envelope.model_dump_json().encode(), event.key.encode()
    )

    def accepted() -> bool:
        response = client.post(
            "/materials",
            json={"kind": "agenda", "title": "Повестка ДФО", "event_id": event.event_id},
            headers=as_author(signer),
        )
        return response.status_code == 201

    wait_until(accepted, timeout=30, what="the content service to learn of the event")


def test_erasure_removes_an_authors_name_from_every_version(
    client: httpx.Client, signer: TokenSigner, content_service: RunningContent
) -> None:
    person = uuid.uuid4().hex
    authors = [
        {"name": "Мария Ивановна Петрова", "person_id": person},
        {"name": "Иван Сидоров"},
    ]
    material = create(client, signer, title="Сборник практик", authors=authors)
    client.patch(
        f"/materials/{material['id']}",
        json={"title": "Сборник лучших практик"},
        headers=as_author(signer),
    )
    erased = PersonErased(person_id=person, erased_at=datetime.now(UTC))
    envelope = CloudEvent.wrap(erased, source="/etnik/content-tests")
    publish_raw(
        content_service.stack,
        "etnik.registration.people.v1",
        envelope.model_dump_json().encode(),
        person.encode(),
    )

    def names() -> list[str]:
        response = client.get(f"/materials/{material['id']}/versions", headers=as_reviewer(signer))
        return [a["name"] for v in response.json() for a in v["state"]["authors"]]

    wait_until(lambda: "Мария Ивановна Петрова" not in names(), timeout=30, what="erasure")
    assert "Иван Сидоров" in names()
    current = client.get(f"/materials/{material['id']}", headers=as_reviewer(signer)).json()
    assert all(author.get("person_id") != person for author in current["authors"])


def test_the_public_sees_authors_names_but_not_their_person_ids(
    client: httpx.Client, signer: TokenSigner
) -> None:
    person = uuid.uuid4().hex
    material = create(
        client,
        signer,
        title="Практики наставничества",
        authors=[{"name": "А. Петрова", "person_id": person}],
    )
    publish(client, signer, material["id"])
    public = client.get(f"/materials/{material['id']}").json()
    assert public["authors"] == [{"name": "А. Петрова", "affiliation": None}]
    assert person not in client.get("/materials", params={"q": "наставничества"}).text
    staff = client.get(f"/materials/{material['id']}", headers=as_reviewer(signer)).json()
    assert staff["authors"][0]["person_id"] == person


def test_json_bodies_keep_a_small_limit_although_uploads_may_be_large(
    client: httpx.Client, signer: TokenSigner
) -> None:
    body = json.dumps({"kind": "other", "title": "x", "description": "я" * 700_000}).encode()
    response = client.post(
        "/materials",
        content=body,
        headers={**as_author(signer), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["x-request-id"]
