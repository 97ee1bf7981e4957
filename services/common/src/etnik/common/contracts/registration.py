"""Events published by the registration service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, EmailStr, Field

from etnik.common.events import IntegrationEvent

EVENTS_TOPIC = "etnik.registration.events.v1"
PEOPLE_TOPIC = "etnik.registration.people.v1"
ORGANISATIONS_TOPIC = "etnik.registration.organisations.v1"
REGISTRATIONS_TOPIC = "etnik.registration.registrations.v1"
ATTENDANCE_TOPIC = "etnik.registration.attendance.v1"


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


class _EventSnapshot(IntegrationEvent):
    """What every event about a programme event says of it: its whole current state."""

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


class EventCreated(_EventSnapshot):
    """A programme event was created (as a draft or published)."""

    event_type = "ru.etnik.event.created"


class EventChanged(_EventSnapshot):
    """A programme event changed: its details, its time or its lifecycle status."""

    event_type = "ru.etnik.event.changed"

    changes: list[str] = Field(description="Names of the fields that changed, e.g. starts_at")


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
    organisation_id: str | None = None


class PersonErased(IntegrationEvent):
    """A person withdrew consent: every service removes or anonymises what it holds of them."""

    event_type = "ru.etnik.person.erased"
    topic = PEOPLE_TOPIC
    key_field = "person_id"

    person_id: str
    erased_at: AwareDatetime


class OrganisationRegistered(IntegrationEvent):
    """An organisation became known, or its details changed."""

    event_type = "ru.etnik.organisation.registered"
    topic = ORGANISATIONS_TOPIC
    key_field = "organisation_id"

    organisation_id: str
    name: str
    kind: str = Field(description="ngo, national_cultural_autonomy, authority, media, other")
    region_code: str | None = None
    federal_district: str | None = None


class _RegistrationFacts(IntegrationEvent):
    """What every event about a registration says of it (no personal data beyond ids)."""

    topic = REGISTRATIONS_TOPIC
    key_field = "registration_id"

    registration_id: str
    event_id: str
    person_id: str
    category: ParticipantCategory
    organisation_id: str | None = None
    region_code: str | None = None
    federal_district: str | None = None


class RegistrationConfirmed(_RegistrationFacts):
    """A registration holds a place at an event."""

    event_type = "ru.etnik.registration.confirmed"

    registered_at: datetime


class RegistrationWaitlisted(_RegistrationFacts):
    """The event was full: the registration waits for a place, in arrival order."""

    event_type = "ru.etnik.registration.waitlisted"

    registered_at: datetime


class RegistrationCancelled(_RegistrationFacts):
    """A registration was cancelled by its owner or an operator; its place is freed."""

    event_type = "ru.etnik.registration.cancelled"

    reason: str | None = None
    cancelled_at: AwareDatetime


class AttendanceRecorded(IntegrationEvent):
    """Whether a registered participant attended, by check-in or online minutes."""

    event_type = "ru.etnik.attendance.recorded"
    topic = ATTENDANCE_TOPIC
    key_field = "registration_id"

    registration_id: str
    event_id: str
    person_id: str
    attended: bool
    method: str = Field(description="qr, code, online or operator")
    minutes_attended: int | None = Field(default=None, ge=0)
    recorded_at: AwareDatetime
