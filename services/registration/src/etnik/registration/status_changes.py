"""What every change of a registration's status shares: the facts its events carry, and the
one conditional write that stores the change with its events."""

from __future__ import annotations

from typing import Any

from etnik.common.contracts.registration import ParticipantCategory
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.repository import RegistrationRepository


def registration_facts(registration: Document) -> dict[str, Any]:
    """The fields every registration event carries, read from the stored registration."""
    return {
        "registration_id": registration["_id"],
        "event_id": registration["event_id"],
        "person_id": registration["person_id"],
        "category": ParticipantCategory(registration["category"]),
        "organisation_id": registration.get("organisation_id"),
        "region_code": registration.get("region_code"),
        "federal_district": registration.get("federal_district"),
        # What the person agreed to with this registration: the versions of the texts.
        "consent_version": (registration.get("consent") or {}).get("personal_data_version"),
        "publication_consent": bool((registration.get("consent") or {}).get("publication")),
    }


async def change_status(
    repository: RegistrationRepository,
    staging: Outbox,
    registration: Document,
    from_statuses: tuple[str, ...],
    update: Document,
    *events: IntegrationEvent,
) -> Document | None:
    """Apply the update if the registration is still in one of `from_statuses`, with its
    events in the same write; None when it moved on meanwhile (nothing is published)."""
    staged = staging.stage(*events)
    updated = await repository.update(
        repository.registrations,
        {"_id": registration["_id"], "status": {"$in": list(from_statuses)}},
        {**update, "$inc": {"version": 1}},
        staged,
    )
    if updated is not None:
        await staging.flush(repository.registrations, registration["_id"], staged)
    return updated
