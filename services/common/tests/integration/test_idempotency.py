"""Idempotency-Key on the real FerretDB: a repeat gets the first answer, and a key is never
left waiting forever on a request that stopped or whose answer could not be recorded."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import HTTPException
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from etnik.common.errors import Refused
from etnik.common.idempotency import IdempotencyStore
from etnik.devstack import Stack

Collection = AsyncCollection[dict[str, Any]]


@pytest.fixture
async def records(infra: Stack) -> AsyncIterator[Collection]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    database = client[f"test_idempotency_{uuid.uuid4().hex[:8]}"]
    try:
        yield database["idempotency_keys"]
    finally:
        await client.drop_database(database.name)
        await client.close()


class Work:
    """An action that counts its runs and answers 201 with the run number."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self) -> tuple[int, Any]:
        self.runs += 1
        return 201, {"run": self.runs}


async def call(store: IdempotencyStore, key: str, work: Work, body: str = "a") -> tuple[int, Any]:
    answer = await store.run(scope="test", key=key, request_fingerprint=body, action=work)
    return answer.status_code, json.loads(bytes(answer.body))


async def test_a_repeat_gets_the_first_answer_and_another_body_is_refused(
    records: Collection,
) -> None:
    store, work, key = IdempotencyStore(records), Work(), uuid.uuid4().hex
    assert await call(store, key, work) == (201, {"run": 1})
    assert await call(store, key, work) == (201, {"run": 1})
    with pytest.raises(HTTPException) as refused:
        await call(store, key, work, body="b")
    assert refused.value.status_code == 422
    assert work.runs == 1


async def test_a_request_in_progress_holds_its_key_until_it_is_abandoned(
    records: Collection,
) -> None:
    store, work, key = IdempotencyStore(records, abandoned_after_s=30), Work(), uuid.uuid4().hex
    started = {"_id": f"test:{key}", "fingerprint": "a", "state": "in_progress"}
    await records.insert_one({**started, "created_at": datetime.now(UTC)})
    with pytest.raises(HTTPException) as busy:
        await call(store, key, work)
    assert busy.value.status_code == 409
    assert work.runs == 0
    # The request that held it stopped a minute ago: a retry takes the key over.
    await records.update_one(
        {"_id": f"test:{key}"}, {"$set": {"created_at": datetime.now(UTC) - timedelta(minutes=1)}}
    )
    assert await call(store, key, work) == (201, {"run": 1})
    assert await call(store, key, work) == (201, {"run": 1})


async def test_an_answer_that_could_not_be_recorded_is_still_given_and_a_retry_is_free(
    records: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, work, key = IdempotencyStore(records), Work(), uuid.uuid4().hex

    async def busy(*args: Any, **kwargs: Any) -> None:
        raise OperationFailure("database is locked (SQLITE_BUSY)", code=1)

    monkeypatch.setattr(records, "update_one", busy)
    assert await call(store, key, work) == (201, {"run": 1})
    monkeypatch.undo()
    # Not a 409 forever: the work runs again (it is repeatable) and its answer is kept.
    assert await call(store, key, work) == (201, {"run": 2})
    assert await call(store, key, work) == (201, {"run": 2})


async def test_a_refusal_is_the_answer_a_retry_gets_without_acting_again(
    records: Collection,
) -> None:
    store, key = IdempotencyStore(records), uuid.uuid4().hex
    tries = 0

    async def refuse() -> tuple[int, Any]:
        nonlocal tries
        tries += 1
        raise Refused(409, f"the event is full (try {tries})")

    for _ in range(2):
        answer = await store.run(scope="test", key=key, request_fingerprint="a", action=refuse)
        assert (answer.status_code, json.loads(bytes(answer.body))) == (
            409,
            {"detail": "the event is full (try 1)"},
        )
    assert tries == 1
    # Without a key it is answered the same way, every time.
    answer = await store.run(scope="test", key=None, request_fingerprint="a", action=refuse)
    assert json.loads(bytes(answer.body)) == {"detail": "the event is full (try 2)"}
