"""Request and response bodies: allow-listed, so unknown or privileged fields are refused."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)

from etnik.content.domain import AccessLevel, MaterialKind, MaterialStatus
from etnik.content.mechanisms import (
    CODE_PATTERN,
    MAX_GOAL_TEXT_CHARS,
    MAX_GOALS,
    MAX_MECHANISMS_PER_GOAL,
    MAX_VECTOR_TEXT_CHARS,
)
from etnik.content.strategy_template import SECTIONS
from etnik.content.video import ChapterOut, SubtitleTrackOut

FEDERAL_DISTRICTS = ("ЦФО", "СЗФО", "ЮФО", "СКФО", "ПФО", "УФО", "СФО", "ДФО")


def _lower_tag(tag: str) -> str:
    return tag.strip().lower()


Tag = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(_lower_tag)]
FederalDistrict = Annotated[str, Field(pattern="^(" + "|".join(FEDERAL_DISTRICTS) + ")$")]


class StrictBody(BaseModel):
    """A request body that refuses fields it does not name (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Author(StrictBody):
    """An author as credited; person_id links a registered person, for erasure."""

    name: str = Field(min_length=2, max_length=200)
    person_id: str | None = Field(default=None, max_length=64)
    affiliation: str | None = Field(default=None, max_length=300)


class MaterialFields(StrictBody):
    """The editable details of a material (every field optional, for edits)."""

    kind: MaterialKind | None = None
    title: str | None = Field(default=None, min_length=3, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    authors: list[Author] | None = Field(default=None, max_length=50)
    tags: list[Tag] | None = Field(default=None, max_length=30)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    federal_district: FederalDistrict | None = None
    track: str | None = Field(default=None, max_length=100)
    event_id: str | None = Field(default=None, max_length=64)
    organisation_id: str | None = Field(default=None, max_length=64)
    collection_id: str | None = Field(default=None, max_length=64)
    access: AccessLevel | None = None
    video_url: HttpUrl | None = None

    def given(self) -> dict[str, Any]:
        """Only the fields the request set, JSON-ready."""
        return self.model_dump(mode="json", exclude_unset=True)


class MaterialIn(MaterialFields):
    """A new material: what kind, what it is called and who may read it."""

    kind: MaterialKind
    title: str = Field(min_length=3, max_length=300)
    language: str = Field(default="ru", pattern=r"^[a-z]{2,3}$")
    access: AccessLevel = AccessLevel.PUBLIC

    def given(self) -> dict[str, Any]:
        """Every field, defaults included: a new material starts complete."""
        return self.model_dump(mode="json")


class WorkflowIn(StrictBody):
    """A workflow step's comment, e.g. why a material was sent back."""

    comment: str | None = Field(default=None, max_length=2000)


class FileOut(BaseModel):
    """A stored file."""

    filename: str
    content_type: str
    size: int
    sha256: str


class MaterialOut(BaseModel):
    """A material as the API shows it."""

    id: str
    version: int
    status: MaterialStatus
    kind: MaterialKind
    title: str
    description: str | None = None
    authors: list[dict[str, Any]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    language: str
    federal_district: str | None = None
    track: str | None = None
    event_id: str | None = None
    organisation_id: str | None = None
    collection_id: str | None = None
    access: AccessLevel
    video_url: str | None = None
    video_platform: str | None = None
    file: FileOut | None = None
    duration_s: float | None = None
    chapters: list[ChapterOut] | None = None
    subtitles: list[SubtitleTrackOut] | None = None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None


class MaterialPage(BaseModel):
    """One page of a listing or search."""

    items: list[MaterialOut]
    total: int
    limit: int
    offset: int


class VersionOut(BaseModel):
    """One version of a material: who changed what, and when, and the state it left."""

    version: int
    action: str
    by: str
    at: datetime
    changes: list[str]
    comment: str | None = None
    state: dict[str, Any]


class MediaType(StrEnum):
    """Where a mention appeared."""

    PRINT = "print"
    ONLINE = "online"
    TV = "tv"
    RADIO = "radio"
    SOCIAL = "social"
    OTHER = "other"


class MediaMentionIn(StrictBody):
    """A publication about the programme, for the grant report."""

    url: HttpUrl
    outlet: str = Field(min_length=2, max_length=300)
    title: str | None = Field(default=None, max_length=500)
    published_on: date
    type: MediaType
    audience_reach: int | None = Field(default=None, ge=0, le=1_000_000_000)
    event_ids: list[str] = Field(default_factory=list, max_length=50)


class MediaMentionOut(BaseModel):
    """A registered media mention."""

    id: str
    url: str
    outlet: str
    title: str | None
    published_on: date
    type: MediaType
    audience_reach: int | None
    event_ids: list[str]
    registered_at: datetime


class MediaMentionPage(BaseModel):
    """One page of media mentions."""

    items: list[MediaMentionOut]
    total: int
    limit: int
    offset: int


class StrategyIn(StrictBody):
    """Start an organisation's development strategy from the template."""

    organisation_id: str = Field(min_length=1, max_length=64)


class StrategyVector(StrictBody):
    """The NGO's development vector: a kind from the list, and its own words."""

    kind: str = Field(
        min_length=1, max_length=40, description="A vector code of GET /mechanisms/reference"
    )
    text: str = Field(default="", max_length=MAX_VECTOR_TEXT_CHARS)


MechanismCode = Annotated[str, Field(pattern=CODE_PATTERN)]


class StrategyGoal(StrictBody):
    """A development goal and the Strategy's mechanisms (codes of the catalogue) serving it."""

    text: str = Field(min_length=1, max_length=MAX_GOAL_TEXT_CHARS)
    mechanisms: list[MechanismCode] = Field(
        default_factory=list, max_length=MAX_MECHANISMS_PER_GOAL
    )


class StrategySectionsIn(StrictBody):
    """New text of some sections, and/or the vector and goals (each given replaces the stored
    one); expected_version guards against overwriting someone's edit."""

    sections: dict[str, Annotated[str, Field(max_length=20_000)]] = Field(default_factory=dict)
    vector: StrategyVector | None = None
    goals: list[StrategyGoal] | None = Field(default=None, max_length=MAX_GOALS)
    expected_version: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _known_sections(self) -> Self:
        unknown = sorted(set(self.sections) - set(SECTIONS))
        if unknown:
            raise ValueError(
                f"unknown sections: {', '.join(unknown)}; known: {', '.join(SECTIONS)}"
            )
        if not self.sections and not {"vector", "goals"} & self.model_fields_set:
            raise ValueError("give sections, vector or goals to change")
        return self


class StrategyOut(BaseModel):
    """An organisation's development strategy."""

    id: str
    organisation_id: str
    organisation_name: str | None
    version: int
    sections: dict[str, str]
    headings: dict[str, str] = Field(default_factory=lambda: dict(SECTIONS))
    vector: StrategyVector | None = None
    goals: list[StrategyGoal] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class StrategyVersionOut(BaseModel):
    """One version of a strategy: who changed which sections, and when."""

    version: int
    by: str
    at: datetime
    changes: list[str]
    sections: dict[str, str]
    vector: StrategyVector | None = None
    goals: list[StrategyGoal] = Field(default_factory=list)
