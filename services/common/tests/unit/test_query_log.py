"""The query log: shapes without values, one line per shape, every command kind that selects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo.monitoring import CommandStartedEvent

from etnik.common.query_log import QueryLog, read_shapes, redacted, shapes_of


def started(command: dict[str, Any], database: str = "etnik_registration") -> CommandStartedEvent:
    return CommandStartedEvent(command, database, 1, ("127.0.0.1", 27017), None)  # type: ignore[arg-type]


def test_values_become_placeholders_of_their_type() -> None:
    query = {
        "email": "ivanova@example.org",
        "seat": 17,
        "status": {"$in": ["confirmed", "offered"]},
        "created_at": {"$lt": datetime(2026, 12, 5, tzinfo=UTC)},
        "erased": False,
    }
    assert redacted(query) == {
        "email": "x",
        "seat": 0,
        "status": {"$in": ["x"]},
        "created_at": {"$lt": datetime(2000, 1, 1, tzinfo=UTC)},
        "erased": False,
    }


def test_every_command_that_selects_documents_gives_its_shapes() -> None:
    assert shapes_of("find", {"find": "people", "filter": {"email": "a"}, "sort": {"_id": 1}}) == [
        {"collection": "people", "command": "find", "filter": {"email": "x"}, "sort": {"_id": 1}}
    ]
    updates = {"update": "r", "updates": [{"q": {"_id": "1"}, "u": {}}, {"q": {"a": 2}, "u": {}}]}
    assert [s["filter"] for s in shapes_of("update", updates)] == [{"_id": "x"}, {"a": 0}]
    deletes = {"delete": "r", "deletes": [{"q": {"event_id": "e"}, "limit": 0}]}
    assert shapes_of("delete", deletes)[0]["filter"] == {"event_id": "x"}
    modify = {"findAndModify": "r", "query": {"_id": "1", "status": "confirmed"}}
    assert shapes_of("findAndModify", modify)[0]["filter"] == {"_id": "x", "status": "x"}
    assert shapes_of("count", {"count": "r", "query": {"event_id": "e"}})[0]["filter"] == {
        "event_id": "x"
    }
    pipeline = {"aggregate": "r", "pipeline": [{"$match": {"a": "b"}}, {"$sort": {"t": -1}}]}
    assert shapes_of("aggregate", pipeline) == [
        {"collection": "r", "command": "aggregate", "filter": {"a": "x"}, "sort": {"t": -1}}
    ]
    # Commands that select nothing are not queries.
    assert shapes_of("insert", {"insert": "r", "documents": [{"_id": "1"}]}) == []
    assert shapes_of("ping", {"ping": 1}) == []


def test_each_shape_is_written_once_and_read_back_with_its_types(tmp_path: Path) -> None:
    log = QueryLog(tmp_path / "registration-1.jsonl")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for email in ("a@example.org", "b@example.org"):
        log.started(started({"find": "people", "filter": {"email": email, "at": {"$gt": when}}}))
    log.started(started({"find": "people", "filter": {"person_id": "p"}}))
    log.started(started({"find": "system.version", "filter": {"a": 1}}, database="admin"))

    lines = (tmp_path / "registration-1.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert "example.org" not in "".join(lines)  # no personal data in the log
    first, second = read_shapes(tmp_path)
    assert first["database"] == "etnik_registration"
    assert first["filter"] == {"email": "x", "at": {"$gt": datetime(2000, 1, 1, tzinfo=UTC)}}
    assert second["filter"] == {"person_id": "x"}
