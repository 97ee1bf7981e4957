"""What notification reads of the events it consumes: its own tolerant models of them.

Each names only the fields notification uses. Values it stores or passes on without acting
on them (an event's format and status, a person's locale) are plain strings, and fields it
never reads (a participant's category, quotas, consents) are not named at all, so that
registration may add fields, categories or statuses without sending anything here to the
dead-letter topic. `tests/contracts` checks each against the producer's published schema.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from etnik.common.contracts import registration as produced
from etnik.common.events import EventReader


class PersonRegistered(EventReader, of=produced.PersonRegistered):
    """A recipient's contact details."""

    person_id: str
    full_name: str
    email: str
    locale: str = "ru"
    timezone: str
    region_code: str | None = None


class PersonErased(EventReader, of=produced.PersonErased):
    """A person to forget."""

    person_id: str


class _EventDetails(EventReader):
    """What a message says of a programme event, and what moves its reminders."""

    event_id: str
    title: str
    format: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str
    status: str


class EventCreated(_EventDetails, of=produced.EventCreated):
    """A programme event became known."""


class EventChanged(_EventDetails, of=produced.EventChanged):
    """A programme event changed; `changes` names the fields that did."""

    changes: list[str] = Field(default_factory=list)


class _RegistrationStatus(EventReader):
    """Where one registration stands."""

    registration_id: str
    event_id: str
    person_id: str


class RegistrationConfirmed(_RegistrationStatus, of=produced.RegistrationConfirmed):
    """Confirmed: the participant gets the session's details."""


class RegistrationWaitlisted(_RegistrationStatus, of=produced.RegistrationWaitlisted):
    """On the waiting list."""


class RegistrationPendingApproval(_RegistrationStatus, of=produced.RegistrationPendingApproval):
    """Waiting for a moderator."""


class RegistrationRejected(_RegistrationStatus, of=produced.RegistrationRejected):
    """Rejected, with the moderator's reason."""

    reason: str | None = None


class RegistrationCancelled(_RegistrationStatus, of=produced.RegistrationCancelled):
    """Cancelled, perhaps with a reason."""

    reason: str | None = None


class RegistrationOffered(_RegistrationStatus, of=produced.RegistrationOffered):
    """A freed place offered to someone waiting, until a deadline."""

    offer_expires_at: AwareDatetime
    accept_url: str


class SignInLinkRequested(EventReader, of=produced.SignInLinkRequested):
    """A one-time sign-in link to send to the address that asked."""

    person_id: str
    email: str
    locale: str = "ru"
    link: str
    expires_at: AwareDatetime


class InvitationIssued(EventReader, of=produced.InvitationIssued):
    """An invitation to a person, or to an organisation's contact address."""

    invitation_id: str
    event_id: str
    person_id: str | None = None
    organisation_id: str | None = None
    campaign_id: str | None = None
    link: str
    expires_at: AwareDatetime
    email: str | None = None
    timezone: str | None = None


class CertificateIssued(EventReader, of=produced.CertificateIssued):
    """A participant's certificate is ready."""

    registration_id: str
    event_id: str
    person_id: str


class SurveyRequested(EventReader, of=produced.SurveyRequested):
    """A participant who attended is asked for feedback."""

    registration_id: str
    event_id: str
    person_id: str
