"""From a registration's HTTP 201 to its confirmation accepted by SMTP, at a fixed arrival rate.

Starts Kafka, FerretDB and Mailpit on free ports, the registration and notification services
and the nginx gateway (its rate limit raised out of the way), and creates one open event
through the gateway with room for every registration and no approval, so each registration is
confirmed at once and notification sends a "registration confirmed" email. Then:
- --warmup registrations (not measured), waiting until their confirmations arrived and the
  service settled;
- --count registrations offered in an open loop: request i is sent at t0 + i/rate whatever
  became of the earlier ones, each with its own email address; the wall-clock time
  (time.time()) of each HTTP 201 is kept;
- Mailpit's list API is read (paged) until every confirmation arrived or --timeout ran out.
  The moment SMTP accepted a message is its `Created` (Mailpit takes time.Now() once the DATA
  is in, before it stores the message and answers 250, and keeps it in whole milliseconds);
  a message is matched to its registration by recipient address, and only the confirmation
  (subject "Регистрация подтверждена: …" / "Registration confirmed: …") counts.
Prints p50/p90/p99/max of (SMTP accepted - 201), p50/p99 of the HTTP request itself and of
(SMTP accepted - request sent), the offered and the achieved rate of 201s, the answers other
than 201, and how many confirmations never arrived. Target: p99 under 500 ms at 50
registrations/s. If the services cannot keep up with the offered rate, the queueing shows in
the latencies and the achieved rate; nothing is retried. A confirmation may be accepted before
its 201 reaches the client (the registration's events are published before the answer), so a
difference may be negative. Exit status 1 when the target is missed.

    uv run python bench/notification_latency.py [--rate 50] [--count 500] [--warmup 20]
        [--timeout 600] [--settle 5] [--keep-logs DIR]
    uv run python bench/notification_latency.py --rate 5 --count 200   # a rate it sustains
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registration_throughput import bench_stack, create_event, percentile, wait_ready

# The subjects of services/notification/.../templates/registration_confirmed.{ru,en}.jinja.
CONFIRMED_SUBJECTS = ("Регистрация подтверждена:", "Registration confirmed:")
TARGET_P99_MS = 500.0
PAGE = 500  # Mailpit list page size


@dataclass
class Offered:
    """What became of the registrations offered in one open-loop run."""

    began: float  # time.time() when request 0 was due
    sent_lag_ms: list[float] = field(default_factory=list)  # actual send - scheduled send
    sent_at: dict[str, float] = field(default_factory=dict)  # address -> time.time() of send
    latency_ms: list[float] = field(default_factory=list)  # HTTP request, 201s only
    created_at: dict[str, float] = field(default_factory=dict)  # address -> time.time() of 201
    codes: Counter[int] = field(default_factory=Counter)  # every answer's status (0: no answer)
    refusals: Counter[str] = field(default_factory=Counter)  # status and detail of the others
    statuses: Counter[str] = field(default_factory=Counter)  # registration status of the 201s
    last_201: float = 0.0


def form(address: str, number: int) -> dict[str, Any]:
    """One participant's registration form."""
    return {
        "full_name": f"Участник Задержки {number}",
        "email": address,
        "category": "ngo_activist",
        "region_code": "16",
        "consent_personal_data": True,
    }


async def offer(url: str, addresses: list[str], rate: float) -> Offered:
    """Send one registration per address, request i at t0 + i/rate (open loop)."""
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        began_perf = time.perf_counter()
        result = Offered(began=time.time())

        async def one(number: int, address: str, due: float) -> None:
            started = time.perf_counter()
            result.sent_lag_ms.append((started - due) * 1000)
            result.sent_at[address] = time.time()
            try:
                response = await client.post(
                    url, json=form(address, number), headers={"Idempotency-Key": uuid.uuid4().hex}
                )
            except httpx.HTTPError as error:
                result.codes[0] += 1
                result.refusals[f"no answer: {type(error).__name__}"] += 1
                return
            answered = time.time()
            elapsed_ms = (time.perf_counter() - started) * 1000
            result.codes[response.status_code] += 1
            if response.status_code == 201:
                result.created_at[address] = answered
                result.latency_ms.append(elapsed_ms)
                result.statuses[str(response.json().get("status"))] += 1
                result.last_201 = max(result.last_201, answered)
            else:
                detail = " ".join(response.text.split())[:70]
                result.refusals[f"{response.status_code} {detail}"] += 1

        tasks = []
        for number, address in enumerate(addresses):
            due = began_perf + number / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(number, address, due)))
        await asyncio.gather(*tasks)
    return result


def is_confirmation(summary: dict[str, Any]) -> bool:
    """Whether a Mailpit message summary is a "registration confirmed" email."""
    subject = str(summary.get("Subject") or "")
    return subject.startswith(CONFIRMED_SUBJECTS)


def recipients(summary: dict[str, Any]) -> list[str]:
    """The To addresses of a Mailpit message summary, lower-cased."""
    return [str(item.get("Address", "")).lower() for item in summary.get("To") or []]


def all_messages(mailpit: httpx.Client) -> list[dict[str, Any]]:
    """Every message summary in Mailpit, read page by page (newest first), without repeats.

    Messages arriving meanwhile go on top and push the others down: a page may repeat some,
    none is skipped.
    """
    seen: dict[str, dict[str, Any]] = {}
    start = 0
    while True:
        answer = mailpit.get("/api/v1/messages", params={"start": start, "limit": PAGE})
        answer.raise_for_status()
        page = answer.json()
        messages: list[dict[str, Any]] = page["messages"]
        for message in messages:
            seen[str(message["ID"])] = message
        start += len(messages)
        if not messages or start >= int(page["total"]):
            return list(seen.values())


def mailpit_total(mailpit: httpx.Client) -> int:
    """How many messages Mailpit holds."""
    answer = mailpit.get("/api/v1/messages", params={"limit": 1})
    answer.raise_for_status()
    total: int = answer.json()["total"]
    return total


@dataclass
class Arrivals:
    """The confirmations found for a set of addresses."""

    accepted_at: dict[str, float]  # address -> Created of its first confirmation (epoch s)
    duplicates: int  # confirmations beyond the first to one address
    others: Counter[str]  # subjects of other messages to these addresses
    created_example: str  # one raw Created value, to show its precision


def collect(mailpit: httpx.Client, addresses: set[str]) -> Arrivals:
    """Read Mailpit once and match its confirmations to the addresses."""
    accepted: dict[str, float] = {}
    duplicates = 0
    others: Counter[str] = Counter()
    example = ""
    for summary in all_messages(mailpit):
        for address in recipients(summary):
            if address not in addresses:
                continue
            if not is_confirmation(summary):
                others[str(summary.get("Subject"))[:40]] += 1
                continue
            example = example or str(summary["Created"])
            moment = datetime.fromisoformat(str(summary["Created"])).timestamp()
            if address in accepted:
                duplicates += 1
                moment = min(moment, accepted[address])
            accepted[address] = moment
    return Arrivals(accepted, duplicates, others, example)


def wait_for_confirmations(
    mailpit: httpx.Client, addresses: set[str], expected_total: int, timeout: float
) -> Arrivals:
    """Poll Mailpit until every address has its confirmation, or the timeout ran out.

    The cheap count is polled until Mailpit holds at least `expected_total` messages; only
    then is the whole list read and matched (again each time some are still missing).
    """
    deadline = time.monotonic() + timeout
    while True:
        expired = time.monotonic() > deadline
        if expired or mailpit_total(mailpit) >= expected_total:
            arrivals = collect(mailpit, addresses)
            if expired or len(arrivals.accepted_at) >= len(addresses):
                return arrivals
        time.sleep(1.0)


def ms(value: float) -> str:
    """A duration in milliseconds for the report."""
    return f"{value:8.1f} ms"


def report(
    args: argparse.Namespace, offered: Offered, arrivals: Arrivals, loads: list[float]
) -> bool:
    """Print the figures; whether the p99 target was met."""
    answered = len(offered.created_at)
    span = offered.last_201 - offered.began
    achieved = answered / span if span > 0 else 0.0
    deltas = [
        (arrivals.accepted_at[address] - created) * 1000
        for address, created in offered.created_at.items()
        if address in arrivals.accepted_at
    ]
    missing = answered - len(deltas)
    codes = ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(offered.codes.items()))
    statuses = ", ".join(f"{status} {n}" for status, n in sorted(offered.statuses.items()))
    print(f"registrations offered: {args.count} at {args.rate:g}/s (open loop), "
          f"{args.warmup} warm-up before")  # fmt: skip
    print(f"answers: {codes}; registration status of the 201s: {statuses}")
    for refusal, times in offered.refusals.most_common(5):
        print(f"  {times} x {refusal}")
    print(f"achieved rate of 201s: {achieved:.1f}/s ({answered} in {span:.1f} s from the first "
          f"request's due time to the last 201)")  # fmt: skip
    print(f"sender lag behind schedule: p50 {statistics.median(offered.sent_lag_ms):.1f} ms, "
          f"max {max(offered.sent_lag_ms):.1f} ms")  # fmt: skip
    if offered.latency_ms:
        print(f"HTTP request (send to 201):      p50 {ms(percentile(offered.latency_ms, 0.5))}   "
              f"p99 {ms(percentile(offered.latency_ms, 0.99))}   "
              f"max {ms(max(offered.latency_ms))}")  # fmt: skip
    print(f"confirmations arrived: {len(deltas)} of {answered}; never arrived within "
          f"{args.timeout:g} s: {missing}; duplicates: {arrivals.duplicates}")  # fmt: skip
    if arrivals.others:
        print(f"other messages to these addresses (not counted): {dict(arrivals.others)}")
    met = False
    if deltas:
        p99 = percentile(deltas, 0.99)
        met = p99 < TARGET_P99_MS and missing == 0
        print(f"201 -> SMTP accepted (n={len(deltas)}): p50 {ms(percentile(deltas, 0.5))}   "
              f"p90 {ms(percentile(deltas, 0.9))}   p99 {ms(p99)}   max {ms(max(deltas))}   "
              f"min {ms(min(deltas))}")  # fmt: skip
        negative = sum(1 for delta in deltas if delta < 0)
        if negative:
            print(f"  {negative} confirmations were accepted by SMTP before their 201 reached "
                  f"the client (the events are published before the answer is sent)")  # fmt: skip
        whole = [
            (arrivals.accepted_at[address] - offered.sent_at[address]) * 1000
            for address in offered.created_at
            if address in arrivals.accepted_at
        ]
        print(f"request sent -> SMTP accepted:   p50 {ms(percentile(whole, 0.5))}   "
              f"p99 {ms(percentile(whole, 0.99))}   max {ms(max(whole))}")  # fmt: skip
    print(f"Mailpit Created precision: milliseconds (e.g. {arrivals.created_example!r})")
    print(f"target p99 < {TARGET_P99_MS:.0f} ms with every confirmation arrived: "
          f"{'MET' if met else 'MISSED'}")  # fmt: skip
    print(f"load average (1 min) before warm-up {loads[0]:.2f}, before the run {loads[1]:.2f}, "
          f"after {loads[2]:.2f}; {os.cpu_count()} CPUs")  # fmt: skip
    return met


def main() -> int:
    """Measure; exit 1 when the p99 target is missed or a confirmation never arrived."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50.0, help="registrations per second")
    parser.add_argument("--count", type=int, default=500, help="registrations measured")
    parser.add_argument("--warmup", type=int, default=20, help="registrations not measured")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for the confirmations"
    )
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds of quiet between warm-up and run"
    )
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="copy the stack's logs to this folder"
    )
    args = parser.parse_args()
    if args.rate <= 0 or args.count < 1 or args.warmup < 0:
        parser.error("--rate must be positive, --count at least 1, --warmup not negative")
    loads = [os.getloadavg()[0]]
    tag = uuid.uuid4().hex[:8]
    warmup = [f"warm.{tag}.{number}@example.org" for number in range(args.warmup)]
    measured = [f"lat.{tag}.{number}@example.org" for number in range(args.count)]
    with bench_stack() as stack:
        stack.start_services(["registration", "notification"])
        stack.start_gateway()
        wait_ready(
            [f"{stack.service_url(name)}/readyz" for name in ("registration", "notification")]
        )
        event_id = create_event(
            f"{stack.gateway_url}/api/registration",
            min(100_000, 2 * (args.warmup + args.count) + 10),
        )
        url = f"{stack.gateway_url}/api/registration/events/{event_id}/registrations"
        with httpx.Client(base_url=stack.mailpit_api, timeout=30) as mailpit:
            if warmup:
                done = asyncio.run(offer(url, warmup, min(args.rate, 10.0)))
                got = wait_for_confirmations(mailpit, set(done.created_at), len(warmup), 300)
                print(f"warm-up: {len(done.created_at)} registered, "
                      f"{len(got.accepted_at)} confirmations arrived")  # fmt: skip
            time.sleep(args.settle)
            before = mailpit_total(mailpit)
            loads.append(os.getloadavg()[0])
            offered = asyncio.run(offer(url, measured, args.rate))
            arrivals = wait_for_confirmations(
                mailpit, set(offered.created_at), before + len(offered.created_at), args.timeout
            )
            loads.append(os.getloadavg()[0])
        if args.keep_logs is not None:
            shutil.copytree(stack.logs_dir, args.keep_logs, dirs_exist_ok=True)
    met = report(args, offered, arrivals, loads)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
