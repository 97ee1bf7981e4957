"""A body limit for everything but file uploads, which stream and count their own bytes."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send


class JsonBodyLimit:
    """413 for a declared body over the limit on any route other than a file upload."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_suffix: str = "/file") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_suffix = upload_suffix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].endswith(self.upload_suffix):
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    body = json.dumps({"detail": f"request body over {self.max_bytes} bytes"})
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 413,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body.encode()})
                    return
        await self.app(scope, receive, send)
