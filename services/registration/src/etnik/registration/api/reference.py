"""HTTP entrypoints of reference data: the federal districts and subjects."""

from __future__ import annotations

from fastapi import APIRouter

from etnik.common.mongo import Document
from etnik.registration.api.dependencies import Admin
from etnik.registration.container import Container
from etnik.registration.schemas import (
    FederalDistrictOut,
    FederalDistrictUpdate,
    FederalSubjectOut,
    FederalSubjectUpdate,
)

router = APIRouter(tags=["reference"])


@router.get("/reference/districts", response_model=list[FederalDistrictOut])
async def districts(container: Container) -> list[Document]:
    """The federal districts."""
    return await container.catalogue.districts()


@router.put("/reference/districts/{key}", response_model=FederalDistrictOut)
async def update_district(
    key: str, body: FederalDistrictUpdate, container: Container, admin: Admin
) -> Document:
    """Correct a federal district's names (administrators)."""
    return await container.catalogue.update_district(key, body)


@router.get("/reference/subjects", response_model=list[FederalSubjectOut])
async def subjects(container: Container) -> list[Document]:
    """The federal subjects with their default time zones."""
    return await container.catalogue.subjects()


@router.put("/reference/subjects/{code}", response_model=FederalSubjectOut)
async def update_subject(
    code: str, body: FederalSubjectUpdate, container: Container, admin: Admin
) -> Document:
    """Correct a federal subject (administrators)."""
    return await container.catalogue.update_subject(code, body)
