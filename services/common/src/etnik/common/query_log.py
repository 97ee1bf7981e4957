"""The shapes of the queries a service sends, recorded so that a test can check each one has an
index that serves it (`MONGODB_QUERY_LOG`; tests only, off by default).

A shape is the collection, the filter's fields and operators, and the sort: the values are
replaced by placeholders of the same type, so the log holds no personal data and each shape is
written once however often it is sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bson import json_util
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

_PLACEHOLDER_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_READ_OPTIONS = json_util.JSONOptions(tz_aware=True, tzinfo=UTC)


def redacted(value: Any) -> Any:
    """The value with every leaf replaced by a placeholder of its type (operators kept)."""
    if isinstance(value, Mapping):
        return {key: redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        # An $in of many values plans like one of a single value.
        return [redacted(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return "x"
    if isinstance(value, int | float):
        return type(value)(0)
    if isinstance(value, datetime):
        return _PLACEHOLDER_TIME
    return value  # ObjectId, Binary …: kept, their type decides the plan


def shapes_of(command_name: str, command: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The read shapes in one command: a filter (and sort) per statement that selects documents."""
    collection = command.get(command_name)
    if not isinstance(collection, str):
        return []
    filters: list[tuple[Any, Any]] = []
    if command_name == "find":
        filters.append((command.get("filter"), command.get("sort")))
    elif command_name in ("count", "distinct"):
        filters.append((command.get("query"), None))
    elif command_name == "findAndModify":
        filters.append((command.get("query"), command.get("sort")))
    elif command_name == "update":
        filters += [(statement.get("q"), None) for statement in command.get("updates", ())]
    elif command_name == "delete":
        filters += [(statement.get("q"), None) for statement in command.get("deletes", ())]
    elif command_name == "aggregate":
        stages = list(command.get("pipeline", ()))
        match = stages[0].get("$match") if stages and "$match" in stages[0] else None
        following = stages[1].get("$sort") if len(stages) > 1 and "$sort" in stages[1] else None
        filters.append((match, following))
    return [
        {
            "collection": collection,
            "command": command_name,
            "filter": redacted(dict(query or {})),
            "sort": dict(sort) if sort else None,  # directions, not data
        }
        for query, sort in filters
    ]


class QueryLog(CommandListener):
    """A command listener that appends each new query shape to a JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def started(self, event: CommandStartedEvent) -> None:
        """Record the shapes of a command as it is sent."""
        if event.database_name in ("admin", "config", "local"):
            return
        for shape in shapes_of(event.command_name, event.command):
            line = json_util.dumps(
                {"database": event.database_name, **shape},
                json_options=json_util.CANONICAL_JSON_OPTIONS,
            )
            key = json.dumps(json.loads(line), sort_keys=True)
            with self._lock:
                if key in self._seen:
                    continue
                self._seen.add(key)
                with self._path.open("a", encoding="utf-8") as file:
                    file.write(line + "\n")

    def succeeded(self, event: CommandSucceededEvent) -> None:
        """Nothing to record."""

    def failed(self, event: CommandFailedEvent) -> None:
        """Nothing to record."""


def read_shapes(folder: Path) -> list[dict[str, Any]]:
    """Every shape recorded in a folder's logs, in the order written, without repeats."""
    shapes, seen = [], set()
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            shape = json_util.loads(line, json_options=_READ_OPTIONS)
            key = json.dumps(json.loads(line), sort_keys=True)
            if key not in seen:
                seen.add(key)
                shapes.append(shape)
    return shapes
