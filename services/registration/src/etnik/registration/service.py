"""Application handlers: each takes a command, changes state through the repository, and
publishes the events its write staged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from etnik.common.contracts.registration import (
    EventCreated,
    PersonRegistered,
    RegistrationConfirmed,
    RegistrationStatus,
    RegistrationWaitlisted,
)
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, stage
from etnik.common.publisher import EventPublisher
from etnik.registration.repository import RegistrationRepository, new_id, now_utc
from etnik.registration.schemas import EventIn, EventStatus, RegistrationIn

DEFAULT_TIMEZONE = "Europe/Moscow"


class DomainError(Exception):
    """A request the domain refuses, with the HTTP status and a reason a person can act on."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


@dataclass(frozen=True)
class RegistrationResult:
    """A registration and whether this request created it."""

    registration: Document
    created: bool


class RegistrationService:
    """Use cases of the registration service."""

    def __init__(
        self, repository: RegistrationRepository, publisher: EventPublisher, outbox: Outbox
    ) -> None:
        self._repo = repository
        self._publisher = publisher
        self._outbox = outbox

    async def create_event(self, command: EventIn) -> Document:
        """Create an event; its creation is published."""
        event: Document = {
            "_id": new_id(),
            **command.model_dump(),
            "seats_taken": 0,
            "created_at": now_utc(),
            "version": 1,
        }
        created = EventCreated(
            event_id=event["_id"],
            title=command.title,
            track=command.track,
            format=command.format,
            starts_at=command.starts_at,
            ends_at=command.ends_at,
            timezone=command.timezone,
            federal_district=command.federal_district,
            region_code=command.region_code,
            capacity=command.capacity,
            status=command.status,
        )
        staged = stage([self._publisher.envelope(created)])
        await self._repo.insert_event(event, staged)
        await self._outbox.flush(self._repo.events, event["_id"], staged)
        return event

    async def register(self, event_id: str, command: RegistrationIn) -> RegistrationResult:
        """Register a person for an event: found again by email, confirmed or waitlisted."""
        event = await self._repo.get_event(event_id)
        if event is None:
            raise DomainError(404, "unknown event")
        _check_registration_open(event, now_utc())
        if not command.consent_personal_data:
            raise DomainError(422, "consent to personal-data processing is required to register")

        person = await self._find_or_create_person(command)
        existing = await self._repo.find_registration(event_id, person["_id"])
        if existing is not None:
            return RegistrationResult(existing, created=False)

        capacity = event.get("capacity")
        seat_taken = capacity is None or await self._repo.take_seat(event_id, int(capacity))
        status = RegistrationStatus.CONFIRMED if seat_taken else RegistrationStatus.WAITLISTED
        registered_at = now_utc()
        registration: Document = {
            "_id": new_id(),
            "event_id": event_id,
            "person_id": person["_id"],
            "status": status.value,
            "category": command.category.value,
            "region_code": person.get("region_code"),
            "federal_district": event.get("federal_district"),
            "answers": command.answers,
            "consent": {
                "personal_data": True,
                "publication": command.consent_publication,
                "given_at": registered_at,
            },
            "created_at": registered_at,
            "version": 1,
        }
        contract = RegistrationConfirmed if seat_taken else RegistrationWaitlisted
        staged = stage(
            [
                self._publisher.envelope(
                    contract(
                        registration_id=registration["_id"],
                        event_id=event_id,
                        person_id=person["_id"],
                        category=command.category,
                        region_code=person.get("region_code"),
                        federal_district=event.get("federal_district"),
                        registered_at=registered_at,
                    )
                )
            ]
        )
        if not await self._repo.insert_registration(registration, staged):
            # The same person registered concurrently: keep theirs and give back our seat.
            if seat_taken and capacity is not None:
                await self._repo.release_seat(event_id)
            stored = await self._repo.find_registration(event_id, person["_id"])
            assert stored is not None
            return RegistrationResult(stored, created=False)
        await self._outbox.flush(self._repo.registrations, registration["_id"], staged)
        return RegistrationResult(registration, created=True)

    async def _find_or_create_person(self, command: RegistrationIn) -> Document:
        person: Document = {
            "_id": new_id(),
            "email": command.email.lower(),
            "full_name": command.full_name,
            "category": command.category.value,
            "region_code": command.region_code,
            "timezone": command.timezone or DEFAULT_TIMEZONE,
            "locale": command.locale,
            "created_at": now_utc(),
        }
        staged = stage(
            [
                self._publisher.envelope(
                    PersonRegistered(
                        person_id=person["_id"],
                        full_name=person["full_name"],
                        email=person["email"],
                        locale=person["locale"],
                        timezone=person["timezone"],
                        region_code=person["region_code"],
                        category=command.category,
                    )
                )
            ]
        )
        stored, created = await self._repo.find_or_create_person(person, staged)
        if created:
            await self._outbox.flush(self._repo.people, stored["_id"], staged)
        return stored


def _check_registration_open(event: Document, now: datetime) -> None:
    if event.get("status") != EventStatus.REGISTRATION_OPEN:
        raise DomainError(409, "registration for this event is not open")
    opens, closes = event.get("registration_opens_at"), event.get("registration_closes_at")
    if opens is not None and now < opens:
        raise DomainError(409, "registration for this event has not opened yet")
    if closes is not None and now >= closes:
        raise DomainError(409, "registration for this event has closed")
