"""Files in GridFS through the HTTP API: streamed, typed by content, bounded, ranged."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pymongo.database import Database

from etnik.common.contracts.content import MATERIALS_TOPIC
from helpers import read_topic

if TYPE_CHECKING:
    # Fixture types only: conftest is not importable under --import-mode=importlib.
    from conftest import RunningContent, TokenSigner

AUTHOR = "files-author"
REVIEWER = "files-reviewer"
LIMIT = 2 * 1024 * 1024  # the service under test is started with this upload limit

Db = Database[dict[str, Any]]
PdfMaker = Callable[..., bytes]


def author(signer: TokenSigner) -> dict[str, str]:
    return signer.headers(AUTHOR, roles=("operator",))


def reviewer(signer: TokenSigner) -> dict[str, str]:
    return signer.headers(REVIEWER, roles=("moderator",))


def new_material(client: httpx.Client, signer: TokenSigner, **fields: Any) -> dict[str, Any]:
    body = {"kind": "methodological_collection", "title": "Сборник материалов", **fields}
    response = client.post("/materials", json=body, headers=author(signer))
    assert response.status_code == 201, response.text
    material: dict[str, Any] = response.json()
    return material


def upload(
    client: httpx.Client,
    signer: TokenSigner,
    material_id: str,
    content: bytes | Iterator[bytes],
    filename: str,
) -> httpx.Response:
    return client.put(
        f"/materials/{material_id}/file",
        params={"filename": filename},
        content=content,
        headers={**author(signer), "Content-Type": "application/octet-stream"},
    )


def publish(client: httpx.Client, signer: TokenSigner, material_id: str) -> None:
    assert (
        client.post(f"/materials/{material_id}/submit", headers=author(signer)).status_code == 200
    )
    assert (
        client.post(f"/materials/{material_id}/approve", headers=reviewer(signer)).status_code
        == 200
    )


def stored_files(db: Db) -> tuple[int, int]:
    return db["files.files"].count_documents({}), db["files.chunks"].count_documents({})


def test_a_file_streams_in_and_out_with_its_hash_and_cyrillic_name(
    client: httpx.Client, signer: TokenSigner, make_pdf: PdfMaker
) -> None:
    pdf = make_pdf("Методические рекомендации", "для этнокультурных НКО")
    material = new_material(client, signer)
    name = "Сборник «ЭтНик» 2024.pdf"

    response = upload(client, signer, material["id"], pdf, name)

    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["version"] == 2
    assert stored["file"] == {
        "filename": name,
        "content_type": "application/pdf",
        "size": len(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(),
    }
    publish(client, signer, material["id"])
    download = client.get(f"/materials/{material['id']}/file")
    assert download.status_code == 200
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["accept-ranges"] == "bytes"
    assert download.headers["etag"] == f'"{hashlib.sha256(pdf).hexdigest()}"'
    assert f"filename*=UTF-8''{quote(name, safe='')}" in download.headers["content-disposition"]


def test_ranges_give_parts_and_a_range_past_the_end_is_416(
    client: httpx.Client, signer: TokenSigner
) -> None:
    # Bigger than one GridFS chunk, so that a range crosses chunk boundaries.
    content = ("Строка стратегии развития номер {}\n" * 20000).encode()
    material = new_material(client, signer, kind="other", title="Длинный текст")
    assert upload(client, signer, material["id"], content, "текст.txt").status_code == 200
    publish(client, signer, material["id"])
    path = f"/materials/{material['id']}/file"
    size = len(content)

    part = client.get(path, headers={"Range": "bytes=261000-262999"})
    assert part.status_code == 206
    assert part.content == content[261000:263000]
    assert part.headers["content-range"] == f"bytes 261000-262999/{size}"

    tail = client.get(path, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206
    assert tail.content == content[-100:]

    beyond = client.get(path, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"


def test_an_oversized_upload_is_413_and_nothing_is_half_stored(
    client: httpx.Client, signer: TokenSigner, content_db: Db
) -> None:
    material = new_material(client, signer, kind="other", title="Слишком большой файл")
    before = stored_files(content_db)
    line = "Текст, который не поместится в лимит.\n".encode()

    def chunked_body() -> Iterator[bytes]:
        # No Content-Length: the service can only find out by counting as it streams.
        sent = 0
        while sent <= LIMIT + 256 * 1024:
            chunk = line * 1000
            sent += len(chunk)
            yield chunk

    streamed = upload(client, signer, material["id"], chunked_body(), "big.txt")
    assert streamed.status_code == 413
    assert "at most" in streamed.json()["detail"]

    declared = upload(client, signer, material["id"], b"x" * (LIMIT + 1), "big.txt")
    assert declared.status_code == 413

    assert stored_files(content_db) == before
    current = client.get(f"/materials/{material['id']}", headers=author(signer)).json()
    assert current["version"] == 1
    assert current["file"] is None


def test_a_forbidden_type_disguised_by_its_name_is_415(
    client: httpx.Client, signer: TokenSigner, content_db: Db
) -> None:
    material = new_material(client, signer, kind="other", title="Подозрительный файл")
    before = stored_files(content_db)
    windows_program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 4096

    response = upload(client, signer, material["id"], windows_program, "отчёт.pdf")

    assert response.status_code == 415
    assert "judged by content" in response.json()["detail"]
    assert stored_files(content_db) == before
    assert client.get(f"/materials/{material['id']}", headers=author(signer)).json()["file"] is None


def test_old_files_stay_readable_by_version(client: httpx.Client, signer: TokenSigner) -> None:
    material = new_material(client, signer, kind="agenda", title="Повестка")
    first = upload(client, signer, material["id"], "Повестка, редакция 1".encode(), "повестка.txt")
    second = upload(client, signer, material["id"], "Повестка, редакция 2".encode(), "повестка.txt")
    assert (first.json()["version"], second.json()["version"]) == (2, 3)

    old = client.get(f"/materials/{material['id']}/versions/2/file", headers=reviewer(signer))
    assert old.status_code == 200
    assert old.content.decode() == "Повестка, редакция 1"
    current = client.get(f"/materials/{material['id']}/file", headers=reviewer(signer))
    assert current.content.decode() == "Повестка, редакция 2"
    # Old versions are for staff only.
    assert client.get(f"/materials/{material['id']}/versions/2/file").status_code == 401


def test_the_text_of_a_pdf_is_searchable(
    client: httpx.Client, signer: TokenSigner, make_pdf: PdfMaker
) -> None:
    marker = uuid.uuid4().hex[:10]
    pdf = make_pdf("Наставничество в этнокультурных организациях", f"код {marker}")
    material = new_material(client, signer, kind="recommendation", title="Рекомендации")
    assert upload(client, signer, material["id"], pdf, "rec.pdf").status_code == 200
    publish(client, signer, material["id"])

    found = client.get("/materials", params={"q": f"наставничеством {marker}"}).json()
    assert [item["id"] for item in found["items"]] == [material["id"]]


def test_a_download_is_published_under_a_pseudonym(
    client: httpx.Client, signer: TokenSigner, content_service: RunningContent
) -> None:
    material = new_material(client, signer, kind="other", title="Статистика скачиваний")
    upload(client, signer, material["id"], "Содержимое".encode(), "файл.txt")
    publish(client, signer, material["id"])
    person = uuid.uuid4().hex
    participant = signer.headers(person, kind="participant")

    assert client.get(f"/materials/{material['id']}/file", headers=participant).status_code == 200

    [record] = read_topic(
        content_service.stack,
        MATERIALS_TOPIC,
        lambda r: (
            r.key == material["id"].encode()
            and json.loads(r.value)["type"] == "ru.etnik.material.downloaded"
        ),
    )
    data = json.loads(record.value)["data"]
    assert data["reader_kind"] == "participant"
    assert data["file_version"] == 4
    assert data["partial"] is False
    assert person not in record.value.decode()
    assert len(data["reader"]) == 32


def test_a_participants_file_is_not_served_to_the_public(
    client: httpx.Client, signer: TokenSigner, content_db: Db
) -> None:
    event_id = uuid.uuid4().hex
    content_db["known_events"].insert_one({"_id": event_id, "title": "Сессия"})
    material = new_material(
        client,
        signer,
        kind="session_recording",
        title="Запись",
        access="participants",
        event_id=event_id,
    )
    upload(client, signer, material["id"], "Только для участников".encode(), "запись.txt")
    publish(client, signer, material["id"])
    assert client.get(f"/materials/{material['id']}/file").status_code == 404


def test_an_empty_file_is_refused(client: httpx.Client, signer: TokenSigner) -> None:
    material = new_material(client, signer, kind="other", title="Пустой файл")
    response = upload(client, signer, material["id"], b"", "пусто.txt")
    assert response.status_code == 422
    assert response.json()["detail"] == "the file is empty"
