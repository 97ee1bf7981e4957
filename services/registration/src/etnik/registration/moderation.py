"""Moderation: a registration awaiting approval (an internship application among them) is
approved onto a free place, or the waitlist, or rejected with a reason the person is told."""

from __future__ import annotations

from etnik.common.contracts.registration import (
    RegistrationConfirmed,
    RegistrationRejected,
    RegistrationStatus,
    RegistrationWaitlisted,
)
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.catalogue import CatalogueService
from etnik.registration.errors import DomainError
from etnik.registration.internships import application_decided
from etnik.registration.placement import Placement, place_fields, retry_while_taken
from etnik.registration.queries import RegistrationQueries
from etnik.registration.repository import RegistrationRepository, now_utc
from etnik.registration.status_changes import change_status, registration_facts


class Moderation:
    """A moderator's decisions on registrations pending approval."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        catalogue: CatalogueService,
        placement: Placement,
        queries: RegistrationQueries,
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        self._placement = placement
        self._queries = queries

    async def approve(self, registration_id: str, moderator: str) -> Document:
        """A moderator approves: confirmed if a place is left, otherwise waitlisted."""
        registration = await self._queries.registration(registration_id)
        if registration["status"] != RegistrationStatus.PENDING_APPROVAL:
            raise DomainError(409, f"a {registration['status']} registration cannot be approved")
        event = await self._catalogue.get_event(registration["event_id"], include_drafts=True)
        decided_at = now_utc()
        decided = {"decided_by": moderator, "decided_at": decided_at}
        facts = registration_facts(registration)
        registered_at = registration["created_at"]
        person = (
            await self._repo.get(self._repo.people, registration["person_id"])
            if event.get("internship")
            else None
        )

        async def decide(_attempt: int) -> Document:
            """Take a free place (or the waitlist); PlaceTaken sends it back to choose again."""
            place = await self._placement.free_place(event, registration["category"])
            contract: IntegrationEvent
            if place is None and event.get("internship"):
                # Selection fills a fixed number of places: no waitlist behind them.
                raise DomainError(
                    409, f"all {event.get('capacity')} places are taken: reject, or add places"
                )
            if place is None:
                update = {
                    "status": RegistrationStatus.WAITLISTED.value,
                    "waitlisted_at": now_utc(),
                    **decided,
                }
                contract = RegistrationWaitlisted(**facts, registered_at=registered_at)
            else:
                update = {
                    "status": RegistrationStatus.CONFIRMED.value,
                    **place_fields(place, registration),
                    **decided,
                }
                contract = RegistrationConfirmed(**facts, registered_at=registered_at)
            staged = self._staging.stage(
                contract,
                *application_decided(
                    event, registration, person, decision="approved", by=moderator, at=decided_at
                ),
            )
            updated = await self._repo.take_place(
                registration_id,
                RegistrationStatus.PENDING_APPROVAL.value,
                {"$set": update, "$inc": {"version": 1}},
                staged,
            )
            if updated is None:
                raise DomainError(409, "the registration was decided meanwhile; reload it")
            await self._staging.flush(self._repo.registrations, registration_id, staged)
            return updated

        return await retry_while_taken(decide)

    async def reject(self, registration_id: str, reason: str, moderator: str) -> Document:
        """A moderator rejects, with the reason the person is told."""
        registration = await self._queries.registration(registration_id)
        now = now_utc()
        event = await self._repo.get(self._repo.events, registration["event_id"]) or {}
        person = (
            await self._repo.get(self._repo.people, registration["person_id"])
            if event.get("internship")
            else None
        )
        updated = await change_status(
            self._repo,
            self._staging,
            registration,
            (RegistrationStatus.PENDING_APPROVAL.value,),
            {
                "$set": {
                    "status": RegistrationStatus.REJECTED.value,
                    "rejection_reason": reason,
                    "decided_by": moderator,
                    "decided_at": now,
                }
            },
            RegistrationRejected(
                **registration_facts(registration), reason=reason, rejected_at=now
            ),
            *application_decided(
                event, registration, person, decision="rejected", by=moderator, at=now
            ),
        )
        if updated is None:
            raise DomainError(409, f"a {registration['status']} registration cannot be rejected")
        return updated
