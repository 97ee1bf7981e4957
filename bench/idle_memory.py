"""Idle memory of each service process, against a bare FastAPI app served by uvicorn.

Starts the real local stack on free ports, lets it settle, then reads each process's
resident set size. The target is under 150 MB RSS per service.

    uv run python bench/idle_memory.py [--settle 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from etnik.devstack import SERVICE_NAMES, Stack
from etnik.devstack.ports import pick_free_ports

LIMIT_MB = 150.0

BARE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}
    """
)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def bare_baseline(settle_s: float) -> float:
    """RSS of a bare FastAPI app under uvicorn, idle for the same time."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "bare_app.py").write_text(BARE_APP)
        [port] = pick_free_ports(1)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=folder,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            time.sleep(settle_s)
            return rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(10)


def main() -> int:
    """Measure and print a table; exit 1 when a service is over the limit."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle", type=float, default=20.0, help="idle seconds before reading")
    args = parser.parse_args()
    baseline = bare_baseline(args.settle)
    with tempfile.TemporaryDirectory() as run_dir, Stack.for_tests(Path(run_dir)) as stack:
        stack.fetch()
        stack.start_infra()
        stack.start_services()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            codes = [
                httpx.get(f"{stack.service_url(name)}/readyz", timeout=5).status_code
                for name in SERVICE_NAMES
            ]
            if all(code == 200 for code in codes):
                break
            time.sleep(0.5)
        time.sleep(args.settle)
        results = {}
        for name in SERVICE_NAMES:
            pid = stack.pid(name)
            assert pid is not None
            results[name] = rss_mb(pid)
    print(f"bare FastAPI + uvicorn baseline: {baseline:6.1f} MB RSS")
    over = False
    for name, value in results.items():
        flag = "ok" if value < LIMIT_MB else "OVER LIMIT"
        over |= value >= LIMIT_MB
        print(f"{name:13s} {value:6.1f} MB RSS  ratio to baseline {value / baseline:4.2f}  {flag}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
