"""Fixtures of reporting's integration tests: projection generations on the test stack's
FerretDB, each in a database of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from etnik.devstack import Stack
from etnik.reporting.projections import Generations

from ..folding import PSEUDONYM_KEY


@asynccontextmanager
async def fresh_generations(infra: Stack, *, cache_s: float) -> AsyncIterator[Generations]:
    """Initialised generations in a new database, dropped afterwards."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    db = client[f"test_reporting_{uuid.uuid4().hex[:10]}"]
    generations = Generations(db, PSEUDONYM_KEY, cache_s=cache_s)
    await generations.ensure_initialised()
    try:
        yield generations
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.fixture
def new_generations(infra: Stack) -> Callable[[float], AbstractAsyncContextManager[Generations]]:
    """Fresh generations with the given state cache, in a database of their own."""
    return lambda cache_s: fresh_generations(infra, cache_s=cache_s)


@pytest.fixture
async def generations(
    new_generations: Callable[[float], AbstractAsyncContextManager[Generations]],
) -> AsyncIterator[Generations]:
    """Fresh generations, their state cached 10 ms."""
    async with new_generations(0.01) as generations:
        yield generations
