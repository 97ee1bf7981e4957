"""Erasure in content, through Kafka and the API on the real stack: an erased author's name
leaves the compiled collection's PDF (compiled again, earlier compilations deleted) and the
search; an event about the person that arrives after the erasure cannot attach their id
again; an erasure that keeps failing is recorded, shown to operators and in the metrics,
retried in the background and completes once the fault is gone."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from pydantic import SecretStr
from pymongo import MongoClient
from pymongo.database import Database
from pypdf import PdfReader

from etnik.common.contracts.registration import (
    ParticipantCategory,
    PersonErased,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.common.erasure import ERASURES
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.common.settings import Environment
from etnik.content.container import ContentContainer
from etnik.content.main import create_app
from etnik.content.service import ERASED_AUTHOR
from etnik.content.settings import ContentSettings
from etnik.devstack import Stack
from helpers import publish_raw, served, wait_until

if TYPE_CHECKING:
    # Fixture types only: conftest is not importable under --import-mode=importlib.
    from conftest import TokenSigner

Db = Database[dict[str, Any]]
PdfMaker = Callable[..., bytes]


@dataclass(frozen=True)
class ErasingContent:
    """A content service of this module's own, whose parts a test can reach into."""

    container: ContentContainer
    http: httpx.Client
    db: Db
    stack: Stack


@pytest.fixture(scope="module")
def content(infra: Stack, signer: TokenSigner) -> Iterator[ErasingContent]:
    """The content service under uvicorn in a thread, retrying open erasures every 0.5 s."""
    suffix = uuid.uuid4().hex[:8]
    settings = ContentSettings(
        environment=Environment.TEST,
        service_name=f"content-erasure-{suffix}",
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        mongodb_url=infra.mongodb_url,
        mongodb_database=f"etnik_content_erasure_{suffix}",
        outbox_relay_interval_s=0.5,
        outbox_relay_grace_s=1,
        kafka_publish_timeout_s=2,
        consumer_retry_backoff_s=0.05,
        erasure_retry_interval_s=0.5,
        pseudonym_key=SecretStr("content-erasure-tests"),
    )
    app = create_app(settings, jwks_loader=signer.load_jwks)
    with (
        served(app, "content-erasure") as url,
        httpx.Client(base_url=url, timeout=30) as http,
        MongoClient(infra.mongodb_url, tz_aware=True) as mongo,
    ):
        yield ErasingContent(app.state.container, http, mongo[settings.database_name], infra)


def publish(stack: Stack, event: IntegrationEvent, key: str) -> None:
    envelope = CloudEvent.wrap(event, source="/etnik/registration")
    publish_raw(stack, event.topic, envelope.model_dump_json().encode(), key.encode())


def erase(stack: Stack, person_id: str) -> None:
    publish(stack, PersonErased(person_id=person_id, erased_at=datetime.now(UTC)), person_id)


def erasure_status(db: Db, person_id: str) -> str | None:
    record = db[ERASURES].find_one({"_id": person_id})
    return None if record is None else str(record["status"])


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def test_an_erased_authors_name_leaves_the_compiled_collection_and_the_search(
    content: ErasingContent, signer: TokenSigner, make_pdf: PdfMaker
) -> None:
    http, operator = content.http, signer.headers("erasure-operator", roles=("operator",))
    moderator = signer.headers("erasure-moderator", roles=("moderator",))
    person_id = f"author-{uuid.uuid4().hex[:8]}"
    name, colleague = "Ольга Стираемая", "Пётр Остающийся"

    def create(**fields: Any) -> str:
        response = http.post("/materials", json=fields, headers=operator)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def publish_material(material_id: str) -> None:
        http.post(f"/materials/{material_id}/submit", headers=operator)
        approved = http.post(f"/materials/{material_id}/approve", headers=moderator)
        assert approved.status_code == 200, approved.text

    def search(words: str) -> int:
        found = http.get("/materials", params={"q": words}, headers=moderator)
        assert found.status_code == 200, found.text
        return int(found.json()["total"])

    collection_id = create(kind="methodological_collection", title="Сборник о грантах")
    member = create(
        kind="recommendation",
        title="Как писать заявку",
        collection_id=collection_id,
        authors=[{"name": name, "person_id": person_id}, {"name": colleague}],
    )
    uploaded = http.put(
        f"/materials/{member}/file",
        params={"filename": "заявка.pdf"},
        content=make_pdf("Подготовила Ольга Стираемая для сообществ"),
        headers=operator,
    )
    assert uploaded.status_code == 200, uploaded.text
    publish_material(member)
    for _ in range(2):  # two compilations: the earlier one must go too
        compiled = http.post(f"/materials/{collection_id}/compile", headers=operator)
        assert compiled.status_code == 200, compiled.text
    publish_material(collection_id)
    before = http.get(f"/materials/{collection_id}/file", headers=moderator)
    assert name in pdf_text(before.content)
    compiled_versions = [
        v["version"]
        for v in http.get(f"/materials/{collection_id}/versions", headers=moderator).json()
        if v["action"] == "compile"
    ]
    assert len(compiled_versions) == 2
    wait_until(lambda: search("Стираемая") == 2, timeout=10, what="the name to be searchable")

    erase(content.stack, person_id)

    wait_until(lambda: erasure_status(content.db, person_id) == "done", timeout=30, what="erasure")
    collection = http.get(f"/materials/{collection_id}", headers=moderator).json()
    assert collection["status"] == "published", "an erasure sends nothing back to review"
    after = pdf_text(http.get(f"/materials/{collection_id}/file", headers=moderator).content)
    assert "Стираемая" not in after
    assert colleague in after
    assert ERASED_AUTHOR in after
    assert "Как писать заявку" in after
    for version in compiled_versions:
        old = http.get(f"/materials/{collection_id}/versions/{version}/file", headers=moderator)
        assert old.status_code == 404, f"the compilation of version {version} is still stored"
    wait_until(lambda: search("Стираемая") == 0, timeout=10, what="the name to leave the search")
    assert search("заявка") >= 1, "the rest of the material stays searchable"
    assert search("Остающийся") == 1
    stored = json.dumps(
        list(content.db["materials"].find({"_id": {"$in": [collection_id, member]}})),
        default=str,
        ensure_ascii=False,
    )
    assert name not in stored
    assert person_id not in stored


def test_events_arriving_after_the_erasure_cannot_attach_the_person_again(
    content: ErasingContent,
) -> None:
    person_id = f"person-{uuid.uuid4().hex[:8]}"
    erase(content.stack, person_id)
    wait_until(lambda: erasure_status(content.db, person_id) == "done", timeout=30, what="erasure")
    confirmed_id, cancelled_id = f"reg-{uuid.uuid4().hex[:8]}", f"reg-{uuid.uuid4().hex[:8]}"
    facts = {
        "event_id": "event-late",
        "person_id": person_id,
        "category": ParticipantCategory.EXPERT,
        "registered_at": datetime.now(UTC),
    }
    publish(
        content.stack,
        RegistrationConfirmed(registration_id=confirmed_id, **facts),
        confirmed_id,
    )
    publish(
        content.stack,
        RegistrationCancelled(
            registration_id=cancelled_id, cancelled_at=datetime.now(UTC), **facts
        ),
        cancelled_id,
    )

    def stored_without_the_person(registration_id: str) -> bool:
        found = content.db["known_registrations"].find_one({"_id": registration_id})
        return found is not None and found["person_id"] is None

    for registration_id in (confirmed_id, cancelled_id):
        wait_until(
            lambda rid=registration_id: stored_without_the_person(rid),  # type: ignore[misc]
            timeout=30,
            what="the late registration, without the person",
        )
    assert content.db["participant_events"].find_one({"_id": person_id}) is None
    assert content.db["known_registrations"].count_documents({"person_id": person_id}) == 0


def test_a_failing_erasure_is_shown_to_operators_retried_and_completed(
    content: ErasingContent, signer: TokenSigner
) -> None:
    http = content.http
    operator = signer.headers("erasure-operator", roles=("operator",))
    person_id = f"person-{uuid.uuid4().hex[:8]}"
    materials = content.container.materials
    real_forget = materials.forget_author
    broken = True

    async def failing_forget(erased_id: str) -> int:
        if broken and erased_id == person_id:
            raise RuntimeError("injected fault: the file store refused")
        return int(await real_forget(erased_id))

    materials.forget_author = failing_forget
    try:
        erase(content.stack, person_id)
        # The consumer's attempts and the background retries fail: the record says so.
        wait_until(
            lambda: erasure_status(content.db, person_id) == "failed",
            timeout=30,
            what="the erasure to be recorded as failed",
        )

        def listed(status: str | None = None) -> list[dict[str, Any]]:
            params = {"status": status} if status else {}
            response = http.get("/erasures", params=params, headers=operator)
            assert response.status_code == 200, response.text
            return [r for r in response.json() if r["person_id"] == person_id]

        [record] = listed()
        assert record["status"] == "failed"
        assert record["attempts"] >= 3
        assert "injected fault" in record["last_error"]
        assert record["done_at"] is None
        wait_until(
            lambda: 'etnik_erasures{status="failed"} 1.0' in http.get("/metrics").text,
            timeout=10,
            what="the failed erasure in the metrics",
        )
        participant = signer.headers(person_id, kind="participant")
        assert http.get("/erasures", headers=participant).status_code == 403
        assert http.get("/erasures").status_code == 401
        invalid = http.get("/erasures", params={"status": "skipped"}, headers=operator)
        assert invalid.status_code == 422
    finally:
        broken = False
        materials.forget_author = real_forget

    # The fault is gone: the background loop completes it, without a new event. (A delivery
    # of the event still being retried may run it once more meanwhile: wait for the listing.)
    wait_until(lambda: len(listed("done")) == 1, timeout=30, what="the retry")
    assert listed() == []
    [done] = listed("done")
    assert done["done_at"] is not None
    wait_until(
        lambda: 'etnik_erasures{status="failed"} 0.0' in http.get("/metrics").text,
        timeout=10,
        what="the metrics to show no failed erasure",
    )
