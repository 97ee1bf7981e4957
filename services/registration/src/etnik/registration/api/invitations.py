"""HTTP entrypoints of invitations: to one person or organisation, and campaigns to an
audience; notification sends the links."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from etnik.registration.api.answers import public
from etnik.registration.api.dependencies import Limit, Offset, Operator, Staff
from etnik.registration.container import Container
from etnik.registration.schemas import CampaignIn, CampaignOut, InvitationIn, InvitationOut

router = APIRouter(tags=["invitations"])


@router.post("/events/{event_id}/invitations", status_code=201, response_model=InvitationOut)
async def invite(
    event_id: str, body: InvitationIn, container: Container, operator: Operator
) -> dict[str, Any]:
    """Invite a person or an organisation; notification sends the link."""
    return public(await container.invitations.issue(event_id, body))


@router.get("/events/{event_id}/invitations", response_model=list[InvitationOut])
async def invitations(
    event_id: str, container: Container, operator: Operator, limit: Limit = 100, offset: Offset = 0
) -> list[dict[str, Any]]:
    """An event's invitations (operators)."""
    found = await container.invitations.list_for_event(event_id, limit, offset)
    return [public(i) for i in found]


@router.post("/invitation-campaigns", status_code=201, response_model=CampaignOut)
async def create_campaign(
    body: CampaignIn, container: Container, operator: Operator
) -> dict[str, Any]:
    """Invite an audience (districts, regions, categories, organisation types) to an event."""
    return public(await container.invitations.create_campaign(body, operator.subject))


@router.get("/invitation-campaigns", response_model=list[CampaignOut])
async def list_campaigns(
    container: Container,
    staff: Staff,
    event_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """The latest invitation campaigns, newest first (operators and moderators)."""
    return [public(campaign) for campaign in await container.invitations.campaigns(event_id, limit)]
