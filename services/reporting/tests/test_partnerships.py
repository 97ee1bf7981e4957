"""Partnerships in reporting: the newest version of each whatever the order or repeats,
counted by district and by kind of sector pair against hand-counted fixtures, in the grant
report and its files, and kept by live writes and a rebuild alike."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from pymongo import AsyncMongoClient
from pypdf import PdfReader

from etnik.common.contracts.registration import (
    EventCreated,
    EventFormat,
    PartnershipChanged,
    PartnershipEnded,
    PartnershipFormed,
    PartnershipParty,
)
from etnik.common.events import CloudEvent
from etnik.reporting import domain, exports
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.partnerships import pair_label, partnership_summary, sector_pairs
from etnik.reporting.projections import Generations, ProjectionStore
from etnik.reporting.report import grant_report
from etnik.reporting.settings import ReportingSettings

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


def _store() -> ProjectionStore:
    # A client that never connects: building writes does no I/O.
    unused = AsyncMongoClient("mongodb://127.0.0.1:9", connect=False)["unused"]
    return ProjectionStore(unused, 1, b"test-pseudonym-key-0123")


def _fold(history: list[CloudEvent], *, columnar: bool = True) -> ProjectionFold:
    store, fold = _store(), ProjectionFold(columnar=columnar)
    for item in history:
        for collection, write in store.writes_for(item, item.payload()):
            fold.apply(collection, write)
    return fold


def _report(history: list[CloudEvent], period: domain.Period) -> dict[str, Any]:
    fold = _fold(history)
    return grant_report(
        period=period,
        registrations=fold.tables["registrations"],
        events=list(fold.collection("events")),
        notifications=fold.tables["notifications"],
        qualitative="",
        partnerships=fold.collection("partnerships"),
    )


def test_sector_pairs_are_each_kind_once_in_a_fixed_order() -> None:
    assert sector_pairs(["authority", "ngo"]) == ["ngo–authority"]
    assert sector_pairs(["media", "ngo", "ngo"]) == ["ngo–ngo", "ngo–media"]
    assert sector_pairs(["business", "authority", "ngo"]) == [
        "ngo–authority",
        "ngo–business",
        "authority–business",
    ]
    assert sector_pairs(["ngo"]) == []
    assert pair_label("ngo–authority") == "НКО – органы власти"


def test_the_newest_version_wins_in_any_order_and_repeats_change_nothing() -> None:
    p1 = HISTORY[1:4]
    for order in itertools.permutations([*p1, p1[0]]):
        [fact] = list(_fold(list(order)).collection("partnerships"))
        assert (fact["version"], fact["status"], len(fact["parties"])) == (3, "ended", 3)


def test_the_grant_report_counts_partnerships_by_district_and_sector_pair() -> None:
    section = _report(HISTORY, MARCH)["partnerships"]

    assert (section["formed"], section["active"], section["ended"]) == (3, 2, 1)
    assert section["cross_sector"] == 2  # p1 and p3; p2 is NGO–NGO only
    assert section["by_district"] == {"ДФО": 2, "СФО": 1}
    assert section["by_sector_pair"] == {
        "ngo–ngo": 2,
        "ngo–authority": 1,
        "ngo–business": 1,
        "ngo–media": 1,
        "authority–business": 1,
    }
    assert [row["partnership_id"] for row in section["rows"]] == ["p1", "p2", "p3"]
    april = _report(HISTORY, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))
    assert april["partnerships"]["by_sector_pair"] == {"ngo–business": 1}
    # A report with none has no section: reports frozen before it reproduce as they were.
    assert "partnerships" not in _report(HISTORY[:1], MARCH)


def test_the_dashboard_narrows_to_one_district() -> None:
    fold = _fold(HISTORY)
    events = {str(e["_id"]): e for e in fold.collection("events")}
    siberia = partnership_summary(
        fold.collection("partnerships"),
        MARCH,
        events,
        demo_event_ids={"demo-1"},
        federal_district="СФО",
    )
    assert (siberia["formed"], siberia["by_sector_pair"]) == (1, {"ngo–ngo": 1})


def test_the_reports_files_show_the_partnerships() -> None:
    report = _report(HISTORY, MARCH)

    rows = list(csv.DictReader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"))))
    pairs = {r["row"]: r["value"] for r in rows if r["section"] == "partnerships_by_sector_pair"}
    assert pairs["НКО – органы власти"] == "1"
    assert pairs["НКО – НКО"] == "2"

    workbook = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    districts = list(workbook["Партнёрства по округам"].iter_rows(values_only=True))
    assert districts == [("Федеральный округ", "Партнёрств"), ("ДФО", 2), ("СФО", 1)]
    listed = list(workbook["Партнёрства программы"].iter_rows(values_only=True))
    assert listed[1][2] == (
        "АНО «Алгыс» (НКО); Министерство по делам народов (органы власти); "
        "АО «Северный банк» (бизнес)"
    )
    assert listed[1][5] == "завершено"

    settings = ReportingSettings()
    pdf = exports.to_pdf(
        report, font=settings.reporting_pdf_font, bold_font=settings.reporting_pdf_bold_font
    )
    extracted = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Партнёрства: сочетания секторов" in extracted
    assert "Газета «Якутия»" in extracted


@pytest.fixture
async def generations(
    new_generations: Callable[[float], AbstractAsyncContextManager[Generations]],
) -> AsyncIterator[Generations]:
    async with new_generations(0.01) as generations:
        yield generations


async def test_live_writes_and_a_rebuilds_load_keep_the_newest_version(
    generations: Generations,
) -> None:
    live = generations.store(1)
    ended, formed, changed = HISTORY[3], HISTORY[1], HISTORY[2]
    for item in [ended, formed, changed, formed]:  # out of order, with a repeat
        await live.apply(item, item.payload())
    [stored] = await live.partnerships.find({}).to_list()
    assert (stored["_id"], stored["version"], stored["status"]) == ("p1", 3, "ended")

    built = generations.store(2)
    await built.load(_fold(HISTORY, columnar=False).documents())
    loaded = await built.partnerships.find({}).to_list()
    assert sorted(row["_id"] for row in loaded) == ["p1", "p2", "p3", "p4", "p5"]
    await built.drop()
