"""The baseline of bench/registration_throughput.py: a bare FastAPI endpoint doing one insert.

python bench/registration_bare.py --port P --mongodb-url URL
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI
from pymongo import AsyncMongoClient


def create_app(mongodb_url: str) -> FastAPI:
    """POST /events/{id}/registrations stores the body as it is, and nothing else."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    collection = client["bench_bare"]["registrations"]
    app = FastAPI()

    @app.post("/events/{event_id}/registrations", status_code=201)
    async def register(event_id: str, body: dict[str, Any]) -> dict[str, str]:
        document = {"_id": uuid.uuid4().hex, "event_id": event_id, **body}
        document["created_at"] = datetime.now(UTC)
        await collection.insert_one(document)
        return {"id": document["_id"], "status": "confirmed"}

    return app


def main() -> None:
    """Serve the bare app."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mongodb-url", required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.mongodb_url),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
