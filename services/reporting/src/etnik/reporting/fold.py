"""Projection writes applied to documents in memory: the rebuild's fast path.

FerretDB v1 (SQLite) answers every update by scanning its collection, so replaying a long
history write by write grows with the square of its length. A rebuild therefore folds the
history into documents here, with the same writes and the same operator semantics as the
live path ($set, $setOnInsert, $max, $min; filters of equality and $lte), and inserts the
result in bulk. The report view keeps such a fold current (see view.py).

For reports, the collections that grow with every participant (registrations, messages,
downloads) are held column-wise (see columnar.py); the others, a few documents per programme
event or material, as dicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from etnik.common.mongo import Document
from etnik.reporting.columnar import (
    ColumnarTable,
    downloads_table,
    notifications_table,
    registrations_table,
)
from etnik.reporting.projections import Write


class ProjectionFold:
    """Documents by collection and id, changed by projection writes."""

    def __init__(self, *, columnar: bool = True) -> None:
        """With `columnar`, the large collections are held as tables (what reports count);
        without, every collection is documents (what a rebuild inserts: faster to fold and
        nothing to decode, but about a kilobyte a document)."""
        self._collections: dict[str, dict[Any, Document]] = {}
        self.tables: dict[str, ColumnarTable] = (
            {
                "registrations": registrations_table(),
                "notifications": notifications_table(),
                "downloads": downloads_table(),
            }
            if columnar
            else {}
        )

    def apply(self, collection: str, write: Write) -> None:
        """Apply one write as MongoDB would."""
        table = self.tables.get(collection)
        if table is not None:
            table.apply(write.filter, write.update, upsert=write.upsert, many=write.many)
            return
        documents = self._collections.setdefault(collection, {})
        if write.many:
            for document in documents.values():
                if _matches(document, write.filter):
                    _update(document, write.update, inserted=False)
            return
        key = write.filter["_id"]
        existing = documents.get(key)
        if existing is None:
            if write.upsert:
                documents[key] = _update({"_id": key}, write.update, inserted=True)
            return
        if _matches(existing, write.filter):
            _update(existing, write.update, inserted=False)

    def collection(self, name: str) -> Iterable[Document]:
        """The documents of one collection (a table's rows are decoded as they are read)."""
        table = self.tables.get(name)
        if table is not None:
            return table
        return list(self._collections.get(name, {}).values())

    def documents(self) -> dict[str, Iterable[Document]]:
        """Every document, by collection (a table's rows decoded as they are read)."""
        names = [name for name, table in self.tables.items() if len(table)]
        return {name: self.collection(name) for name in [*names, *self._collections]}

    def __len__(self) -> int:
        return sum(len(table) for table in self.tables.values()) + sum(
            len(rows) for rows in self._collections.values()
        )


def _matches(document: Document, conditions: Document) -> bool:
    for field, condition in conditions.items():
        value = document.get(field)
        if isinstance(condition, dict):
            for operator, operand in condition.items():
                if operator != "$lte":
                    raise ValueError(f"the fold does not know {operator}")
                if value is None or value > operand:
                    return False
        elif value != condition:
            return False
    return True


def _update(document: Document, update: Document, *, inserted: bool) -> Document:
    for operator, fields in update.items():
        for field, value in fields.items():
            current = document.get(field)
            if operator == "$set" or (operator == "$setOnInsert" and inserted):
                document[field] = value
            elif operator == "$max":
                if current is None or value > current:
                    document[field] = value
            elif operator == "$min":
                if field not in document or value < current:
                    document[field] = value
            elif operator != "$setOnInsert":
                raise ValueError(f"the fold does not know {operator}")
    return document
