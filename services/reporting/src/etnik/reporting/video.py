"""Views of the programme's videos, counted for the grant report.

A view is what the content service counted (`ru.etnik.material.viewed`): a playback started,
once per viewer and material within its window. Viewers are pseudonyms (a keyed hash of the
person, or of the random key an anonymous browser keeps), so unique viewers are distinct
pseudonyms: an anonymous viewer who clears the browser's storage counts again.
Pure functions over the projection's facts (see projections.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from etnik.reporting.domain import Fact, Period, period_contains_or_open


def view_fact(
    *, material_id: str, title: str, viewer: str, viewer_kind: str, viewed_at: Any
) -> Fact:
    """One counted view as the projection keeps it (under the event's id)."""
    return {
        "material_id": material_id,
        "title": title,
        "viewer": viewer,
        "viewer_kind": viewer_kind,
        "viewed_at": viewed_at,
    }


def video_views_summary(
    views: Iterable[Fact], materials: Sequence[Fact], period: Period
) -> dict[str, Any]:
    """Views in the period: in all, by unique viewers, and a row per video material (most
    viewed first). The title is the material's as last published, else as when viewed."""
    titles = {str(material["_id"]): material.get("title") for material in materials}
    by_material: dict[str, list[Fact]] = defaultdict(list)
    for fact in views:
        if period_contains_or_open(period, fact.get("viewed_at")):
            by_material[str(fact["material_id"])].append(fact)
    rows = [
        {
            "material_id": material_id,
            "title": titles.get(material_id) or facts[-1].get("title") or "",
            "views": len(facts),
            "unique_viewers": _unique(facts),
        }
        for material_id, facts in by_material.items()
    ]
    rows.sort(key=lambda row: (-int(row["views"] or 0), str(row["title"]), row["material_id"]))
    every = [fact for facts in by_material.values() for fact in facts]
    return {"views": len(every), "unique_viewers": _unique(every), "materials": rows}


def _unique(facts: Iterable[Fact]) -> int | None:
    """Distinct viewers, or None when a view does not say who viewed (unknown)."""
    viewers = [fact.get("viewer") for fact in facts]
    if any(not viewer for viewer in viewers):
        return None
    return len(set(viewers))


def video_tables(
    section: Mapping[str, Any] | None,
) -> list[tuple[str, str, list[str], list[list[Any]]]]:
    """The section as the report's table (key, Russian title, headers, rows), with a total;
    none when the report has no views."""
    if not section:
        return []

    def unique(value: int | None) -> Any:
        return "—" if value is None else value

    rows = [
        [row["title"] or row["material_id"], row["views"], unique(row["unique_viewers"])]
        for row in section["materials"]
    ]
    rows.append(["Всего", section["views"], unique(section["unique_viewers"])])
    return [
        (
            "video_views",
            "Просмотры видеоматериалов",
            ["Видеоматериал", "Просмотров", "Уникальных зрителей"],
            rows,
        )
    ]
