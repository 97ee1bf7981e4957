"""Post-event survey answers in reporting: folded once each whatever the order or repeats,
counted per event and per track, in the grant report's qualitative part and its files
(integration/test_feedback.py: loaded by a rebuild like every other fact)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from etnik.reporting import domain
from etnik.reporting.feedback import feedback_summary
from etnik.reporting.fold import ProjectionFold

from ..folding import fold, report
from ..histories.feedback import ANSWERS, EVENTS, MARCH, OVERALL, completed_event
from .report_files import csv_rows, pdf_text, workbook


def _events_by_id(folded: ProjectionFold) -> dict[str, Any]:
    return {str(event["_id"]): event for event in folded.collection("events")}


def test_answers_fold_once_each_in_any_order() -> None:
    once = fold([*EVENTS, *ANSWERS])
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
        replayed = fold([*EVENTS, *order, *order, ANSWERS[4]])  # each delivered twice
        again = feedback_summary(replayed.collection("survey_answers"), _events_by_id(replayed))
        assert again == expected


def test_answers_are_counted_per_event_and_per_track() -> None:
    folded = fold([*EVENTS, *ANSWERS])

    summary = feedback_summary(folded.collection("survey_answers"), _events_by_id(folded))

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
        folded.collection("survey_answers"), _events_by_id(folded), track="internship"
    )
    assert [row["event_id"] for row in one_track["by_event"]] == ["e3"]
    one_event = feedback_summary(
        folded.collection("survey_answers"), _events_by_id(folded), event_ids={"e2"}
    )
    assert (one_event["answers"], one_event["by_event"][0]["comments"]) == (1, [])


QUALITATIVE = "Участники подготовили векторы развития."


def test_the_grant_report_gives_the_periods_feedback_in_its_qualitative_part() -> None:
    # e3 falls in April: its answer belongs to April's report.
    april_event = completed_event(
        "e3", "internship", "Стажировка в Казани", datetime(2026, 4, 2, tzinfo=UTC)
    )
    history = [*EVENTS[:4], *april_event, *ANSWERS]

    grant = report(history, MARCH, QUALITATIVE)

    feedback = grant["feedback"]
    assert feedback["answers"] == 4
    assert {row["event_id"] for row in feedback["by_event"]} == {"e1", "e2"}
    assert [row["track"] for row in feedback["by_track"]] == ["online_sessions"]
    assert grant["qualitative"] == "Участники подготовили векторы развития."
    april = report(history, domain.Period(date(2026, 4, 1), date(2026, 4, 30)), QUALITATIVE)
    assert april["feedback"]["answers"] == 1


def test_a_report_without_answers_has_no_feedback_part() -> None:
    # Reports frozen before surveys existed must reproduce byte for byte.
    assert "feedback" not in report(EVENTS, MARCH, QUALITATIVE)


def test_the_reports_files_show_the_feedback() -> None:
    grant = report([*EVENTS, *ANSWERS], MARCH, QUALITATIVE)

    rows = csv_rows(grant)
    ratings = [r for r in rows if r["section"] == "feedback_ratings"]
    assert {
        "section": "feedback_ratings",
        "row": "Сессия ДФО",
        "column": "Средняя оценка",
        "value": "3.67",
    } in ratings
    comments = {r["value"] for r in rows if r["section"] == "feedback_comments"}
    assert "Больше практики" in comments

    book = workbook(grant)
    sheet = book["Отзывы участников — оценки"]
    first = next(sheet.iter_rows(min_row=2, values_only=True))
    assert first == ("Сессия ДФО", "всего ответов", 3, None, None)
    assert "Отзывы участников — ответы" in book.sheetnames

    extracted = pdf_text(grant)
    assert "Отзывы участников" in extracted
    assert "Отличная стажировка" in extracted
