"""HTTP entrypoints of the roster of experts: operators keep the roster, the assignments to
events and the travel; the public sees the cards of experts who consent to publication."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from etnik.common.contracts.registration import ExpertRole, ExpertTravelStatus
from etnik.common.mongo import Document
from etnik.registration.api.answers import idempotent
from etnik.registration.api.dependencies import IdempotencyKey, Limit, Offset, Operator, Staff
from etnik.registration.container import Container, RegistrationContainer
from etnik.registration.errors import DomainError
from etnik.registration.experts import MAX_PHOTO_BYTES
from etnik.registration.schemas import RegionCode, ResponseBody, StrictBody

router = APIRouter(tags=["experts"])

Id = Annotated[str, Field(min_length=1, max_length=64)]


class ExpertFields(StrictBody):
    """What the roster records of an expert, as a change may give it (every field optional)."""

    field_of_expertise: str | None = Field(default=None, min_length=2, max_length=300)
    region_codes: list[RegionCode] | None = Field(
        default=None, max_length=100, description="Federal subject codes the expert works in"
    )
    bio: str | None = Field(default=None, max_length=2000, description="A short biography")


class ExpertIn(ExpertFields):
    """A person of the directory added to the roster, with their field of expertise."""

    person_id: Id
    field_of_expertise: str = Field(min_length=2, max_length=300)


class ExpertChange(ExpertFields):
    """The fields to change, and the version read (409 if someone changed it since)."""

    version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        for name in ("field_of_expertise", "region_codes"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class AssignmentIn(StrictBody):
    """An assignment to an event in a role, with the travel known so far."""

    event_id: Id
    role: ExpertRole = Field(description="speaker, moderator or facilitator")
    travel_status: ExpertTravelStatus | None = Field(
        default=None, description="invited unless given"
    )
    arrival_on: date | None = None
    departure_on: date | None = None


class AssignmentChange(StrictBody):
    """A change of role, travel dates (null clears one) or travel status."""

    role: ExpertRole | None = None
    travel_status: ExpertTravelStatus | None = None
    arrival_on: date | None = None
    departure_on: date | None = None


class AssignmentOut(ResponseBody):
    """An assignment as operators see it."""

    assignment_id: str
    event_id: str
    role: ExpertRole
    travel_status: ExpertTravelStatus
    arrival_on: date | None = None
    departure_on: date | None = None


class ExpertOut(ResponseBody):
    """An expert on the roster as operators see them."""

    id: str
    person_id: str
    full_name: str
    field_of_expertise: str
    region_codes: list[str]
    bio: str | None = None
    has_photo: bool = False
    publication_consent: bool = False
    assignments: list[AssignmentOut]
    version: int
    created_at: datetime
    updated_at: datetime


class ExpertCard(ResponseBody):
    """An expert as the public sees them (only with the publication consent)."""

    id: str
    full_name: str
    field_of_expertise: str
    region_codes: list[str]
    bio: str | None = None
    has_photo: bool
    photo_url: str | None = None
    roles: list[ExpertRole]


async def _shown(container: RegistrationContainer, experts: list[Document]) -> list[dict[str, Any]]:
    """Roster entries as response bodies, with the names and publication consents."""
    people = await container.experts.names(experts)
    consenting = await container.experts.publishable(experts)
    return [
        ExpertOut.model_validate(
            {
                **{("id" if k == "_id" else k): v for k, v in expert.items()},
                "full_name": people.get(expert["person_id"], {}).get("full_name", ""),
                "publication_consent": expert["_id"] in consenting,
            }
        ).model_dump(mode="json")
        for expert in experts
    ]


async def _one(container: RegistrationContainer, expert: Document) -> dict[str, Any]:
    """One roster entry as a response body."""
    return (await _shown(container, [expert]))[0]


def _card(card: Document) -> dict[str, Any]:
    photo_url = f"/api/registration/experts/{card['id']}/photo" if card["has_photo"] else None
    return ExpertCard.model_validate({**card, "photo_url": photo_url}).model_dump(mode="json")


# --- The roster (operators write, staff read) ------------------------------------------------


@router.post("/experts", status_code=201, response_model=ExpertOut)
async def roster_expert(
    body: ExpertIn, container: Container, operator: Operator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Add a person of the directory to the roster of experts (operators); ExpertRostered."""

    async def act() -> tuple[int, Any]:
        """Roster the expert; the answer is what a retry gets."""
        expert = await container.experts.roster(body.model_dump(), by=operator.subject)
        return 201, await _one(container, expert)

    return await idempotent(
        container,
        scope=f"experts:{operator.subject}",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        act=act,
    )


@router.get("/experts", response_model=list[ExpertOut])
async def list_experts(
    container: Container,
    staff: Staff,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    region_code: Annotated[str | None, Query(max_length=8)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """The roster, oldest entry first; by event or region (operators, moderators)."""
    found = await container.experts.listed(
        event_id=event_id, region_code=region_code, limit=limit, offset=offset
    )
    return await _shown(container, found)


@router.get("/experts/{expert_id}", response_model=ExpertOut)
async def get_expert(expert_id: str, container: Container, staff: Staff) -> dict[str, Any]:
    """One expert with their assignments and travel (operators and moderators)."""
    return await _one(container, await container.experts.get(expert_id))


@router.patch("/experts/{expert_id}", response_model=ExpertOut)
async def change_expert(
    expert_id: str, body: ExpertChange, container: Container, operator: Operator
) -> dict[str, Any]:
    """Correct the field of expertise, regions or biography (operators); ExpertChanged."""
    fields = body.model_dump(exclude_unset=True, exclude={"version"})
    changed = await container.experts.change(
        expert_id, fields, by=operator.subject, version=body.version
    )
    return await _one(container, changed)


@router.delete("/experts/{expert_id}", status_code=204)
async def remove_expert(expert_id: str, container: Container, operator: Operator) -> Response:
    """Take an expert off the roster with their assignments (operators); ExpertRemoved."""
    await container.experts.remove(expert_id, by=operator.subject)
    return Response(status_code=204)


@router.put("/experts/{expert_id}/photo", status_code=204)
async def put_photo(
    expert_id: str,
    request: Request,
    container: Container,
    operator: Operator,
    content_type: Annotated[str, Header(alias="Content-Type")] = "",
) -> Response:
    """The expert's photo as the request body (JPEG, PNG or WebP; operators)."""
    content = bytearray()
    async for chunk in request.stream():
        content.extend(chunk)
        if len(content) > MAX_PHOTO_BYTES:
            raise DomainError(413, f"the photo is over {MAX_PHOTO_BYTES} bytes")
    media_type = content_type.split(";")[0].strip().lower()
    await container.experts.put_photo(expert_id, bytes(content), media_type, operator.subject)
    return Response(status_code=204)


# --- Assignments -----------------------------------------------------------------------------


@router.post("/experts/{expert_id}/assignments", status_code=201, response_model=ExpertOut)
async def assign_expert(
    expert_id: str,
    body: AssignmentIn,
    container: Container,
    operator: Operator,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Assign an expert to an event as speaker, moderator or facilitator (operators)."""

    async def act() -> tuple[int, Any]:
        """Assign the expert; the answer is what a retry gets."""
        expert = await container.experts.assign(expert_id, body.model_dump(), by=operator.subject)
        return 201, await _one(container, expert)

    return await idempotent(
        container,
        scope=f"expert-assignments:{operator.subject}:{expert_id}",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        act=act,
    )


@router.patch("/experts/{expert_id}/assignments/{assignment_id}", response_model=ExpertOut)
async def change_assignment(
    expert_id: str,
    assignment_id: str,
    body: AssignmentChange,
    container: Container,
    operator: Operator,
) -> dict[str, Any]:
    """Change an assignment's role, travel dates or travel status (operators)."""
    fields = body.model_dump(exclude_unset=True)
    changed = await container.experts.change_assignment(
        expert_id, assignment_id, fields, by=operator.subject
    )
    return await _one(container, changed)


@router.delete("/experts/{expert_id}/assignments/{assignment_id}", response_model=ExpertOut)
async def remove_assignment(
    expert_id: str, assignment_id: str, container: Container, operator: Operator
) -> dict[str, Any]:
    """Remove one assignment (operators)."""
    removed = await container.experts.unassign(expert_id, assignment_id, by=operator.subject)
    return await _one(container, removed)


# --- What the public sees --------------------------------------------------------------------


@router.get("/events/{event_id}/experts", response_model=list[ExpertCard])
async def event_experts(event_id: str, container: Container) -> list[dict[str, Any]]:
    """An event's experts who consent to publication, with their roles (public)."""
    cards = await container.experts.event_experts(event_id)
    return [_card(card) for card in cards]


@router.get("/experts/{expert_id}/card", response_model=ExpertCard)
async def expert_card(expert_id: str, container: Container) -> dict[str, Any]:
    """An expert's public card; 404 unless the expert consents to publication (public)."""
    return _card(await container.experts.public_card(expert_id))


@router.get("/experts/{expert_id}/photo", responses={200: {"content": {"image/jpeg": {}}}, 404: {}})
async def expert_photo(expert_id: str, container: Container) -> Response:
    """The expert's photo, while the expert consents to publication (public)."""
    photo = await container.experts.photo(expert_id, public=True)
    return Response(
        bytes(photo["data"]),
        media_type=photo["content_type"],
        # Not cached: a withdrawn consent must hide the photo at once, from caches too.
        headers={"Cache-Control": "no-store", "ETag": f'"{photo["sha256"]}"'},
    )
