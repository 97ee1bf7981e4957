"""HTTP entrypoints of the directory: organisations and people, as operators keep them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from etnik.common.contracts.registration import ParticipantCategory
from etnik.registration.api.answers import public
from etnik.registration.api.dependencies import Limit, Offset, Operator, Staff
from etnik.registration.container import Container
from etnik.registration.schemas import (
    OrganisationIn,
    OrganisationOut,
    PersonIn,
    PersonOut,
    PersonUpdate,
)

router = APIRouter(tags=["directory"])


@router.post("/organisations", status_code=201, response_model=OrganisationOut)
async def create_organisation(
    body: OrganisationIn, container: Container, operator: Operator, response: Response
) -> dict[str, Any]:
    """Add an organisation (operators); one with the same ИНН is returned instead (200)."""
    organisation, created = await container.directory.create_organisation(body)
    if not created:
        response.status_code = 200
    return public(organisation)


@router.get("/organisations", response_model=list[OrganisationOut])
async def list_organisations(
    container: Container,
    staff: Staff,
    kind: str | None = None,
    region_code: str | None = None,
    federal_district: str | None = None,
    inn: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Organisations, filtered (operators and moderators)."""
    filters = {
        "kind": kind,
        "region_code": region_code,
        "federal_district": federal_district,
        "inn": inn,
    }
    found = await container.directory.list_organisations(filters, limit, offset)
    return [public(o) for o in found]


@router.get("/organisations/{organisation_id}", response_model=OrganisationOut)
async def get_organisation(
    organisation_id: str, container: Container, staff: Staff
) -> dict[str, Any]:
    """One organisation (operators and moderators)."""
    return public(await container.directory.organisation(organisation_id))


@router.post("/people", status_code=201, response_model=PersonOut)
async def create_person(
    body: PersonIn, container: Container, operator: Operator, response: Response
) -> dict[str, Any]:
    """Add a person (operators); one with the same email is returned instead (200)."""
    person, created = await container.directory.create_person(body)
    if not created:
        response.status_code = 200
    return public(person)


@router.get("/people", response_model=list[PersonOut])
async def list_people(
    container: Container,
    staff: Staff,
    category: ParticipantCategory | None = None,
    region_code: str | None = None,
    federal_district: str | None = None,
    organisation_id: str | None = None,
    email: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """People, filtered (operators and moderators)."""
    filters = {
        "category": category.value if category else None,
        "region_code": region_code,
        "federal_district": federal_district,
        "organisation_id": organisation_id,
        "email": email.strip().lower() if email else None,
    }
    return [public(p) for p in await container.directory.list_people(filters, limit, offset)]


@router.get("/people/{person_id}", response_model=PersonOut)
async def get_person(person_id: str, container: Container, staff: Staff) -> dict[str, Any]:
    """One person (operators and moderators)."""
    return public(await container.directory.person(person_id))


@router.patch("/people/{person_id}", response_model=PersonOut)
async def update_person(
    person_id: str, body: PersonUpdate, container: Container, operator: Operator
) -> dict[str, Any]:
    """Change a person's details (operators)."""
    return public(await container.directory.update_person(person_id, body))
