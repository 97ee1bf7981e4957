"""HTTP entrypoints of the partnership registry: operators record, change and end
partnerships; operators and moderators read them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from etnik.common.contracts.registration import PartnershipSector
from etnik.registration.api.answers import idempotent, public
from etnik.registration.api.dependencies import IdempotencyKey, Limit, Offset, Operator, Staff
from etnik.registration.container import Container
from etnik.registration.partnerships import MAX_PARTIES
from etnik.registration.schemas import ResponseBody, StrictBody

router = APIRouter(tags=["partnerships"])

Id = Annotated[str, Field(min_length=1, max_length=64)]


class PartyIn(StrictBody):
    """A party: an organisation of the directory by its id, or a name with its sector."""

    organisation_id: Id | None = None
    name: str | None = Field(default=None, min_length=2, max_length=500)
    sector: PartnershipSector | None = Field(
        default=None,
        description="ngo, authority, business, media, education or other; for a directory "
        "organisation it follows from its kind unless given",
    )


class PartnershipFields(StrictBody):
    """What a partnership records, as a change may give it (every field optional)."""

    subject: str | None = Field(default=None, min_length=3, max_length=1000)
    parties: list[PartyIn] | None = Field(default=None, max_length=MAX_PARTIES)
    formed_on: date | None = None
    federal_district: str | None = Field(default=None, max_length=16)
    event_id: Id | None = None
    document_material_id: Id | None = Field(
        default=None, description="The agreement's file, uploaded to the content service"
    )


class PartnershipIn(PartnershipFields):
    """A new partnership: what it is about, two parties at least, and when it was formed."""

    subject: str = Field(min_length=3, max_length=1000)
    parties: list[PartyIn] = Field(max_length=MAX_PARTIES)
    formed_on: date


class PartnershipChange(PartnershipFields):
    """The fields to change, and the version read (409 if someone changed it since)."""

    version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        for name in ("subject", "parties", "formed_on"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class PartnershipEnd(StrictBody):
    """The day the partnership ended."""

    ended_on: date


class PartyOut(ResponseBody):
    """A party as recorded."""

    sector: PartnershipSector
    name: str
    organisation_id: str | None = None


class PartnershipOut(ResponseBody):
    """A partnership as operators see it."""

    id: str
    subject: str
    parties: list[PartyOut]
    formed_on: date
    federal_district: str
    event_id: str | None = None
    document_material_id: str | None = None
    status: str
    ended_on: date | None = None
    version: int
    created_at: datetime
    updated_at: datetime


@router.post("/partnerships", status_code=201, response_model=PartnershipOut)
async def record_partnership(
    body: PartnershipIn,
    container: Container,
    operator: Operator,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a partnership formed in the programme (operators); PartnershipFormed."""

    async def act() -> tuple[int, Any]:
        """Record the partnership; the answer is what a retry gets."""
        stored = await container.partnerships.record(body.model_dump(), by=operator.subject)
        return 201, PartnershipOut.model_validate(public(stored)).model_dump(mode="json")

    return await idempotent(
        container,
        scope=f"partnerships:{operator.subject}",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        act=act,
    )


@router.get("/partnerships", response_model=list[PartnershipOut])
async def list_partnerships(
    container: Container,
    staff: Staff,
    federal_district: Annotated[str | None, Query(max_length=16)] = None,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    organisation_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Partnerships, newest formed first; by district, event or party (operators, moderators)."""
    found = await container.partnerships.listed(
        federal_district=federal_district,
        event_id=event_id,
        organisation_id=organisation_id,
        limit=limit,
        offset=offset,
    )
    return [public(p) for p in found]


@router.get("/partnerships/{partnership_id}", response_model=PartnershipOut)
async def get_partnership(
    partnership_id: str, container: Container, staff: Staff
) -> dict[str, Any]:
    """One partnership (operators and moderators)."""
    return public(await container.partnerships.get(partnership_id))


@router.patch("/partnerships/{partnership_id}", response_model=PartnershipOut)
async def change_partnership(
    partnership_id: str, body: PartnershipChange, container: Container, operator: Operator
) -> dict[str, Any]:
    """Correct what was recorded (operators); PartnershipChanged with the fields changed."""
    fields = body.model_dump(exclude_unset=True, exclude={"version"})
    changed = await container.partnerships.change(
        partnership_id, fields, by=operator.subject, version=body.version
    )
    return public(changed)


@router.post("/partnerships/{partnership_id}/end", response_model=PartnershipOut)
async def end_partnership(
    partnership_id: str, body: PartnershipEnd, container: Container, operator: Operator
) -> dict[str, Any]:
    """Record that a partnership ended (operators); PartnershipEnded."""
    return public(
        await container.partnerships.end(partnership_id, body.ended_on, by=operator.subject)
    )
