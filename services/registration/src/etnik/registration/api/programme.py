"""HTTP entrypoints of the programme: programmes and tracks, events with their lifecycle, and
their registration forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from etnik.common.mongo import Document
from etnik.registration.api.answers import idempotent, public
from etnik.registration.api.dependencies import (
    IdempotencyKey,
    InvitationToken,
    Limit,
    Offset,
    Operator,
    Staff,
)
from etnik.registration.container import Container, RegistrationContainer
from etnik.registration.domain import TRANSITION_ACTIONS, VISIBLE_STATUSES, EventStatus
from etnik.registration.schemas import (
    EventIn,
    EventOut,
    EventUpdate,
    FormIn,
    FormOut,
    ProgrammeIn,
    ProgrammeOut,
    TransitionOut,
)

router = APIRouter(tags=["programme"])


async def _shown(container: RegistrationContainer, event: Document) -> dict[str, Any]:
    """An event with the places held now (counted: there is no counter to drift)."""
    return public(event) | {"seats_taken": await container.repository.seats_taken(event["_id"])}


def _form(event_id: str, event: Document) -> dict[str, Any]:
    """The event's current registration form as a response body."""
    form = event.get("form") or {"version": 0, "questions": []}
    return {"event_id": event_id, "version": form["version"], "questions": form["questions"]}


@router.get("/programmes", response_model=list[ProgrammeOut])
async def programmes(container: Container) -> list[dict[str, Any]]:
    """Programmes and their tracks."""
    return [public(p) for p in await container.catalogue.programmes()]


@router.put("/programmes/{programme_id}", response_model=ProgrammeOut)
async def put_programme(
    programme_id: str, body: ProgrammeIn, container: Container, operator: Operator
) -> Any:
    """Create or replace a programme and its tracks (operators)."""
    if body.id != programme_id:
        raise HTTPException(422, "the body's id must match the path")
    return public(await container.catalogue.put_programme(body))


@router.post("/events", status_code=201, response_model=EventOut)
async def create_event(
    body: EventIn, container: Container, operator: Operator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Create a programme event (operators)."""

    async def act() -> tuple[int, Any]:
        """Create the event; its answer is what a retry gets."""
        event = await container.catalogue.create_event(body)
        shown = await _shown(container, event)
        return 201, EventOut.model_validate(shown).model_dump(mode="json")

    return await idempotent(
        container,
        scope=f"events:{operator.subject}",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        act=act,
    )


@router.get("/events", response_model=list[EventOut])
async def list_events(
    container: Container,
    track: str | None = None,
    programme_id: str | None = None,
    federal_district: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Public list of visible events (published or later), by start time."""
    filters = {"track": track, "programme_id": programme_id, "federal_district": federal_district}
    events = await container.catalogue.list_events(
        statuses=list(VISIBLE_STATUSES), filters=filters, limit=limit, offset=offset, public=True
    )
    return [await _shown(container, event) for event in events]


@router.get("/operator/events", response_model=list[EventOut])
async def list_all_events(
    container: Container,
    staff: Staff,
    status: EventStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Every event, drafts included (operators and moderators)."""
    events = await container.catalogue.list_events(
        statuses=[status.value] if status else None, filters={}, limit=limit, offset=offset
    )
    return [await _shown(container, event) for event in events]


@router.get("/events/{event_id}", response_model=EventOut)
async def get_event(
    event_id: str, container: Container, invitation: InvitationToken = None
) -> dict[str, Any]:
    """One visible event (one open by invitation only: with an invitation to it)."""
    event = await container.invitations.visible_event(event_id, invitation)
    return await _shown(container, event)


@router.patch("/events/{event_id}", response_model=EventOut)
async def update_event(
    event_id: str, body: EventUpdate, container: Container, operator: Operator
) -> Any:
    """Change an event's details (operators); more places go to the waitlist at once."""
    event = await container.waitlist.change_event(event_id, body)
    return await _shown(container, event)


def _transition_route(action: str, target: EventStatus) -> None:
    async def transition(event_id: str, container: Container, operator: Operator) -> TransitionOut:
        """Move the event along its lifecycle (operators)."""
        event, previous = await container.attendance.transition_event(
            event_id, target, operator.subject
        )
        return TransitionOut(id=event["_id"], status=target, previous_status=EventStatus(previous))

    router.add_api_route(
        f"/events/{{event_id}}/{action}",
        transition,
        methods=["POST"],
        response_model=TransitionOut,
        summary=f"Lifecycle: {action} (→ {target.value})",
    )


for _action, _target in TRANSITION_ACTIONS.items():
    _transition_route(_action, _target)


@router.get("/events/{event_id}/form", response_model=FormOut)
async def get_form(
    event_id: str, container: Container, invitation: InvitationToken = None
) -> dict[str, Any]:
    """The current registration form of a visible event."""
    return _form(event_id, await container.invitations.visible_event(event_id, invitation))


@router.get("/operator/events/{event_id}/form", response_model=FormOut)
async def get_form_of_any_event(
    event_id: str, container: Container, staff: Staff
) -> dict[str, Any]:
    """The current registration form of any event, drafts included (operators and moderators).

    The public form is 404 for a draft, which is when operators usually write the questions.
    """
    return _form(event_id, await container.catalogue.get_event(event_id, include_drafts=True))


@router.put("/events/{event_id}/form", response_model=FormOut)
async def put_form(
    event_id: str, body: FormIn, container: Container, operator: Operator
) -> dict[str, Any]:
    """Publish a new version of the registration form (operators)."""
    return _form(event_id, await container.catalogue.put_form(event_id, body))
