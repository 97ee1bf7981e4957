"""Kafka, FerretDB and Mailpit for real: they answer, restart, and leave nothing behind."""

from __future__ import annotations

import asyncio
import smtplib
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from pymongo import MongoClient

from etnik.devstack import Stack
from etnik.devstack.ports import port_is_free

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kafka, FerretDB and Mailpit on free ports, for the tests of this module."""
    # environ={}: these tests check FerretDB as the stack starts it, whatever MONGODB_URL says.
    stack = Stack.for_tests(tmp_path_factory.mktemp("infra"), environ={})
    stack.fetch()
    try:
        stack.start_infra()
        yield stack
    finally:
        stack.stop()


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def _consume_all(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            values += [record.value for records in batches.values() for record in records]
        return values
    finally:
        await consumer.stop()


async def test_kafka_takes_and_keeps_events_across_a_restart(stack: Stack) -> None:
    topic = f"etnik.devstack-test.{uuid.uuid4().hex[:8]}.v1"
    await _create_topic(stack.kafka_bootstrap, topic)
    await _produce(stack.kafka_bootstrap, topic, b"before")

    stack.stop_kafka()
    assert port_is_free(stack.ports.kafka)
    stack.start_kafka()  # same data directory, same port

    await _produce(stack.kafka_bootstrap, topic, b"after")
    assert await _consume_all(stack.kafka_bootstrap, topic, 2) == [b"before", b"after"]


async def test_kafka_does_not_create_topics_by_itself(stack: Stack) -> None:
    topic = f"etnik.devstack-test.typo-{uuid.uuid4().hex[:8]}.v1"
    with pytest.raises((TimeoutError, KafkaError)):
        await asyncio.wait_for(_produce(stack.kafka_bootstrap, topic, b"lost"), timeout=5)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        assert topic not in await admin.list_topics()
    finally:
        await admin.close()


def test_ferretdb_answers_ping_and_stores_documents(stack: Stack) -> None:
    assert stack.mongodb_url.startswith("mongodb://127.0.0.1:")
    client: MongoClient[dict[str, object]] = MongoClient(
        stack.mongodb_url, serverSelectionTimeoutMS=5000
    )
    try:
        assert client.admin.command("ping")["ok"] == 1.0
        collection = client["etnik_devstack_test"]["things"]
        collection.insert_one({"_id": "one", "name": "Этническая НКО"})
        assert collection.find_one({"_id": "one"}) == {"_id": "one", "name": "Этническая НКО"}
    finally:
        client.close()


def test_ferretdb_on_postgresql_stores_documents_and_leaves_nothing_behind(
    tmp_path: Path, process_alive: Callable[[int], bool]
) -> None:
    stack = Stack.for_tests(tmp_path, environ={"ETNIK_FERRETDB_HANDLER": "postgresql"})
    stack.fetch()
    try:
        stack.start_ferretdb()
        with MongoClient(stack.mongodb_url, serverSelectionTimeoutMS=5000) as client:
            collection = client["etnik_devstack_test"]["things"]
            collection.insert_one({"_id": "one", "name": "Этническая НКО"})
            assert collection.find_one({"_id": "one"}) == {"_id": "one", "name": "Этническая НКО"}
        pids = [stack.pid(name) for name in stack.started_names]
        assert sorted(stack.started_names) == ["ferretdb", "postgresql"]
        cluster = stack.postgresql_data_dir
        assert (cluster / "PG_VERSION").exists()
    finally:
        stack.stop()
    assert all(pid is not None and not process_alive(pid) for pid in pids)
    assert port_is_free(stack.ports.postgres)
    assert port_is_free(stack.ports.mongo)
    # A cluster kept outside the run folder (which the server account could not enter) goes too.
    assert cluster.is_relative_to(stack.run_dir) or not cluster.exists()


def test_mailpit_takes_mail_and_lists_it(stack: Stack) -> None:
    subject = f"Приглашение на стратегическую сессию {uuid.uuid4().hex[:6]}"
    message = EmailMessage()
    message["From"] = "noreply@etnik.example"
    message["To"] = "participant@example.org"
    message["Subject"] = subject
    message.set_content("Приглашаем принять участие в стратегической онлайн-сессии.")
    host, port = stack.smtp
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        smtp.login("any-user", "any-password")  # services configured with credentials work
        smtp.send_message(message)

    response = httpx.get(f"{stack.mailpit_api}/api/v1/messages", trust_env=False, timeout=10)
    response.raise_for_status()
    subjects = [item["Subject"] for item in response.json()["messages"]]
    assert subject in subjects


def test_stop_ends_every_process_and_frees_the_ports(
    tmp_path: Path, process_alive: Callable[[int], bool]
) -> None:
    stack = Stack.for_tests(tmp_path, environ={})
    stack.start_infra()
    pids = [stack.pid(name) for name in stack.started_names]
    assert sorted(stack.started_names) == ["ferretdb", "kafka", "mailpit", "postgresql"]

    stack.stop()

    assert all(pid is not None and not process_alive(pid) for pid in pids)
    assert all(port_is_free(port) for port in stack.ports.as_dict().values())
    assert stack.started_names == []
