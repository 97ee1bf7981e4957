"""The Strategy's mechanisms catalogue and a strategy's vector and goals, through the API on the
real stack: every refused input says why and leaves what was saved as it was."""

from __future__ import annotations

import io
import json
import uuid
from typing import TYPE_CHECKING, Any

import httpx
from pymongo.database import Database
from pypdf import PdfReader

from etnik.common.contracts.content import MECHANISMS_TOPIC, STRATEGIES_TOPIC
from etnik.content.mechanisms import MAX_GOALS, load_reference
from helpers import read_topic, wait_until

if TYPE_CHECKING:
    from conftest import RunningContent, TokenSigner

Db = Database[dict[str, Any]]


def operator(signer: TokenSigner) -> dict[str, str]:
    return signer.headers("mechanisms-operator", roles=("operator",))


def moderator(signer: TokenSigner) -> dict[str, str]:
    return signer.headers("mechanisms-moderator", roles=("moderator",))


def new_code() -> str:
    return f"test_{uuid.uuid4().hex[:10]}"


def add_mechanism(client: httpx.Client, signer: TokenSigner, code: str, title: str) -> None:
    added = client.post(
        "/mechanisms",
        json={"code": code, "title": title, "task_code": "civil_society"},
        headers=operator(signer),
    )
    assert added.status_code == 201, added.text


def new_strategy(client: httpx.Client, signer: TokenSigner, db: Db) -> str:
    organisation_id = uuid.uuid4().hex
    db["known_organisations"].insert_one(
        {"_id": organisation_id, "name": "АНО «Содружество»", "federal_district": "ПФО"}
    )
    created = client.post(
        "/strategies", json={"organisation_id": organisation_id}, headers=operator(signer)
    )
    assert created.status_code == 201, created.text
    return organisation_id


def test_the_initial_catalogue_is_there_and_labelled(
    client: httpx.Client, signer: TokenSigner
) -> None:
    listed = client.get("/mechanisms", headers=moderator(signer))
    assert listed.status_code == 200
    codes = {entry["code"] for entry in listed.json()}
    assert {item["code"] for item in load_reference().initial} <= codes
    first = next(e for e in listed.json() if e["code"] == "grant_competitions")
    assert first["task_title"].startswith("Участие институтов гражданского общества")
    reference = client.get("/mechanisms/reference", headers=moderator(signer)).json()
    assert reference["note"].startswith("Начальный каталог")
    assert "civil_society" in {task["code"] for task in reference["tasks"]}
    assert "other" in {vector["code"] for vector in reference["vectors"]}


def test_operators_add_edit_and_retire_mechanisms_with_events(
    client: httpx.Client, signer: TokenSigner, content_service: RunningContent
) -> None:
    code = new_code()
    add_mechanism(client, signer, code, "Школа лидеров НКО")

    taken = client.post(
        "/mechanisms",
        json={"code": code, "title": "Другое", "task_code": "civil_society"},
        headers=operator(signer),
    )
    assert taken.status_code == 409
    assert code in taken.json()["detail"]
    bad_task = client.post(
        "/mechanisms",
        json={"code": new_code(), "title": "Что-то", "task_code": "no_such_task"},
        headers=operator(signer),
    )
    assert bad_task.status_code == 422
    assert "no_such_task" in bad_task.json()["detail"]
    bad_code = client.post(
        "/mechanisms",
        json={"code": "Школа", "title": "Кириллица в коде", "task_code": "civil_society"},
        headers=operator(signer),
    )
    assert bad_code.status_code == 422
    assert bad_code.json()["errors"][0]["field"] == "code"
    assert (
        client.post(
            "/mechanisms",
            json={"code": new_code(), "title": "Без права", "task_code": "civil_society"},
            headers=moderator(signer),
        ).status_code
        == 403
    )

    edited = client.patch(
        f"/mechanisms/{code}",
        json={"title": "Школа лидеров этнокультурных НКО", "version": 1},
        headers=operator(signer),
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["title"]) == (
        2,
        "Школа лидеров этнокультурных НКО",
    )
    stale = client.patch(
        f"/mechanisms/{code}", json={"title": "Опоздавшая правка", "version": 1},
        headers=operator(signer),
    )  # fmt: skip
    assert stale.status_code == 409
    assert client.get(f"/mechanisms/{code}", headers=moderator(signer)).json()["version"] == 2

    retired = client.post(f"/mechanisms/{code}/retire", headers=operator(signer))
    assert (retired.status_code, retired.json()["status"]) == (200, "retired")
    again = client.post(f"/mechanisms/{code}/retire", headers=operator(signer))
    assert again.status_code == 409
    active = {e["code"] for e in client.get("/mechanisms", headers=moderator(signer)).json()}
    everything = client.get("/mechanisms?include_retired=true", headers=moderator(signer)).json()
    assert code not in active
    assert code in {e["code"] for e in everything}
    assert client.get("/mechanisms/no_such_code", headers=moderator(signer)).status_code == 404

    expected = [
        ("ru.etnik.mechanism.recorded", 1),
        ("ru.etnik.mechanism.recorded", 2),
        ("ru.etnik.mechanism.retired", 3),
    ]

    def published() -> list[tuple[str, int]]:
        records = read_topic(
            content_service.stack,
            MECHANISMS_TOPIC,
            lambda r: r.key == code.encode() and json.loads(r.value)["data"]["code"] == code,
        )
        return sorted(
            (json.loads(r.value)["type"], json.loads(r.value)["data"]["version"]) for r in records
        )

    wait_until(lambda: published() == expected, what="the three catalogue events")


def test_a_strategy_chooses_its_vector_and_goals_with_mechanisms(
    client: httpx.Client, signer: TokenSigner, content_db: Db, content_service: RunningContent
) -> None:
    organisation_id = new_strategy(client, signer, content_db)
    edited = client.patch(
        f"/strategies/{organisation_id}",
        json={
            "vector": {"kind": "heritage", "text": "Центр культуры народов Поволжья"},
            "goals": [
                {
                    "text": "Открыть курсы татарского языка",
                    "mechanisms": ["native_language_courses", "grant_competitions"],
                },
                {"text": "Провести Сабантуй", "mechanisms": ["ethnocultural_events"]},
            ],
            "expected_version": 1,
        },
        headers=operator(signer),
    )
    assert edited.status_code == 200, edited.text
    strategy = edited.json()
    assert strategy["version"] == 2
    assert strategy["vector"]["kind"] == "heritage"
    assert strategy["goals"][0]["mechanisms"] == [
        "native_language_courses",
        "grant_competitions",
    ]
    versions = client.get(f"/strategies/{organisation_id}/versions", headers=moderator(signer))
    assert versions.json()[1]["changes"] == ["vector", "goal_list"]
    assert versions.json()[1]["goals"][1]["text"] == "Провести Сабантуй"
    # A sections-only edit keeps the goals and still tells their mechanisms.
    text_only = client.patch(
        f"/strategies/{organisation_id}",
        json={"sections": {"actions": "Найти помещение"}},
        headers=operator(signer),
    )
    assert text_only.json()["version"] == 3
    assert len(text_only.json()["goals"]) == 2

    events = read_topic(
        content_service.stack,
        STRATEGIES_TOPIC,
        lambda r: (
            json.loads(r.value)["data"]["organisation_id"] == organisation_id
            and json.loads(r.value)["data"]["version"] == 3
        ),
    )
    assert json.loads(events[0].value)["data"]["mechanisms"] == [
        "ethnocultural_events",
        "grant_competitions",
        "native_language_courses",
    ]

    pdf = client.get(f"/strategies/{organisation_id}/pdf", headers=moderator(signer))
    assert pdf.status_code == 200
    text = " ".join(
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Механизмы Стратегии государственной национальной политики" in text
    assert "Курсы и клубы изучения родных языков народов России" in text
    assert "Этнокультурные мероприятия и национальные праздники" in text
    assert "Открыть курсы татарского языка" in text
    assert "Сохранение и развитие этнокультурного наследия" in text


def test_bad_goals_and_vectors_are_refused_and_nothing_saved_is_lost(
    client: httpx.Client, signer: TokenSigner, content_db: Db
) -> None:
    organisation_id = new_strategy(client, signer, content_db)
    kept = new_code()
    add_mechanism(client, signer, kept, "Механизм, который потом выведут")
    saved = client.patch(
        f"/strategies/{organisation_id}",
        json={
            "vector": {"kind": "capacity", "text": "Устойчивость"},
            "goals": [{"text": "Собрать команду", "mechanisms": [kept]}],
        },
        headers=operator(signer),
    )
    assert saved.status_code == 200, saved.text
    assert client.post(f"/mechanisms/{kept}/retire", headers=operator(signer)).status_code == 200
    retired_elsewhere = new_code()
    add_mechanism(client, signer, retired_elsewhere, "Выведенный до выбора")
    client.post(f"/mechanisms/{retired_elsewhere}/retire", headers=operator(signer))

    def refused(body: dict[str, Any]) -> httpx.Response:
        response = client.patch(
            f"/strategies/{organisation_id}", json=body, headers=operator(signer)
        )
        assert response.status_code == 422, response.text
        return response

    unknown = refused({"goals": [{"text": "Цель", "mechanisms": ["no_such_mechanism"]}]})
    assert "unknown mechanism no_such_mechanism" in unknown.json()["detail"]
    newly_retired = refused(
        {"goals": [{"text": "Цель", "mechanisms": ["grant_competitions", retired_elsewhere]}]}
    )
    assert f"{retired_elsewhere} is retired" in newly_retired.json()["detail"]
    empty = refused({"goals": [{"text": "Цель без механизма", "mechanisms": []}]})
    assert empty.json()["detail"] == "goal 1: choose at least one mechanism"
    unnamed = refused({"goals": [{"text": "Цель без механизма"}]})
    assert unnamed.json()["detail"] == "goal 1: choose at least one mechanism"
    too_many = refused(
        {"goals": [{"text": f"Цель {n}", "mechanisms": [kept]} for n in range(MAX_GOALS + 1)]}
    )
    assert too_many.json()["errors"][0]["field"] == "goals"
    too_long = refused({"goals": [{"text": "ц" * 501, "mechanisms": [kept]}]})
    assert too_long.json()["errors"][0]["field"] == "goals.0.text"
    long_vector = refused({"vector": {"kind": "capacity", "text": "в" * 2001}})
    assert long_vector.json()["errors"][0]["field"] == "vector.text"
    bad_vector = refused({"vector": {"kind": "no_such_vector"}})
    assert "unknown development vector no_such_vector" in bad_vector.json()["detail"]
    # Sections in the same request are not half-saved either.
    refused(
        {
            "sections": {"actions": "Не должно сохраниться"},
            "goals": [{"text": "Цель", "mechanisms": ["no_such_mechanism"]}],
        }
    )
    nothing = refused({})
    assert "give sections, vector or goals" in nothing.json()["errors"][0]["reason"]

    after = client.get(f"/strategies/{organisation_id}", headers=moderator(signer)).json()
    assert after["version"] == 2
    assert after["goals"] == [{"text": "Собрать команду", "mechanisms": [kept]}]
    assert after["vector"] == {"kind": "capacity", "text": "Устойчивость"}
    assert after["sections"]["actions"] != "Не должно сохраниться"

    # A retired code the strategy already chose stays valid, alone or beside a new one.
    kept_again = client.patch(
        f"/strategies/{organisation_id}",
        json={
            "goals": [
                {"text": "Собрать команду", "mechanisms": [kept]},
                {"text": "Найти партнёров", "mechanisms": [kept, "public_councils"]},
            ]
        },
        headers=operator(signer),
    )
    assert kept_again.status_code == 200, kept_again.text
    assert kept_again.json()["version"] == 3
