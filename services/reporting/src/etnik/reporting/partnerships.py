"""Partnerships formed in the programme, counted for the grant report and the dashboard:
by federal district and by the kind of sector pair they link (NGO–authority, NGO–business…).

A partnership of three or more parties links every pair of them; each kind of pair is
counted once per partnership, so «NGO, NGO, authority» counts once under NGO–NGO and once
under NGO–authority. Pure functions over the projection's facts (see projections.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Set
from datetime import date
from itertools import combinations
from typing import Any

from etnik.reporting.domain import Fact, Period

# The order sectors are named in within a pair: the programme's NGOs first.
SECTOR_ORDER = ("ngo", "authority", "business", "media", "education", "other")
SECTOR_LABELS = {
    "ngo": "НКО",
    "authority": "органы власти",
    "business": "бизнес",
    "media": "СМИ",
    "education": "образование и наука",
    "other": "другие",
}
PAIR_SEPARATOR = "–"


def _sector_rank(sector: str) -> tuple[int, str]:
    return (SECTOR_ORDER.index(sector) if sector in SECTOR_ORDER else len(SECTOR_ORDER), sector)


def _pair_rank(pair: str) -> list[tuple[int, str]]:
    return [_sector_rank(sector) for sector in pair.split(PAIR_SEPARATOR)]


def sector_pairs(sectors: Iterable[str]) -> list[str]:
    """The kinds of sector pair a partnership's parties form, each once, in a fixed order."""
    ordered = sorted(sectors, key=_sector_rank)
    pairs = {f"{a}{PAIR_SEPARATOR}{b}" for a, b in combinations(ordered, 2)}
    return sorted(pairs, key=_pair_rank)


def pair_label(pair: str) -> str:
    """«НКО – органы власти» for «ngo–authority»."""
    return " – ".join(SECTOR_LABELS.get(sector, sector) for sector in pair.split(PAIR_SEPARATOR))


def formed_in(period: Period, fact: Fact) -> bool:
    """Whether a partnership was formed within the period (every one, in an open period)."""
    formed_on = fact.get("formed_on")
    if not formed_on:
        return False
    day = date.fromisoformat(str(formed_on))
    return (period.start is None or day >= period.start) and (
        period.end is None or day <= period.end
    )


def partnership_summary(
    facts: Iterable[Fact],
    period: Period,
    events_by_id: Mapping[str, Fact],
    *,
    demo_event_ids: Set[str] = frozenset(),
    federal_district: str | None = None,
) -> dict[str, Any]:
    """Partnerships formed in the period: how many, by district and sector pair, and a row
    each. One that came from a demonstration event is left out, as its event is."""
    chosen = [
        fact
        for fact in facts
        if fact.get("parties")
        and formed_in(period, fact)
        and (federal_district is None or fact.get("federal_district") == federal_district)
        and str(fact.get("event_id")) not in demo_event_ids
    ]
    by_pair: Counter[str] = Counter()
    for fact in chosen:
        by_pair.update(sector_pairs(party["sector"] for party in fact["parties"]))
    return {
        "formed": len(chosen),
        "active": sum(1 for fact in chosen if fact.get("status") == "active"),
        "ended": sum(1 for fact in chosen if fact.get("status") == "ended"),
        "cross_sector": sum(
            1 for fact in chosen if len({party["sector"] for party in fact["parties"]}) > 1
        ),
        "by_district": dict(
            sorted(Counter(str(fact.get("federal_district")) for fact in chosen).items())
        ),
        "by_sector_pair": {pair: by_pair[pair] for pair in sorted(by_pair, key=_pair_rank)},
        "rows": sorted(
            (_row(fact, events_by_id) for fact in chosen),
            key=lambda row: (row["formed_on"], row["partnership_id"]),
        ),
    }


def _row(fact: Fact, events_by_id: Mapping[str, Fact]) -> dict[str, Any]:
    event = events_by_id.get(str(fact.get("event_id"))) or {}
    return {
        "partnership_id": str(fact["_id"]),
        "formed_on": str(fact["formed_on"]),
        "subject": fact.get("subject") or "",
        "parties": [
            {"name": party.get("name") or "", "sector": party["sector"]}
            for party in fact["parties"]
        ],
        "federal_district": fact.get("federal_district"),
        "status": fact.get("status"),
        "ended_on": fact.get("ended_on"),
        "event_id": fact.get("event_id"),
        "event_title": event.get("title"),
    }
