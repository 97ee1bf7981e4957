"""Every answer counted from the report view says 503 with the reason when the view cannot
count it (integration/test_view.py: the view itself on the real Kafka)."""

from __future__ import annotations

import httpx
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI

from etnik.common.app import answer_refusals
from etnik.reporting.view import ViewBehind, ViewUnavailable


async def test_every_answer_counted_from_the_view_says_503_with_the_reason_when_it_cannot() -> None:
    app = FastAPI()
    answer_refusals(app)

    @app.get("/behind")
    async def behind() -> None:
        raise ViewBehind(120_000, 2_424_844)

    @app.get("/away")
    async def away() -> None:
        try:
            raise KafkaConnectionError("Unable to bootstrap from [('10.0.0.9', 9092)]")
        except KafkaConnectionError as error:
            raise ViewUnavailable(error) from error

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
        answer = await client.get("/behind")
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "30"
        assert answer.json()["detail"].startswith(
            "the report is not ready yet: 120000 of 2424844 events read"
        )
        answer = await client.get("/away")
        assert answer.status_code == 503
        assert "KafkaConnectionError" in answer.json()["detail"]
        assert "10.0.0.9" not in answer.text  # no addresses of the infrastructure
