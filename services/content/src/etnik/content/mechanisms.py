"""The catalogue of the State National Policy Strategy's mechanisms, and the structured part of
an NGO's development strategy: its development vector and its goals, each goal served by one or
more mechanisms of the catalogue.

The catalogue is reference data that operators keep: they add, edit and retire entries, never
delete them, so that a code a strategy chose always resolves to its title. A retired code stays
valid in the strategies that already chose it but cannot be newly chosen. Each entry is its own
document (`_id` its code) with its events in its own outbox; every change publishes the entry's
whole state on `etnik.content.mechanisms.v1`, keyed by the code.

The initial catalogue comes from `data/mechanisms.json` (in Russian, plainly labelled as the
initial one): each code of it missing from the database is added at start, so a fresh
deployment has a catalogue and nothing an operator changed is overwritten.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.content import MechanismRecorded, MechanismRetired
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, update_with_outbox, with_outbox
from etnik.content.domain import RuleViolation
from etnik.content.repository import now_utc

log = logging.getLogger(__name__)

MECHANISMS = "mechanisms"
CATALOGUE_FILE = Path(__file__).parent / "data" / "mechanisms.json"

# A code is a short Latin slug: it travels in events and report files, so it never changes.
CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
MAX_TITLE_CHARS = 300
# Bounds of a strategy's structured part: a strategy is a plan, not a register.
MAX_GOALS = 10
MAX_MECHANISMS_PER_GOAL = 5
MAX_GOAL_TEXT_CHARS = 500
MAX_VECTOR_TEXT_CHARS = 2000

ACTIVE = "active"
RETIRED = "retired"
WITHOUT_OUTBOX: Document = {"outbox": 0, "outbox_since": 0}


@dataclass(frozen=True)
class Reference:
    """The fixed lists beside the catalogue: the Strategy's tasks and the development vectors."""

    tasks: dict[str, str]
    vectors: dict[str, str]
    initial: list[dict[str, str]]
    note: str


def load_reference(path: Path = CATALOGUE_FILE) -> Reference:
    """The tasks, vectors and initial catalogue from the data file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return Reference(
        tasks={item["code"]: item["title"] for item in data["tasks"]},
        vectors={item["code"]: item["title"] for item in data["vectors"]},
        initial=list(data["mechanisms"]),
        note=data["note"],
    )


# --- Rules (no I/O) -----------------------------------------------------------------------


def chosen_codes(goals: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every mechanism code the goals use, each once, sorted."""
    return sorted({code for goal in goals for code in goal.get("mechanisms", [])})


def check_goals(
    goals: Sequence[Mapping[str, Any]],
    catalogue: Mapping[str, Mapping[str, Any]],
    already_chosen: set[str],
) -> None:
    """Each goal names at least one mechanism, each known; a retired one only if kept."""
    for number, goal in enumerate(goals, start=1):
        codes = list(goal.get("mechanisms", []))
        if not codes:
            raise RuleViolation(422, f"goal {number}: choose at least one mechanism")
        if len(set(codes)) != len(codes):
            raise RuleViolation(422, f"goal {number}: a mechanism is named twice")
        for code in codes:
            entry = catalogue.get(code)
            if entry is None:
                raise RuleViolation(422, f"goal {number}: unknown mechanism {code}")
            if entry["status"] == RETIRED and code not in already_chosen:
                raise RuleViolation(
                    422, f"goal {number}: mechanism {code} is retired and cannot be newly chosen"
                )


def check_vector(vector: Mapping[str, Any] | None, reference: Reference) -> None:
    """The vector's kind is one of the list's."""
    if vector is not None and vector.get("kind") not in reference.vectors:
        raise RuleViolation(
            422,
            f"unknown development vector {vector.get('kind')}; "
            f"known: {', '.join(reference.vectors)}",
        )


def _snapshot(entry: Document, reference: Reference) -> dict[str, Any]:
    return {
        "code": entry["_id"],
        "title": entry["title"],
        "task_code": entry["task_code"],
        "task_title": reference.tasks.get(entry["task_code"], entry["task_code"]),
        "status": entry["status"],
        "version": entry["version"],
        "changed_at": entry["updated_at"],
    }


# --- Use cases -----------------------------------------------------------------------------


class MechanismCatalogue:
    """The mechanisms catalogue: list, add, edit, retire; and checks of a strategy's goals."""

    def __init__(
        self, db: AsyncDatabase[Document], outbox: Outbox, reference: Reference | None = None
    ) -> None:
        self.mechanisms = db[MECHANISMS]
        self._outbox = outbox
        self.reference = reference or load_reference()

    async def ensure_indexes(self) -> None:
        """The list of the entries that may be chosen."""
        await self.mechanisms.create_index("status")

    async def seed(self) -> None:
        """Add each entry of the initial catalogue that is missing."""
        added = 0
        for item in self.reference.initial:
            if await self.mechanisms.find_one({"_id": item["code"]}, {"_id": 1}) is not None:
                continue
            try:
                await self._insert(item, by="initial-catalogue")
            except RuleViolation:
                continue  # another replica added it meanwhile
            added += 1
        if added:
            log.info("added %d entries of the initial mechanisms catalogue", added)

    async def listed(self, *, include_retired: bool) -> list[Document]:
        """The catalogue by code; the retired entries too when asked."""
        query: Document = {} if include_retired else {"status": ACTIVE}
        cursor = self.mechanisms.find(query, WITHOUT_OUTBOX).sort("_id", 1)
        return [entry async for entry in cursor]

    async def get(self, code: str) -> Document:
        """One entry; 404 when unknown."""
        entry = await self.mechanisms.find_one({"_id": code}, WITHOUT_OUTBOX)
        if entry is None:
            raise RuleViolation(404, f"unknown mechanism {code}")
        return entry

    async def entries(self, codes: Sequence[str]) -> dict[str, Document]:
        """The entries of these codes (retired ones included), by code; unknown ones left out."""
        found: dict[str, Document] = {}
        for code in dict.fromkeys(codes):
            entry = await self.mechanisms.find_one({"_id": code}, WITHOUT_OUTBOX)
            if entry is not None:
                found[code] = entry
        return found

    async def add(self, fields: Mapping[str, Any], *, by: str) -> Document:
        """Add a mechanism; 409 when the code is taken (retired codes too), 422 for a bad task."""
        self._check_task(fields["task_code"])
        return await self._insert(fields, by=by)

    async def edit(
        self, code: str, fields: Mapping[str, Any], *, by: str, version: int | None
    ) -> Document:
        """Change an entry's title or task; 409 when `version` is given and no longer current."""
        current = await self.get(code)
        if version is not None and version != current["version"]:
            raise RuleViolation(
                409, f"the mechanism changed meanwhile: it is at version {current['version']}"
            )
        wanted = {key: fields[key] for key in ("title", "task_code") if key in fields}
        if "task_code" in wanted:
            self._check_task(wanted["task_code"])
        if all(current.get(key) == value for key, value in wanted.items()):
            return current
        return await self._save(current, wanted, by=by, event=MechanismRecorded)

    async def retire(self, code: str, *, by: str) -> Document:
        """Retire an entry: it stays for strategies that chose it; 409 if it already is."""
        current = await self.get(code)
        if current["status"] == RETIRED:
            raise RuleViolation(409, f"mechanism {code} is already retired")
        return await self._save(current, {"status": RETIRED}, by=by, event=MechanismRetired)

    async def check_goals(
        self, goals: Sequence[Mapping[str, Any]], already_chosen: set[str]
    ) -> None:
        """Refuse goals without a mechanism, unknown codes and newly chosen retired ones."""
        catalogue = await self.entries(chosen_codes(goals))
        check_goals(goals, catalogue, already_chosen)

    def _check_task(self, task_code: str) -> None:
        if task_code not in self.reference.tasks:
            raise RuleViolation(
                422,
                f"unknown task of the Strategy {task_code}; "
                f"known: {', '.join(self.reference.tasks)}",
            )

    async def _insert(self, fields: Mapping[str, Any], *, by: str) -> Document:
        now = now_utc()
        entry: Document = {
            "_id": fields["code"],
            "title": fields["title"],
            "task_code": fields["task_code"],
            "status": ACTIVE,
            "version": 1,
            "created_at": now,
            "created_by": by,
            "updated_at": now,
            "updated_by": by,
        }
        staged = self._outbox.stage(MechanismRecorded(**_snapshot(entry, self.reference)))
        try:
            await self.mechanisms.insert_one(with_outbox(entry, staged))
        except DuplicateKeyError:
            raise RuleViolation(
                409, f"mechanism {fields['code']} exists already (codes are never reused)"
            ) from None
        await self._outbox.flush(self.mechanisms, entry["_id"], staged)
        return entry

    async def _save(
        self,
        current: Document,
        wanted: Document,
        *,
        by: str,
        event: type[MechanismRecorded] | type[MechanismRetired],
    ) -> Document:
        now = now_utc()
        after = {**current, **wanted, "version": current["version"] + 1, "updated_at": now}
        staged = self._outbox.stage(event(**_snapshot(after, self.reference)))
        result = await self.mechanisms.update_one(
            {"_id": current["_id"], "version": current["version"]},
            update_with_outbox(
                {
                    "$set": {**wanted, "updated_at": now, "updated_by": by},
                    "$inc": {"version": 1},
                },
                staged,
            ),
        )
        if result.modified_count != 1:
            raise RuleViolation(409, "the mechanism changed meanwhile: read it again and retry")
        await self._outbox.flush(self.mechanisms, current["_id"], staged)
        return {**after, "updated_by": by}
