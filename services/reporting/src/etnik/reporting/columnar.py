"""Projection collections held column-wise in memory: compact, and counted with numpy.

A fold of the whole history holds every registration and message: a million of them as
dicts take about a kilobyte each, as columns a few dozen bytes. A table takes the same
projection writes as MongoDB (`$set`, `$setOnInsert`, `$max`, `$min` by `_id`, and `$set`
on every row whose field equals a value), so its rows equal the documents MongoDB would
hold, and what is counted over them equals what is counted over those documents.

Each column stores integers: values of a text-like field as codes into a table of the
values seen (0 is "absent"), times as microseconds since the epoch, attendance marks as
microseconds times two plus the present bit. Every encoding keeps order where `$max` or
`$min` compares, so the comparisons run on the integers.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from etnik.common.mongo import Document

MISSING = -(2**63)  # an absent number, time or mark: below every real one
ABSENT = 0  # the code of an absent value
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ColumnKind = Literal["value", "number", "time", "mark"]
IntArray = npt.NDArray[np.int64]


def time_code(moment: datetime) -> int:
    """Microseconds since the epoch; a naive time is taken as UTC, as MongoDB drivers give it."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // timedelta(microseconds=1)


def code_time(code: int) -> datetime:
    """The time a `time_code` stands for."""
    return EPOCH + timedelta(microseconds=code)


def mark_code(mark: str) -> int:
    """An attendance mark ("<UTC time>|<0 or 1>") as an integer in the same order."""
    moment, _, present = mark.rpartition("|")
    # fromisoformat, not strptime: ten times faster, and a replay reads one per attendance.
    return time_code(datetime.fromisoformat(moment.removesuffix("Z"))) * 2 + (present == "1")


def code_mark(code: int) -> str:
    """The attendance mark a `mark_code` stands for."""
    moment = code_time(code >> 1).replace(tzinfo=None).isoformat(timespec="microseconds")
    return f"{moment}Z|{code & 1}"


class Column:
    """One field of every row: integers, and for text-like values the table of values."""

    def __init__(self, kind: ColumnKind) -> None:
        self.kind = kind
        # Codes take 4 bytes; numbers, times and marks 8.
        self.cells = array("i" if kind == "value" else "q")
        # Codes of "value" columns: 0 is absent, then each distinct value in first-seen order.
        self.values: list[Any] = [None]
        self._codes: dict[Hashable, int] = {}
        # Chosen once: a replay encodes several values per event.
        self.encode: Callable[[Any], int] = {
            "value": self._encode_value,
            "number": self._encode_number,
            "time": self._encode_time,
            "mark": self._encode_mark,
        }[kind]

    def _encode_value(self, value: Any) -> int:
        # Text is the common case; other values are keyed with their type, since True and 1
        # are different values to MongoDB but equal keys to a dict.
        key = value if type(value) is str else (type(value), value)
        code = self._codes.get(key)
        if code is None:
            code = self._codes[key] = len(self.values)
            self.values.append(value)
        return code

    @staticmethod
    def _encode_number(value: Any) -> int:
        if value is None:
            raise ValueError("a number column cannot hold null")
        return int(value)

    @staticmethod
    def _encode_time(value: Any) -> int:
        if value is None:
            raise ValueError("a time column cannot hold null")
        return time_code(value)

    @staticmethod
    def _encode_mark(value: Any) -> int:
        if value is None:
            raise ValueError("a mark column cannot hold null")
        return mark_code(value)

    def decode(self, cell: int) -> Any:
        """The value an integer stands for."""
        if self.kind == "value":
            return self.values[cell]
        if self.kind == "time":
            return code_time(cell)
        if self.kind == "mark":
            return code_mark(cell)
        return cell

    def is_absent(self, cell: int) -> bool:
        """Whether a row has no value in this column."""
        return cell == (ABSENT if self.kind == "value" else MISSING)

    def code_of(self, value: Any) -> int | None:
        """The code of a value already seen, for equality filters; None if never seen."""
        return self._codes.get(value if type(value) is str else (type(value), value))

    def array(self) -> IntArray:
        """The cells as a numpy array (a copy: the table keeps growing)."""
        return np.array(self.cells, dtype=np.int64)

    def keys(self, name_absent: str) -> list[str]:
        """Each code's value as text, absent and empty values named `name_absent`."""
        return [str(value) if value else name_absent for value in self.values]


class ColumnarTable:
    """Rows of one projection collection, by `_id`, stored column-wise."""

    def __init__(self, columns: Mapping[str, ColumnKind]) -> None:
        self.columns = {name: Column(kind) for name, kind in columns.items()}
        # Row numbers by _id, in insertion order: the row order (no separate list of ids).
        self._rows: dict[Any, int] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def apply(self, filter_: Document, update: Document, *, upsert: bool, many: bool) -> None:
        """Apply one projection write as MongoDB would."""
        if many:
            for row in self._rows_matching(filter_):
                self._update(row, update, inserted=False)
            return
        if set(filter_) != {"_id"}:
            raise ValueError(f"a columnar table is written by _id only, not by {sorted(filter_)}")
        key = filter_["_id"]
        existing = self._rows.get(key)
        if existing is not None:
            self._update(existing, update, inserted=False)
        elif upsert:
            row = self._rows[key] = len(self._rows)
            for column in self.columns.values():
                column.cells.append(ABSENT if column.kind == "value" else MISSING)
            self._update(row, update, inserted=True)

    def _rows_matching(self, filter_: Document) -> list[int]:
        (field, value), *others = filter_.items()
        if others or isinstance(value, dict):
            raise ValueError("a columnar table updates many rows by one field's equality only")
        column = self.columns[field]
        code = column.code_of(value) if column.kind == "value" else column.encode(value)
        if code is None:
            return []  # a value never seen is in no row
        return [row for row, cell in enumerate(column.cells) if cell == code]

    def _update(self, row: int, update: Document, *, inserted: bool) -> None:
        columns = self.columns
        for operator, fields in update.items():
            if operator == "$setOnInsert" and not inserted:
                continue
            for field, value in fields.items():
                if field not in columns:
                    raise ValueError(f"the table has no column {field!r}")
                column = columns[field]
                cells = column.cells
                if operator == "$set" or operator == "$setOnInsert":
                    cells[row] = column.encode(value)
                elif operator == "$max":
                    if value is not None and (code := column.encode(value)) > cells[row]:
                        cells[row] = code
                elif operator == "$min":
                    code = column.encode(value)
                    if cells[row] == MISSING or code < cells[row]:
                        cells[row] = code
                else:
                    raise ValueError(f"a columnar table does not know {operator}")

    def __iter__(self) -> Iterator[Document]:
        """Each row as the document MongoDB would hold (absent fields left out)."""
        columns = list(self.columns.items())
        for key, row in self._rows.items():
            document: Document = {"_id": key}
            for name, column in columns:
                cell = column.cells[row]
                if not column.is_absent(cell):
                    document[name] = column.decode(cell)
            yield document


def registrations_table() -> ColumnarTable:
    """The registrations projection (see ProjectionStore._registration_write)."""
    return ColumnarTable(
        {
            "event_id": "value",
            "person_ref": "value",
            "category": "value",
            "organisation_id": "value",
            "region_code": "value",
            "federal_district": "value",
            "rank": "number",
            "registered_at": "time",
            "cancelled_at": "time",
            "attendance": "mark",
            "person_erased": "value",
        }
    )


def notifications_table() -> ColumnarTable:
    """The message outcomes projection (see projections._notification_write)."""
    return ColumnarTable(
        {"kind": "value", "rank": "number", "sent_at": "time", "failed_at": "time"}
    )


def downloads_table() -> ColumnarTable:
    """One row per download (see projections._content_write)."""
    return ColumnarTable(
        {
            "material_id": "value",
            "kind": "value",
            "reader": "value",
            "partial": "value",
            "downloaded_at": "time",
        }
    )


TABLES = {
    "registrations": registrations_table,
    "notifications": notifications_table,
    "downloads": downloads_table,
}


def table_of(documents: Iterable[Mapping[str, Any]], collection: str) -> ColumnarTable:
    """A table holding documents read from one of the collections above.

    Fields the table has no column for are left out: they are not counted.
    """
    table = TABLES[collection]()
    for document in documents:
        fields = {
            name: value
            for name, value in document.items()
            if name in table.columns and (value is not None or table.columns[name].kind == "value")
        }
        table.apply({"_id": document["_id"]}, {"$set": fields}, upsert=True, many=False)
    return table
