"""Request and response bodies: allow-listed, so unknown or privileged fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)

from etnik.common.contracts.registration import EventFormat, ParticipantCategory, RegistrationStatus


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


class StrictBody(BaseModel):
    """A request body that refuses fields it does not name (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EventStatus:
    """The lifecycle of a programme event."""

    DRAFT = "draft"
    PUBLISHED = "published"
    REGISTRATION_OPEN = "registration_open"
    CLOSED = "closed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EventIn(StrictBody):
    """What an operator gives to create an event."""

    title: str = Field(min_length=3, max_length=300)
    track: str | None = Field(default=None, max_length=100)
    format: EventFormat
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: TimeZoneName = "Europe/Moscow"
    federal_district: str | None = Field(default=None, max_length=10)
    region_code: str | None = Field(default=None, pattern=r"^\d{2}$")
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    status: Literal["draft", "published", "registration_open"] = "draft"
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> EventIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class EventOut(BaseModel):
    """An event as the API shows it."""

    id: str
    title: str
    track: str | None
    format: EventFormat
    starts_at: datetime
    ends_at: datetime
    timezone: str
    federal_district: str | None
    region_code: str | None
    capacity: int | None
    seats_taken: int
    status: str


class RegistrationIn(StrictBody):
    """The public registration form."""

    full_name: str = Field(min_length=3, max_length=200)
    email: EmailStr
    category: ParticipantCategory
    region_code: str | None = Field(default=None, pattern=r"^\d{2}$")
    timezone: TimeZoneName | None = None
    locale: Literal["ru", "en"] = "ru"
    consent_personal_data: bool = Field(
        description="Consent to personal-data processing: must be given explicitly, never preset"
    )
    consent_publication: bool = False
    answers: dict[str, Any] = Field(default_factory=dict, max_length=50)


class RegistrationOut(BaseModel):
    """A registration as its owner or an operator sees it."""

    id: str
    event_id: str
    person_id: str
    status: RegistrationStatus
    created_at: datetime


class TokenRequest(StrictBody):
    """Operator sign-in."""

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    """An access token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int
