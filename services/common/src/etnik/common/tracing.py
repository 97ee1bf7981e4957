"""W3C trace context: kept from an incoming request or message, or started anew."""

from __future__ import annotations

import re
import secrets

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def continue_trace(incoming: str | None) -> str:
    """A traceparent for the work at hand: the same trace as the caller's, a new span."""
    match = _TRACEPARENT.match(incoming or "")
    trace_id = match.group(1) if match else secrets.token_hex(16)
    flags = match.group(3) if match else "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"
