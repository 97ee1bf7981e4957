"""The Strategy's mechanisms NGOs chose in their development strategies, counted for the grant
report by federal district.

Facts (see projections.py, which turns these updates into writes):
- `strategy_versions`: one document per strategy version (`<strategy id>:<version>`) with the
  organisation, the time it was saved and the mechanism codes its goals use. Versions from
  before goals existed carry no codes and are not recorded.
- `mechanisms`: the catalogue, the newest version of each entry (title, task, status).
- `organisations`: each organisation's federal district and demo mark (no name, no contact).

Each NGO counts once: the latest version of its strategy saved by the end of the period (every
version, in an open period), if it names a mechanism; a mechanism counts once per NGO however
many goals use it. The district is the organisation's; an organisation the directory gives no
district is counted under «не указан». Demonstration organisations are left out. Pure
functions, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from etnik.common.events import EventReader
from etnik.common.mongo import Document
from etnik.reporting.domain import Fact, Period
from etnik.reporting.inbound import (
    MechanismRecorded,
    MechanismRetired,
    OrganisationRegistered,
    StrategyUpdated,
)

NO_DISTRICT = "не указан"
# (collection, filter, update, upsert): projections.py wraps them as its writes.
Update = tuple[str, Document, Document, bool]


def mechanism_updates(event: EventReader) -> list[Update]:
    """The projection updates a strategy, catalogue or organisation event causes."""
    if isinstance(event, StrategyUpdated):
        if event.mechanisms is None:
            return []
        version_id = f"{event.strategy_id}:{event.version}"
        # One fact per version, never changed: a repeat or late delivery changes nothing.
        return [
            (
                "strategy_versions",
                {"_id": version_id},
                {
                    "$setOnInsert": {
                        "strategy_id": event.strategy_id,
                        "organisation_id": event.organisation_id,
                        "version": event.version,
                        "updated_at": event.updated_at,
                        "mechanisms": list(event.mechanisms),
                    }
                },
                True,
            )
        ]
    if isinstance(event, MechanismRecorded | MechanismRetired):
        # Create the entry if needed, then keep its newest version's state.
        return [
            ("mechanisms", {"_id": event.code}, {"$setOnInsert": {"version": 0}}, True),
            (
                "mechanisms",
                {"_id": event.code, "version": {"$lte": event.version}},
                {
                    "$set": {
                        "title": event.title,
                        "task_code": event.task_code,
                        "task_title": event.task_title,
                        "status": event.status,
                        "version": event.version,
                    }
                },
                # Never an upsert: a newer version already there must stay (and not collide).
                False,
            ),
        ]
    if isinstance(event, OrganisationRegistered):
        # The topic is keyed by organisation, so its events arrive in order: the last one wins.
        return [
            (
                "organisations",
                {"_id": event.organisation_id},
                {"$set": {"federal_district": event.federal_district, "demo": event.demo}},
                True,
            )
        ]
    return []


def _saved_by_end(period: Period, moment: datetime | None) -> bool:
    if moment is None:
        return False
    until = period.until_time
    return until is None or _aware(moment) < until


def _aware(moment: datetime) -> datetime:
    # MongoDB gives times back naive (UTC); events and the fold keep them aware.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def latest_versions(versions: Iterable[Fact], period: Period) -> dict[str, Fact]:
    """Each organisation's latest strategy version saved by the end of the period."""
    latest: dict[str, Fact] = {}
    for fact in versions:
        if not _saved_by_end(period, fact.get("updated_at")):
            continue
        organisation_id = str(fact["organisation_id"])
        known = latest.get(organisation_id)
        if known is None or (fact["version"], str(fact["_id"])) > (
            known["version"],
            str(known["_id"]),
        ):
            latest[organisation_id] = fact
    return latest


def mechanism_summary(
    versions: Iterable[Fact],
    mechanisms: Iterable[Fact],
    organisations: Iterable[Fact],
    period: Period,
) -> dict[str, Any]:
    """NGOs whose strategy names mechanisms, and how many chose each, in all and by district."""
    catalogue = {str(fact["_id"]): fact for fact in mechanisms}
    known = {str(fact["_id"]): fact for fact in organisations}
    chosen: dict[str, tuple[str, list[str]]] = {}
    for organisation_id, fact in latest_versions(versions, period).items():
        organisation = known.get(organisation_id) or {}
        codes = sorted(set(fact.get("mechanisms") or []))
        if organisation.get("demo") or not codes:
            continue
        chosen[organisation_id] = (str(organisation.get("federal_district") or NO_DISTRICT), codes)
    by_mechanism: Counter[str] = Counter()
    by_district: dict[str, Counter[str]] = {}
    for district, codes in chosen.values():
        by_mechanism.update(codes)
        by_district.setdefault(district, Counter()).update(codes)
    organisations_by_district = Counter(district for district, _ in chosen.values())

    def row(code: str, count: int) -> dict[str, Any]:
        entry = catalogue.get(code) or {}
        return {
            "code": code,
            "title": entry.get("title") or code,
            "task_code": entry.get("task_code"),
            "task_title": entry.get("task_title"),
            "retired": entry.get("status") == "retired",
            "organisations": count,
        }

    def ordered(counts: Counter[str]) -> list[dict[str, Any]]:
        return [row(code, n) for code, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]

    return {
        "organisations": len(chosen),
        "mechanisms": ordered(by_mechanism),
        "by_district": [
            {
                "federal_district": district,
                "organisations": organisations_by_district[district],
                "mechanisms": ordered(by_district[district]),
            }
            for district in sorted(by_district)
        ],
    }


def mechanism_tables(
    section: Mapping[str, Any] | None,
) -> list[tuple[str, str, list[str], list[list[Any]]]]:
    """The section as the report's tables (key, title, headers, rows); none when absent. Each
    row's first cell names it alone, so that the CSV's row labels stay unique."""
    if not section:
        return []

    def title(row: Mapping[str, Any]) -> str:
        return str(row["title"]) + (" (выведен из каталога)" if row["retired"] else "")

    return [
        (
            "mechanisms",
            "Механизмы, выбранные НКО",
            ["Механизм", "Код", "Задача Стратегии", "НКО"],
            [
                [title(row), row["code"], row["task_title"] or "—", row["organisations"]]
                for row in section["mechanisms"]
            ],
        ),
        (
            "mechanisms_by_district",
            "НКО с механизмами по округам",
            ["Федеральный округ", "НКО"],
            [[d["federal_district"], d["organisations"]] for d in section["by_district"]],
        ),
        (
            "mechanisms_in_districts",
            "Механизмы Стратегии по округам",
            ["Округ и механизм", "Код", "НКО"],
            [
                [f"{d['federal_district']} — {title(row)}", row["code"], row["organisations"]]
                for d in section["by_district"]
                for row in d["mechanisms"]
            ],
        ),
    ]
