"""NGO development strategies: one versioned document per organisation, exported as PDF."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.content import StrategyUpdated
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, update_with_outbox, with_outbox
from etnik.common.pdf_fonts import FontMissing, register_fonts
from etnik.content.access import ParticipantAccess
from etnik.content.domain import RuleViolation
from etnik.content.mechanisms import MechanismCatalogue, check_vector, chosen_codes
from etnik.content.pdf import ChosenMechanism, StrategySection, strategy_pdf
from etnik.content.repository import new_id, now_utc
from etnik.content.strategy_template import SECTIONS, changed_sections, initial_sections

STRATEGIES = "strategies"


class StrategyService:
    """Creating, editing and exporting development strategies."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        access: ParticipantAccess,
        outbox: Outbox,
        *,
        fonts: tuple[Path, Path],
        catalogue: MechanismCatalogue | None = None,
    ) -> None:
        self.strategies = db[STRATEGIES]
        self._access = access
        self._outbox = outbox
        self._fonts = fonts
        self._catalogue = catalogue

    async def ensure_indexes(self) -> None:
        """One strategy per organisation."""
        await self.strategies.create_index("organisation_id", unique=True)

    async def create(self, organisation_id: str, *, by: str) -> Document:
        """Start an organisation's strategy from the template, prefilled with its participation."""
        organisation = await self._access.organisation(organisation_id)
        if organisation is None:
            raise RuleViolation(422, f"unknown organisation {organisation_id}")
        sections = initial_sections(
            organisation, await self._access.participation_of(organisation_id)
        )
        now = now_utc()
        strategy: Document = {
            "_id": new_id(),
            "organisation_id": organisation_id,
            "organisation_name": organisation.get("name"),
            "sections": sections,
            "vector": None,
            "goals": [],
            "version": 1,
            "created_by": by,
            "created_at": now,
            "updated_at": now,
            "history": [_entry(1, by, now, list(SECTIONS), sections, None, [])],
        }
        staged = self._outbox.stage(_updated(strategy, list(SECTIONS)))
        try:
            await self.strategies.insert_one(with_outbox(strategy, staged))
        except DuplicateKeyError:
            raise RuleViolation(409, "this organisation already has a strategy") from None
        await self._outbox.flush(self.strategies, strategy["_id"], staged)
        return _public(strategy)

    async def get(self, organisation_id: str, *, with_history: bool = False) -> Document:
        """An organisation's strategy; 404 when it has none."""
        projection: Document = {"outbox": 0, "outbox_since": 0}
        if not with_history:
            projection["history"] = 0
        strategy = await self.strategies.find_one({"organisation_id": organisation_id}, projection)
        if strategy is None:
            raise RuleViolation(404, "this organisation has no strategy yet")
        return strategy

    async def edit(
        self,
        organisation_id: str,
        sections: dict[str, str],
        *,
        by: str,
        expected_version: int | None,
        structure: Document | None = None,
    ) -> Document:
        """Change sections, and the vector or goals given in `structure`: a new version and a
        StrategyUpdated event. Everything is checked before anything is written."""
        current = await self.get(organisation_id)
        if expected_version is not None and expected_version != current["version"]:
            raise RuleViolation(409, "the strategy changed meanwhile; reload it and try again")
        proposed = {**current["sections"], **sections}
        changes = changed_sections(current["sections"], proposed)
        vector, goals = await self._structure(current, structure or {})
        if vector != current.get("vector"):
            changes.append("vector")
        if goals != current.get("goals", []):
            changes.append("goal_list")
        if not changes:
            return _public(current)
        version = int(current["version"]) + 1
        now = now_utc()
        after = {
            **current,
            "sections": proposed,
            "vector": vector,
            "goals": goals,
            "version": version,
            "updated_at": now,
        }
        staged = self._outbox.stage(_updated(after, changes))
        result = await self.strategies.update_one(
            {"_id": current["_id"], "version": current["version"]},
            update_with_outbox(
                {
                    "$set": {
                        "sections": proposed,
                        "vector": vector,
                        "goals": goals,
                        "version": version,
                        "updated_at": now,
                    },
                    "$push": {
                        "history": _entry(version, by, now, changes, proposed, vector, goals)
                    },
                },
                staged,
            ),
        )
        if result.modified_count != 1:
            raise RuleViolation(409, "the strategy changed meanwhile; reload it and try again")
        await self._outbox.flush(self.strategies, current["_id"], staged)
        return _public(after)

    async def _structure(
        self, current: Document, structure: Document
    ) -> tuple[Document | None, list[Document]]:
        """The vector and goals after the edit, checked against the lists and the catalogue."""
        vector = structure["vector"] if "vector" in structure else current.get("vector")
        # An explicit null clears the goals, like an empty list.
        goals = list((structure["goals"] if "goals" in structure else current.get("goals")) or [])
        if self._catalogue is not None:
            if "vector" in structure:
                check_vector(vector, self._catalogue.reference)
            if "goals" in structure:
                kept = set(chosen_codes(current.get("goals", [])))
                await self._catalogue.check_goals(goals, kept)
        return vector, goals

    async def pdf(self, organisation_id: str) -> tuple[Document, bytes]:
        """The strategy and its PDF; 503 with what to install when the font is missing."""
        strategy = await self.get(organisation_id)
        sections = [
            StrategySection(heading, strategy["sections"].get(key, ""))
            for key, heading in SECTIONS.items()
        ]
        vector, mechanisms = await self._chosen(strategy)
        try:
            register_fonts(*self._fonts, setting="PDF_FONT_FILE")
        except FontMissing as error:
            raise RuleViolation(503, str(error)) from error
        content = await asyncio.to_thread(
            strategy_pdf,
            strategy.get("organisation_name") or organisation_id,
            sections,
            version=strategy["version"],
            updated_at=strategy["updated_at"],
            vector=vector,
            mechanisms=mechanisms,
        )
        return strategy, content

    async def _chosen(self, strategy: Document) -> tuple[str | None, list[ChosenMechanism]]:
        """The vector as a line of text, and each chosen mechanism with its goals' texts."""
        vector = strategy.get("vector")
        goals = strategy.get("goals") or []
        if self._catalogue is None:
            return None, []
        reference = self._catalogue.reference
        line = None
        if vector:
            line = reference.vectors.get(vector["kind"], vector["kind"])
            if vector.get("text"):
                line += f". {vector['text']}"
        entries = await self._catalogue.entries(chosen_codes(goals))
        chosen = []
        for code in chosen_codes(goals):
            entry = entries.get(code, {})
            chosen.append(
                ChosenMechanism(
                    code=code,
                    title=entry.get("title", code),
                    task=reference.tasks.get(entry.get("task_code", ""), ""),
                    goals=[g["text"] for g in goals if code in g.get("mechanisms", [])],
                )
            )
        return line, chosen


def _entry(
    version: int,
    by: str,
    at: Any,
    changes: list[str],
    sections: dict[str, str],
    vector: Document | None,
    goals: list[Document],
) -> Document:
    return {
        "version": version,
        "by": by,
        "at": at,
        "changes": changes,
        "sections": sections,
        "vector": vector,
        "goals": goals,
    }


def _updated(strategy: Document, changes: list[str]) -> StrategyUpdated:
    return StrategyUpdated(
        strategy_id=strategy["_id"],
        organisation_id=strategy["organisation_id"],
        version=strategy["version"],
        sections=changes,
        updated_at=strategy["updated_at"],
        mechanisms=chosen_codes(strategy.get("goals") or []),
    )


def _public(strategy: Document) -> Document:
    return {k: v for k, v in strategy.items() if k not in {"history", "outbox", "outbox_since"}}
