"""The CloudEvents envelope and the contract registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from etnik.common.contracts.registration import ParticipantCategory, RegistrationConfirmed
from etnik.common.events import (
    EVENT_TYPES,
    CloudEvent,
    IntegrationEvent,
    MalformedEvent,
    parse_event,
)


def _confirmed() -> RegistrationConfirmed:
    return RegistrationConfirmed(
        registration_id="r1",
        event_id="e1",
        person_id="p1",
        category=ParticipantCategory.NGO_LEADER,
        registered_at=datetime(2026, 11, 29, 11, 0, tzinfo=UTC),
    )


def test_wrap_fills_every_cloudevents_attribute() -> None:
    envelope = CloudEvent.wrap(_confirmed(), source="/etnik/registration")
    assert envelope.specversion == "1.0"
    assert envelope.type == "ru.etnik.registration.confirmed"
    assert envelope.subject == "r1"
    assert envelope.topic == "etnik.registration.registrations.v1"
    assert envelope.dataschema == "urn:etnik:schema:ru.etnik.registration.confirmed:1"
    assert envelope.datacontenttype == "application/json"
    assert len(envelope.id) == 36
    assert CloudEvent.wrap(_confirmed(), source="/x").id != envelope.id


def test_a_wrapped_event_parses_back_to_its_contract() -> None:
    envelope = CloudEvent.wrap(_confirmed(), source="/etnik/registration")
    parsed, payload = parse_event(envelope.model_dump_json().encode())
    assert parsed == envelope
    assert payload == _confirmed()


def test_an_unknown_type_parses_with_no_payload() -> None:
    raw = CloudEvent.wrap(_confirmed(), source="/x").model_dump(mode="json")
    raw["type"] = "ru.etnik.something.new"
    envelope, payload = parse_event(json.dumps(raw))
    assert envelope.type == "ru.etnik.something.new"
    assert payload is None


def test_added_fields_do_not_break_consumers() -> None:
    raw = CloudEvent.wrap(_confirmed(), source="/x").model_dump(mode="json")
    raw["data"]["added_later"] = 1
    _, payload = parse_event(json.dumps(raw))
    assert payload == _confirmed()


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"{}", b'{"specversion": "0.3", "id": "x", "source": "s", "type": "t"}', b"\xff"],
)
def test_malformed_messages_are_refused_clearly(raw: bytes) -> None:
    with pytest.raises(MalformedEvent, match="not a CloudEvent"):
        parse_event(raw)


def test_data_that_breaks_its_contract_is_refused() -> None:
    raw = CloudEvent.wrap(_confirmed(), source="/x").model_dump(mode="json")
    del raw["data"]["event_id"]
    with pytest.raises(MalformedEvent, match="breaks its contract"):
        parse_event(json.dumps(raw))


def test_an_event_type_cannot_be_declared_twice() -> None:
    with pytest.raises(TypeError, match="declared twice"):

        class Again(IntegrationEvent):
            event_type = "ru.etnik.registration.confirmed"
            topic = "t"
            key_field = "x"

    assert EVENT_TYPES["ru.etnik.registration.confirmed"] is RegistrationConfirmed
