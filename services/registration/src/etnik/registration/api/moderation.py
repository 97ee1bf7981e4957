"""HTTP entrypoints of moderation: approving or rejecting a registration awaiting approval
(an internship application among them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from etnik.registration.api.answers import public, registration_row
from etnik.registration.api.dependencies import Moderator
from etnik.registration.container import Container
from etnik.registration.schemas import RegistrationOut, RejectIn

router = APIRouter(tags=["approval"])


@router.post("/registrations/{registration_id}/approve", response_model=RegistrationOut)
async def approve(registration_id: str, container: Container, moderator: Moderator) -> Any:
    """Approve a pending registration (moderators)."""
    return registration_row(await container.moderation.approve(registration_id, moderator.subject))


@router.post("/registrations/{registration_id}/reject", response_model=RegistrationOut)
async def reject(
    registration_id: str, body: RejectIn, container: Container, moderator: Moderator
) -> dict[str, Any]:
    """Reject a pending registration with a reason (moderators)."""
    return public(
        await container.moderation.reject(registration_id, body.reason, moderator.subject)
    )
