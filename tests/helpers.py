"""Helpers for tests that talk to the real stack."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest


class Mailpit:
    """Reads messages that arrived at the local SMTP sink."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def messages_to(self, address: str) -> list[dict[str, Any]]:
        """Summaries of every message to this address."""
        response = self._client.get("/api/v1/search", params={"query": f'to:"{address}"'})
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def message(self, message_id: str) -> dict[str, Any]:
        """One message whole: headers, text, HTML, attachments."""
        response = self._client.get(f"/api/v1/message/{message_id}")
        response.raise_for_status()
        message: dict[str, Any] = response.json()
        return message


def wait_until(
    condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition"
) -> Any:
    """Poll until the condition is truthy; fail with what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
