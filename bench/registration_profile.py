"""Where a registration's time goes: every MongoDB command it sends, timed and grouped.

Starts Kafka, FerretDB and Mailpit on free ports, runs the registration service in this
process with a PyMongo command listener on its client, and posts registrations straight to
the app (no gateway) with --concurrency in flight. Prints the commands by total round-trip
time (command, collection and filter shape), the commands per registration, and the CPU
FerretDB used against the service's. Companion of bench/registration_throughput.py.

    uv run python bench/registration_profile.py [--count 300] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notification_profile import CommandTimes, cpu_seconds, service_in_process
from registration_throughput import ADMIN, bench_stack, form

from etnik.devstack import Stack


async def run_service(stack: Stack, count: int, concurrency: int, listener: CommandTimes) -> float:
    """Start the service in this process, post `count` registrations; the wall time."""
    async with service_in_process(stack, "registration", listener) as app:
        runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app", timeout=60) as c:
            token = (await c.post("/auth/token", json=ADMIN)).json()["access_token"]
            created = await c.post(
                "/events",
                json={"title": "Профиль регистрации", "format": "online",
                      "starts_at": "2027-03-01T11:00:00Z", "ends_at": "2027-03-01T14:00:00Z",
                      "status": "registration_open"},
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            created.raise_for_status()
            url = f"/events/{created.json()['id']}/registrations"
            # Warm-up until an event goes to Kafka on the request path (the producer is up).
            outbox = runtime.outbox
            while True:
                await c.post(url, json=form(0), headers={"Idempotency-Key": uuid.uuid4().hex})
                await asyncio.sleep(1)
                if not outbox.degraded:
                    break
            await asyncio.sleep(3)  # the relay publishes what the warm-up left
            listener.totals.clear()
            numbers = iter(range(count))
            failures = 0

            async def worker() -> None:
                nonlocal failures
                for number in numbers:
                    answer = await c.post(
                        url, json=form(number), headers={"Idempotency-Key": uuid.uuid4().hex}
                    )
                    failures += answer.status_code != 201

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            wall = time.perf_counter() - started
            if failures:
                print(f"{failures} registrations were refused")
            return wall


def main() -> int:
    """Run, then print where the time went."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    listener = CommandTimes()
    with bench_stack() as stack:
        ferretdb = stack.pid("ferretdb")
        before_db, before_us = cpu_seconds(ferretdb), cpu_seconds(os.getpid())
        wall = asyncio.run(run_service(stack, args.count, args.concurrency, listener))
        db_cpu, our_cpu = cpu_seconds(ferretdb) - before_db, cpu_seconds(os.getpid()) - before_us
    calls = sum(len(times) for times in listener.totals.values())
    print(f"{args.count} registrations, concurrency {args.concurrency}: {args.count / wall:.1f}/s")
    print(f"{calls / args.count:.1f} MongoDB commands per registration")
    print(f"CPU: FerretDB {db_cpu:.1f} s, this process {our_cpu:.1f} s, wall {wall:.1f} s")
    for line in listener.report(wall):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
