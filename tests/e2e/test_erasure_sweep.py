"""Erasure reaches every copy: a person registers, receives mail (the confirmation, a sign-in
link), is named as an author of a material in a compiled collection, and erases themself;
afterwards no MongoDB database of the stack and no Kafka topic (read from its beginning once
compaction has run) holds their e-mail address or their name in clear."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import secrets
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from bson import Binary
from pymongo import MongoClient
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from etnik.common.settings import TEST_COMPACTION
from etnik.devstack import Stack
from helpers import Mailpit, bearer, create_open_event, register, staff_token, wait_until

# MongoDB's own databases hold nothing of the platform's.
SYSTEM_DATABASES = {"admin", "config", "local"}
SEGMENT_S = int(TEST_COMPACTION["segment.ms"]) / 1000


@dataclass(frozen=True)
class Copy:
    """Where a clear copy of the e-mail address or the name was found."""

    place: str
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.place}: {self.where} ({self.what})"


def cyrillic_surname() -> str:
    """A surname no other test uses, so that any copy found is this person's."""
    letters = "бвгджзклмнпрстфхцчшщ"
    vowels = "аеиоуя"
    return "Забыт" + "".join(secrets.choice(letters) + secrets.choice(vowels) for _ in range(4))


def needles(text: str) -> list[bytes]:
    """The forms a string takes in storage and on the wire: UTF-8, JSON-escaped, lower case
    (search terms); for a name, its last word alone too (the surname is the unique part)."""
    last = text.split()[-1]
    variants = {text, text.lower(), last, last.lower()}
    forms = {form for v in variants for form in (v.encode(), json.dumps(v).strip('"').encode())}
    return sorted(forms)


def found_in(data: bytes, wanted: list[bytes]) -> bool:
    return any(needle in data for needle in wanted)


# --- MongoDB ---------------------------------------------------------------------------------


def paths_holding(value: Any, wanted: list[bytes], path: str = "") -> Iterator[str]:
    """The paths inside a document whose string or binary value holds one of the needles."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if found_in(str(key).encode(), wanted):
                yield f"{path}.{key} (the key)".lstrip(".")
            yield from paths_holding(inner, wanted, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from paths_holding(inner, wanted, f"{path}[{index}]")
    elif isinstance(value, str):
        if found_in(value.encode(), wanted):
            yield path.lstrip(".")
    elif isinstance(value, bytes | Binary) and (
        found_in(bytes(value), wanted) or found_in(inflated(bytes(value)), wanted)
    ):
        yield path.lstrip(".")


def inflated(data: bytes) -> bytes:
    """The zlib streams inside a file (a PDF's text is deflated), inflated where they can be."""
    parts = []
    for match in re.finditer(rb"stream\r?\n", data):
        try:
            parts.append(zlib.decompressobj().decompress(data[match.end() :]))
        except zlib.error:
            continue
    return b"".join(parts)


def pdf_text(data: bytes) -> bytes:
    """A PDF's text as a reader sees it (embedded fonts make the raw bytes glyph codes)."""
    if not data.startswith(b"%PDF"):
        return b""
    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages).encode()
    except PyPdfError:
        return b""


def mongodb_copies(stack: Stack, wanted: list[bytes]) -> list[Copy]:
    """Every field of every document of every database that holds a needle; GridFS files are
    also read whole (their chunks joined), and their deflated streams inflated."""
    copies: list[Copy] = []
    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_url)
    try:
        for database_name in client.list_database_names():
            if database_name in SYSTEM_DATABASES:
                continue
            database = client[database_name]
            for collection_name in database.list_collection_names():
                collection = database[collection_name]
                for document in collection.find({}):
                    for path in paths_holding(document, wanted):
                        copies.append(
                            Copy(
                                f"{database_name}.{collection_name}", path, f"_id {document['_id']}"
                            )
                        )
                if collection_name.endswith(".chunks"):
                    copies += gridfs_copies(collection, database_name, wanted)
    finally:
        client.close()
    return copies


def gridfs_copies(chunks: Any, database_name: str, wanted: list[bytes]) -> list[Copy]:
    files: dict[Any, list[tuple[int, bytes]]] = {}
    for chunk in chunks.find({}, {"files_id": 1, "n": 1, "data": 1}):
        files.setdefault(chunk["files_id"], []).append((chunk["n"], bytes(chunk["data"])))
    copies = []
    for file_id, parts in files.items():
        whole = b"".join(data for _, data in sorted(parts))
        if found_in(whole, wanted) or found_in(inflated(whole) + pdf_text(whole), wanted):
            copies.append(Copy(f"{database_name}.{chunks.name}", "file", f"files_id {file_id}"))
    return copies


# --- Kafka -----------------------------------------------------------------------------------


async def platform_topics(stack: Stack) -> dict[str, dict[str, str]]:
    """Every topic of the stack (Kafka's internal ones aside): its cleanup policy and its
    number of partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        names = sorted(name for name in await admin.list_topics() if not name.startswith("__"))
        [response] = await admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, name, {"cleanup.policy": None})
                for name in names
            ]
        )
        partitions = {
            topic["topic"]: str(len(topic["partitions"]))
            for topic in await admin.describe_topics(names)
        }
        return {
            resource["resource_name"]: {
                "partitions": partitions[resource["resource_name"]],
                **{
                    entry["config_names"]: entry["config_value"]
                    for entry in resource["config_entries"]
                },
            }
            for resource in response.to_object()["resources"]
        }
    finally:
        await admin.close()


async def close_active_segments(stack: Stack, topics: list[str]) -> None:
    """Append a tombstone of an unused key to every partition of the compacted topics.

    Kafka never compacts a partition's active segment, and rolls a segment only when a record
    arrives after segment.ms: in production other people's records do that; here this record
    moves the erasure records out of the active segment, so that the cleaner can use them.
    """
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        key = f"erasure-sweep-{uuid.uuid4().hex}".encode()
        for topic in topics:
            for partition in await producer.partitions_for(topic):
                await producer.send_and_wait(topic, None, key=key, partition=partition)
    finally:
        await producer.stop()


async def kafka_copies(
    stack: Stack, topics: dict[str, dict[str, str]], wanted: list[bytes]
) -> list[Copy]:
    """Every record (key, value, headers) on these topics, from the beginning, holding a needle."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    copies: list[Copy] = []
    try:
        partitions = [
            TopicPartition(topic, number)
            for topic, config in sorted(topics.items())
            for number in range(int(config["partitions"]))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        deadline = asyncio.get_running_loop().time() + 60
        while pending:
            assert asyncio.get_running_loop().time() < deadline, f"could not read {pending}"
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    raw = b"".join(
                        [record.key or b"", record.value or b""]
                        + [value for _, value in record.headers or ()]
                    )
                    if found_in(raw, wanted):
                        kind = _event_type(record.value)
                        copies.append(
                            Copy(tp.topic, f"partition {tp.partition} offset {record.offset}", kind)
                        )
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return copies


def _event_type(value: bytes | None) -> str:
    try:
        return str(json.loads(value or b"null")["type"])
    except (ValueError, TypeError, KeyError):
        return "not a CloudEvent"


# --- the journey -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def erased_person(
    platform: Stack, gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> dict[str, str]:
    """A person who registered, received mail, was named an author, and erased themself."""
    email = f"sweep.{uuid.uuid4().hex[:10]}@example.org"
    full_name = f"Евгения Сергеевна {cyrillic_surname()}"
    event = create_open_event(gateway, operator_token, title="Сессия перед удалением данных")
    registered = register(gateway, event["id"], email, full_name=full_name)
    assert registered.status_code == 201, registered.text
    person_id = registered.json()["person_id"]
    wait_until(lambda: mailpit.messages_to(email), timeout=60, what="the confirmation")

    # A sign-in link by mail; the participant signs in with it.
    asked = gateway.post("/api/registration/auth/sign-in-link", json={"email": email})
    assert asked.status_code == 202, asked.text

    def sign_in_token() -> str | None:
        for summary in mailpit.messages_to(email):
            text = mailpit.message(summary["ID"]).get("Text", "")
            if match := re.search(r"/sign-in\?token=([A-Za-z0-9_\-]+)", text):
                return match.group(1)
        return None

    link_token = wait_until(sign_in_token, timeout=60, what="the sign-in link's mail")
    signed_in = gateway.post("/api/registration/auth/sign-in", json={"token": link_token})
    assert signed_in.status_code == 200, signed_in.text
    participant_token = signed_in.json()["access_token"]

    # Named as an author of a published material, compiled into a collection's PDF.
    staff = bearer(operator_token)
    collection = gateway.post(
        "/api/content/materials",
        json={"kind": "methodological_collection", "title": "Сборник перед удалением данных"},
        headers=staff,
    )
    assert collection.status_code == 201, collection.text
    material = gateway.post(
        "/api/content/materials",
        json={
            "kind": "recommendation",
            "title": "Рекомендации по работе с молодёжью",
            "authors": [{"name": full_name, "person_id": person_id}],
            "collection_id": collection.json()["id"],
        },
        headers=staff,
    )
    assert material.status_code == 201, material.text
    # A reviewer other than the writer approves it.
    reviewer = bearer(staff_token(gateway, operator_token, "moderator"))
    for step, caller in (("submit", staff), ("approve", reviewer)):
        moved = gateway.post(
            f"/api/content/materials/{material.json()['id']}/{step}", headers=caller
        )
        assert moved.status_code == 200, moved.text
    compiled = gateway.post(
        f"/api/content/materials/{collection.json()['id']}/compile", headers=staff
    )
    assert compiled.status_code == 200, compiled.text

    # The sweeps find the person before the erasure: what they search is where it is kept.
    wanted = needles(email) + needles(full_name)
    before = mongodb_copies(platform, wanted)
    print("before the erasure:", *before, sep="\n  ")
    holders = {
        service
        for service in ("registration", "notification", "content")
        for copy in before
        if copy.place.split(".", 1)[0].endswith(f"_{service}")
    }
    assert holders == {"registration", "notification", "content"}, before
    assert any(copy.where == "file" for copy in before), "the compiled collection's PDF"
    topics = asyncio.run(platform_topics(platform))
    on_topics = {copy.place for copy in asyncio.run(kafka_copies(platform, topics, wanted))}
    assert {"etnik.registration.people.v1", "etnik.registration.sign_in_links.v1"} <= on_topics

    erased = gateway.post("/api/registration/me/erase", headers=bearer(participant_token))
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] is True
    return {"email": email, "full_name": full_name, "person_id": person_id}


def test_no_database_holds_the_erased_persons_address_or_name(
    platform: Stack, erased_person: dict[str, str]
) -> None:
    wanted = needles(erased_person["email"]) + needles(erased_person["full_name"])
    # The services forget on PersonErased, each at its own pace: wait until nothing is left,
    # or say what stays where.
    copies: list[Copy] = []

    def swept_clean() -> bool:
        nonlocal copies
        copies = mongodb_copies(platform, wanted)
        return not copies

    with contextlib.suppress(pytest.fail.Exception):  # what is left is told below
        wait_until(swept_clean, timeout=60, what="every database to forget the person")
    assert not copies, "clear copies left after erasure:\n" + "\n".join(map(str, copies))


def test_no_kafka_topic_holds_the_erased_persons_address_or_name_after_compaction(
    platform: Stack, erased_person: dict[str, str]
) -> None:
    wanted = needles(erased_person["email"]) + needles(erased_person["full_name"])
    topics = asyncio.run(platform_topics(platform))
    compacted = [name for name, config in topics.items() if "compact" in config["cleanup.policy"]]
    assert "etnik.registration.people.v1" in compacted
    assert "etnik.registration.sign_in_links.v1" in compacted

    # The erasure records are written by now (the erasure answered after publishing them, or
    # the relay within seconds); a segment must be older than segment.ms to be closed.
    asyncio.run(asyncio.sleep(SEGMENT_S + 1))
    copies: list[Copy] = []

    def compacted_clean() -> bool:
        nonlocal copies
        asyncio.run(close_active_segments(platform, compacted))
        copies = asyncio.run(kafka_copies(platform, topics, wanted))
        return not copies

    with contextlib.suppress(pytest.fail.Exception):  # what is left is told below
        wait_until(compacted_clean, timeout=90, what="compaction to remove the person's records")
    assert not copies, "clear copies left on Kafka after compaction:\n" + "\n".join(
        map(str, copies)
    )
