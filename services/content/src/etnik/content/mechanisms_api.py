"""HTTP entrypoints of the mechanisms catalogue: staff read it, operators add, edit and retire
entries (never delete them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from etnik.common.auth import Principal, Role, require_roles
from etnik.common.idempotency import IDEMPOTENCY_HEADER, fingerprint
from etnik.common.mongo import Document
from etnik.content.container import Container
from etnik.content.mechanisms import CODE_PATTERN, MAX_TITLE_CHARS, MechanismCatalogue
from etnik.content.schemas import StrictBody

router = APIRouter(tags=["mechanisms"])

Operator = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]
Staff = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.MODERATOR))]
TaskCode = Annotated[str, Field(min_length=1, max_length=40)]


class MechanismIn(StrictBody):
    """A new mechanism: its code (a short Latin slug, never reused), title and task."""

    code: str = Field(pattern=CODE_PATTERN, description="e.g. grant_competitions")
    title: str = Field(min_length=3, max_length=MAX_TITLE_CHARS)
    task_code: TaskCode = Field(description="A task code of GET /mechanisms/reference")


class MechanismChange(StrictBody):
    """The fields to change, and the version read (409 if someone changed it since)."""

    title: str | None = Field(default=None, min_length=3, max_length=MAX_TITLE_CHARS)
    task_code: TaskCode | None = None
    version: int | None = Field(default=None, ge=1)


class MechanismOut(BaseModel):
    """A catalogue entry as staff see it."""

    code: str
    title: str
    task_code: str
    task_title: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime


class Named(BaseModel):
    """A code with its Russian title."""

    code: str
    title: str


class MechanismReference(BaseModel):
    """The Strategy's tasks and the development vectors a strategy may name."""

    note: str
    tasks: list[Named]
    vectors: list[Named]


def _out(catalogue: MechanismCatalogue, entry: Document) -> dict[str, Any]:
    tasks = catalogue.reference.tasks
    return MechanismOut(
        code=entry["_id"],
        task_title=tasks.get(entry["task_code"], entry["task_code"]),
        **{k: v for k, v in entry.items() if k != "_id"},
    ).model_dump(mode="json")


@router.get("/mechanisms/reference", response_model=MechanismReference)
async def mechanism_reference(app: Container, staff: Staff) -> dict[str, Any]:
    """The Strategy's tasks and the list of development vectors (staff)."""
    reference = app.mechanisms.reference
    return {
        "note": reference.note,
        "tasks": [{"code": k, "title": v} for k, v in reference.tasks.items()],
        "vectors": [{"code": k, "title": v} for k, v in reference.vectors.items()],
    }


@router.get("/mechanisms", response_model=list[MechanismOut])
async def list_mechanisms(
    app: Container,
    staff: Staff,
    include_retired: Annotated[bool, Query()] = False,
) -> list[dict[str, Any]]:
    """The catalogue by code: the entries that may be chosen, or all of them (staff)."""
    catalogue = app.mechanisms
    return [
        _out(catalogue, entry) for entry in await catalogue.listed(include_retired=include_retired)
    ]


@router.get("/mechanisms/{code}", response_model=MechanismOut)
async def get_mechanism(code: str, app: Container, staff: Staff) -> dict[str, Any]:
    """One entry, retired or not (staff)."""
    catalogue = app.mechanisms
    return _out(catalogue, await catalogue.get(code))


@router.post("/mechanisms", status_code=201, response_model=MechanismOut)
async def add_mechanism(
    body: MechanismIn,
    app: Container,
    operator: Operator,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> JSONResponse:
    """Add a mechanism to the catalogue (operators); MechanismRecorded."""
    catalogue = app.mechanisms

    async def action() -> tuple[int, Any]:
        """Add once; the idempotency store replays the answer, a refusal too, to a retry."""
        return 201, _out(catalogue, await catalogue.add(body.model_dump(), by=operator.subject))

    return await app.runtime.idempotency.run(
        scope=f"mechanisms:{operator.subject}",
        key=idempotency_key,
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        action=action,
    )


@router.patch("/mechanisms/{code}", response_model=MechanismOut)
async def change_mechanism(
    code: str, body: MechanismChange, app: Container, operator: Operator
) -> dict[str, Any]:
    """Correct an entry's title or task (operators); MechanismRecorded with the new state."""
    catalogue = app.mechanisms
    fields = body.model_dump(exclude_unset=True, exclude={"version"}, exclude_none=True)
    return _out(
        catalogue, await catalogue.edit(code, fields, by=operator.subject, version=body.version)
    )


@router.post("/mechanisms/{code}/retire", response_model=MechanismOut)
async def retire_mechanism(code: str, app: Container, operator: Operator) -> dict[str, Any]:
    """Retire an entry (operators): strategies keep it, it cannot be newly chosen."""
    catalogue = app.mechanisms
    return _out(catalogue, await catalogue.retire(code, by=operator.subject))
