"""Post-event survey answers in reporting: folded once each whatever the order or repeats,
counted per event and per track, in the grant report's qualitative part and its files, and
loaded by a rebuild like every other fact."""

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
    EventChanged,
    EventCreated,
    EventFormat,
    SurveyAnswer,
    SurveyAnswered,
)
from etnik.common.events import CloudEvent
from etnik.reporting import domain, exports
from etnik.reporting.feedback import feedback_summary
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import Generations, ProjectionStore
from etnik.reporting.report import grant_report
from etnik.reporting.settings import ReportingSettings

T0 = datetime(2026, 3, 12, 11, tzinfo=UTC)
OVERALL = "Общая оценка"
COMMENT = "Что улучшить?"


def _answer(
    answer_id: str, event_id: str, track: str | None, rating: int, text: str | None
) -> CloudEvent:
    answers = [SurveyAnswer(question_id="overall", kind="rating", label=OVERALL, rating=rating)]
    if text is not None:
        answers.append(SurveyAnswer(question_id="comment", kind="text", label=COMMENT, text=text))
    event = SurveyAnswered(
        answer_id=answer_id,
        event_id=event_id,
        track=track,
        survey_version=1,
        answered_on=T0.date(),
        answers=answers,
    )
    return CloudEvent.wrap(event, source="/etnik/test", time=T0)


def _event(event_id: str, track: str, title: str, starts_at: datetime = T0) -> list[CloudEvent]:
    snapshot: dict[str, Any] = {
        "event_id": event_id,
        "title": title,
        "track": track,
        "format": EventFormat.ONLINE,
        "timezone": "Europe/Moscow",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=3),
    }
    created = EventCreated(**snapshot, status="published")
    completed = EventChanged(**snapshot, status="completed", changes=["status"])
    return [
        CloudEvent.wrap(created, source="/etnik/test", time=starts_at - timedelta(days=10)),
        CloudEvent.wrap(completed, source="/etnik/test", time=starts_at + timedelta(hours=4)),
    ]


ANSWERS = [
    _answer("a1", "e1", "online_sessions", 5, "Больше практики"),
    _answer("a2", "e1", "online_sessions", 4, None),
    _answer("a3", "e1", "online_sessions", 2, "Анна Петровна говорила слишком быстро"),
    _answer("a4", "e2", "online_sessions", 3, None),
    _answer("a5", "e3", "internship", 5, "Отличная стажировка"),
]
EVENTS = [
    *_event("e1", "online_sessions", "Сессия ДФО"),
    *_event("e2", "online_sessions", "Сессия ЦФО", T0 + timedelta(days=1)),
    *_event("e3", "internship", "Стажировка в Казани", T0 + timedelta(days=2)),
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


def _events_by_id(fold: ProjectionFold) -> dict[str, Any]:
    return {str(event["_id"]): event for event in fold.collection("events")}


def test_answers_fold_once_each_in_any_order() -> None:
    once = _fold([*EVENTS, *ANSWERS])
    answers = sorted(once.collection("survey_answers"), key=lambda a: a["_id"])
    assert [a["_id"] for a in answers] == ["a1", "a2", "a3", "a4", "a5"]
    assert answers[0]["answers"][0] == {
        "question_id": "overall",
        "kind": "rating",
        "label": OVERALL,
        "rating": 5,
        "text": None,
    }
    # No person, no registration: the fact holds what the answer says, nothing more.
    assert set(answers[0]) == {
        "_id",
        "event_id",
        "track",
        "survey_version",
        "answered_on",
        "answers",
    }
    expected = feedback_summary(answers, _events_by_id(once))
    for order in itertools.permutations(ANSWERS[:4]):
        replayed = _fold([*EVENTS, *order, *order, ANSWERS[4]])  # each delivered twice
        again = feedback_summary(replayed.collection("survey_answers"), _events_by_id(replayed))
        assert again == expected


def test_answers_are_counted_per_event_and_per_track() -> None:
    fold = _fold([*EVENTS, *ANSWERS])

    summary = feedback_summary(fold.collection("survey_answers"), _events_by_id(fold))

    assert summary["answers"] == 5
    by_event = {row["event_id"]: row for row in summary["by_event"]}
    assert [row["event_id"] for row in summary["by_event"]] == ["e1", "e2", "e3"]  # in time order
    first = by_event["e1"]
    assert (first["title"], first["track"], first["answers"]) == (
        "Сессия ДФО",
        "online_sessions",
        3,
    )
    [rating] = first["ratings"]
    assert (rating["label"], rating["answers"], rating["mean"]) == (OVERALL, 3, 3.67)
    assert rating["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    [comments] = first["comments"]
    # Alphabetical, not in the order they came; the participants' words as written.
    assert comments["texts"] == ["Анна Петровна говорила слишком быстро", "Больше практики"]
    by_track = {row["track"]: row for row in summary["by_track"]}
    assert by_track["online_sessions"]["answers"] == 4
    assert by_track["online_sessions"]["ratings"][0]["mean"] == 3.5
    assert by_track["internship"]["ratings"][0]["distribution"]["5"] == 1

    one_track = feedback_summary(
        fold.collection("survey_answers"), _events_by_id(fold), track="internship"
    )
    assert [row["event_id"] for row in one_track["by_event"]] == ["e3"]
    one_event = feedback_summary(
        fold.collection("survey_answers"), _events_by_id(fold), event_ids={"e2"}
    )
    assert (one_event["answers"], one_event["by_event"][0]["comments"]) == (1, [])


def _report(history: list[CloudEvent], period: domain.Period) -> dict[str, Any]:
    fold = _fold(history)
    return grant_report(
        period=period,
        registrations=fold.tables["registrations"],
        events=list(fold.collection("events")),
        notifications=fold.tables["notifications"],
        qualitative="Участники подготовили векторы развития.",
        survey_answers=fold.collection("survey_answers"),
    )


MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))


def test_the_grant_report_gives_the_periods_feedback_in_its_qualitative_part() -> None:
    # e3 falls in April: its answer belongs to April's report.
    april_event = _event(
        "e3", "internship", "Стажировка в Казани", datetime(2026, 4, 2, tzinfo=UTC)
    )
    history = [*EVENTS[:4], *april_event, *ANSWERS]

    report = _report(history, MARCH)

    feedback = report["feedback"]
    assert feedback["answers"] == 4
    assert {row["event_id"] for row in feedback["by_event"]} == {"e1", "e2"}
    assert [row["track"] for row in feedback["by_track"]] == ["online_sessions"]
    assert report["qualitative"] == "Участники подготовили векторы развития."
    april = _report(history, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))
    assert april["feedback"]["answers"] == 1


def test_a_report_without_answers_has_no_feedback_part() -> None:
    # Reports frozen before surveys existed must reproduce byte for byte.
    assert "feedback" not in _report(EVENTS, MARCH)


def test_the_reports_files_show_the_feedback() -> None:
    report = _report([*EVENTS, *ANSWERS], MARCH)

    text = exports.to_csv(report).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    ratings = [r for r in rows if r["section"] == "feedback_ratings"]
    assert {
        "section": "feedback_ratings",
        "row": "Сессия ДФО",
        "column": "Средняя оценка",
        "value": "3.67",
    } in ratings
    comments = {r["value"] for r in rows if r["section"] == "feedback_comments"}
    assert "Больше практики" in comments

    workbook = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    sheet = workbook["Отзывы участников — оценки"]
    first = next(sheet.iter_rows(min_row=2, values_only=True))
    assert first == ("Сессия ДФО", "всего ответов", 3, None, None)
    assert "Отзывы участников — ответы" in workbook.sheetnames

    settings = ReportingSettings()
    pdf = exports.to_pdf(
        report, font=settings.reporting_pdf_font, bold_font=settings.reporting_pdf_bold_font
    )
    extracted = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Отзывы участников" in extracted
    assert "Отличная стажировка" in extracted


@pytest.fixture
async def generations(
    new_generations: Callable[[float], AbstractAsyncContextManager[Generations]],
) -> AsyncIterator[Generations]:
    async with new_generations(0.01) as generations:
        yield generations


async def test_live_writes_and_a_rebuilds_load_keep_one_fact_per_answer(
    generations: Generations,
) -> None:
    live = generations.store(1)
    for item in [ANSWERS[0], ANSWERS[0], ANSWERS[1]]:
        await live.apply(item, item.payload())
    assert sorted(await live.survey_answers.distinct("_id")) == ["a1", "a2"]

    # A rebuild folds the streams in memory and loads the documents into a new generation.
    built = generations.store(2)
    await built.load(_fold([*EVENTS, *ANSWERS], columnar=False).documents())
    loaded = await built.survey_answers.find({}).to_list()
    assert sorted(row["_id"] for row in loaded) == ["a1", "a2", "a3", "a4", "a5"]
    await built.drop()
