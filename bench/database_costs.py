"""What one MongoDB command costs on the database in use, as its collection grows.

Every figure in docs/benchmarks.md is bounded by the MongoDB-compatible server underneath.
This measures its primitives on one collection of N documents (random string `_id`s, as the
services use, plus a unique secondary index): `insert_one`, `find_one` and `update_one` by
`_id`, `find_one` by the indexed field, and an `_id` filter with one more condition (as the
outbox's clear uses). Look-ups pick documents spread evenly over the collection, so a scan
costs its average, not its best case. A server that uses its indexes answers in about the
same time at every size; one that scans answers in time proportional to N.

    uv run python bench/database_costs.py [--sizes 1000 10000 30000] [--mongodb-url URL]

Without --mongodb-url (or MONGODB_URL) it starts the project's FerretDB v1 on a free port,
over the store that ETNIK_FERRETDB_HANDLER names (postgresql or sqlite).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from etnik.devstack import Stack

SAMPLES = 40


async def median_ms(operation: Callable[[Any], Awaitable[object]], keys: list[Any]) -> float:
    """Median wall time of the operation, once per key, in milliseconds."""
    times = []
    for key in keys:
        started = time.perf_counter()
        await operation(key)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(url: str, size: int) -> dict[str, float]:
    """Costs of each primitive on a fresh collection of `size` documents."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        database = client["etnik_bench_costs"]
        await database.drop_collection("documents")
        collection = database["documents"]
        await collection.create_index("email", unique=True)
        documents = [
            {"_id": uuid.uuid4().hex, "email": f"p{n}@example.org", "n": n, "outbox": []}
            for n in range(size)
        ]
        for start in range(0, size, 1000):
            await collection.insert_many(documents[start : start + 1000])
        step = max(1, size // (SAMPLES * 4))
        spread = documents[::step][: SAMPLES * 4]
        ids = [document["_id"] for document in spread]
        emails = [document["email"] for document in spread]
        return {
            "insert_one": await median_ms(
                lambda n: collection.insert_one({"_id": uuid.uuid4().hex, "email": f"new{n}@x"}),
                list(range(SAMPLES)),
            ),
            "find_one by _id": await median_ms(
                lambda key: collection.find_one({"_id": key}), ids[0::4]
            ),
            "find_one by indexed field": await median_ms(
                lambda key: collection.find_one({"email": key}), emails[1::4]
            ),
            "update_one by _id": await median_ms(
                lambda key: collection.update_one({"_id": key}, {"$set": {"seen": True}}),
                ids[2::4],
            ),
            "update_one by _id and an array": await median_ms(
                lambda key: collection.update_one(
                    {"_id": key, "outbox": []}, {"$set": {"seen": True}}
                ),
                ids[3::4],
            ),
            "update_one by _id and a string": await median_ms(
                lambda pair: collection.update_one(
                    {"_id": pair[0], "email": pair[1]}, {"$set": {"seen": 2}}
                ),
                list(zip(ids[0::4], emails[0::4], strict=True)),
            ),
        }
    finally:
        await client.close()


def table(url_label: str, sizes: list[int], results: dict[int, dict[str, float]]) -> str:
    """A Markdown table of the medians, one row per primitive, one column per size."""
    header = "| " + url_label + " | " + " | ".join(f"{size:,} docs" for size in sizes) + " |"
    rule = "| --- |" + " --- |" * len(sizes)
    rows = [
        f"| {name} | " + " | ".join(f"{results[size][name]:.1f} ms" for size in sizes) + " |"
        for name in results[sizes[0]]
    ]
    return "\n".join([header, rule, *rows])


def report(url: str, label: str, sizes: list[int]) -> None:
    """Measure every size and print the table with the growth from smallest to largest."""
    results = {size: asyncio.run(measure(url, size)) for size in sizes}
    print(table(label, sizes, results))
    first, last = results[sizes[0]], results[sizes[-1]]
    growth = {name: last[name] / first[name] for name in first}
    print(
        f"\ngrowth from {sizes[0]:,} to {sizes[-1]:,} documents (x{sizes[-1] / sizes[0]:.0f}): "
        + ", ".join(f"{name} x{factor:.1f}" for name, factor in growth.items())
    )


def main() -> int:
    """Run the measurement against the given server or a freshly started FerretDB."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 30_000])
    parser.add_argument(
        "--mongodb-url",
        default=os.environ.get("MONGODB_URL"),
        help="measure this server instead of FerretDB (default: MONGODB_URL)",
    )
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load {os.getloadavg()}")
    if args.mongodb_url:
        report(args.mongodb_url, "server at --mongodb-url", sizes)
        return 0
    with tempfile.TemporaryDirectory() as run_dir, Stack.for_tests(Path(run_dir)) as stack:
        stack.fetch()
        stack.start_ferretdb()
        report(stack.mongodb_url, stack.mongodb_label, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
