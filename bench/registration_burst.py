"""10,000 registrations for one event in a burst: no booking past capacity, none lost, and
the waitlist in arrival order.

Starts Kafka, FerretDB and Mailpit on free ports and the registration service, creates an
event with --capacity places, then sends --registrations forms with --concurrency in
flight straight to the service (the gateway's rate limit would only slow the burst). Then
it checks, from the service's own database:
- exactly `capacity` registrations hold a place, each on its own seat number;
- every registration answered 201 is stored, and nothing else is;
- the waitlist, read in the order the service serves it, is in order of arrival;
- the rate held: registrations per second over the last tenth against the first tenth.

    uv run python bench/registration_burst.py [--registrations 10000] [--capacity 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter

import httpx
from pymongo import MongoClient
from registration_throughput import bench_stack, create_event, wait_ready

from etnik.devstack import Stack


def tenth_rates(answered_at: list[float]) -> tuple[float, float]:
    """Answers per second over the first and over the last tenth of the answers."""
    times = sorted(answered_at)
    tenth = max(2, len(times) // 10)
    first, last = times[:tenth], times[-tenth:]
    return (tenth - 1) / (first[-1] - first[0]), (tenth - 1) / (last[-1] - last[0])


async def burst(
    url: str, count: int, concurrency: int, answered_at: list[float]
) -> tuple[dict[str, str], Counter[int]]:
    """Send the forms; the id and status of each one accepted, and the status codes seen
    (each answer's moment appended to `answered_at`)."""
    accepted: dict[str, str] = {}
    codes: Counter[int] = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(count):
        queue.put_nowait(number)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                number = queue.get_nowait()
                body = {
                    "full_name": f"Участник {number}",
                    "email": f"burst.{number}.{uuid.uuid4().hex[:6]}@example.org",
                    "category": "ngo_leader",
                    "consent_personal_data": True,
                }
                key = uuid.uuid4().hex
                for _ in range(5):  # a 503 says "retry": a client retries with the same key
                    response = await client.post(url, json=body, headers={"Idempotency-Key": key})
                    if response.status_code != 503:
                        break
                    await asyncio.sleep(0.5)
                codes[response.status_code] += 1
                answered_at.append(time.perf_counter())
                if response.status_code == 201:
                    accepted[response.json()["id"]] = response.json()["status"]

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return accepted, codes


def check(stack: Stack, event_id: str, capacity: int, accepted: dict[str, str]) -> list[str]:
    """What is wrong with the stored registrations, if anything."""
    problems = []
    with MongoClient(stack.mongodb_url, tz_aware=True) as client:
        stored = list(
            client[stack.database_name("registration")]["registrations"].find(
                {"event_id": event_id},
                {"status": 1, "seat": 1, "created_at": 1, "waitlisted_at": 1},
            )
        )
    by_id = {r["_id"]: r for r in stored}
    holding = [r for r in stored if r["status"] in ("confirmed", "offered")]
    if len(holding) != capacity:
        problems.append(f"{len(holding)} registrations hold a place; capacity is {capacity}")
    seats = [r["seat"] for r in holding]
    if len(set(seats)) != len(seats) or not all(1 <= s <= capacity for s in seats):
        problems.append("seat numbers are not unique and within capacity")
    if set(by_id) != set(accepted):
        lost = len(set(accepted) - set(by_id))
        extra = len(set(by_id) - set(accepted))
        problems.append(f"{lost} accepted registrations missing, {extra} never answered")
    waiting = sorted(
        (r for r in stored if r["status"] == "waitlisted"),
        key=lambda r: (r["waitlisted_at"], r["_id"]),
    )
    arrivals = [r["created_at"] for r in waiting]
    if arrivals != sorted(arrivals):
        problems.append("the waitlist is not in order of arrival")
    if len(waiting) != len(stored) - capacity:
        problems.append(f"{len(waiting)} waitlisted of {len(stored)} with {capacity} places")
    return problems


def main() -> int:
    """Run the burst and the checks; exit 1 when a check fails."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--capacity", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with bench_stack() as stack:
        stack.start_service("registration")
        base = stack.service_url("registration")
        wait_ready([f"{base}/readyz"], timeout=60)
        event_id = create_event(base, args.capacity)
        started = time.perf_counter()
        answered_at: list[float] = []
        url = f"{base}/events/{event_id}/registrations"
        accepted, codes = asyncio.run(burst(url, args.registrations, args.concurrency, answered_at))
        elapsed = time.perf_counter() - started
        problems = check(stack, event_id, args.capacity, accepted)
    statuses = Counter(accepted.values())
    print(
        f"{args.registrations} registrations, capacity {args.capacity}, "
        f"concurrency {args.concurrency}: {elapsed:.1f} s ({args.registrations / elapsed:.1f}/s)"
    )
    print(f"answers: {dict(codes)}; accepted as: {dict(statuses)}")
    start_rate, end_rate = tenth_rates(answered_at)
    print(
        f"rate over the first tenth {start_rate:.1f}/s, over the last tenth {end_rate:.1f}/s "
        f"(start/end x{start_rate / end_rate:.2f}; target within x1.5)"
    )
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print("no booking past capacity, none lost, waitlist in arrival order")
    return 1 if problems or codes.get(201, 0) != args.registrations else 0


if __name__ == "__main__":
    sys.exit(main())
