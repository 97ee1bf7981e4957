"""Search over 10,000 published materials: p95 latency through the service, against the bare query.

Starts Kafka and FerretDB on free ports and the content service as its own process, stores
10,000 published public materials with their index terms (as the service would store
them) and bumps the search revision as a writer would, then in the same run times:
- baseline: the same query filtered in the database (one page + count) straight from PyMongo,
  which on FerretDB v1 reads the whole collection; fewer rounds, since each takes seconds;
- ours: GET /materials?q=... over HTTP, answered from the service's in-memory index.
Target: p95 through the service under 100 ms.

    uv run python bench/content_search.py [--materials 10000] [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import DESCENDING, MongoClient

from etnik.content import search
from etnik.devstack import Stack

SUBJECTS = [
    "стратегия развития",
    "этнокультурные организации",
    "национальные традиции",
    "молодёжные инициативы",
    "грантовая поддержка",
    "межнациональный диалог",
    "волонтёрские программы",
    "родной язык",
    "народные промыслы",
    "фольклорный ансамбль",
    "культурное наследие",
    "социальное проектирование",
    "наставничество",
    "медиа и сми",
    "финансовая устойчивость",
    "партнёрство с властью",
    "этнический туризм",
    "кухня народов",
]
KINDS = ["recommendation", "presentation", "agenda", "session_recording", "other"]
DISTRICTS = ["ЦФО", "СЗФО", "ЮФО", "СКФО", "ПФО", "УФО", "СФО", "ДФО"]


def materials(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Published public materials with titles and descriptions mixed from the subjects."""
    now = datetime.now(UTC)
    made = []
    for number in range(count):
        title = f"{rng.choice(SUBJECTS).capitalize()}: {rng.choice(SUBJECTS)} № {number}"
        description = " ".join(rng.choice(SUBJECTS) for _ in range(12))
        made.append(
            {
                "_id": uuid.uuid4().hex,
                "kind": rng.choice(KINDS),
                "title": title,
                "description": description,
                "status": "published",
                "access": "public",
                "language": "ru",
                "federal_district": rng.choice(DISTRICTS),
                "tags": [],
                "authors": [],
                "version": 3,
                "created_at": now,
                "updated_at": now - timedelta(seconds=number),
                "file": None,
                "file_terms": [],
                "search_terms": search.terms(title, description),
                "history": [],
            }
        )
    return made


def percentile(samples: list[float], fraction: float) -> float:
    """The value below which `fraction` of the samples fall."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    """Measure, print p50/p95 of both paths; exit 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--materials", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(20261125)
    queries = [rng.choice(SUBJECTS).split()[0] for _ in range(args.queries)]
    with tempfile.TemporaryDirectory() as run_dir, Stack.for_tests(Path(run_dir)) as stack:
        stack.fetch()
        stack.start_infra()
        stack.start_service("content")
        with MongoClient(stack.mongodb_url, tz_aware=True) as mongo:
            collection = mongo[stack.database_name("content")]["materials"]
            for start in range(0, args.materials, 1000):
                collection.insert_many(materials(min(1000, args.materials - start), rng))
            # What the service's own writes do: tell every process's index to look.
            mongo[stack.database_name("content")]["catalogue"].update_one(
                {"_id": "search_revision"}, {"$inc": {"n": 1}}, upsert=True
            )
            projection = {"history": 0, "search_terms": 0, "file_terms": 0}

            def bare(text: str) -> None:
                query = {
                    "$and": [
                        {"status": "published", "$or": [{"access": "public"}]},
                        {"search_terms": {"$all": search.terms(text)}},
                    ]
                }
                list(collection.find(query, projection).sort("updated_at", DESCENDING).limit(20))
                collection.count_documents(query)

            url = f"{stack.service_url('content')}/materials"
            with httpx.Client(timeout=30) as client:

                def ours(text: str) -> None:
                    client.get(url, params={"q": text}).raise_for_status()

                deadline = time.monotonic() + 300
                while client.get(url).json()["total"] < args.materials:
                    if time.monotonic() > deadline:
                        raise SystemExit("the service's index did not take in the materials")
                    time.sleep(1)
                timings: dict[str, list[float]] = {"bare": [], "ours": []}
                for number, text in enumerate(queries):
                    runs = (("ours", ours), ("bare", bare))
                    for name, run in runs[: 2 if number < args.baseline_queries else 1]:
                        started = time.perf_counter()
                        run(text)
                        timings[name].append((time.perf_counter() - started) * 1000)
    p95 = {name: percentile(values, 0.95) for name, values in timings.items()}
    print(f"{args.materials} materials, {args.queries} queries ({args.baseline_queries} baseline)")
    for name, label in (("bare", "PyMongo query directly"), ("ours", "GET /materials?q=")):
        values = timings[name]
        print(f"{label:24s} p50 {statistics.median(values):7.1f} ms   p95 {p95[name]:7.1f} ms")
    print(f"ratio of p95: {p95['ours'] / p95['bare']:.2f}; target p95 < 100 ms")
    return 0 if p95["ours"] < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
