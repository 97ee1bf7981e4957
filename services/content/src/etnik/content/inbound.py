"""What content reads of the events it consumes: its own tolerant models of them.

Content keeps who may read participants-only material (confirmed registrations, attendance),
the events and organisations materials are filed under, and forgets erased people and
withdrawn consents. Each reader names only those fields; the rest of the producer's contract
(categories, consents, quotas) may change without reaching this service's dead-letter topic.
`tests/contract/test_readers.py` checks each against the producer's published schema.
"""

from __future__ import annotations

from pydantic import AwareDatetime

from etnik.common.contracts import registration as produced
from etnik.common.events import EventReader


class _EventDetails(EventReader):
    """What a material's page and the participants' access need of a programme event."""

    event_id: str
    title: str
    track: str | None = None
    starts_at: AwareDatetime
    federal_district: str | None = None
    status: str


class EventCreated(_EventDetails, of=produced.EventCreated):
    """A programme event became known."""


class EventChanged(_EventDetails, of=produced.EventChanged):
    """A programme event changed."""


class OrganisationRegistered(EventReader, of=produced.OrganisationRegistered):
    """An organisation a strategy or material may belong to."""

    organisation_id: str
    name: str
    kind: str
    federal_district: str | None = None


class _RegistrationStatus(EventReader):
    """A registration that opens (or no longer opens) an event's participants material."""

    registration_id: str
    event_id: str
    person_id: str
    organisation_id: str | None = None


class RegistrationConfirmed(_RegistrationStatus, of=produced.RegistrationConfirmed):
    """Confirmed: its person may read the event's participants material."""


class RegistrationCancelled(_RegistrationStatus, of=produced.RegistrationCancelled):
    """Cancelled: the material is closed to its person again."""


class AttendanceRecorded(EventReader, of=produced.AttendanceRecorded):
    """Whether a registration's person attended."""

    registration_id: str
    event_id: str
    person_id: str
    attended: bool


class PersonErased(EventReader, of=produced.PersonErased):
    """A person to forget."""

    person_id: str


class PublicationConsentWithdrawn(EventReader, of=produced.PublicationConsentWithdrawn):
    """A person no longer lets their name appear on what is published."""

    person_id: str
    withdrawn_at: AwareDatetime
    by: str
