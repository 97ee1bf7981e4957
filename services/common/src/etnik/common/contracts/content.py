"""Events published by the content service."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from etnik.common.events import IntegrationEvent

MATERIALS_TOPIC = "etnik.content.materials.v1"
STRATEGIES_TOPIC = "etnik.content.strategies.v1"
MEDIA_TOPIC = "etnik.content.media.v1"
MECHANISMS_TOPIC = "etnik.content.mechanisms.v1"


class _MaterialFacts(IntegrationEvent):
    """What every event about a material says of it (no personal data)."""

    topic = MATERIALS_TOPIC
    key_field = "material_id"

    material_id: str
    version: int = Field(ge=1, description="The material's version after the change")
    kind: str = Field(description="methodological_collection, recommendation, presentation, …")
    title: str
    access: str = Field(description="public, participants or operators")
    language: str
    federal_district: str | None = None
    track: str | None = None
    event_id: str | None = None
    organisation_id: str | None = None
    tags: list[str] = Field(default_factory=list)


class MaterialPublished(_MaterialFacts):
    """A reviewer approved a material: it is now visible at its access level."""

    event_type = "ru.etnik.material.published"

    published_at: AwareDatetime


class MaterialUpdated(_MaterialFacts):
    """A published material changed: its details or its file."""

    event_type = "ru.etnik.material.updated"

    changes: list[str] = Field(description="Names of the fields that changed, e.g. file, title")
    updated_at: AwareDatetime


class MaterialArchived(_MaterialFacts):
    """A published material was withdrawn from publication."""

    event_type = "ru.etnik.material.archived"

    archived_at: AwareDatetime


class MaterialDownloaded(IntegrationEvent):
    """A material's file was downloaded (for statistics; the reader is a pseudonym only)."""

    event_type = "ru.etnik.material.downloaded"
    topic = MATERIALS_TOPIC
    key_field = "material_id"

    material_id: str
    file_version: int = Field(ge=1, description="The material version whose file was read")
    kind: str
    reader: str = Field(
        description="Pseudonymous id of the reader (keyed hash), or 'anonymous'; never a person id"
    )
    reader_kind: str = Field(description="anonymous, participant or operator")
    partial: bool = Field(description="True when only a byte range was requested")
    downloaded_at: AwareDatetime


class MaterialViewed(IntegrationEvent):
    """Playback of a material's video started: a view, counted once per viewer and window
    (the reader is a pseudonym only)."""

    event_type = "ru.etnik.material.viewed"
    topic = MATERIALS_TOPIC
    key_field = "material_id"

    material_id: str
    version: int = Field(ge=1, description="The material's version when playback started")
    kind: str
    title: str
    viewer: str = Field(
        description="Pseudonymous id of the viewer (keyed hash of the person, or of the random "
        "key an anonymous viewer's browser keeps); never a person id"
    )
    viewer_kind: str = Field(description="anonymous, participant or operator")
    viewed_at: AwareDatetime


class StrategyUpdated(IntegrationEvent):
    """An organisation's development strategy was created or changed."""

    event_type = "ru.etnik.strategy.updated"
    topic = STRATEGIES_TOPIC
    key_field = "strategy_id"

    strategy_id: str
    organisation_id: str
    version: int = Field(ge=1)
    sections: list[str] = Field(description="Names of the sections that changed")
    updated_at: AwareDatetime
    mechanisms: list[str] | None = Field(
        default=None,
        description="Codes of the Strategy's mechanisms the strategy's goals use after the "
        "change (see etnik.content.mechanisms.v1); absent on events from before goals existed",
    )


class MediaMentionRecorded(IntegrationEvent):
    """A publication about the programme was registered, for the grant report's media results."""

    event_type = "ru.etnik.media-mention.recorded"
    topic = MEDIA_TOPIC
    key_field = "mention_id"

    mention_id: str = Field(description="Derived from the URL: one mention per publication")
    url: str
    outlet: str = Field(description="The newspaper, site, channel or programme")
    title: str | None = None
    type: str = Field(description="print, online, tv, radio, social or other")
    published_on: date
    audience_reach: int | None = Field(default=None, ge=0, description="Estimated audience")
    event_ids: list[str] = Field(default_factory=list)
    recorded_at: AwareDatetime


class _MechanismSnapshot(IntegrationEvent):
    """A mechanism of the State National Policy Strategy in the catalogue: its whole state."""

    topic = MECHANISMS_TOPIC
    key_field = "code"

    code: str = Field(description="Short Latin slug, unique, never reused")
    title: str = Field(description="The mechanism, in Russian")
    task_code: str = Field(description="The Strategy's task the mechanism serves")
    task_title: str = Field(description="That task, in Russian")
    status: str = Field(description="active, or retired (kept for strategies that chose it)")
    version: int = Field(ge=1, description="The catalogue entry's version after the change")
    changed_at: AwareDatetime


class MechanismRecorded(_MechanismSnapshot):
    """A mechanism was added to the catalogue or its entry was edited."""

    event_type = "ru.etnik.mechanism.recorded"


class MechanismRetired(_MechanismSnapshot):
    """A mechanism was retired: strategies keep it, but it cannot be newly chosen."""

    event_type = "ru.etnik.mechanism.retired"
