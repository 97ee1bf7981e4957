"""ASGI middleware: request ids, trace context, the gateway's prefix, and a body-size limit."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from etnik.common.logging import request_id_var, traceparent_var
from etnik.common.tracing import continue_trace

log = logging.getLogger(__name__)

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_VALID_PREFIX = re.compile(r"^/api/[a-z]+$")
# Probes and scrapes run every few seconds; logging them would drown the requests that matter.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestContextMiddleware:
    """Gives each request an id (the gateway's, if valid) and a trace, and echoes the id back."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request_id_token = request_id_var.set(request_id)
        trace_token = traceparent_var.set(continue_trace(headers.get("traceparent")))
        # The gateway strips /api/<service>; knowing it lets /docs link to the right openapi.json.
        path = scope["path"]
        prefix = headers.get("x-forwarded-prefix", "")
        if _VALID_PREFIX.match(prefix) and not scope.get("root_path"):
            # As uvicorn does for --root-path: the path includes the root path, which
            # Starlette's routing and static files strip again.
            scope = {**scope, "root_path": prefix, "path": prefix + scope["path"]}

        response_started = False
        status_code = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal response_started, status_code
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_body_bytes:
                await _json_error(
                    send_with_id, 413, f"request body over {self.max_body_bytes} bytes"
                )
                return
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outermost handler, so that the log
            # line and the response still carry the request id; never a stack trace.
            log.exception("unhandled error")
            if not response_started:
                await _json_error(send_with_id, 500, "internal error", request_id=request_id)
        finally:
            if path not in _QUIET_PATHS:
                log.info(
                    "%s %s %d",
                    scope["method"],
                    path,
                    status_code,
                    extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
                )
            request_id_var.reset(request_id_token)
            traceparent_var.reset(trace_token)


async def _json_error(send: Send, status: int, detail: str, request_id: str | None = None) -> None:
    payload = (
        {"detail": detail} if request_id is None else {"detail": detail, "request_id": request_id}
    )
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
