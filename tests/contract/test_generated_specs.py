"""The committed JSON Schemas and AsyncAPI documents match the code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from etnik.common import contracts  # noqa: F401 - registers every contract
from etnik.common.events import EVENT_TYPES, CloudEvent

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "events" / "schemas"


def test_generated_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_specs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_event_type_has_a_schema_and_no_schema_is_orphaned() -> None:
    on_disk = {path.name.removesuffix(".json") for path in SCHEMAS.glob("*.json")}
    assert on_disk == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_schema_is_valid_and_names_its_topic(event_type: str) -> None:
    schema = json.loads((SCHEMAS / f"{event_type}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["x-topic"] == EVENT_TYPES[event_type].topic
    assert schema["properties"]["type"]["const"] == event_type


def test_every_asyncapi_document_lists_the_topics_of_its_service() -> None:
    published = {
        "registration": {"etnik.registration.events.v1", "etnik.registration.people.v1",
                         "etnik.registration.registrations.v1"},
        "notification": {"etnik.notification.messages.v1"},
    }  # fmt: skip
    for service, topics in published.items():
        document = json.loads((ROOT / "services" / service / "asyncapi.json").read_text())
        assert document["asyncapi"] == "3.0.0"
        addresses = {channel["address"] for channel in document["channels"].values()}
        assert topics <= addresses, service


def test_a_real_envelope_validates_against_its_schema() -> None:
    from datetime import UTC, datetime

    from etnik.common.contracts.registration import ParticipantCategory, RegistrationConfirmed

    event = CloudEvent.wrap(
        RegistrationConfirmed(
            registration_id="r1",
            event_id="e1",
            person_id="p1",
            category=ParticipantCategory.MEDIA,
            registered_at=datetime.now(UTC),
        ),
        source="/etnik/registration",
    )
    schema = json.loads((SCHEMAS / "ru.etnik.registration.confirmed.json").read_text())
    jsonschema.validate(event.model_dump(mode="json"), schema)
    broken = event.model_dump(mode="json")
    broken["data"]["category"] = "astronaut"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
