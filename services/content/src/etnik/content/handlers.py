"""What content does with each event it consumes: keep who may read what, and forget people."""

from __future__ import annotations

from etnik.common.consumer import EventConsumer
from etnik.common.erasure import EraseFunction, ErasureLedger
from etnik.common.events import CloudEvent
from etnik.content.access import ParticipantAccess
from etnik.content.inbound import (
    AttendanceRecorded,
    EventChanged,
    EventCreated,
    OrganisationRegistered,
    PersonErased,
    PublicationConsentWithdrawn,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.content.publication_consent import PublicationConsent
from etnik.content.service import MaterialService
from etnik.content.video_service import VideoService


class ContentHandlers:
    """Registers a handler for every event type content acts on."""

    def __init__(
        self,
        access: ParticipantAccess,
        erasures: ErasureLedger,
        publication: PublicationConsent,
    ) -> None:
        self._access = access
        self._erasures = erasures
        self._publication = publication

    def register(self, consumer: EventConsumer) -> None:
        """Attach the handlers to a consumer."""
        consumer.on(EventCreated)(self.on_event_created)
        consumer.on(EventChanged)(self.on_event_changed)
        consumer.on(OrganisationRegistered)(self.on_organisation)
        consumer.on(RegistrationConfirmed)(self.on_confirmed)
        consumer.on(RegistrationCancelled)(self.on_cancelled)
        consumer.on(AttendanceRecorded)(self.on_attendance)
        consumer.on(PersonErased)(self.on_erased)
        consumer.on(PublicationConsentWithdrawn)(self.on_publication_withdrawn)

    async def on_event_created(self, envelope: CloudEvent, event: EventCreated) -> None:
        """Remember the programme event: materials may be filed under it."""
        await self._access.record_event(event)

    async def on_event_changed(self, envelope: CloudEvent, event: EventChanged) -> None:
        """Keep the programme event's current title, time and place."""
        await self._access.record_event(event)

    async def on_organisation(self, envelope: CloudEvent, event: OrganisationRegistered) -> None:
        """Remember the organisation's name and district: materials and strategies name it."""
        await self._access.record_organisation(event)

    async def on_confirmed(self, envelope: CloudEvent, event: RegistrationConfirmed) -> None:
        """The person may now read their event's participants-only material."""
        await self._access.grant(event)

    async def on_cancelled(self, envelope: CloudEvent, event: RegistrationCancelled) -> None:
        """The cancelled registration no longer opens the event's material."""
        await self._access.revoke(event)

    async def on_attendance(self, envelope: CloudEvent, event: AttendanceRecorded) -> None:
        """Whether the person attended, for the organisation's participation history."""
        await self._access.record_attendance(event)

    async def on_erased(self, envelope: CloudEvent, event: PersonErased) -> None:
        """Forget the person: recorded first, retried until done (see `person_eraser`)."""
        await self._erasures.erase(event.person_id)

    async def on_publication_withdrawn(
        self, envelope: CloudEvent, event: PublicationConsentWithdrawn
    ) -> None:
        """Stop naming the person in materials (etnik.content.publication_consent)."""
        await self._publication.withdrawn(event)


def person_eraser(
    materials: MaterialService, video: VideoService, access: ParticipantAccess
) -> EraseFunction:
    """What erasing a person means here: their name leaves every material (and compiled PDF),
    their video views go, and their registrations keep counting without them."""

    async def erase_person(person_id: str) -> None:
        await materials.forget_author(person_id)
        await video.forget_person(person_id)
        await access.forget_person(person_id)

    return erase_person
