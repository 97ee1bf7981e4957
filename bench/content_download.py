"""Download of a 50 MB file through the content service, against reading it from GridFS.

Starts Kafka and FerretDB on free ports and the content service as its own process, stores
one 50 MB file in the service's GridFS bucket as a published public material, then in the
same run:
- baseline: the file read straight from GridFS (PyMongo's async GridFS, chunk by chunk);
- ours: GET /materials/{id}/file over HTTP, streamed, while the service's RSS is sampled.
Targets: our throughput at least half the baseline's, RSS growth under 30 MB.

    uv run python bench/content_download.py [--size-mb 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from gridfs.asynchronous import AsyncGridFSBucket
from pymongo import AsyncMongoClient

from etnik.content.files import BUCKET, CHUNK_BYTES
from etnik.devstack import Stack


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def seed(mongodb_url: str, database: str, size: int) -> tuple[str, str]:
    """A published public material whose file is `size` random bytes; (material id, file id)."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    try:
        db = client[database]
        bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK_BYTES)
        digest = hashlib.sha256()
        upload = bucket.open_upload_stream("Запись сессии.mp4", metadata={"bench": True})
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            digest.update(block)
            await upload.write(block)
        await upload.close()
        material_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        await db["materials"].insert_one(
            {
                "_id": material_id,
                "kind": "session_recording",
                "title": "Запись стратегической сессии",
                "status": "published",
                "access": "public",
                "language": "ru",
                "version": 2,
                "created_at": now,
                "updated_at": now,
                "file": {
                    "file_id": str(upload._id),
                    "filename": "Запись сессии.mp4",
                    "content_type": "video/mp4",
                    "size": size,
                    "sha256": digest.hexdigest(),
                },
                "history": [],
            }
        )
        return material_id, str(upload._id)
    finally:
        await client.close()


async def read_from_gridfs(mongodb_url: str, database: str, file_id: str) -> float:
    """Seconds to read the whole file straight from GridFS."""
    from bson import ObjectId

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url)
    try:
        bucket = AsyncGridFSBucket(client[database], bucket_name=BUCKET)
        started = time.perf_counter()
        source = await bucket.open_download_stream(ObjectId(file_id))
        while await source.readchunk():
            pass
        return time.perf_counter() - started
    finally:
        await client.close()


def download(url: str, pid: int) -> tuple[float, float]:
    """Seconds to download through the service, and the service's peak RSS growth in MB."""
    before = rss_mb(pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    received = 0
    with httpx.stream("GET", url, timeout=120) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(CHUNK_BYTES):
            received += len(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    assert received == int(response.headers["content-length"]), "short download"
    return elapsed, peak - before


def main() -> int:
    """Measure, print the figures and the ratio; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    with tempfile.TemporaryDirectory() as run_dir, Stack.for_tests(Path(run_dir)) as stack:
        stack.fetch()
        stack.start_infra()
        stack.start_service("content")
        pid = stack.pid("content")
        assert pid is not None
        material_id, file_id = asyncio.run(
            seed(stack.mongodb_url, stack.database_name("content"), size)
        )
        url = f"{stack.service_url('content')}/materials/{material_id}/file"
        download(url, pid)  # warm-up: connections, first imports on the download path
        baseline_s, ours_s, growth = [], [], []
        for round_number in range(args.rounds):
            # Alternate which goes first, so that neither always meets a warmer cache.
            if round_number % 2:
                baseline_s.append(
                    asyncio.run(
                        read_from_gridfs(stack.mongodb_url, stack.database_name("content"), file_id)
                    )
                )
            seconds, grew = download(url, pid)
            ours_s.append(seconds)
            growth.append(grew)
            if not round_number % 2:
                baseline_s.append(
                    asyncio.run(
                        read_from_gridfs(stack.mongodb_url, stack.database_name("content"), file_id)
                    )
                )
    mb = size / 1024 / 1024
    baseline = mb / statistics.median(baseline_s)
    ours = mb / statistics.median(ours_s)
    ratio = ours / baseline
    print(f"file: {mb:.0f} MB, rounds: {args.rounds} (medians)")
    print(f"GridFS read directly : {baseline:7.1f} MB/s")
    print(f"through the service  : {ours:7.1f} MB/s   ratio {ratio:.2f} (target >= 0.5)")
    print(f"service RSS growth   : {max(growth):7.1f} MB max (target < 30)")
    return 0 if ratio >= 0.5 and max(growth) < 30 else 1


if __name__ == "__main__":
    sys.exit(main())
