"""Internships in reporting: applications, decisions and outcomes counted per internship and
per participants' district against hand-counted fixtures, whatever the order or repeats, in
the grant report and its files, and kept by live writes and a rebuild alike."""

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
    InternshipApplicationDecided,
    InternshipApplicationReceived,
    InternshipDetailsSet,
    InternshipKind,
    InternshipOutcomeCorrected,
    InternshipOutcomeRecorded,
    InternshipScheduleDay,
    InternshipScheduleItem,
)
from etnik.common.events import CloudEvent
from etnik.reporting import domain, exports
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import Generations, ProjectionStore
from etnik.reporting.report import grant_report
from etnik.reporting.settings import ReportingSettings

T0 = datetime(2026, 3, 12, 7, tzinfo=UTC)
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))


def _wrap(event: Any, at: datetime = T0) -> CloudEvent:
    return CloudEvent.wrap(event, source="/etnik/test", time=at)


def _event(event_id: str, starts: datetime, *, demo: bool = False) -> CloudEvent:
    return _wrap(
        EventCreated(
            event_id=event_id,
            title=f"Стажировка {event_id}",
            track="internships",
            format=EventFormat.IN_PERSON,
            timezone="Europe/Moscow",
            starts_at=starts,
            ends_at=starts + timedelta(days=2, hours=8),
            status="published",
            demo=demo,
        ),
        starts - timedelta(days=40),
    )


def _details(
    event_id: str, first_day: date, *, version: int = 1, host: str = "Дом дружбы народов"
) -> CloudEvent:
    item = InternshipScheduleItem(starts="10:00", ends="12:00", title="Мастерская")
    return _wrap(
        InternshipDetailsSet(
            event_id=event_id,
            kind=InternshipKind.FIELD_PROGRAMME if event_id == "f1" else InternshipKind.INTERNSHIP,
            host_organisation_id=f"org-{event_id}",
            host_name=host,
            places=5,
            selection=True,
            schedule=[
                InternshipScheduleDay(date=first_day, items=[item]),
                InternshipScheduleDay(date=first_day + timedelta(days=2), items=[item]),
            ],
            timezone="Europe/Moscow",
            version=version,
        )
    )


def _applied(event_id: str, registration_id: str, district: str | None) -> CloudEvent:
    return _wrap(
        InternshipApplicationReceived(
            event_id=event_id,
            registration_id=registration_id,
            person_id=f"person-{registration_id}",
            participant_federal_district=district,
            applied_at=T0,
        )
    )


def _decided(
    event_id: str, registration_id: str, district: str | None, decision: str
) -> CloudEvent:
    return _wrap(
        InternshipApplicationDecided(
            event_id=event_id,
            registration_id=registration_id,
            person_id=f"person-{registration_id}",
            participant_federal_district=district,
            decision=decision,
            decided_by="moderator-1",
            decided_at=T0,
        )
    )


def _outcome(
    event_id: str,
    registration_id: str,
    district: str | None,
    *,
    completed: bool,
    hours: float,
    version: int = 1,
) -> CloudEvent:
    fields: dict[str, Any] = {
        "event_id": event_id,
        "registration_id": registration_id,
        "person_id": f"person-{registration_id}",
        "participant_federal_district": district,
        "completed": completed,
        "hours": hours,
        "version": version,
        "recorded_at": T0,
        "recorded_by": "operator-1",
    }
    if version == 1:
        return _wrap(InternshipOutcomeRecorded(**fields))
    return _wrap(InternshipOutcomeCorrected(**fields, changes=["hours"]))


# Hand-counted for March:
#   i1 (internship, 10-12 March, host «Дом дружбы народов», renamed in version 2):
#      a1 ДФО approved, completed 24 h, corrected to 30 h;  a2 СФО approved, not completed,
#      6 h;  a3 ДФО rejected;  a4 ПФО still waiting.
#      → applications 4, approved 2, rejected 1, completed 1, hours 36.
#   f1 (field programme, 20-22 March): b1 СФО approved, completed 16 h; b2 (no district)
#      rejected.  → applications 2, approved 1, rejected 1, completed 1, hours 16.
#   i2 in April: not March's (c1 ДФО approved).   d1 a demonstration event: never counted.
#   By district: ДФО applications 2, approved 1, rejected 1, completed 1, hours 30;
#      СФО 2, 2, 0, 1, 22;  ПФО 1, 0, 0, 0, 0;  «не указан» 1, 0, 1, 0, 0.
HISTORY = [
    _event("i1", datetime(2026, 3, 10, 6, tzinfo=UTC)),
    _event("f1", datetime(2026, 3, 20, 6, tzinfo=UTC)),
    _event("i2", datetime(2026, 4, 14, 6, tzinfo=UTC)),
    _event("d1", datetime(2026, 3, 5, 6, tzinfo=UTC), demo=True),
    _details("i1", date(2026, 3, 10)),
    _details("i1", date(2026, 3, 10), version=2, host="Дом народов Татарстана"),
    _details("f1", date(2026, 3, 20)),
    _details("i2", date(2026, 4, 14)),
    _details("d1", date(2026, 3, 5)),
    _applied("i1", "a1", "ДФО"),
    _applied("i1", "a2", "СФО"),
    _applied("i1", "a3", "ДФО"),
    _applied("i1", "a4", "ПФО"),
    _decided("i1", "a1", "ДФО", "approved"),
    _decided("i1", "a2", "СФО", "approved"),
    _decided("i1", "a3", "ДФО", "rejected"),
    _outcome("i1", "a1", "ДФО", completed=True, hours=24),
    _outcome("i1", "a1", "ДФО", completed=True, hours=30, version=2),
    _outcome("i1", "a2", "СФО", completed=False, hours=6),
    _applied("f1", "b1", "СФО"),
    _applied("f1", "b2", None),
    _decided("f1", "b1", "СФО", "approved"),
    _decided("f1", "b2", None, "rejected"),
    _outcome("f1", "b1", "СФО", completed=True, hours=16),
    _applied("i2", "c1", "ДФО"),
    _decided("i2", "c1", "ДФО", "approved"),
    _applied("d1", "e1", "ДФО"),
    _decided("d1", "e1", "ДФО", "approved"),
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
        internships=fold.collection("internships"),
        internship_applications=fold.collection("internship_applications"),
        internship_outcomes=fold.collection("internship_outcomes"),
    )


def test_the_grant_report_counts_each_internship_and_the_participants_districts() -> None:
    section = _report(HISTORY, MARCH)["internships"]

    assert section["internships"] == 2
    rows = {row["event_id"]: row for row in section["rows"]}
    assert list(rows) == ["i1", "f1"]  # by first day; April's and the demo's left out
    assert {k: rows["i1"][k] for k in ("applications", "approved", "rejected", "completed")} == {
        "applications": 4,
        "approved": 2,
        "rejected": 1,
        "completed": 1,
    }
    assert rows["i1"]["hours"] == 36  # 30 after the correction, and 6 not completed
    assert (rows["i1"]["host_name"], rows["i1"]["starts_on"], rows["i1"]["ends_on"]) == (
        "Дом народов Татарстана",
        "2026-03-10",
        "2026-03-12",
    )
    assert (rows["f1"]["kind"], rows["f1"]["applications"], rows["f1"]["hours"]) == (
        "field_programme",
        2,
        16,
    )
    assert section["by_district"] == {
        "ДФО": {"applications": 2, "approved": 1, "rejected": 1, "completed": 1, "hours": 30},
        "ПФО": {"applications": 1, "approved": 0, "rejected": 0, "completed": 0, "hours": 0},
        "СФО": {"applications": 2, "approved": 2, "rejected": 0, "completed": 1, "hours": 22},
        "не указан": {"applications": 1, "approved": 0, "rejected": 1, "completed": 0, "hours": 0},
    }
    assert section["totals"] == {
        "applications": 6,
        "approved": 3,
        "rejected": 2,
        "completed": 2,
        "hours": 52,
    }
    april = _report(HISTORY, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))["internships"]
    assert [(r["event_id"], r["approved"]) for r in april["rows"]] == [("i2", 1)]
    # A report with none has no section: reports frozen before it reproduce as they were.
    assert "internships" not in _report(HISTORY[:4], MARCH)
    assert "internships" not in _report(HISTORY, domain.Period(date(2026, 5, 1), None))


def test_any_order_and_repeats_give_the_same_counts() -> None:
    a1 = [HISTORY[0], HISTORY[4], HISTORY[5], HISTORY[9], HISTORY[13], HISTORY[16], HISTORY[17]]
    expected = _report(a1, MARCH)["internships"]
    assert expected["rows"][0]["hours"] == 30
    for order in itertools.permutations(a1[1:]):
        shuffled = [a1[0], *order, order[0]]
        assert _report(shuffled, MARCH)["internships"] == expected


def test_the_reports_files_show_the_internships() -> None:
    report = _report(HISTORY, MARCH)

    rows = list(csv.DictReader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"))))
    by_district = {
        (r["row"], r["column"]): r["value"]
        for r in rows
        if r["section"] == "internships_by_district"
    }
    assert by_district[("СФО", "Часов")] == "22"
    assert by_district[("ДФО", "Отклонено")] == "1"

    workbook = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    listed = list(workbook["Стажировки и выездные программы"].iter_rows(values_only=True))
    assert listed[0] == (
        "Мероприятие", "Вид", "Принимающая организация", "Даты",
        "Заявок", "Одобрено", "Отклонено", "Завершили", "Часов",
    )  # fmt: skip
    assert listed[1] == (
        "Стажировка i1", "Стажировка", "Дом народов Татарстана", "2026-03-10 – 2026-03-12",
        4, 2, 1, 1, 36,
    )  # fmt: skip
    assert listed[2][1] == "Выездная бизнес-программа"

    settings = ReportingSettings()
    pdf = exports.to_pdf(
        report, font=settings.reporting_pdf_font, bold_font=settings.reporting_pdf_bold_font
    )
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    extracted = " ".join(text.split())  # table cells wrap their lines
    assert "Стажировки по округам участников" in extracted
    assert "Дом народов Татарстана" in extracted


@pytest.fixture
async def generations(
    new_generations: Callable[[float], AbstractAsyncContextManager[Generations]],
) -> AsyncIterator[Generations]:
    async with new_generations(0.01) as generations:
        yield generations


async def test_live_writes_and_a_rebuilds_load_keep_the_newest_outcome(
    generations: Generations,
) -> None:
    live = generations.store(1)
    recorded, corrected, decided = HISTORY[16], HISTORY[17], HISTORY[13]
    for item in [corrected, decided, recorded, corrected]:  # out of order, with a repeat
        await live.apply(item, item.payload())
    [outcome] = await live.internship_outcomes.find({}).to_list()
    assert (outcome["_id"], outcome["version"], outcome["hours"]) == ("a1", 2, 30)
    [application] = await live.internship_applications.find({}).to_list()
    assert (application["decision"], application["federal_district"]) == ("approved", "ДФО")
    # No person's id is kept: only the pseudonymous facts reporting counts.
    assert "person" not in str(outcome) + str(application)

    built = generations.store(2)
    await built.load(_fold(HISTORY, columnar=False).documents())
    assert sorted(row["_id"] for row in await built.internships.find({}).to_list()) == [
        "d1",
        "f1",
        "i1",
        "i2",
    ]
    assert await built.internship_applications.count_documents({}) == 8
    await built.drop()
