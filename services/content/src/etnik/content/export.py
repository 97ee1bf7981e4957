"""What content holds about one person, for their export (152-FZ art. 14).

Served by `GET /people/{person_id}/export` (api.py) to operators and to registration, which
gathers every service's part into the person's one export; never to participants (they ask
registration, which checks who they are).
"""

from __future__ import annotations

from typing import Any

from etnik.common.mongo import Document
from etnik.common.outbox import OUTBOX_FIELD, OUTBOX_SINCE_FIELD
from etnik.content.access import ParticipantAccess
from etnik.content.repository import MaterialRepository
from etnik.content.strategies import StrategyService

DOWNLOADS_NOTE = (
    "Скачивания файлов учитываются без сведений о читателе: в статистику уходит только "
    "обезличенный ключевой хеш. Просмотры видео учитываются так же, а при удалении данных "
    "записи о просмотрах под этим хешем удаляются."
)


async def ensure_indexes(repository: MaterialRepository) -> None:
    """The export's look-up of materials that named the person in an earlier version
    (`authors.person_id`, for the current version, is declared by the repository)."""
    await repository.materials.create_index("history.state.authors.person_id")


def _named(authors: list[Document] | None, person_id: str) -> list[Document]:
    return [
        {"name": a.get("name"), "affiliation": a.get("affiliation")}
        for a in authors or []
        if a.get("person_id") == person_id
    ]


def material_entry(material: Document, person_id: str) -> dict[str, Any]:
    """A material that names the person: how it names them now and in which versions."""
    versions = [
        entry.get("version")
        for entry in material.get("history") or []
        if _named((entry.get("state") or {}).get("authors"), person_id)
    ]
    current = _named(material.get("authors"), person_id)
    return {
        "id": material["_id"],
        "title": material.get("title"),
        "kind": material.get("kind"),
        "status": material.get("status"),
        "access": material.get("access"),
        "role": "author" if current else "named_in_earlier_version",
        "named_as": current,
        "versions_naming_person": versions,
        "created_at": material.get("created_at"),
        "updated_at": material.get("updated_at"),
        "published_at": material.get("published_at"),
    }


async def person_export(
    repository: MaterialRepository,
    access: ParticipantAccess,
    strategies: StrategyService,
    person_id: str,
) -> dict[str, Any]:
    """Materials naming the person, their access records, and their organisations' strategies."""
    # Two indexed branches: authors.person_id and history.state.authors.person_id.
    materials = await repository.materials.find(
        {"$or": [{"authors.person_id": person_id}, {"history.state.authors.person_id": person_id}]},
        {OUTBOX_FIELD: 0, OUTBOX_SINCE_FIELD: 0, "search_terms": 0, "file_terms": 0},
    ).to_list()
    participant = await access.participants.find_one({"_id": person_id})
    registrations = await access.registrations.find({"person_id": person_id}).to_list()
    organisation_ids = sorted(
        {r["organisation_id"] for r in registrations if r.get("organisation_id")}
    )
    held_strategies = (
        await strategies.strategies.find(
            {"organisation_id": {"$in": organisation_ids}}, {"history": 0, "sections": 0}
        ).to_list()
        if organisation_ids
        else []
    )
    return {
        "service": "content",
        "person_id": person_id,
        "materials": [material_entry(m, person_id) for m in materials],
        "access": {
            "events_open_to_person": sorted(set((participant or {}).get("events", {}).values())),
            "registrations": [
                {
                    "registration_id": r["_id"],
                    "event_id": r.get("event_id"),
                    "organisation_id": r.get("organisation_id"),
                    "status": r.get("status"),
                    "attended": r.get("attended"),
                }
                for r in registrations
            ],
        },
        "strategies": [
            {
                "id": s["_id"],
                "organisation_id": s.get("organisation_id"),
                "organisation_name": s.get("organisation_name"),
                "version": s.get("version"),
                "updated_at": s.get("updated_at"),
            }
            for s in held_strategies
        ],
        "downloads": DOWNLOADS_NOTE,
    }
