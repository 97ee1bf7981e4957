"""Partnerships, hand-counted: five partnerships, one in three versions, one formed in April and
one at a demonstration event (the unit tests count them; the integration tests store them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from etnik.common.contracts.registration import (
    EventCreated,
    EventFormat,
    PartnershipChanged,
    PartnershipEnded,
    PartnershipFormed,
    PartnershipParty,
)
from etnik.common.events import CloudEvent
from etnik.reporting import domain

T0 = datetime(2026, 3, 12, 11, tzinfo=UTC)
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))

NGO = PartnershipParty(sector="ngo", name="АНО «Алгыс»", organisation_id="o1")
NGO_2 = PartnershipParty(sector="ngo", name="Бурятская НКА", organisation_id="o2")
MINISTRY = PartnershipParty(sector="authority", name="Министерство по делам народов")
BANK = PartnershipParty(sector="business", name="АО «Северный банк»")
PAPER = PartnershipParty(sector="media", name="Газета «Якутия»")


def _partnership(
    kind: type[PartnershipFormed | PartnershipChanged | PartnershipEnded],
    partnership_id: str,
    parties: list[PartnershipParty],
    *,
    version: int = 1,
    formed_on: date = date(2026, 3, 10),
    district: str = "ДФО",
    event_id: str | None = None,
    status: str = "active",
    at: datetime = T0,
) -> CloudEvent:
    fields: dict[str, Any] = {
        "partnership_id": partnership_id,
        "subject": f"Соглашение {partnership_id}",
        "parties": parties,
        "formed_on": formed_on,
        "federal_district": district,
        "event_id": event_id,
        "status": status,
        "ended_on": formed_on + timedelta(days=5) if status == "ended" else None,
        "version": version,
    }
    if kind is PartnershipChanged:
        fields["changes"] = ["parties"]
    return CloudEvent.wrap(kind(**fields), source="/etnik/test", time=at)


def _demo_event(event_id: str) -> CloudEvent:
    created = EventCreated(
        event_id=event_id,
        title="Демонстрационная сессия",
        format=EventFormat.ONLINE,
        timezone="Europe/Moscow",
        starts_at=T0,
        ends_at=T0 + timedelta(hours=3),
        status="published",
        demo=True,
    )
    return CloudEvent.wrap(created, source="/etnik/test", time=T0 - timedelta(days=30))


# Hand-counted for March in ДФО and СФО:
#   p1 NGO+authority (ДФО), later changed to NGO+authority+business: ngo–authority,
#      ngo–business, authority–business; then ended (still formed in March).
#   p2 NGO+NGO (СФО): ngo–ngo.
#   p3 NGO+NGO+media (ДФО): ngo–ngo, ngo–media (ngo–ngo once, though two NGOs pair with media).
#   p4 formed in April: not March's.  p5 from a demonstration event: never counted.
HISTORY = [
    _demo_event("demo-1"),
    _partnership(PartnershipFormed, "p1", [NGO, MINISTRY]),
    _partnership(PartnershipChanged, "p1", [NGO, MINISTRY, BANK], version=2),
    _partnership(PartnershipEnded, "p1", [NGO, MINISTRY, BANK], version=3, status="ended"),
    _partnership(PartnershipFormed, "p2", [NGO, NGO_2], district="СФО"),
    _partnership(PartnershipFormed, "p3", [NGO, NGO_2, PAPER]),
    _partnership(PartnershipFormed, "p4", [NGO, BANK], formed_on=date(2026, 4, 2)),
    _partnership(PartnershipFormed, "p5", [NGO, MINISTRY], event_id="demo-1"),
]
