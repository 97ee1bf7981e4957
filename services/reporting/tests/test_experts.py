"""The roster's experts in reporting: the newest version of each whatever the order or repeats,
counted per event, federal district, track and role against hand-counted fixtures, in the
grant report and its files (present only when there are experts), on the dashboard's filters,
and kept by live writes and a rebuild alike."""

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
    ExpertAssignment,
    ExpertChanged,
    ExpertErased,
    ExpertRemoved,
    ExpertRostered,
)
from etnik.common.events import CloudEvent
from etnik.reporting import domain, exports
from etnik.reporting.experts import expert_summary
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import Generations, ProjectionStore
from etnik.reporting.report import grant_report
from etnik.reporting.settings import ReportingSettings

T0 = datetime(2026, 3, 12, 11, tzinfo=UTC)
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))


def _event(
    event_id: str, title: str, track: str, district: str, *, day: int = 12, demo: bool = False
) -> CloudEvent:
    starts = datetime(2026, 3 if day > 0 else 4, abs(day), 11, tzinfo=UTC)
    created = EventCreated(
        event_id=event_id,
        title=title,
        track=track,
        format=EventFormat.IN_PERSON,
        timezone="Europe/Moscow",
        starts_at=starts,
        ends_at=starts + timedelta(hours=6),
        federal_district=district,
        status="published",
        demo=demo,
    )
    return CloudEvent.wrap(created, source="/etnik/test", time=T0 - timedelta(days=30))


def _at(assignment: str, event_id: str, role: str, status: str = "invited") -> ExpertAssignment:
    return ExpertAssignment(
        assignment_id=assignment, event_id=event_id, role=role, travel_status=status
    )


def _expert(
    kind: type[ExpertRostered | ExpertChanged | ExpertRemoved | ExpertErased],
    expert_id: str,
    assignments: list[ExpertAssignment],
    *,
    version: int,
    status: str = "active",
) -> CloudEvent:
    fields: dict[str, Any] = {
        "expert_id": expert_id,
        "person_id": None if status == "erased" else f"person-{expert_id}",
        "field_of_expertise": None if status == "erased" else "Этнокультурное образование",
        "region_codes": [] if status == "erased" else ["14"],
        "status": status,
        "assignments": assignments,
        "version": version,
    }
    if kind is ExpertChanged:
        fields["changes"] = ["assignments"]
    return CloudEvent.wrap(kind(**fields), source="/etnik/test", time=T0)


# Events: s1 the in-person strategic session (ЦФО, strategic_session); o1 and o2 online
# sessions (ДФО and СФО, online_sessions); a1 in April; d1 a demonstration event.
#
# Hand-counted for March:
#   e1 speaker and moderator at s1 (one expert there), facilitator at o1, arrived at s1.
#   e2 speaker at s1, declined at o2 (declined: not counted at o2).
#   e3 moderator at o1, then its person erased: still counted, naming nobody.
#   e4 speaker at s1, then removed from the roster: not counted.
#   e5 at a1 (April) and at d1 (demo): never in March's report.
# s1: e1, e2 → 2.  o1: e1, e3 → 2.  o2: nobody.
# By district: ЦФО {e1, e2} = 2, ДФО {e1, e3} = 2.  By track: strategic_session 2,
# online_sessions 2.  Experts overall: e1, e2, e3 = 3.
# Assignments counted: e1 ×3, e2 ×1, e3 ×1 = 5; by role speaker 2, moderator 2, facilitator 1.
EVENTS = [
    _event("s1", "Очная стратегическая сессия", "strategic_session", "ЦФО"),
    _event("o1", "Онлайн-сессия ДФО", "online_sessions", "ДФО", day=20),
    _event("o2", "Онлайн-сессия СФО", "online_sessions", "СФО", day=25),
    _event("a1", "Онлайн-сессия ПФО", "online_sessions", "ПФО", day=-8),
    _event("d1", "Демонстрационная сессия", "online_sessions", "ЦФО", demo=True),
]
E1 = [
    _at("a1", "s1", "speaker", "arrived"),
    _at("a2", "s1", "moderator", "arrived"),
    _at("a3", "o1", "facilitator"),
]
HISTORY = [
    *EVENTS,
    _expert(ExpertRostered, "e1", [], version=1),
    _expert(ExpertChanged, "e1", E1[:1], version=2),
    _expert(ExpertChanged, "e1", E1, version=3),
    _expert(ExpertRostered, "e2", [], version=1),
    _expert(
        ExpertChanged,
        "e2",
        [_at("b1", "s1", "speaker", "confirmed"), _at("b2", "o2", "speaker", "declined")],
        version=2,
    ),
    _expert(ExpertChanged, "e3", [_at("c1", "o1", "moderator")], version=1),
    _expert(ExpertErased, "e3", [_at("c1", "o1", "moderator")], version=2, status="erased"),
    _expert(ExpertChanged, "e4", [_at("d1", "s1", "speaker")], version=1),
    _expert(ExpertRemoved, "e4", [], version=2, status="removed"),
    _expert(
        ExpertChanged, "e5", [_at("f1", "a1", "speaker"), _at("f2", "d1", "speaker")], version=1
    ),
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
        experts=fold.collection("experts"),
    )


def test_the_newest_version_wins_in_any_order_and_repeats_change_nothing() -> None:
    e1 = HISTORY[5:8]
    for order in itertools.permutations([*e1, e1[1]]):
        [fact] = list(_fold(list(order)).collection("experts"))
        assert (fact["version"], len(fact["assignments"])) == (3, 3)
    # Reporting keeps no person id, no field, no region: ids, roles and statuses only.
    [erased] = [f for f in _fold(HISTORY).collection("experts") if f["_id"] == "e3"]
    assert set(erased) == {"_id", "version", "status", "assignments"}


def test_the_grant_report_counts_experts_per_event_district_track_and_role() -> None:
    section = _report(HISTORY, MARCH)["experts"]

    assert (section["experts"], section["assignments"], section["arrived"]) == (3, 5, 2)
    assert section["by_role"] == {"speaker": 2, "moderator": 2, "facilitator": 1}
    assert section["by_district"] == {"ДФО": 2, "ЦФО": 2}
    assert section["by_track"] == {"online_sessions": 2, "strategic_session": 2}
    # In the order of their titles: «Онлайн…» before «Очная…».
    assert [(row["event_id"], row["experts"]) for row in section["by_event"]] == [
        ("o1", 2),
        ("s1", 2),
    ]
    april = _report(HISTORY, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))["experts"]
    assert (april["experts"], april["by_district"]) == (1, {"ПФО": 1})
    # A report with no experts has no section: reports frozen before it reproduce as they were.
    assert "experts" not in _report(EVENTS, MARCH)
    assert "experts" not in _report(HISTORY, domain.Period(date(2026, 5, 1), date(2026, 5, 31)))


def test_the_dashboard_narrows_to_a_district_and_a_track() -> None:
    fold = _fold(HISTORY)
    events = {str(e["_id"]): e for e in fold.collection("events") if not domain.is_demo(e)}
    march = {key for key, event in events.items() if domain.event_in_period(event, MARCH)}
    far_east = expert_summary(fold.collection("experts"), events, march, federal_district="ДФО")
    assert (far_east["experts"], far_east["by_role"]) == (2, {"moderator": 1, "facilitator": 1})
    session = expert_summary(fold.collection("experts"), events, march, track="strategic_session")
    assert (session["experts"], session["by_role"]) == (2, {"speaker": 2, "moderator": 1})


def test_the_reports_files_show_the_experts() -> None:
    report = _report(HISTORY, MARCH)

    rows = list(csv.DictReader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"))))
    districts = {r["row"]: r["value"] for r in rows if r["section"] == "experts_by_district"}
    assert districts == {"ДФО": "2", "ЦФО": "2"}

    workbook = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    by_district = list(workbook["Эксперты по округам"].iter_rows(values_only=True))
    assert by_district == [("Федеральный округ", "Экспертов"), ("ДФО", 2), ("ЦФО", 2)]
    roles = list(workbook["Роли экспертов"].iter_rows(values_only=True))
    assert roles == [("Роль", "Назначений"), ("Спикер", 2), ("Модератор", 2), ("Фасилитатор", 1)]

    settings = ReportingSettings()
    pdf = exports.to_pdf(
        report, font=settings.reporting_pdf_font, bold_font=settings.reporting_pdf_bold_font
    )
    extracted = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Эксперты на мероприятиях" in extracted
    assert "Очная стратегическая сессия" in extracted


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
    rostered, first, newest = HISTORY[5:8]
    for item in [newest, rostered, first, rostered]:  # out of order, with a repeat
        await live.apply(item, item.payload())
    [stored] = await live.experts.find({}).to_list()
    assert (stored["_id"], stored["version"], len(stored["assignments"])) == ("e1", 3, 3)

    built = generations.store(2)
    await built.load(_fold(HISTORY, columnar=False).documents())
    loaded = await built.experts.find({}).to_list()
    assert sorted(row["_id"] for row in loaded) == ["e1", "e2", "e3", "e4", "e5"]
    await built.drop()
