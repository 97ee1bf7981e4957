"""HTTP entrypoints of internships and field business programmes: operators set an event's
host, schedule, places and selection and record participants' outcomes; staff read the
applications' decisions and the outcomes; the public reads the schedule.

Applications are decided through `POST /registrations/{id}/approve` and `/reject`
(moderators), as every registration awaiting approval is."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from etnik.common.mongo import Document
from etnik.registration.api.dependencies import InvitationToken, Operator, Staff
from etnik.registration.container import Container
from etnik.registration.schemas import ResponseBody, StrictBody

router = APIRouter(tags=["internships"])

Clock = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", description="HH:MM, the event's zone")]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class ScheduleItemIn(StrictBody):
    """One item of a day: its time range in the event's time zone, title and place."""

    starts: Clock
    ends: Clock
    title: str = Field(min_length=2, max_length=300)
    place: str | None = Field(default=None, max_length=300)


class ScheduleDayIn(StrictBody):
    """One day of the schedule."""

    date: date
    items: list[ScheduleItemIn] = Field(max_length=40)


class InternshipIn(StrictBody):
    """What an internship or field programme carries: host, schedule, places, selection."""

    host_organisation_id: Id = Field(description="An organisation of the directory")
    schedule: list[ScheduleDayIn] = Field(min_length=1, max_length=60)
    places: int = Field(ge=1, le=10_000, description="The event's capacity")
    selection: bool = Field(
        default=True, description="Applications wait for a moderator's approval"
    )


class ScheduleItemOut(ResponseBody):
    """An item as shown."""

    starts: str
    ends: str
    title: str
    place: str | None = None


class ScheduleDayOut(ResponseBody):
    """A day as shown."""

    date: date
    items: list[ScheduleItemOut]


class InternshipOut(ResponseBody):
    """An internship's details, as the portal and the console show them."""

    event_id: str
    title: str
    kind: str
    host_organisation_id: str
    host_name: str
    schedule: list[ScheduleDayOut]
    places: int | None = None
    places_taken: int
    selection: bool
    timezone: str
    starts_on: date
    ends_on: date
    version: int
    updated_at: datetime


class DecisionOut(ResponseBody):
    """One decision on an application: what, why, by whom, when (the audit)."""

    registration_id: str
    full_name: str | None = None
    decision: str
    reason: str | None = None
    decided_by: str | None = None
    decided_by_email: str | None = None
    decided_at: datetime
    status: str


class OutcomeIn(StrictBody):
    """A participant's outcome: completed or not, hours, the result, optionally a file."""

    completed: bool
    hours: float = Field(ge=0, le=2000)
    result: str = Field(min_length=3, max_length=4000, description="E.g. the project produced")
    content_material_id: Id | None = Field(
        default=None, description="A file of the result, uploaded to the content service"
    )
    version: int | None = Field(
        default=None, ge=0, description="The outcome's version read (0: none yet); 409 if stale"
    )


class OutcomeFields(ResponseBody):
    """What an outcome records."""

    completed: bool
    hours: float
    result: str | None = None
    content_material_id: str | None = None
    version: int


class OutcomeOut(ResponseBody):
    """A participant's outcome as recorded."""

    registration_id: str
    full_name: str | None = None
    completed: bool
    hours: float
    result: str | None = None
    content_material_id: str | None = None
    version: int
    recorded_at: datetime
    recorded_by: str
    updated_at: datetime
    updated_by: str


class ApplicationOut(ResponseBody):
    """An application as a moderator reviews it."""

    registration_id: str
    full_name: str | None = None
    email: str | None = None
    category: str | None = None
    status: str
    answers: dict[str, Any]
    created_at: datetime
    decided_at: datetime | None = None
    rejection_reason: str | None = None
    attendance: str
    outcome: OutcomeFields | None = None


@router.put("/events/{event_id}/internship", response_model=InternshipOut)
async def set_internship(
    event_id: str, body: InternshipIn, container: Container, operator: Operator
) -> Document:
    """Set an internship's or field programme's details (operators); InternshipDetailsSet."""
    internships = container.internships
    event = await internships.set_details(event_id, body.model_dump(), by=operator.subject)
    return await internships.details(event)


@router.get("/events/{event_id}/internship", response_model=InternshipOut)
async def internship(
    event_id: str, container: Container, invitation: InvitationToken = None
) -> Document:
    """The details and schedule of a visible internship (public)."""
    event = await container.invitations.visible_event(event_id, invitation)
    return await container.internships.details(event)


@router.get("/operator/events/{event_id}/internship", response_model=InternshipOut)
async def internship_of_any_event(event_id: str, container: Container, staff: Staff) -> Document:
    """The details of any event's internship, drafts included (operators, moderators)."""
    event = await container.catalogue.get_event(event_id, include_drafts=True)
    return await container.internships.details(event)


@router.get("/events/{event_id}/internship/decisions", response_model=list[DecisionOut])
async def decisions(event_id: str, container: Container, staff: Staff) -> list[Document]:
    """Every decision on the event's applications, newest first (operators, moderators)."""
    return await container.internships.decisions(event_id)


@router.get("/events/{event_id}/internship/applications", response_model=list[ApplicationOut])
async def applications(event_id: str, container: Container, staff: Staff) -> list[Document]:
    """The event's applications to review, with the answers given (operators, moderators)."""
    return await container.internships.applications(event_id)


@router.put("/registrations/{registration_id}/internship-outcome", response_model=OutcomeOut)
async def record_outcome(
    registration_id: str, body: OutcomeIn, container: Container, operator: Operator
) -> dict[str, Any]:
    """Record or correct a participant's outcome (operators); InternshipOutcomeRecorded or
    InternshipOutcomeCorrected."""
    fields = body.model_dump(exclude={"version"})
    stored = await container.internships.record_outcome(
        registration_id, fields, by=operator.subject, version=body.version
    )
    return {"registration_id": stored["_id"], **stored["outcome"]}


@router.get("/events/{event_id}/internship/outcomes", response_model=list[OutcomeOut])
async def outcomes(event_id: str, container: Container, staff: Staff) -> list[Document]:
    """The outcomes recorded for the event's participants (operators, moderators)."""
    return await container.internships.outcomes(event_id)
