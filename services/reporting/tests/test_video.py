"""Video views in reporting: counted per video material in the period, with unique viewers,
against hand-counted fixtures, in the grant report and its files, live and by a rebuild."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from pymongo import AsyncMongoClient
from pypdf import PdfReader

from etnik.common.contracts.content import MaterialPublished, MaterialViewed
from etnik.common.events import CloudEvent
from etnik.reporting import domain, exports
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import Generations, ProjectionStore
from etnik.reporting.report import grant_report
from etnik.reporting.settings import ReportingSettings
from etnik.reporting.video import video_views_summary

T0 = datetime(2026, 3, 12, 11, tzinfo=UTC)
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))

FILM = "Методический видеоролик «ЭтНик»"
RECORDING = "Запись онлайн-сессии ПФО"


def _published(material_id: str, title: str, kind: str = "video") -> CloudEvent:
    event = MaterialPublished(
        material_id=material_id,
        version=3,
        kind=kind,
        title=title,
        access="public",
        language="ru",
        published_at=T0 - timedelta(days=20),
    )
    return CloudEvent.wrap(event, source="/etnik/test", time=T0 - timedelta(days=20))


def _viewed(material_id: str, viewer: str, at: datetime, title: str = "") -> CloudEvent:
    event = MaterialViewed(
        material_id=material_id,
        version=3,
        kind="video",
        title=title or "Старое название",
        viewer=viewer,
        viewer_kind="anonymous" if viewer.startswith("anon") else "participant",
        viewed_at=at,
    )
    return CloudEvent.wrap(event, source="/etnik/test", time=at)


# Hand-counted for March:
#   film: v1 twice (two windows), v2 once, anon-a once  -> 4 views, 3 unique viewers;
#         v3 on 1 April is not March's, v1 on 28 February neither.
#   recording: v2 once -> 1 view, 1 unique viewer; its title comes from its publication.
#   A repeated delivery of one event (the same CloudEvent id) counts once.
#   In all: 5 views by 3 unique viewers (v1, v2, anon-a).
FIRST_VIEW = _viewed("film", "v1", T0)
HISTORY = [
    _published("film", FILM),
    _published("rec", RECORDING, kind="session_recording"),
    FIRST_VIEW,
    FIRST_VIEW,
    _viewed("film", "v1", T0 + timedelta(hours=2)),
    _viewed("film", "v2", T0 + timedelta(days=3)),
    _viewed("film", "anon-a", datetime(2026, 3, 31, 23, 59, tzinfo=UTC)),
    _viewed("film", "v3", datetime(2026, 4, 1, 0, 0, tzinfo=UTC)),
    _viewed("film", "v1", datetime(2026, 2, 28, 23, 59, tzinfo=UTC)),
    _viewed("rec", "v2", T0 + timedelta(days=1), title=RECORDING),
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
        content=domain.ContentFacts(materials=list(fold.collection("materials"))),
        video_views=fold.collection("video_views"),
    )


def test_the_grant_report_counts_views_per_video() -> None:
    section = _report(HISTORY, MARCH)["video_views"]
    assert section == {
        "views": 5,
        "unique_viewers": 3,
        "materials": [
            {"material_id": "film", "title": FILM, "views": 4, "unique_viewers": 3},
            {"material_id": "rec", "title": RECORDING, "views": 1, "unique_viewers": 1},
        ],
    }
    april = _report(HISTORY, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))
    assert april["video_views"]["materials"] == [
        {"material_id": "film", "title": FILM, "views": 1, "unique_viewers": 1}
    ]
    # Every view, in an open period.
    assert _report(HISTORY, domain.Period())["video_views"]["views"] == 7


def test_a_report_without_views_has_no_section() -> None:
    # Reports frozen before views were counted reproduce as they were.
    assert "video_views" not in _report(HISTORY[:2], MARCH)
    assert "video_views" not in _report(HISTORY, domain.Period(date(2026, 5, 1), None))


def test_a_view_without_a_viewer_makes_unique_viewers_unknown() -> None:
    facts = [
        {"material_id": "film", "title": FILM, "viewer": "v1", "viewed_at": T0},
        {"material_id": "film", "title": FILM, "viewer": None, "viewed_at": T0},
    ]
    summary = video_views_summary(facts, [], MARCH)
    assert (summary["views"], summary["unique_viewers"]) == (2, None)
    # The title the view carried, when the material's publication is not known.
    assert summary["materials"][0]["title"] == FILM


def test_the_reports_files_show_the_views() -> None:
    report = _report(HISTORY, MARCH)

    rows = list(csv.DictReader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"))))
    views = {(r["row"], r["column"]): r["value"] for r in rows if r["section"] == "video_views"}
    assert views[(FILM, "Просмотров")] == "4"
    assert views[(FILM, "Уникальных зрителей")] == "3"
    assert views[("Всего", "Просмотров")] == "5"

    workbook = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    sheet = list(workbook["Просмотры видеоматериалов"].iter_rows(values_only=True))
    assert sheet == [
        ("Видеоматериал", "Просмотров", "Уникальных зрителей"),
        (FILM, 4, 3),
        (RECORDING, 1, 1),
        ("Всего", 5, 3),
    ]

    settings = ReportingSettings()
    pdf = exports.to_pdf(
        report, font=settings.reporting_pdf_font, bold_font=settings.reporting_pdf_bold_font
    )
    extracted = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Просмотры видеоматериалов" in extracted
    assert "Запись онлайн-сессии ПФО" in extracted


@pytest.fixture
async def generations(
    new_generations: Callable[[float], AbstractAsyncContextManager[Generations]],
) -> AsyncIterator[Generations]:
    async with new_generations(0.01) as generations:
        yield generations


async def test_live_writes_and_a_rebuild_keep_each_view_once(generations: Generations) -> None:
    live = generations.store(1)
    for item in [FIRST_VIEW, HISTORY[5], FIRST_VIEW]:  # with a repeated delivery
        await live.apply(item, item.payload())
    stored = await live.video_views.find({}).to_list()
    assert sorted(row["viewer"] for row in stored) == ["v1", "v2"]

    built = generations.store(2)
    await built.load(_fold(HISTORY, columnar=False).documents())
    assert await built.video_views.count_documents({}) == 7
    await built.drop()
