"""HTTP entrypoints of the reporting service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from etnik.common.auth import Principal, Role, require_roles

router = APIRouter()

Reader = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.MODERATOR))]


@router.get("/stats/registrations", tags=["statistics"])
async def registration_stats(
    request: Request, reader: Reader, event_id: str | None = None
) -> dict[str, Any]:
    """Registrations in total and by status, for one event or the whole programme."""
    counts: dict[str, Any] = await request.app.state.projections.registration_counts(event_id)
    return counts


@router.get("/stats/notifications", tags=["statistics"])
async def notification_stats(request: Request, reader: Reader) -> dict[str, int]:
    """Messages sent and failed."""
    counts: dict[str, int] = await request.app.state.projections.notification_counts()
    return counts
