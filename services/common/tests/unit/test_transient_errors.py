"""Database errors that pass (outages, elections, FerretDB's busy SQLite) make a message wait,
never park it on the dead-letter topic; errors of the message itself still do."""

from __future__ import annotations

import pytest
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    WriteError,
)

from etnik.common.mongo import is_transient

BUSY = "[msg_update.go:133 handler.(*Handler).update] database is locked (5) (SQLITE_BUSY)"


@pytest.mark.parametrize(
    "error",
    [
        OperationFailure(BUSY, code=1),
        OperationFailure("not primary", code=10107),
        OperationFailure("write conflict", code=112),
        OperationFailure("labelled", code=999, details={"errorLabels": ["RetryableWriteError"]}),
        AutoReconnect("connection reset"),
        ExecutionTimeout("operation exceeded time limit", code=50),
    ],
    ids=["sqlite-busy", "not-primary", "write-conflict", "retryable-label", "reconnect", "timeout"],
)
def test_passing_database_errors_are_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        OperationFailure("unknown operator: $foo", code=2),
        DuplicateKeyError("E11000 duplicate key", code=11000),
        WriteError("document too large", code=10334),
        ValueError("a handler's own bug"),
    ],
    ids=["bad-value", "duplicate-key", "too-large", "not-a-database-error"],
)
def test_errors_of_the_message_itself_are_not(error: Exception) -> None:
    assert not is_transient(error)
