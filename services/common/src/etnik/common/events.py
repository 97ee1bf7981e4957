"""The CloudEvents 1.0 envelope and the base of every event contract."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class IntegrationEvent(BaseModel):
    """The data of one event type; subclasses name their type, topic and aggregate key."""

    # Unknown fields are ignored so that producers may add fields without breaking consumers.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]
    key_field: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            known = EVENT_TYPES.setdefault(cls.event_type, cls)
            if known is not cls:
                raise TypeError(f"event type {cls.event_type} is declared twice")

    @classmethod
    def dataschema(cls) -> str:
        """The URI that names this contract's JSON Schema."""
        return f"urn:etnik:schema:{cls.event_type}:{cls.schema_version}"

    @property
    def key(self) -> str:
        """The aggregate id: Kafka key and CloudEvents subject, so one aggregate stays ordered."""
        return str(getattr(self, self.key_field))


EVENT_TYPES: dict[str, type[IntegrationEvent]] = {}


def published_by(contracts: ModuleType) -> tuple[type[IntegrationEvent], ...]:
    """The event types a contracts module declares, in the order it declares them.

    Each service publishes exactly the contracts of its own module under
    `etnik.common.contracts`, so what it declares to the broker is derived, not kept by hand.
    """
    return tuple(
        value
        for value in vars(contracts).values()
        if isinstance(value, type)
        and issubclass(value, IntegrationEvent)
        and value.__module__ == contracts.__name__
        and "event_type" in value.__dict__
    )


class EventReader(BaseModel):
    """What one consumer reads of an event type: the fields it uses, as its own model.

    A tolerant reader: fields it does not name are ignored, and a value it only stores or
    passes on is declared as a plain string, so the producer may add fields, categories or
    statuses without breaking it. Declare one with the producer's contract it reads:

        class PersonRegistered(EventReader, of=contracts.PersonRegistered):
            person_id: str
            timezone: str
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    contract: ClassVar[type[IntegrationEvent]]
    event_type: ClassVar[str]
    topic: ClassVar[str]

    def __init_subclass__(cls, *, of: type[IntegrationEvent] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if of is not None:
            cls.contract, cls.event_type, cls.topic = of, of.event_type, of.topic


# What a consumer may register a handler with: the producer's contract or its own reader.
EventModel = type[IntegrationEvent | EventReader]


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope in structured JSON mode."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(cls, data: IntegrationEvent, *, source: str, time: datetime | None = None) -> Self:
        """Put one event's data into a new envelope with a fresh id."""
        return cls(
            id=str(uuid.uuid4()),
            source=source,
            type=data.event_type,
            time=time or datetime.now(UTC),
            subject=data.key,
            dataschema=data.dataschema(),
            data=data.model_dump(mode="json"),
        )

    @property
    def topic(self) -> str:
        """The topic this event belongs on."""
        contract = EVENT_TYPES.get(self.type)
        if contract is None:
            raise UnknownEventType(self.type)
        return contract.topic

    def payload(self) -> IntegrationEvent:
        """The data parsed into its contract; raises UnknownEventType or ValidationError."""
        contract = EVENT_TYPES.get(self.type)
        if contract is None:
            raise UnknownEventType(self.type)
        return contract.model_validate(self.data)


class UnknownEventType(LookupError):
    """An event whose type no contract in this build declares."""


class MalformedEvent(ValueError):
    """A message that is not a valid CloudEvent or whose data breaks its contract."""


def parse_envelope(raw: bytes | str) -> CloudEvent:
    """Parse raw message bytes into the envelope alone; its data is checked by who reads it."""
    try:
        return CloudEvent.model_validate_json(raw)
    except ValidationError as error:
        raise MalformedEvent(f"not a CloudEvent: {error.error_count()} errors") from error


def parse_event(raw: bytes | str) -> tuple[CloudEvent, IntegrationEvent | None]:
    """Parse raw message bytes; the payload is None when the type is unknown to this build."""
    envelope = parse_envelope(raw)
    try:
        return envelope, envelope.payload()
    except UnknownEventType:
        return envelope, None
    except ValidationError as error:
        raise MalformedEvent(
            f"{envelope.type} {envelope.id}: data breaks its contract"
            f" ({error.error_count()} errors)"
        ) from error
