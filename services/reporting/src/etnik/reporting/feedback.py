"""Feedback from post-event surveys, counted per event and per track (no I/O).

Each answer is one fact keyed by its random answer id (see projections.py), holding no person
and no registration. Free-text answers are listed in alphabetical order, not in the order
they came, so that their place does not hint at who wrote them; the texts are the
participants' own words and may name people, but nothing is added to them here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from etnik.reporting.domain import UNKNOWN, Fact

RATINGS = range(1, 6)


def answer_document(
    *, event_id: str, track: str | None, survey_version: int, answered_on: str, answers: list[Any]
) -> dict[str, Any]:
    """The projected fact of one answer: what the survey's event says, nothing more."""
    return {
        "event_id": event_id,
        "track": track,
        "survey_version": survey_version,
        "answered_on": answered_on,
        "answers": answers,
    }


def feedback_summary(
    answers: Iterable[Fact],
    events_by_id: Mapping[str, Fact],
    *,
    event_ids: set[str] | None = None,
    track: str | None = None,
) -> dict[str, Any]:
    """Answers counted per event and per track: how many, each rating question's mean and
    distribution, and the free-text answers (optionally only some events, or one track)."""
    chosen = [
        answer
        for answer in answers
        if (event_ids is None or str(answer["event_id"]) in event_ids)
        and (track is None or (answer.get("track") or UNKNOWN) == track)
    ]
    by_event: dict[str, list[Fact]] = defaultdict(list)
    by_track: dict[str, list[Fact]] = defaultdict(list)
    for answer in chosen:
        by_event[str(answer["event_id"])].append(answer)
        by_track[str(answer.get("track") or UNKNOWN)].append(answer)
    return {
        "answers": len(chosen),
        "by_event": [
            {
                "event_id": event_id,
                "title": (events_by_id.get(event_id) or {}).get("title"),
                "track": _track_of(group),
                **_tally(group),
            }
            for event_id, group in sorted(
                by_event.items(), key=lambda item: _event_order(item, events_by_id)
            )
        ],
        "by_track": [{"track": key, **_tally(group)} for key, group in sorted(by_track.items())],
    }


def _tally(group: list[Fact]) -> dict[str, Any]:
    ratings: dict[str, Counter[int]] = defaultdict(Counter)
    texts: dict[str, list[str]] = defaultdict(list)
    labels: dict[str, tuple[int, str]] = {}
    for answer in group:
        version = int(answer.get("survey_version") or 0)
        for item in answer.get("answers") or []:
            question = str(item["question_id"])
            # A question keeps its id across versions; the newest wording names it.
            labels[question] = max(labels.get(question, (-1, "")), (version, str(item["label"])))
            if item.get("kind") == "rating" and item.get("rating") in RATINGS:
                ratings[question][int(item["rating"])] += 1
            elif item.get("kind") == "text" and item.get("text"):
                texts[question].append(str(item["text"]))
    return {
        "answers": len(group),
        "ratings": [
            {
                "question_id": question,
                "label": labels[question][1],
                "answers": sum(counted.values()),
                "mean": round(sum(r * n for r, n in counted.items()) / sum(counted.values()), 2),
                "distribution": {str(r): counted.get(r, 0) for r in RATINGS},
            }
            for question, counted in sorted(ratings.items())
        ],
        "comments": [
            {"question_id": question, "label": labels[question][1], "texts": sorted(written)}
            for question, written in sorted(texts.items())
        ],
    }


def _track_of(group: list[Fact]) -> str:
    tracks = {answer.get("track") or UNKNOWN for answer in group}
    return sorted(tracks)[-1] if tracks else UNKNOWN


def _event_order(item: tuple[str, list[Fact]], events_by_id: Mapping[str, Fact]) -> tuple[str, str]:
    event = events_by_id.get(item[0]) or {}
    starts = event.get("starts_at")
    # Events in time order; an event not yet known to reporting comes first.
    return (starts.isoformat() if isinstance(starts, datetime) else ""), item[0]


def feedback_rows(feedback: Mapping[str, Any]) -> tuple[list[list[Any]], list[list[Any]]]:
    """The feedback as table rows for exports: ratings (per event, then per track) and the
    free-text answers per event."""
    ratings: list[list[Any]] = []
    comments: list[list[Any]] = []
    for group in feedback.get("by_event", []):
        name = group["title"] or group["event_id"]
        ratings.append([name, "всего ответов", group["answers"], "", ""])
        for rating in group["ratings"]:
            ratings.append(
                [name, rating["label"], rating["answers"], rating["mean"], _spread(rating)]
            )
        for comment in group["comments"]:
            comments.extend([name, comment["label"], text] for text in comment["texts"])
    for group in feedback.get("by_track", []):
        name = f"Направление: {group['track']}"
        ratings.append([name, "всего ответов", group["answers"], "", ""])
        for rating in group["ratings"]:
            ratings.append(
                [name, rating["label"], rating["answers"], rating["mean"], _spread(rating)]
            )
    return ratings, comments


def _spread(rating: Mapping[str, Any]) -> str:
    return ", ".join(f"{score}: {count}" for score, count in rating["distribution"].items())
