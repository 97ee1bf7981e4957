"""Where the time of an invitation campaign goes: MongoDB commands, CPU, and py-spy samples.

Runs the notification service in this process (no HTTP server) on a fresh local stack,
publishes a campaign as bench/notification_campaign.py does, and waits until every
invitation is sent. Meanwhile:
- every MongoDB command is timed by a PyMongo command listener and grouped by command,
  collection and the shape of its filter (field names only);
- py-spy samples this process (all threads, idle frames left out) into a raw profile;
- the CPU seconds of FerretDB, Mailpit, Kafka and this process are read from /proc.

    uv run python bench/notification_profile.py [--count 500] [--py-spy profile.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pymongo import MongoClient, monitoring

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notification_campaign import campaign_events, daytime_zone, publish, publish_campaign

from etnik.common.mongo import create_mongo_client
from etnik.devstack import Stack

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _shape(value: Any) -> str:
    """Field names of a filter, operators kept, values dropped."""
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{k}:{_shape(v)}" if isinstance(v, dict) else k for k, v in value.items())
            + "}"
        )
    return "?"


class CommandTimes(monitoring.CommandListener):
    """Round-trip time of every command, by command, collection and filter shape."""

    def __init__(self) -> None:
        self.keys: dict[int, str] = {}
        self.totals: dict[str, list[float]] = collections.defaultdict(list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:  # type: ignore[override]
        command = event.command
        name = event.command_name
        collection = command.get(name, "")
        if name in {"find", "count", "findAndModify", "delete"}:
            detail = _shape(command.get("filter", command.get("query", {})))
        elif name == "update":
            detail = ";".join(sorted({_shape(u.get("q", {})) for u in command.get("updates", [])}))
            detail += f" x{len(command.get('updates', []))}"
        elif name == "insert":
            detail = f"x{len(command.get('documents', []))}"
        elif name == "aggregate":
            detail = _shape((command.get("pipeline") or [{}])[0])
        else:
            detail = ""
        self.keys[event.request_id] = f"{name} {collection} {detail}"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:  # type: ignore[override]
        self._done(event.request_id, event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:  # type: ignore[override]
        self._done(event.request_id, event.duration_micros)

    def _done(self, request_id: int, micros: int) -> None:
        key = self.keys.pop(request_id, "?")
        self.totals[key].append(micros / 1000)

    def report(self, wall_s: float, top: int = 25) -> Iterator[str]:
        rows = sorted(self.totals.items(), key=lambda item: -sum(item[1]))
        total = sum(sum(v) for v in self.totals.values())
        yield f"MongoDB round trips: {total / 1000:.1f} s over {wall_s:.1f} s of wall time"
        yield f"{'total s':>8} {'share':>6} {'calls':>6} {'mean ms':>8}  command"
        for key, times in rows[:top]:
            yield (
                f"{sum(times) / 1000:8.1f} {sum(times) / total:6.0%} {len(times):6d} "
                f"{sum(times) / len(times):8.1f}  {key}"
            )


def listen_to_service_clients(listener: CommandTimes) -> None:
    """Have every service app created from now on in this process time its commands."""
    import etnik.common.app as app_module

    app_module.create_mongo_client = functools.partial(  # type: ignore[assignment]
        create_mongo_client, event_listeners=[listener]
    )


@contextlib.asynccontextmanager
async def service_in_process(
    stack: Stack, service: str, listener: CommandTimes, **env: str
) -> AsyncIterator[FastAPI]:
    """One service's app started in this process, its MongoDB commands timed, once it has
    reached Kafka and set up its database."""
    os.environ.update(stack.service_env(service))
    os.environ.update({"LOG_LEVEL": "WARNING", **env})
    listen_to_service_clients(listener)
    app: FastAPI = importlib.import_module(f"etnik.{service}.main").create_app()
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        await asyncio.wait_for(runtime.kafka.started.wait(), 60)
        await asyncio.wait_for(runtime.database_initialised.wait(), 60)
        yield app


def cpu_seconds(pid: int | None) -> float:
    """User and system CPU of a process so far."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_for_recipients(stack: Stack, count: int) -> None:
    """Block until the service has projected `count` recipients (not timed)."""
    with MongoClient(stack.mongodb_url) as client:
        recipients = client[stack.database_name("notification")]["recipients"]
        while recipients.count_documents({}) < count:
            time.sleep(2)


async def run_service(
    stack: Stack, count: int, zone: str, listener: CommandTimes, *, people_first: bool
) -> float:
    """Start the service in this process, publish the campaign, wait until all is sent."""
    async with service_in_process(stack, "notification", listener, INVITATION_RATE_PER_S="100000"):
        if people_first:
            people, invitations = campaign_events(count, zone)
            await publish(stack, people)
            await asyncio.to_thread(wait_for_recipients, stack, count)
            listener.totals.clear()
            started = time.perf_counter()
            await publish(stack, invitations)
        else:
            started = time.perf_counter()
            await publish_campaign(stack, count, zone)
        # Mailpit counts what arrived; a count in FerretDB would scan the messages meanwhile.
        async with httpx.AsyncClient(base_url=stack.mailpit_api, timeout=10) as mailpit:
            while True:
                await asyncio.sleep(0.5)
                total = (await mailpit.get("/api/v1/messages", params={"limit": 1})).json()
                if total["total"] >= count:
                    break
        with MongoClient(stack.mongodb_url) as client:
            messages = client[stack.database_name("notification")]["messages"]
            while True:
                sent = await asyncio.to_thread(
                    messages.count_documents, {"kind": "invitation", "status": "sent"}
                )
                if sent >= count:
                    wall = time.perf_counter() - started
                    leases = client[stack.database_name("notification")]["message_leases"]
                    by_generation = collections.Counter(
                        d["generation"] for d in leases.find({}, {"generation": 1})
                    )
                    print(f"claims by generation: {dict(sorted(by_generation.items()))}")
                    return wall
                await asyncio.sleep(0.5)


def main() -> int:
    """Run, then print where the time went."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--py-spy", type=Path, help="write py-spy's raw (collapsed) samples here")
    parser.add_argument("--people-first", action="store_true", help="as notification_campaign.py")
    args = parser.parse_args()
    zone = daytime_zone()
    listener = CommandTimes()
    with tempfile.TemporaryDirectory() as run_dir:
        stack = Stack.for_tests(Path(run_dir))
        with stack:
            stack.fetch()
            stack.start_infra()
            others = {name: stack.pid(name) for name in ("ferretdb", "mailpit", "kafka")}
            spy = None
            if args.py_spy:
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                spy = subprocess.Popen(
                    [py_spy, "record", "--pid", str(os.getpid()), "--format", "raw",
                     "--rate", "50", "--output", str(args.py_spy), "--nonblocking"],
                    stdout=subprocess.DEVNULL,
                )  # fmt: skip
            before = {name: cpu_seconds(pid) for name, pid in others.items()}
            own_before = time.process_time()
            wall = asyncio.run(
                run_service(stack, args.count, zone, listener, people_first=args.people_first)
            )
            own = time.process_time() - own_before
            after = {name: cpu_seconds(pid) for name, pid in others.items()}
            if spy is not None:
                spy.send_signal(2)
                spy.wait(timeout=60)
    print(f"invitations: {args.count}; wall {wall:.1f} s; {args.count / wall:.1f} msg/s")
    print(f"CPU s: this process (service) {own:.1f}", end="")
    for name in others:
        print(f", {name} {after[name] - before[name]:.1f}", end="")
    print(f"; load average {os.getloadavg()[0]:.2f}")
    for line in listener.report(wall):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
