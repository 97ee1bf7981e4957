"""The grant report over many registrations, against a bare read of the same documents.

Starts FerretDB on a free port, inserts R registration facts of P people (and 400 events,
half of them held) straight into a projection generation, then in the same run:
- baseline: a bare find() of every registration document of the period;
- ours: the grant report for the period (read, aggregate), then its XLSX and PDF files.
Goal (issue 6): the report for 100,000 participants and 1,000,000 registrations under 2 s.

    uv run python bench/reporting_grant_report.py [--registrations 1000000] [--people 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from etnik.devstack import Stack
from etnik.reporting import domain, exports
from etnik.reporting.projections import ProjectionStore
from etnik.reporting.settings import ReportingSettings

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
CATEGORIES = ["ngo_leader", "ngo_activist", "expert", "government_official", "media", "other"]
DISTRICTS = ["ЦФО", "СЗФО", "ЮФО", "СКФО", "ПФО", "УФО", "СФО", "ДФО"]
PERIOD = domain.Period(date(2026, 1, 1), date(2026, 12, 31))


def registration(number: int, people: int) -> dict[str, Any]:
    """One registration fact as the projection stores it."""
    recorded = T0 + timedelta(minutes=number % 500_000)
    fact: dict[str, Any] = {
        "_id": f"r{number}",
        "event_id": f"e{number % 400}",
        "person_ref": f"p{number % people:032d}",
        "category": CATEGORIES[number % len(CATEGORIES)],
        "region_code": f"{number % 89 + 1:02d}",
        "federal_district": DISTRICTS[number % len(DISTRICTS)],
        "organisation_id": f"o{number % 5000}",
        "rank": 3 if number % 11 == 0 else 2 if number % 5 else 1,
        "registered_at": recorded,
    }
    if number % 3:
        fact["attendance"] = domain.attendance_mark(recorded, attended=number % 4 != 0)
    return fact


def event(number: int) -> dict[str, Any]:
    """One programme event; every second one held, a day later than planned."""
    planned = T0 + timedelta(days=number % 300)
    held = number % 2 == 0
    return {
        "_id": f"e{number}",
        "title": f"Стратегическая сессия №{number}",
        "track": f"track-{number % 6}",
        "format": "online",
        "federal_district": DISTRICTS[number % len(DISTRICTS)],
        "status": "completed" if held else "registration_open",
        "planned_starts_at": planned,
        "planned_ends_at": planned + timedelta(hours=3),
        "starts_at": planned + timedelta(days=1 if held else 0),
        "ends_at": planned + timedelta(days=1 if held else 0, hours=3),
        "snapshot_at": planned,
    }


def aggregate_seconds(facts: list[dict[str, Any]], events: list[dict[str, Any]]) -> float:
    """The report's own work on facts already in memory: no database in the timing."""
    gc.freeze()  # what a long-lived process holds is not rescanned by each collection
    started = time.perf_counter()
    domain.grant_report(
        period=PERIOD, registrations=facts, events=events, notifications=[], qualitative=""
    )
    elapsed = time.perf_counter() - started
    gc.unfreeze()
    return elapsed


async def run(mongodb_url: str, registrations: int, people: int) -> dict[str, float]:
    """Seed, then time the bare read and the report."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    try:
        store = ProjectionStore(client["etnik_reporting_bench"], 1, b"bench-key-0123456789")
        await store.ensure_indexes()
        batch = 20_000
        for start in range(0, registrations, batch):
            end = min(start + batch, registrations)
            await store.load(
                {"registrations": [registration(n, people) for n in range(start, end)]}
            )
        await store.load({"events": [event(n) for n in range(400)]})

        started = time.perf_counter()
        bare = [doc async for doc in store.registrations.find({"registered_at": {"$gte": T0}})]
        timings: dict[str, float] = {"bare_find_s": time.perf_counter() - started}
        assert len(bare) == registrations
        events = await store.all_events()
        timings["aggregate_only_s"] = aggregate_seconds(bare, events)
        del bare

        started = time.perf_counter()
        report = domain.grant_report(
            period=PERIOD,
            registrations=await store.registrations_for(domain.Filters(period=PERIOD), None),
            events=await store.all_events(),
            notifications=await store.all_notifications(),
            qualitative="",
        )
        timings["report_s"] = time.perf_counter() - started
        # People whose registrations were all waitlisted or cancelled are not participants.
        assert 0 < report["results"]["participants"] <= people
        timings["participants"] = report["results"]["participants"]
        settings = ReportingSettings()
        started = time.perf_counter()
        exports.to_xlsx(report)
        timings["xlsx_s"] = time.perf_counter() - started
        started = time.perf_counter()
        exports.to_pdf(report, font=settings.reporting_pdf_font)
        timings["pdf_s"] = time.perf_counter() - started
        return timings
    finally:
        await client.close()


def main() -> int:
    """Run the benchmark and print a row for docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="time only the aggregation over facts built in memory (no FerretDB)",
    )
    args = parser.parse_args()
    if args.memory_only:
        facts = [registration(n, args.people) for n in range(args.registrations)]
        seconds = aggregate_seconds(facts, [event(n) for n in range(400)])
        print(f"aggregate_only_s: {seconds:.2f} ({args.registrations} registrations in memory)")
        return 0
    with tempfile.TemporaryDirectory() as run_dir, Stack.for_tests(Path(run_dir)) as stack:
        stack.fetch()
        stack.start_ferretdb()
        timings = asyncio.run(run(stack.mongodb_url, args.registrations, args.people))
    for name, value in timings.items():
        print(f"{name}: {value:.2f}")
    ratio = timings["bare_find_s"] / timings["report_s"]
    print(
        f"| reporting grant report | {args.people} people, {args.registrations} registrations "
        f"| {timings['report_s']:.2f} s vs bare find {timings['bare_find_s']:.2f} s "
        f"| {ratio:.2f} | {platform.machine()}, {datetime.now(UTC).date()} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
