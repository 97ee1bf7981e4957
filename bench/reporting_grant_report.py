"""The grant report over a programme's whole history, counted by the report view.

Starts Kafka on free ports and publishes a programme's history: 400 events (every second one
held, a day later than planned), R registrations of P people (a fifth waitlisted, one in
eleven cancelled later, a third with an attendance record) and a confirmation message for
each registration. Then, in the same run:
- baseline: a bare aiokafka consumer reading every topic from its beginning;
- the report view (what each reporting replica runs) reading the same from the beginning:
  its rate against the baseline's, and the memory it holds afterwards;
- the grant report for the year, as the API computes it (Kafka's end offsets now, then the
  count from the view), N times: median and worst; then its JSON, XLSX and PDF.
Goal (issue 6): the report for 100,000 participants and 1,000,000 registrations under 2 s.

    uv run python bench/reporting_grant_report.py [--registrations 1000000] [--people 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from reporting_rebuild import bare_read, publish

from etnik.common.contracts.notification import NotificationSent
from etnik.common.contracts.registration import (
    AttendanceRecorded,
    EventChanged,
    EventCreated,
    EventFormat,
    ParticipantCategory,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationWaitlisted,
)
from etnik.common.events import IntegrationEvent
from etnik.devstack import Stack
from etnik.reporting import domain, exports
from etnik.reporting.projections import ProjectionWriter
from etnik.reporting.rebuild import REPLAYED_TOPICS
from etnik.reporting.service import report_from_fold
from etnik.reporting.settings import ReportingSettings
from etnik.reporting.view import ReportView

T0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
CATEGORIES = list(ParticipantCategory)
DISTRICTS = ["ЦФО", "СЗФО", "ЮФО", "СКФО", "ПФО", "УФО", "СФО", "ДФО"]
PERIOD = domain.Period(date(2026, 1, 1), date(2026, 12, 31))
EVENTS = 400
TOPICS = sorted(
    {
        contract.topic
        for contract in (EventCreated, RegistrationConfirmed, AttendanceRecorded, NotificationSent)
    }
)


def programme_events() -> Iterator[IntegrationEvent]:
    """Every event created, and every second one held a day later than planned."""
    for number in range(EVENTS):
        planned = T0 + timedelta(days=number % 300)
        snapshot: dict[str, Any] = {
            "event_id": f"e{number}",
            "title": f"Стратегическая сессия №{number}",
            "track": f"track-{number % 6}",
            "format": EventFormat.ONLINE,
            "timezone": "Europe/Moscow",
            "federal_district": DISTRICTS[number % len(DISTRICTS)],
        }
        yield EventCreated(
            **snapshot, starts_at=planned, ends_at=planned + timedelta(hours=3), status="published"
        )
        if number % 2 == 0:
            held = planned + timedelta(days=1)
            yield EventChanged(
                **snapshot,
                starts_at=held,
                ends_at=held + timedelta(hours=3),
                status="completed",
                changes=["starts_at", "ends_at", "status"],
            )


def registration_history(number: int, people: int) -> Iterator[IntegrationEvent]:
    """One registration's events: registered, perhaps cancelled, perhaps attended; its message."""
    recorded = T0 + timedelta(minutes=number % 500_000)
    facts: dict[str, Any] = {
        "registration_id": f"r{number}",
        "event_id": f"e{number % EVENTS}",
        "person_id": f"p{number % people}",
        "category": CATEGORIES[number % len(CATEGORIES)],
        "region_code": f"{number % 89 + 1:02d}",
        "federal_district": DISTRICTS[number % len(DISTRICTS)],
        "organisation_id": f"o{number % 5000}",
    }
    if number % 5 == 0:
        yield RegistrationWaitlisted(**facts, registered_at=recorded)
    else:
        yield RegistrationConfirmed(**facts, registered_at=recorded)
    if number % 11 == 0:
        yield RegistrationCancelled(**facts, cancelled_at=recorded + timedelta(hours=2))
    if number % 3 == 0:
        yield AttendanceRecorded(
            registration_id=facts["registration_id"],
            event_id=facts["event_id"],
            person_id=facts["person_id"],
            attended=number % 4 != 0,
            method="qr",
            recorded_at=recorded + timedelta(days=1),
        )
    yield NotificationSent(
        message_id=f"m{number}",
        kind="confirmation",
        channel="email",
        person_id=facts["person_id"],
        trigger_event_id=f"t{number}",
        sent_at=recorded + timedelta(seconds=5),
    )


def history(registrations: int, people: int) -> Iterator[IntegrationEvent]:
    """The whole programme, events first."""
    yield from programme_events()
    for number in range(registrations):
        yield from registration_history(number, people)


def resident_mb() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def through_the_view(bootstrap: str, repeats: int) -> dict[str, Any]:
    """Catch the view up from the beginning, then time the report from it."""
    gc.collect()
    before_mb = resident_mb()
    view = ReportView(
        ProjectionWriter(b"bench-key-0123456789"),
        bootstrap_servers=bootstrap,
        topics=REPLAYED_TOPICS,
    )
    task = asyncio.create_task(view.run())
    try:
        started = time.perf_counter()
        await view.report(lambda fold: None, timeout_s=3600)
        results: dict[str, Any] = {"catch_up_s": time.perf_counter() - started}
        state = view.state()
        results["read"] = state.applied + state.skipped
        gc.collect()
        results["view_mb"] = resident_mb() - before_mb
        timings = []
        report: dict[str, Any] = {}
        for _ in range(repeats):
            started = time.perf_counter()
            report, _ = await view.report(
                lambda fold: report_from_fold(PERIOD, "", fold), timeout_s=60
            )
            timings.append(time.perf_counter() - started)
        results["report_median_s"] = statistics.median(timings)
        results["report_worst_s"] = max(timings)
        results["participants"] = report["results"]["participants"]
        results["registrations"] = report["results"]["attendance"]["registrations"]
        started = time.perf_counter()
        json.dumps(report, ensure_ascii=False)
        results["json_s"] = time.perf_counter() - started
        settings = ReportingSettings()
        started = time.perf_counter()
        exports.to_xlsx(report)
        results["xlsx_s"] = time.perf_counter() - started
        started = time.perf_counter()
        exports.to_pdf(report, font=settings.reporting_pdf_font)
        results["pdf_s"] = time.perf_counter() - started
        return results
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def main() -> int:
    """Run the benchmark and print a row for docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as run_dir, Stack.for_tests(Path(run_dir)) as stack:
        stack.fetch()
        stack.start_kafka()
        started = time.perf_counter()
        asyncio.run(
            publish(stack.kafka_bootstrap, history(args.registrations, args.people), TOPICS)
        )
        print(f"published in {time.perf_counter() - started:.0f} s", flush=True)
        read, bare_s = asyncio.run(bare_read(stack.kafka_bootstrap, TOPICS))
        print(f"bare consumer read {read} in {bare_s:.1f} s", flush=True)
        results = asyncio.run(through_the_view(stack.kafka_bootstrap, args.repeats))
    assert results["read"] == read, (results["read"], read)
    assert results["registrations"] == args.registrations, results
    bare_rate, view_rate = read / bare_s, read / results["catch_up_s"]
    for name, value in results.items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")
    print(f"view catch-up: {view_rate:,.0f} msg/s vs bare {bare_rate:,.0f} msg/s "
          f"(ratio {view_rate / bare_rate:.3f})")  # fmt: skip
    print(
        f"| reporting grant report | {args.people} people, {args.registrations} registrations, "
        f"{read} messages | {results['report_median_s']:.2f} s median, "
        f"{results['report_worst_s']:.2f} s worst | view {results['view_mb']:.0f} MB, catch-up "
        f"{view_rate:,.0f}/s vs bare {bare_rate:,.0f}/s | {platform.machine()}, "
        f"{datetime.now(UTC).date()} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
