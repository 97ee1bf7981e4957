"""The content service's ASGI app: the container (container.py) behind its routes."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.middleware import Middleware

from etnik.common.app import create_service_app
from etnik.common.auth import KeyLoader
from etnik.common.erasure import erasure_router
from etnik.content.api import router
from etnik.content.container import build
from etnik.content.limits import JsonBodyLimit
from etnik.content.mechanisms_api import router as mechanisms_router
from etnik.content.settings import ContentSettings
from etnik.content.video_api import router as video_router

log = logging.getLogger(__name__)

# JSON bodies are small; only file uploads may be large (they stream into GridFS).
JSON_BODY_LIMIT = 1024 * 1024


def create_app(
    settings: ContentSettings | None = None, *, jwks_loader: KeyLoader | None = None
) -> FastAPI:
    """The content service's ASGI app."""
    container = build(settings, jwks_loader=jwks_loader)
    font = container.settings.pdf_font_file
    if not font.is_file():
        log.warning("PDF exports will fail: font %s is missing (install fonts-dejavu-core)", font)
    app = create_service_app(
        container.runtime,
        title="EtNik content",
        description="Methodological materials, files, publications and NGO development strategies.",
        container=container,
        routers=[router, erasure_router(), mechanisms_router, video_router],
        # Uploads are bounded here and again while they stream (chunked bodies declare no size).
        max_body_bytes=container.settings.max_upload_bytes,
    )
    # Innermost, so that the kernel's middleware still gives its answer a request id.
    app.user_middleware.append(Middleware(JsonBodyLimit, max_bytes=JSON_BODY_LIMIT))
    return app
