"""Events published by the registration service."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from etnik.common.events import IntegrationEvent

EVENTS_TOPIC = "etnik.registration.events.v1"
PEOPLE_TOPIC = "etnik.registration.people.v1"
ORGANISATIONS_TOPIC = "etnik.registration.organisations.v1"
REGISTRATIONS_TOPIC = "etnik.registration.registrations.v1"
ATTENDANCE_TOPIC = "etnik.registration.attendance.v1"
PROGRAMMES_TOPIC = "etnik.registration.programmes.v1"
REFERENCE_TOPIC = "etnik.registration.reference.v1"
SIGN_IN_LINKS_TOPIC = "etnik.registration.sign_in_links.v1"
INVITATIONS_TOPIC = "etnik.registration.invitations.v1"
CAMPAIGNS_TOPIC = "etnik.registration.invitation_campaigns.v1"
OPERATORS_TOPIC = "etnik.registration.operators.v1"
CERTIFICATES_TOPIC = "etnik.registration.certificates.v1"
SURVEY_REQUESTS_TOPIC = "etnik.registration.survey_requests.v1"
SURVEY_ANSWERS_TOPIC = "etnik.registration.survey_answers.v1"
# Consent changes, keyed by person: on the people topic they would, once compacted, replace the
# person's record (the last record per key is all a compacted topic keeps).
CONSENTS_TOPIC = "etnik.registration.consents.v1"


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
    OFFERED = "offered"


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
    programme_id: str | None = None
    venue: str | None = None
    online_platform: str | None = Field(
        default=None,
        description="vk_video, yandex_telemost, mts_link, zoom or other; the link itself is"
        " shown only to confirmed participants and never published",
    )
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None
    requires_approval: bool = False
    invitation_only: bool = Field(
        default=False, description="Only holders of an invitation may see and register"
    )
    quotas: dict[str, int] = Field(
        default_factory=dict, description="Places reserved per participant category"
    )
    demo: bool = Field(default=False, description="Demonstration data, not a real event")


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


class PublicationConsentWithdrawn(IntegrationEvent):
    """A person withdrew their consent to publication alone: every service stops showing their
    name, organisation and photos where that consent was the basis (their other data stays)."""

    event_type = "ru.etnik.publication_consent.withdrawn"
    topic = CONSENTS_TOPIC
    key_field = "person_id"

    person_id: str
    withdrawn_at: AwareDatetime
    by: Literal["self", "operator"] = Field(
        description="The person themself, or an operator answering their written request"
    )


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
    inn: str | None = None
    ogrn: str | None = None
    demo: bool = False


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
    consent_version: int | None = Field(
        default=None, description="Version of the personal-data consent text the person accepted"
    )
    publication_consent: bool = Field(
        default=False, description="Whether the person agreed to publication (photos, names)"
    )


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


class RegistrationPendingApproval(_RegistrationFacts):
    """A registration for an event that needs approval waits for a moderator."""

    event_type = "ru.etnik.registration.pending_approval"

    registered_at: AwareDatetime


class RegistrationRejected(_RegistrationFacts):
    """A moderator rejected a registration, with a reason the person is told."""

    event_type = "ru.etnik.registration.rejected"

    reason: str
    rejected_at: AwareDatetime


class RegistrationOffered(_RegistrationFacts):
    """A place was freed and is offered to a waitlisted person until the offer expires."""

    event_type = "ru.etnik.registration.offered"

    offer_expires_at: AwareDatetime
    accept_url: str = Field(description="Signed link that accepts (or cancels) the offer")


class ProgrammeChanged(IntegrationEvent):
    """A programme or one of its tracks was created or changed (the whole programme)."""

    event_type = "ru.etnik.programme.changed"
    topic = PROGRAMMES_TOPIC
    key_field = "programme_id"

    programme_id: str
    title: str
    tracks: list[dict[str, str]] = Field(
        default_factory=list, description="Each track: id, title, kind"
    )
    changes: list[str] = Field(default_factory=list)


class FederalSubjectChanged(IntegrationEvent):
    """An administrator changed a federal subject's reference data (e.g. its time zone)."""

    event_type = "ru.etnik.federal_subject.changed"
    topic = REFERENCE_TOPIC
    key_field = "code"

    code: str
    name_ru: str
    federal_district: str | None = None
    iana_timezone: str
    changes: list[str] = Field(default_factory=list)


class FederalDistrictChanged(IntegrationEvent):
    """An administrator changed a federal district's reference data (e.g. its name)."""

    event_type = "ru.etnik.federal_district.changed"
    topic = REFERENCE_TOPIC
    key_field = "district"

    district: str = Field(description="The district's key, its short name, e.g. ДФО")
    name_ru: str
    name_en: str
    centre_ru: str
    changes: list[str] = Field(default_factory=list)


class OperatorAccountChanged(IntegrationEvent):
    """An operator account was created, or its roles or activity changed (for audit)."""

    event_type = "ru.etnik.operator_account.changed"
    topic = OPERATORS_TOPIC
    key_field = "account_id"

    account_id: str
    roles: list[str]
    active: bool
    changes: list[str] = Field(description="created, roles, active or password")
    changed_by: str | None = Field(default=None, description="The account that made the change")
    changed_at: AwareDatetime


class SignInLinkRequested(IntegrationEvent):
    """A participant asked to sign in: notification emails them this one-time link."""

    event_type = "ru.etnik.sign_in_link.requested"
    topic = SIGN_IN_LINKS_TOPIC
    key_field = "person_id"

    person_id: str
    email: EmailStr
    locale: str = "ru"
    link: str = Field(description="One-time sign-in link; a secret for the recipient only")
    expires_at: AwareDatetime


class SignInLinksErased(IntegrationEvent):
    """A person was erased: under their key, this replaces their last sign-in link request
    (and the address in it), so that compaction leaves no copy on the topic."""

    event_type = "ru.etnik.sign_in_link.erased"
    topic = SIGN_IN_LINKS_TOPIC
    key_field = "person_id"

    person_id: str
    erased_at: AwareDatetime


class InvitationIssued(IntegrationEvent):
    """An invitation for a person or an organisation: notification sends its link to the
    person, or to the organisation's contact address."""

    event_type = "ru.etnik.invitation.issued"
    topic = INVITATIONS_TOPIC
    key_field = "invitation_id"

    invitation_id: str
    event_id: str
    person_id: str | None = None
    organisation_id: str | None = None
    campaign_id: str | None = None
    link: str = Field(description="Signed, single-use registration link; a secret")
    expires_at: AwareDatetime
    email: EmailStr | None = Field(
        default=None,
        description="An organisation's contact address, where its invitation is sent "
        "(absent for a person's invitation: notification knows their address)",
    )
    timezone: str | None = Field(
        default=None,
        description="IANA zone of the organisation's region, for quiet hours and times",
    )


class InvitationCampaignCreated(IntegrationEvent):
    """An invitation campaign: its audience and how many invitations it issued."""

    event_type = "ru.etnik.invitation_campaign.created"
    topic = CAMPAIGNS_TOPIC
    key_field = "campaign_id"

    campaign_id: str
    event_id: str
    federal_districts: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(default_factory=list)
    categories: list[ParticipantCategory] = Field(default_factory=list)
    organisation_kinds: list[str] = Field(default_factory=list)
    invitations: int = Field(ge=0)
    created_at: AwareDatetime


class CertificateIssued(IntegrationEvent):
    """A participant who attended a completed event was issued a participation certificate;
    notification tells them where to download it (the link is read from registration)."""

    event_type = "ru.etnik.certificate.issued"
    topic = CERTIFICATES_TOPIC
    key_field = "certificate_id"

    certificate_id: str
    registration_id: str
    event_id: str
    person_id: str
    code: str = Field(description="The public verification code printed on the certificate")
    hours: float = Field(
        gt=0, description="Hours it states: the event's length to the half hour, or the operator's"
    )
    issued_at: AwareDatetime
    issued_by: str = Field(description="The operator account that issued it")


class SurveyRequested(IntegrationEvent):
    """A participant who attended a completed event is asked for feedback: notification
    sends the invitation, whose answer link it reads from registration (a secret)."""

    event_type = "ru.etnik.survey.requested"
    topic = SURVEY_REQUESTS_TOPIC
    key_field = "registration_id"

    registration_id: str
    event_id: str
    person_id: str
    survey_version: int = Field(ge=1)
    requested_at: AwareDatetime


class SurveyAnswer(BaseModel):
    """One answer of a feedback survey, with the question as it was asked."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    question_id: str
    kind: Literal["rating", "text"]
    label: str = Field(description="The question's wording (Russian)")
    rating: int | None = Field(default=None, ge=1, le=5, description="1-5, rating questions")
    text: str | None = Field(default=None, description="Free text; may name people")


class SurveyAnswered(IntegrationEvent):
    """An anonymous answer to an event's feedback survey: no person, no registration, and
    only the day, so that it cannot be traced back to whoever gave it."""

    event_type = "ru.etnik.survey.answered"
    topic = SURVEY_ANSWERS_TOPIC
    key_field = "event_id"

    answer_id: str = Field(description="A random id of this answer, for deduplication only")
    event_id: str
    track: str | None = None
    survey_version: int = Field(ge=1)
    answered_on: date = Field(description="The day (UTC) of the answer, not its time")
    answers: list[SurveyAnswer]


# --- Partnerships ----------------------------------------------------------------------------

PARTNERSHIPS_TOPIC = "etnik.registration.partnerships.v1"


class PartnershipSector(StrEnum):
    """Which sector a party to a partnership belongs to, for cross-sector counts."""

    NGO = "ngo"
    AUTHORITY = "authority"
    BUSINESS = "business"
    MEDIA = "media"
    EDUCATION = "education"
    OTHER = "other"


class PartnershipParty(BaseModel):
    """One party: an organisation of the directory, or one named only here."""

    model_config = ConfigDict(frozen=True)

    sector: PartnershipSector
    name: str
    organisation_id: str | None = Field(
        default=None, description="The organisation in the directory, when it is there"
    )


class _PartnershipSnapshot(IntegrationEvent):
    """What every event about a partnership says of it: its whole current state."""

    topic = PARTNERSHIPS_TOPIC
    key_field = "partnership_id"

    partnership_id: str
    subject: str
    parties: list[PartnershipParty] = Field(min_length=2)
    formed_on: date
    federal_district: str
    event_id: str | None = Field(default=None, description="The event it came from, if any")
    document_material_id: str | None = Field(
        default=None, description="The agreement's file: a material in the content service"
    )
    status: Literal["active", "ended"]
    ended_on: date | None = None
    version: int = Field(ge=1)


class PartnershipFormed(_PartnershipSnapshot):
    """A partnership formed in the programme was recorded."""

    event_type = "ru.etnik.partnership.formed"


class PartnershipChanged(_PartnershipSnapshot):
    """A recorded partnership's details changed."""

    event_type = "ru.etnik.partnership.changed"

    changes: list[str] = Field(description="Names of the fields that changed, e.g. parties")


class PartnershipEnded(_PartnershipSnapshot):
    """A partnership ended (the agreement expired or was terminated)."""

    event_type = "ru.etnik.partnership.ended"


# --- Experts -------------------------------------------------------------------------------

EXPERTS_TOPIC = "etnik.registration.experts.v1"


class ExpertRole(StrEnum):
    """What an expert does at an event."""

    SPEAKER = "speaker"
    MODERATOR = "moderator"
    FACILITATOR = "facilitator"


class ExpertTravelStatus(StrEnum):
    """Where an expert's participation in an event stands, travel included."""

    INVITED = "invited"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    TRAVEL_BOOKED = "travel_booked"
    ARRIVED = "arrived"


class ExpertAssignment(BaseModel):
    """One role of an expert at one event (travel dates are personal: not carried)."""

    model_config = ConfigDict(frozen=True)

    assignment_id: str
    event_id: str
    role: ExpertRole
    travel_status: ExpertTravelStatus


class _ExpertSnapshot(IntegrationEvent):
    """What every event about an expert says: ids and non-personal fields of the roster entry
    (no name, biography or photo)."""

    topic = EXPERTS_TOPIC
    key_field = "expert_id"

    expert_id: str
    person_id: str | None = Field(
        default=None, description="The person of the directory; null once the person is erased"
    )
    field_of_expertise: str | None = Field(default=None, description="Null once erased")
    region_codes: list[str] = Field(default_factory=list, description="Federal subject codes")
    status: Literal["active", "removed", "erased"]
    assignments: list[ExpertAssignment] = Field(default_factory=list)
    version: int = Field(ge=1)


class ExpertRostered(_ExpertSnapshot):
    """A person of the directory was added to the roster of experts."""

    event_type = "ru.etnik.expert.rostered"


class ExpertChanged(_ExpertSnapshot):
    """An expert's roster entry or assignments changed."""

    event_type = "ru.etnik.expert.changed"

    changes: list[str] = Field(description="Names of what changed, e.g. assignments")


class ExpertRemoved(_ExpertSnapshot):
    """An expert was removed from the roster (their assignments end with it)."""

    event_type = "ru.etnik.expert.removed"


class ExpertErased(_ExpertSnapshot):
    """The expert's person was erased: the entry is anonymised, its assignments kept as counts."""

    event_type = "ru.etnik.expert.erased"


# --- Internships and field business programmes ---------------------------------------------

# Everything about one internship or field programme, keyed by its event: the details set
# for it, its applications and the moderators' decisions, and each participant's outcome.
INTERNSHIPS_TOPIC = "etnik.registration.internships.v1"


class InternshipKind(StrEnum):
    """Which of the programme's two kinds of practice an event is."""

    INTERNSHIP = "internship"
    FIELD_PROGRAMME = "field_programme"


class InternshipScheduleItem(BaseModel):
    """One item of a day's schedule, its times in the event's time zone."""

    model_config = ConfigDict(frozen=True)

    starts: str = Field(description="Local start time, HH:MM")
    ends: str = Field(description="Local end time, HH:MM")
    title: str
    place: str | None = None


class InternshipScheduleDay(BaseModel):
    """One day of the schedule and its items in time order."""

    model_config = ConfigDict(frozen=True)

    date: date
    items: list[InternshipScheduleItem]


class InternshipDetailsSet(IntegrationEvent):
    """An internship's or field programme's details were set or changed: its whole state."""

    event_type = "ru.etnik.internship.details_set"
    topic = INTERNSHIPS_TOPIC
    key_field = "event_id"

    event_id: str
    kind: InternshipKind
    host_organisation_id: str = Field(description="The host, an organisation of the directory")
    host_name: str = Field(description="The host organisation's name when it was set")
    places: int = Field(ge=1, description="Places to fill (the event's capacity)")
    selection: bool = Field(description="Whether applications are selected by a moderator")
    schedule: list[InternshipScheduleDay]
    timezone: str = Field(description="IANA time zone the schedule's times are in")
    version: int = Field(ge=1)
    changes: list[str] = Field(default_factory=list, description="Fields that changed")


class InternshipApplicationReceived(IntegrationEvent):
    """Someone applied to an internship with selection: the application awaits review."""

    event_type = "ru.etnik.internship.application_received"
    topic = INTERNSHIPS_TOPIC
    key_field = "event_id"

    event_id: str
    registration_id: str
    person_id: str
    participant_federal_district: str | None = Field(
        default=None, description="The applicant's own federal district (not the event's)"
    )
    applied_at: AwareDatetime


class InternshipApplicationDecided(IntegrationEvent):
    """A moderator approved or rejected an application (the reason stays in registration)."""

    event_type = "ru.etnik.internship.application_decided"
    topic = INTERNSHIPS_TOPIC
    key_field = "event_id"

    event_id: str
    registration_id: str
    person_id: str
    participant_federal_district: str | None = None
    decision: Literal["approved", "rejected"]
    decided_by: str = Field(description="The moderator's account id")
    decided_at: AwareDatetime


class _InternshipOutcome(IntegrationEvent):
    """A participant's outcome: completed or not and the hours (the result text is not here:
    it may name people, and stays in registration)."""

    topic = INTERNSHIPS_TOPIC
    key_field = "event_id"

    event_id: str
    registration_id: str
    person_id: str
    participant_federal_district: str | None = None
    completed: bool
    hours: float = Field(ge=0)
    content_material_id: str | None = Field(
        default=None, description="A file of the result, a material in the content service"
    )
    version: int = Field(ge=1)
    recorded_at: AwareDatetime
    recorded_by: str = Field(description="The operator account that recorded it")


class InternshipOutcomeRecorded(_InternshipOutcome):
    """A participant's outcome of an internship was recorded for the first time."""

    event_type = "ru.etnik.internship.outcome_recorded"


class InternshipOutcomeCorrected(_InternshipOutcome):
    """A participant's recorded outcome was corrected: this is the whole new outcome."""

    event_type = "ru.etnik.internship.outcome_corrected"

    changes: list[str] = Field(description="Fields that changed, e.g. hours")
