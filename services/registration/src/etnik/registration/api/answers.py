"""How routes answer: stored documents as response bodies, writes run once per
Idempotency-Key, and the fonts a PDF answer needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse

from etnik.common.idempotency import fingerprint
from etnik.common.mongo import Document
from etnik.common.pdf_fonts import FontMissing, register_fonts
from etnik.registration.container import RegistrationContainer
from etnik.registration.settings import RegistrationSettings


def public(document: Document) -> dict[str, Any]:
    """A stored document as a response body: `_id` named `id`."""
    return {("id" if k == "_id" else k): v for k, v in document.items()}


def registration_row(registration: Document) -> dict[str, Any]:
    """A registration as a response body, with its attendance flattened."""
    attendance = registration.get("attendance") or {}
    return public(registration) | {
        "attendance": attendance.get("status", "registered"),
        "minutes_attended": attendance.get("minutes"),
    }


async def idempotent(
    container: RegistrationContainer,
    *,
    scope: str,
    key: str | None,
    request: Any,
    act: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Act once per Idempotency-Key (`request` is the JSON body, to tell a retry from another
    request); a retry gets the first answer, status and body (a refusal too), without acting
    again."""
    return await container.runtime.idempotency.run(
        scope=scope, key=key, request_fingerprint=fingerprint(request), action=act
    )


def fonts_for_pdf(settings: RegistrationSettings) -> None:
    """Register the Cyrillic fonts a PDF is written with; 503 naming the setting if missing."""
    try:
        register_fonts(settings.pdf_font_file, settings.pdf_bold_font_file, setting="PDF_FONT_FILE")
    except FontMissing as missing:
        raise HTTPException(503, str(missing)) from missing
