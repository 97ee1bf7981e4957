"""Every consumer's reader accepts whatever its producer may publish: instances generated
from the producer's committed JSON Schema (docs/events/schemas/), and those instances grown
with fields and enum values the reader has never seen."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from etnik.common.events import EventReader
from etnik.common.topics import SERVICES

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "events" / "schemas"


def readers() -> list[type[EventReader]]:
    """Every reader of a contract declared by the services' `inbound` modules."""
    for service in SERVICES:
        try:
            importlib.import_module(f"etnik.{service}.inbound")
        except ModuleNotFoundError as missing:
            if missing.name != f"etnik.{service}.inbound":
                raise
    found: list[type[EventReader]] = []
    pending = list(EventReader.__subclasses__())
    while pending:
        reader = pending.pop()
        pending.extend(reader.__subclasses__())
        if "contract" in reader.__dict__ and reader.__module__.endswith(".inbound"):
            found.append(reader)
    return sorted(found, key=lambda r: f"{r.__module__}.{r.__qualname__}")


READERS = readers()


def data_schema(reader: type[EventReader]) -> dict[str, Any]:
    """The producer's published schema of the event's data, with its definitions."""
    document = json.loads((SCHEMAS / f"{reader.event_type}.json").read_text(encoding="utf-8"))
    return {**document["properties"]["data"], "$defs": document.get("$defs", {})}


def test_services_declare_readers() -> None:
    modules = {reader.__module__ for reader in READERS}
    assert {
        "etnik.notification.inbound",
        "etnik.content.inbound",
        "etnik.reporting.inbound",
    } <= modules


@pytest.mark.parametrize("reader", READERS, ids=lambda r: f"{r.__module__}.{r.__qualname__}")
def test_what_a_reader_requires_the_producer_always_sends(reader: type[EventReader]) -> None:
    schema = data_schema(reader)
    published = set(schema["properties"])
    sent_always = set(schema.get("required", []))
    for name, field in reader.model_fields.items():
        assert name in published, f"{reader.event_type} has no field {name}"
        if field.is_required():
            assert name in sent_always, f"{reader.event_type} may come without {name}"


@pytest.mark.parametrize("reader", READERS, ids=lambda r: f"{r.__module__}.{r.__qualname__}")
def test_a_reader_accepts_every_instance_of_the_producers_schema(
    reader: type[EventReader],
) -> None:
    schema = data_schema(reader)
    enum_fields = {
        name
        for name, definition in schema["properties"].items()
        if "enum" in schema["$defs"].get(str(definition.get("$ref", "")).split("/")[-1], {})
    }

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(schema), st.data())
    def accepts(instance: dict[str, Any], draw: st.DataObject) -> None:
        reader.model_validate(instance)
        # A newer producer: one more field, and enum values this build does not know.
        grown = {**instance, "added_later": draw.draw(st.text(max_size=5))}
        for name in instance.keys() & enum_fields:
            read = reader.model_fields.get(name)
            if read is None or read.annotation in (str, str | None):  # not acted upon
                grown[name] = f"{instance[name]}_new"
        reader.model_validate(grown)

    accepts()
