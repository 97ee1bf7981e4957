"""JSON Schemas of every event type: the CloudEvents envelope with the type's data contract."""

from __future__ import annotations

import json
from typing import Any

from etnik.common import contracts  # noqa: F401 - importing registers every contract
from etnik.common.events import EVENT_TYPES, CloudEvent, IntegrationEvent


def event_schema(contract: type[IntegrationEvent]) -> dict[str, Any]:
    """The schema of a whole message of one type, as consumers receive it."""
    envelope = CloudEvent.model_json_schema()
    data = contract.model_json_schema(mode="serialization")
    definitions = {**envelope.pop("$defs", {}), **data.pop("$defs", {})}
    properties = dict(envelope["properties"])
    properties["type"] = {"const": contract.event_type, "type": "string"}
    properties["dataschema"] = {"const": contract.dataschema(), "type": "string"}
    properties["data"] = data
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": contract.dataschema(),
        "title": contract.event_type,
        "description": (contract.__doc__ or "").strip(),
        "x-topic": contract.topic,
        "x-key": contract.key_field,
        "type": "object",
        "properties": properties,
        "required": sorted({*envelope.get("required", []), "type", "data", "subject"}),
    }
    if definitions:
        schema["$defs"] = definitions
    return schema


def all_event_schemas() -> dict[str, str]:
    """File name to JSON text, for every declared event type."""
    return {
        f"{event_type}.json": json.dumps(
            event_schema(contract), ensure_ascii=False, indent=2, sort_keys=True
        )
        + "\n"
        for event_type, contract in sorted(EVENT_TYPES.items())
    }
