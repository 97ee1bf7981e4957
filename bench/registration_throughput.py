"""Registration POSTs through the gateway against a bare FastAPI endpoint doing one insert.

Starts Kafka, FerretDB and Mailpit on free ports, the registration service and the nginx
gateway (its rate limit raised out of the way), and the bare app of registration_bare.py on
the same FerretDB. In the same run:
- maximum throughput of each, closed loop with --concurrency requests in flight;
- latency of ours at half its maximum rate, open loop (requests sent on a fixed schedule).
Targets: our throughput at least half the baseline's; p99 under 100 ms at half our maximum.

    uv run python bench/registration_throughput.py [--seconds 15] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from etnik.devstack import Stack
from etnik.devstack.gateway import GatewayOptions

ROOT = Path(__file__).resolve().parent
ADMIN = {"email": "bench-admin@example.org", "password": "bench-admin-password-3c9d"}
ADMIN_ENV = {"ADMIN_EMAIL": ADMIN["email"], "ADMIN_PASSWORD": ADMIN["password"]}
# The gateway's rate limits would measure themselves, not the services.
UNLIMITED_GATEWAY = GatewayOptions(rate_api="100000r/s", rate_api_burst=100000)


@contextlib.contextmanager
def bench_stack(**env: str) -> Iterator[Stack]:
    """The infrastructure started on free ports in a temporary folder, with the benchmarks'
    administrator (and `env`) for the services and a gateway without rate limits to come."""
    with (
        tempfile.TemporaryDirectory() as run_dir,
        Stack.for_tests(
            Path(run_dir), env_overrides={**ADMIN_ENV, **env}, gateway_options=UNLIMITED_GATEWAY
        ) as stack,
    ):
        stack.fetch()
        stack.start_infra()
        yield stack


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def form(number: int) -> dict[str, Any]:
    """One participant's registration form."""
    return {
        "full_name": f"Участник Нагрузочный {number}",
        "email": f"bench.{uuid.uuid4().hex[:12]}@example.org",
        "category": "ngo_activist",
        "region_code": "16",
        "consent_personal_data": True,
    }


async def closed_loop(url: str, seconds: float, concurrency: int) -> tuple[float, list[float]]:
    """Requests per second with `concurrency` in flight, and each request's latency (ms)."""
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal failures
            number = 0
            while time.perf_counter() < deadline:
                number += 1
                started = time.perf_counter()
                response = await client.post(
                    url, json=form(number), headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                if response.status_code != 201:
                    failures += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    if failures:
        print(f"  {failures} requests failed at {url}", file=sys.stderr)
    return len(latencies) / elapsed, latencies


async def open_loop(url: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Latencies (ms) of requests sent at a fixed rate, and how many failed."""
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

        async def one(number: int) -> None:
            nonlocal failures
            started = time.perf_counter()
            response = await client.post(
                url, json=form(number), headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            if response.status_code == 201:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                failures += 1

        tasks = []
        began = time.perf_counter()
        for number in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, began + number / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(number)))
        await asyncio.gather(*tasks)
    return latencies, failures


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest sample with `fraction` of them at or below."""
    ordered = sorted(samples)
    rank = math.ceil(round(fraction * len(ordered), 6))
    return ordered[min(len(ordered), max(1, rank)) - 1]


def create_event(registration_api: str, capacity: int | None = None) -> str:
    """An open event without approval (and with `capacity` places, if given), through the
    registration API at that address; it starts months ahead, so no reminder falls due during
    a run."""
    with httpx.Client(base_url=registration_api, timeout=30) as client:
        token = client.post("/auth/token", json=ADMIN).json()["access_token"]
        event = client.post(
            "/events",
            json={
                "title": "Нагрузочная онлайн-сессия",
                "format": "online",
                "starts_at": "2027-03-01T11:00:00Z",
                "ends_at": "2027-03-01T14:00:00Z",
                "capacity": capacity,
                "requires_approval": False,
                "status": "registration_open",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        event.raise_for_status()
        event_id: str = event.json()["id"]
        return event_id


def wait_ready(urls: list[str], timeout: float = 90) -> None:
    """Wait until each URL answers 200 (a service's /readyz: Kafka and MongoDB reachable)."""
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer 200")
            time.sleep(0.5)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float]]:
    """Every process now: pid -> (parent pid, CPU seconds so far)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            found[int(entry.name)] = (
                int(fields[1]),
                (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
            )
    return found


def _tcp(state: str) -> list[tuple[int, int, int]]:
    """(local port, remote port, socket inode) of IPv4 and IPv6 TCP sockets in a state."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == state:
                local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                rows.append((int(local, 16), int(remote, 16), int(fields[9])))
    return rows


def _owners(inodes: set[int]) -> set[int]:
    """The pids holding any of these sockets."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    owners = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir()):
                    owners.add(int(entry.name))
    return owners


def server_behind(port: int) -> set[int]:
    """The process that listens on a port, and the servers it talks to on this machine (the
    database behind a MongoDB-compatible front, say)."""
    listening = {local: inode for local, _, inode in _tcp("0A")}
    roots: set[int] = set()
    ports = [port]
    while ports:
        current = ports.pop()
        if current not in listening:
            continue
        found = _owners({listening.pop(current)})
        roots |= found
        mine = {f"socket:[{inode}]" for _, _, inode in _tcp("01")}
        for pid in found:
            with contextlib.suppress(OSError):
                held = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()} & mine
                ports += [r for _, r, inode in _tcp("01") if f"socket:[{inode}]" in held]
    return roots


def cpu_by_group(roots: dict[str, set[int]]) -> dict[str, float]:
    """CPU seconds used so far by each group: its root processes and all their descendants."""
    processes = _processes()
    owner: dict[int, str] = {pid: name for name, pids in roots.items() for pid in pids}
    used: dict[str, float] = {}
    for pid, (_, cpu) in processes.items():
        ancestor = pid
        while ancestor not in owner and ancestor in processes and ancestor > 1:
            ancestor = processes[ancestor][0]
        if ancestor in owner:
            used[owner[ancestor]] = used.get(owner[ancestor], 0.0) + cpu
    return used


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    """Milliseconds of CPU per request, by group, between two snapshots."""
    return ", ".join(
        f"{group} {1000 * (after[group] - before.get(group, 0.0)) / max(requests, 1):.1f} ms"
        for group in sorted(after, key=lambda g: before.get(g, 0.0) - after[g])
        if after[group] - before.get(group, 0.0) > 0.01
    )


def main() -> int:
    """Measure both paths, print throughput, ratio and p99; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with bench_stack() as stack:
        stack.start_service("registration")
        stack.start_gateway()
        port = free_port()
        bare = subprocess.Popen(
            [sys.executable, str(ROOT / "registration_bare.py"), "--port", str(port),
             "--mongodb-url", stack.mongodb_url],
        )  # fmt: skip
        try:
            wait_ready(
                [f"{stack.service_url('registration')}/readyz", f"http://127.0.0.1:{port}/docs"]
            )
            event_id = create_event(f"{stack.gateway_url}/api/registration")
            ours_url = f"{stack.gateway_url}/api/registration/events/{event_id}/registrations"
            bare_url = f"http://127.0.0.1:{port}/events/{event_id}/registrations"
            asyncio.run(closed_loop(ours_url, 2, 4))  # warm-up
            asyncio.run(closed_loop(bare_url, 2, 4))
            database_port = int(stack.mongodb_url.split("://", 1)[1].split("/")[0].rsplit(":")[1])
            named = {
                "load generator": {os.getpid()},
                "bare app": {bare.pid},
                "registration service": {stack.pid("registration") or -1},
                "gateway": {stack.pid("gateway") or -1},
                "Kafka": {stack.pid("kafka") or -1},
                "database server": server_behind(database_port),
            }
            before = cpu_by_group(named)
            bare_rate, bare_latency = asyncio.run(
                closed_loop(bare_url, args.seconds, args.concurrency)
            )
            between = cpu_by_group(named)
            ours_rate, ours_latency = asyncio.run(
                closed_loop(ours_url, args.seconds, args.concurrency)
            )
            after = cpu_by_group(named)
            half = ours_rate / 2
            paced, failed = asyncio.run(open_loop(ours_url, half, args.seconds))
        finally:
            bare.terminate()
            bare.wait(timeout=10)
    ratio = ours_rate / bare_rate
    p99 = percentile(paced, 0.99)
    print(f"concurrency {args.concurrency}, {args.seconds:.0f} s per run")
    print(
        f"bare FastAPI, one insert     {bare_rate:7.1f} req/s   "
        f"p50 {statistics.median(bare_latency):6.1f} ms"
    )
    print(
        f"ours through the gateway     {ours_rate:7.1f} req/s   "
        f"p50 {statistics.median(ours_latency):6.1f} ms"
    )
    print(f"ratio ours/bare: {ratio:.2f} (target >= 0.5)")
    print(f"CPU per request, bare: {cpu_per_request(before, between, len(bare_latency))}")
    print(f"CPU per request, ours: {cpu_per_request(between, after, len(ours_latency))}")
    print(
        f"at half our maximum ({half:.1f} req/s): p50 {statistics.median(paced):.1f} ms, "
        f"p99 {p99:.1f} ms (target < 100 ms), {failed} failed"
    )
    return 0 if ratio >= 0.5 and p99 < 100 and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
