"""Events published by the registration service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, EmailStr, Field

from etnik.common.events import IntegrationEvent

EVENTS_TOPIC = "etnik.registration.events.v1"
PEOPLE_TOPIC = "etnik.registration.people.v1"
REGISTRATIONS_TOPIC = "etnik.registration.registrations.v1"


class EventFormat(StrEnum):
    """How participants attend an event."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class ParticipantCategory(StrEnum):
    """Who a participant is, for quotas and the grant report."""

    NGO_LEADER = "ngo_leader"
    NGO_ACTIVIST = "ngo_activist"
    EXPERT = "expert"
    GOVERNMENT_OFFICIAL = "government_official"
    MEDIA = "media"
    OTHER = "other"


class RegistrationStatus(StrEnum):
    """Where a registration stands."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class EventCreated(IntegrationEvent):
    """A programme event was created (as a draft or published)."""

    event_type = "ru.etnik.event.created"
    topic = EVENTS_TOPIC
    key_field = "event_id"

    event_id: str
    title: str
    track: str | None = None
    format: EventFormat
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str = Field(description="IANA time zone of the event, e.g. Europe/Moscow")
    federal_district: str | None = None
    region_code: str | None = None
    capacity: int | None = Field(default=None, ge=0)
    status: str


class PersonRegistered(IntegrationEvent):
    """A person became known to the platform, or their contact details changed."""

    event_type = "ru.etnik.person.registered"
    topic = PEOPLE_TOPIC
    key_field = "person_id"

    person_id: str
    full_name: str
    email: EmailStr
    locale: str = "ru"
    timezone: str = Field(description="IANA time zone the person reads times in")
    region_code: str | None = None
    category: ParticipantCategory


class RegistrationConfirmed(IntegrationEvent):
    """A registration holds a place at an event."""

    event_type = "ru.etnik.registration.confirmed"
    topic = REGISTRATIONS_TOPIC
    key_field = "registration_id"

    registration_id: str
    event_id: str
    person_id: str
    category: ParticipantCategory
    region_code: str | None = None
    federal_district: str | None = None
    registered_at: datetime


class RegistrationWaitlisted(IntegrationEvent):
    """The event was full: the registration waits for a place, in arrival order."""

    event_type = "ru.etnik.registration.waitlisted"
    topic = REGISTRATIONS_TOPIC
    key_field = "registration_id"

    registration_id: str
    event_id: str
    person_id: str
    category: ParticipantCategory
    region_code: str | None = None
    federal_district: str | None = None
    registered_at: datetime
