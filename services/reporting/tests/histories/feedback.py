"""Post-event survey answers, hand-counted: five answers to three events on two tracks (the
unit tests count them; the integration tests store them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from etnik.common.contracts.registration import (
    EventChanged,
    EventCreated,
    EventFormat,
    SurveyAnswer,
    SurveyAnswered,
)
from etnik.common.events import CloudEvent
from etnik.reporting import domain

T0 = datetime(2026, 3, 12, 11, tzinfo=UTC)
OVERALL = "Общая оценка"
COMMENT = "Что улучшить?"
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))


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


def completed_event(
    event_id: str, track: str, title: str, starts_at: datetime = T0
) -> list[CloudEvent]:
    """An event's creation and its completion, 10 days before and 4 hours after it starts."""
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
    *completed_event("e1", "online_sessions", "Сессия ДФО"),
    *completed_event("e2", "online_sessions", "Сессия ЦФО", T0 + timedelta(days=1)),
    *completed_event("e3", "internship", "Стажировка в Казани", T0 + timedelta(days=2)),
]
