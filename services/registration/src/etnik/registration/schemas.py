"""Request and response bodies: allow-listed, so unknown or privileged fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from etnik.common.auth import Role
from etnik.common.contracts.registration import EventFormat, ParticipantCategory, RegistrationStatus
from etnik.registration.domain import (
    EventStatus,
    QuestionKind,
    is_valid_inn,
    is_valid_ogrn,
    normalise_phone,
    recognise_online_platform,
)


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None
    return name


def _valid_inn(value: str) -> str:
    if not is_valid_inn(value):
        raise ValueError("ИНН must be 10 or 12 digits with valid check digits")
    return value


def _valid_ogrn(value: str) -> str:
    if not is_valid_ogrn(value):
        raise ValueError("ОГРН must be 13 digits (ОГРНИП 15) with a valid check digit")
    return value


def _valid_phone(value: str) -> str:
    return normalise_phone(value, "RU")


def _valid_online_link(value: str) -> str:
    recognise_online_platform(value)
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
Inn = Annotated[str, Field(min_length=10, max_length=12), AfterValidator(_valid_inn)]
Ogrn = Annotated[str, Field(min_length=13, max_length=15), AfterValidator(_valid_ogrn)]
Phone = Annotated[str, Field(min_length=5, max_length=32), AfterValidator(_valid_phone)]
RegionCode = Annotated[str, Field(pattern=r"^\d{2}$")]
DistrictKey = Annotated[str, Field(min_length=2, max_length=10)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,62}$")]
OnlineLink = Annotated[str, Field(max_length=2000), AfterValidator(_valid_online_link)]
OrganisationKind = Literal["ngo", "national_cultural_autonomy", "authority", "media", "other"]
TrackKind = Literal[
    "in_person_session", "online_sessions", "internship", "field_programme", "other"
]


class StrictBody(BaseModel):
    """A request body that refuses fields it does not name (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseBody(BaseModel):
    """A response body, built from stored documents."""

    model_config = ConfigDict(extra="ignore")


# --- Reference data ----------------------------------------------------------------------


class FederalDistrictOut(ResponseBody):
    """A federal district."""

    key: str
    name_ru: str
    name_en: str
    centre_ru: str


class FederalSubjectOut(ResponseBody):
    """A federal subject with its default IANA time zone."""

    code: str
    name_ru: str
    federal_district: str | None = None
    iso_3166_2: str | None = None
    iana_timezone: str


class FederalDistrictUpdate(StrictBody):
    """What an administrator may correct in a federal district."""

    name_ru: str | None = Field(default=None, min_length=2, max_length=200)
    name_en: str | None = Field(default=None, min_length=2, max_length=200)
    centre_ru: str | None = Field(default=None, min_length=2, max_length=200)


class FederalSubjectUpdate(StrictBody):
    """What an administrator may correct in a federal subject."""

    name_ru: str | None = Field(default=None, min_length=2, max_length=200)
    federal_district: DistrictKey | None = None
    iana_timezone: TimeZoneName | None = None


# --- Programme ---------------------------------------------------------------------------


class TrackIn(StrictBody):
    """A track of a programme (e.g. the online strategic sessions)."""

    id: Slug
    title: str = Field(min_length=3, max_length=300)
    kind: TrackKind


class ProgrammeIn(StrictBody):
    """A programme and its tracks."""

    id: Slug
    title: str = Field(min_length=3, max_length=300)
    description: str | None = Field(default=None, max_length=5000)
    tracks: list[TrackIn] = Field(default_factory=list, max_length=50)


class ProgrammeOut(ResponseBody):
    """A programme and its tracks."""

    id: str
    title: str
    description: str | None = None
    tracks: list[dict[str, str]]


class AttendanceRuleIn(StrictBody):
    """What counts as attended online: a share of the event's length and/or minutes."""

    min_share: float | None = Field(default=0.5, ge=0, le=1)
    min_minutes: int | None = Field(default=None, ge=0, le=100_000)


Quotas = dict[ParticipantCategory, Annotated[int, Field(ge=0, le=100_000)]]


class _EventDetails(StrictBody):
    """Fields an operator sets on an event, at creation or later."""

    programme_id: Slug | None = None
    venue: str | None = Field(default=None, max_length=500)
    online_link: OnlineLink | None = None
    requires_approval: bool = False
    # Only holders of an invitation see the event and may register for it.
    invitation_only: bool = False
    # A quota caps how many places one category may take (caps may add up past capacity).
    quotas: Quotas = Field(default_factory=dict)
    attendance_rule: AttendanceRuleIn = Field(default_factory=AttendanceRuleIn)


class EventIn(_EventDetails):
    """What an operator gives to create an event."""

    title: str = Field(min_length=3, max_length=300)
    track: str | None = Field(default=None, max_length=100)
    format: EventFormat
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: TimeZoneName = "Europe/Moscow"
    federal_district: DistrictKey | None = None
    region_code: RegionCode | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    status: Literal["draft", "published", "registration_open"] = "draft"
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        opens, closes = self.registration_opens_at, self.registration_closes_at
        if opens is not None and closes is not None and closes <= opens:
            raise ValueError("registration_closes_at must be after registration_opens_at")
        return self


# Every event has these: an update may change them but not clear them.
NOT_NULLABLE_EVENT_FIELDS = (
    "title",
    "programme_id",
    "format",
    "starts_at",
    "ends_at",
    "timezone",
    "requires_approval",
    "invitation_only",
    "attendance_rule",
)


class EventUpdate(StrictBody):
    """A change to an event's details; the lifecycle changes only through its transitions."""

    title: str | None = Field(default=None, min_length=3, max_length=300)
    track: str | None = Field(default=None, max_length=100)
    programme_id: Slug | None = None
    format: EventFormat | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    timezone: TimeZoneName | None = None
    federal_district: DistrictKey | None = None
    region_code: RegionCode | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    venue: str | None = Field(default=None, max_length=500)
    online_link: OnlineLink | None = None
    requires_approval: bool | None = None
    invitation_only: bool | None = None
    quotas: Quotas | None = None
    attendance_rule: AttendanceRuleIn | None = None
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None

    @field_validator(*NOT_NULLABLE_EVENT_FIELDS, mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Omitted means "keep"; null would erase a field every event needs.
        if value is None:
            raise ValueError(f"{info.field_name} may not be null: leave it out to keep it")
        return value


class EventOut(ResponseBody):
    """An event as the API shows it (the online link only to confirmed participants)."""

    id: str
    title: str
    track: str | None = None
    programme_id: str | None = None
    format: EventFormat
    starts_at: datetime
    ends_at: datetime
    timezone: str
    federal_district: str | None = None
    region_code: str | None = None
    venue: str | None = None
    online_platform: str | None = None
    capacity: int | None = None
    seats_taken: int = 0
    quotas: dict[str, int] = Field(default_factory=dict)
    requires_approval: bool = False
    invitation_only: bool = False
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    status: str
    demo: bool = False


class TransitionOut(ResponseBody):
    """The result of a lifecycle transition."""

    id: str
    status: EventStatus
    previous_status: EventStatus


class QuestionIn(StrictBody):
    """A custom question on a registration form."""

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label: str = Field(min_length=1, max_length=500)
    kind: QuestionKind
    required: bool = False
    options: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50
    )

    @model_validator(mode="after")
    def _choices_have_options(self) -> Self:
        choice = self.kind in {QuestionKind.CHOICE, QuestionKind.MULTI_CHOICE}
        if choice and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        return self


class FormIn(StrictBody):
    """A new version of an event's registration form."""

    questions: list[QuestionIn] = Field(max_length=50)

    @model_validator(mode="after")
    def _unique_keys(self) -> Self:
        keys = [question.key for question in self.questions]
        if len(keys) != len(set(keys)):
            raise ValueError("question keys must be unique")
        return self


class FormOut(ResponseBody):
    """The current registration form of an event."""

    event_id: str
    version: int
    questions: list[dict[str, Any]]


class ConsentTextOut(ResponseBody):
    """A versioned consent text the form shows next to its unticked checkbox."""

    scope: str
    version: int
    text: str


# --- Organisations and people -----------------------------------------------------------


class OrganisationIn(StrictBody):
    """An organisation: СО НКО, national-cultural autonomy, authority or media."""

    name: str = Field(min_length=2, max_length=500)
    kind: OrganisationKind
    region_code: RegionCode | None = None
    inn: Inn | None = None
    ogrn: Ogrn | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    website: str | None = Field(default=None, max_length=500)


class OrganisationOut(ResponseBody):
    """An organisation as operators see it."""

    id: str
    name: str
    kind: str
    region_code: str | None = None
    federal_district: str | None = None
    inn: str | None = None
    ogrn: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    demo: bool = False


class PersonIn(StrictBody):
    """A person added by an operator."""

    full_name: str = Field(min_length=3, max_length=200)
    email: EmailStr
    phone: Phone | None = None
    region_code: RegionCode | None = None
    timezone: TimeZoneName | None = None
    category: ParticipantCategory = ParticipantCategory.OTHER
    organisation_id: str | None = Field(default=None, max_length=64)
    position: str | None = Field(default=None, max_length=300)
    locale: Literal["ru", "en"] = "ru"


class PersonUpdate(StrictBody):
    """A change to a person's details (by the person or an operator)."""

    full_name: str | None = Field(default=None, min_length=3, max_length=200)
    phone: Phone | None = None
    region_code: RegionCode | None = None
    timezone: TimeZoneName | None = None
    organisation_id: str | None = Field(default=None, max_length=64)
    position: str | None = Field(default=None, max_length=300)
    locale: Literal["ru", "en"] | None = None


class PersonOut(ResponseBody):
    """A person as they and operators see them."""

    id: str
    full_name: str
    email: str
    phone: str | None = None
    region_code: str | None = None
    federal_district: str | None = None
    timezone: str
    category: str
    organisation_id: str | None = None
    position: str | None = None
    locale: str = "ru"
    erased: bool = False


# --- Registrations -----------------------------------------------------------------------


class RegistrationIn(StrictBody):
    """The public registration form."""

    full_name: str = Field(min_length=3, max_length=200)
    email: EmailStr
    category: ParticipantCategory
    phone: Phone | None = None
    region_code: RegionCode | None = None
    timezone: TimeZoneName | None = None
    locale: Literal["ru", "en"] = "ru"
    position: str | None = Field(default=None, max_length=300)
    organisation_name: str | None = Field(default=None, min_length=2, max_length=500)
    organisation_kind: OrganisationKind | None = None
    organisation_inn: Inn | None = None
    consent_personal_data: bool = Field(
        description="Consent to personal-data processing: must be given explicitly, never preset"
    )
    consent_version: int | None = Field(
        default=None, ge=1, description="Version of the consent text shown; the current if omitted"
    )
    consent_publication: bool = False
    form_version: int | None = Field(
        default=None, ge=0, description="Version of the form the answers were given on"
    )
    answers: dict[str, Any] = Field(default_factory=dict, max_length=50)
    invitation_token: str | None = Field(default=None, max_length=2000)


class RegistrationOut(ResponseBody):
    """A registration as its owner or an operator sees it."""

    id: str
    event_id: str
    person_id: str
    status: RegistrationStatus
    category: str | None = None
    created_at: datetime
    waitlist_position: int | None = None
    offer_expires_at: datetime | None = None
    rejection_reason: str | None = None
    manage_token: str | None = Field(
        default=None,
        description="Only in the answer that created the registration: signs the owner's link",
    )


class RegistrationView(RegistrationOut):
    """A registration seen by its owner: with the online link and check-in code once confirmed."""

    event_title: str
    starts_at: datetime
    timezone: str
    ends_at: datetime | None = None
    event_format: EventFormat | None = None
    event_status: str | None = None
    venue: str | None = None
    federal_district: str | None = None
    participant_timezone: str | None = Field(
        default=None, description="The participant's own time zone, the one their messages use"
    )
    cancelled_at: datetime | None = None
    cancelled_by: Literal["owner", "operator", "system"] | None = Field(
        default=None, description="system: an offered place not taken before it expired"
    )
    online_link: str | None = None
    check_in_code: str | None = None
    qr_value: str | None = None
    form_version: int | None = None
    answers: dict[str, Any] = Field(default_factory=dict)


class DeliveryOut(ResponseBody):
    """What a message about a registration must carry, for the notification service only.

    The session link and the check-in code only while the registration is confirmed, and
    only what the event's format uses."""

    registration_id: str
    status: RegistrationStatus
    manage_url: str = Field(description="The owner's link to view or cancel the registration")
    online_link: str | None = None
    check_in_code: str | None = None
    qr_value: str | None = None
    certificate_url: str | None = Field(
        default=None, description="The owner's link to their certificate's PDF, once issued"
    )
    survey_url: str | None = Field(
        default=None,
        description="The participant's link to the event's feedback survey, while they may answer",
    )


class RejectIn(StrictBody):
    """A moderator's rejection."""

    reason: str = Field(min_length=3, max_length=1000)


class CancelIn(StrictBody):
    """Why a registration is cancelled (optional)."""

    reason: str | None = Field(default=None, max_length=1000)


class RegistrationRow(ResponseBody):
    """One row of an operator's list of registrations."""

    id: str
    event_id: str
    person_id: str
    # Who it is, so a list needs no look-up per row (staff see personal data anyway).
    full_name: str | None = None
    email: str | None = None
    status: str
    category: str | None = None
    region_code: str | None = None
    federal_district: str | None = None
    organisation_id: str | None = None
    created_at: datetime
    waitlisted_at: datetime | None = None
    attendance: str = "registered"
    minutes_attended: int | None = None


class RegistrationPage(ResponseBody):
    """A page of registrations and the total that match the filters."""

    total: int
    items: list[RegistrationRow]


# --- Attendance --------------------------------------------------------------------------


class CheckInIn(StrictBody):
    """A scanned QR value or a typed check-in code."""

    code: str = Field(min_length=4, max_length=100)


class OnlineSessionIn(StrictBody):
    """One join/leave record from the video platform or an operator."""

    registration_id: str = Field(min_length=1, max_length=64)
    joined_at: AwareDatetime
    left_at: AwareDatetime

    @model_validator(mode="after")
    def _left_after_joining(self) -> Self:
        if self.left_at <= self.joined_at:
            raise ValueError("left_at must be after joined_at")
        return self


class OnlineAttendanceIn(StrictBody):
    """A batch of join/leave records for one event."""

    sessions: list[OnlineSessionIn] = Field(min_length=1, max_length=5000)


class AttendanceOut(ResponseBody):
    """Attendance of one registration."""

    registration_id: str
    attendance: str
    method: str | None = None
    minutes_attended: int | None = None


# --- Identity ----------------------------------------------------------------------------


class TokenRequest(StrictBody):
    """Operator sign-in."""

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class ServiceTokenRequest(StrictBody):
    """A platform service's client credentials."""

    client_id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    client_secret: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    """An access token, and the refresh token that renews it."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int
    refresh_token: str | None = None


class SignInLinkRequest(StrictBody):
    """A participant asks for a one-time sign-in link."""

    email: EmailStr


class SignInRequest(StrictBody):
    """The token from a one-time sign-in link."""

    token: str = Field(min_length=16, max_length=200)


class RefreshRequest(StrictBody):
    """A refresh token, to renew or to revoke."""

    refresh_token: str = Field(min_length=16, max_length=200)


class OperatorIn(StrictBody):
    """A new operator account (administrators only)."""

    email: EmailStr
    password: str = Field(min_length=12, max_length=1024)
    roles: list[Role] = Field(min_length=1, max_length=4)


class OperatorUpdate(StrictBody):
    """New roles or activity of an operator account (administrators only)."""

    roles: list[Role] | None = Field(default=None, min_length=1, max_length=4)
    active: bool | None = None


class PasswordChange(StrictBody):
    """An operator's own password change: the current one proves it is them."""

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=12, max_length=1024)


class OperatorOut(ResponseBody):
    """An operator account, without its password hash."""

    id: str
    email: str
    roles: list[str]
    active: bool


# --- Invitations -------------------------------------------------------------------------


class InvitationIn(StrictBody):
    """An invitation for one person or one organisation."""

    person_id: str | None = Field(default=None, max_length=64)
    organisation_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _exactly_one_recipient(self) -> Self:
        if (self.person_id is None) == (self.organisation_id is None):
            raise ValueError("name exactly one of person_id and organisation_id")
        return self


class InvitationOut(ResponseBody):
    """An issued invitation (its token is sent by notification, not shown here)."""

    id: str
    event_id: str
    person_id: str | None = None
    organisation_id: str | None = None
    campaign_id: str | None = None
    expires_at: datetime
    used_at: datetime | None = None


class CampaignIn(StrictBody):
    """An invitation campaign: an event and its audience."""

    event_id: str = Field(min_length=1, max_length=64)
    federal_districts: list[DistrictKey] = Field(default_factory=list, max_length=20)
    region_codes: list[RegionCode] = Field(default_factory=list, max_length=100)
    categories: list[ParticipantCategory] = Field(default_factory=list, max_length=10)
    organisation_kinds: list[OrganisationKind] = Field(default_factory=list, max_length=10)


class CampaignOut(ResponseBody):
    """A campaign, its audience and how many invitations it issued."""

    id: str
    event_id: str
    invitations: int
    created_at: datetime
    federal_districts: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    organisation_kinds: list[str] = Field(default_factory=list)
