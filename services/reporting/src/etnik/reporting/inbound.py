"""What reporting reads of the events it projects: its own tolerant models of them.

Each names only the fields the projections store or count (projections.py, experts.py,
internships.py, mechanisms.py, video.py, feedback.py). Values reporting only stores, counts
or groups by (a participant's category, an event's format and status, a party's sector, an
expert's role, an internship's kind, a decision) are plain strings, and fields it never reads
(consents, quotas, time zones, who recorded what) are not named at all, so that producers may
add fields, categories or statuses without a message reaching the dead-letter topic or a
rebuild passing it over. The live consumer, the rebuild and the report view all read through
these (`projections.READERS`). `tests/contract/test_readers.py` checks each against the
producer's published schema.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from etnik.common.contracts import content, notification
from etnik.common.contracts import registration as produced
from etnik.common.events import EventReader


class _Nested(BaseModel):
    """A part of an event (a party, an assignment, an answer): tolerant like the readers."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# --- Programme events and registrations ------------------------------------------------------


class _EventSnapshot(EventReader):
    """What the events' projection keeps of a programme event: its newest state."""

    event_id: str
    title: str
    track: str | None = None
    format: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    federal_district: str | None = None
    region_code: str | None = None
    status: str
    demo: bool = False


class EventCreated(_EventSnapshot, of=produced.EventCreated):
    """A programme event became known: its dates are the plan."""


class EventChanged(_EventSnapshot, of=produced.EventChanged):
    """A programme event changed: its dates are what happened."""


class _RegistrationFacts(EventReader):
    """What a registration is counted by (the person only as a pseudonym)."""

    registration_id: str
    event_id: str
    person_id: str
    category: str
    organisation_id: str | None = None
    region_code: str | None = None
    federal_district: str | None = None


class RegistrationConfirmed(_RegistrationFacts, of=produced.RegistrationConfirmed):
    """A registration holds a place."""

    registered_at: datetime


class RegistrationWaitlisted(_RegistrationFacts, of=produced.RegistrationWaitlisted):
    """A registration waits for a place."""

    registered_at: datetime


class RegistrationCancelled(_RegistrationFacts, of=produced.RegistrationCancelled):
    """A registration was cancelled."""

    cancelled_at: AwareDatetime


class AttendanceRecorded(EventReader, of=produced.AttendanceRecorded):
    """Whether a registration's person attended, as of when it was recorded."""

    registration_id: str
    event_id: str
    person_id: str
    attended: bool
    recorded_at: AwareDatetime


class PersonErased(EventReader, of=produced.PersonErased):
    """A person left: their registrations are marked, their counts kept."""

    person_id: str


class OrganisationRegistered(EventReader, of=produced.OrganisationRegistered):
    """An organisation's district and demo mark (no name, no contact)."""

    organisation_id: str
    federal_district: str | None = None
    demo: bool = False


# --- Surveys -----------------------------------------------------------------------------------


class SurveyAnswerRead(_Nested):
    """One answer of a survey, as the feedback section tallies it (kept whole)."""

    question_id: str
    kind: str
    label: str
    rating: int | None = None
    text: str | None = None


class SurveyAnswered(EventReader, of=produced.SurveyAnswered):
    """An anonymous answer to an event's feedback survey."""

    answer_id: str
    event_id: str
    track: str | None = None
    survey_version: int
    answered_on: date
    answers: list[SurveyAnswerRead]


# --- Partnerships ------------------------------------------------------------------------------


class PartnershipPartyRead(_Nested):
    """One party to a partnership, as the projection keeps it."""

    sector: str
    name: str
    organisation_id: str | None = None


class _PartnershipSnapshot(EventReader):
    """A partnership's newest state."""

    partnership_id: str
    subject: str
    parties: list[PartnershipPartyRead]
    formed_on: date
    federal_district: str
    event_id: str | None = None
    status: str
    ended_on: date | None = None
    version: int


class PartnershipFormed(_PartnershipSnapshot, of=produced.PartnershipFormed):
    """A partnership was recorded."""


class PartnershipChanged(_PartnershipSnapshot, of=produced.PartnershipChanged):
    """A partnership's details changed."""


class PartnershipEnded(_PartnershipSnapshot, of=produced.PartnershipEnded):
    """A partnership ended."""


# --- Experts -----------------------------------------------------------------------------------


class ExpertAssignmentRead(_Nested):
    """One role of an expert at one event."""

    event_id: str
    role: str
    travel_status: str


class ExpertSnapshot(EventReader):
    """A roster entry's newest state: ids, status and assignments only."""

    expert_id: str
    status: str
    assignments: list[ExpertAssignmentRead] = Field(default_factory=list)
    version: int


class ExpertRostered(ExpertSnapshot, of=produced.ExpertRostered):
    """An expert joined the roster."""


class ExpertChanged(ExpertSnapshot, of=produced.ExpertChanged):
    """An expert's entry or assignments changed."""


class ExpertRemoved(ExpertSnapshot, of=produced.ExpertRemoved):
    """An expert was removed from the roster."""


class ExpertErased(ExpertSnapshot, of=produced.ExpertErased):
    """An expert's person was erased; the assignments still count."""


# --- Internships and field programmes ----------------------------------------------------------


class InternshipDayRead(_Nested):
    """A day of an internship's schedule: only its date (the first and last day are kept)."""

    date: date


class InternshipDetailsSet(EventReader, of=produced.InternshipDetailsSet):
    """An internship's newest details."""

    event_id: str
    kind: str
    host_organisation_id: str
    host_name: str
    places: int
    schedule: list[InternshipDayRead]
    version: int


class _InternshipApplication(EventReader):
    """An application, counted by the applicant's own district."""

    event_id: str
    registration_id: str
    participant_federal_district: str | None = None


class InternshipApplicationReceived(
    _InternshipApplication, of=produced.InternshipApplicationReceived
):
    """Someone applied to an internship with selection."""


class InternshipApplicationDecided(
    _InternshipApplication, of=produced.InternshipApplicationDecided
):
    """A moderator decided an application."""

    decision: str


class InternshipOutcome(EventReader):
    """A participant's outcome: completed or not, and the hours."""

    event_id: str
    registration_id: str
    participant_federal_district: str | None = None
    completed: bool
    hours: float
    version: int


class InternshipOutcomeRecorded(InternshipOutcome, of=produced.InternshipOutcomeRecorded):
    """An outcome recorded for the first time."""


class InternshipOutcomeCorrected(InternshipOutcome, of=produced.InternshipOutcomeCorrected):
    """An outcome corrected: the whole new outcome."""


# --- Messages ----------------------------------------------------------------------------------


class NotificationSent(EventReader, of=notification.NotificationSent):
    """A message was delivered (no content, no address, no person kept)."""

    message_id: str
    kind: str
    sent_at: AwareDatetime


class NotificationFailed(EventReader, of=notification.NotificationFailed):
    """A message could not be delivered."""

    message_id: str
    kind: str
    failed_at: AwareDatetime


# --- Content -----------------------------------------------------------------------------------


class MaterialPublished(EventReader, of=content.MaterialPublished):
    """A material (or a new version of it) was published."""

    material_id: str
    version: int
    kind: str
    title: str
    federal_district: str | None = None
    track: str | None = None
    event_id: str | None = None
    published_at: AwareDatetime


class MaterialArchived(EventReader, of=content.MaterialArchived):
    """A material was withdrawn."""

    material_id: str
    kind: str
    archived_at: AwareDatetime


class MaterialDownloaded(EventReader, of=content.MaterialDownloaded):
    """A material's file was downloaded (the reader a pseudonym)."""

    material_id: str
    kind: str
    reader: str
    partial: bool
    downloaded_at: AwareDatetime


class MaterialViewed(EventReader, of=content.MaterialViewed):
    """A video's playback started (the viewer a pseudonym)."""

    material_id: str
    title: str
    viewer: str
    viewer_kind: str
    viewed_at: AwareDatetime


class StrategyUpdated(EventReader, of=content.StrategyUpdated):
    """A development strategy's version, with the mechanisms its goals use."""

    strategy_id: str
    organisation_id: str
    version: int
    updated_at: AwareDatetime
    mechanisms: list[str] | None = None


class MediaMentionRecorded(EventReader, of=content.MediaMentionRecorded):
    """A publication about the programme."""

    mention_id: str
    url: str
    outlet: str
    title: str | None = None
    type: str
    published_on: date
    audience_reach: int | None = None
    event_ids: list[str] = Field(default_factory=list)


class _MechanismSnapshot(EventReader):
    """A catalogue entry's newest state."""

    code: str
    title: str
    task_code: str
    task_title: str
    status: str
    version: int


class MechanismRecorded(_MechanismSnapshot, of=content.MechanismRecorded):
    """A mechanism was added or edited."""


class MechanismRetired(_MechanismSnapshot, of=content.MechanismRetired):
    """A mechanism was retired."""
