"""Reporting rules with plain values: precedence, periods, series, breakdowns, the report."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from etnik.reporting import counts, domain
from etnik.reporting.metrics import partition_lags
from etnik.reporting.report import grant_report

from .. import reference


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


PRESENT = domain.attendance_mark(datetime(2026, 3, 12, 15, tzinfo=UTC), attended=True)


def test_the_latest_attendance_record_has_the_highest_mark() -> None:
    earlier = domain.attendance_mark(datetime(2026, 3, 12, 9, tzinfo=UTC), attended=False)
    later_elsewhere = domain.attendance_mark(
        datetime(2026, 3, 12, 12, 30, tzinfo=timezone(timedelta(hours=3))), attended=False
    )  # 09:30 UTC
    assert max(earlier, PRESENT, later_elsewhere) == PRESENT
    assert max(earlier, later_elsewhere) == later_elsewhere
    assert reference.attended({"attendance": PRESENT}) is True
    assert reference.attended({"attendance": earlier}) is False
    assert reference.attended({}) is None


def registration(rid: str, status: str, **facts: Any) -> dict[str, Any]:
    base = {
        "_id": rid,
        "event_id": "e1",
        "person_ref": f"p-{rid}",
        "category": "ngo_leader",
        "region_code": "41",
        "federal_district": "ДФО",
        "organisation_id": None,
        "rank": domain.REGISTRATION_RANKS[status],
        "registered_at": at(1),
    }
    return {**base, **facts}


EVENTS = {
    "e1": {
        "_id": "e1",
        "title": "Стратегическая онлайн-сессия по ДФО",
        "track": "online_sessions",
        "format": "online",
        "federal_district": "ДФО",
        "status": "completed",
        "planned_starts_at": at(10),
        "planned_ends_at": at(10, 15),
        "starts_at": at(12),
        "ends_at": at(12, 15),
    },
    "e2": {
        "_id": "e2",
        "title": "Стажировка",
        "track": "internships",
        "format": "in_person",
        "status": "registration_open",
        "planned_starts_at": at(20),
        "planned_ends_at": at(21),
        "starts_at": at(20),
        "ends_at": at(21),
    },
}


def test_a_registration_keeps_its_highest_status_whatever_the_order() -> None:
    ranks = [domain.REGISTRATION_RANKS[s] for s in ("cancelled", "waitlisted", "confirmed")]
    # What $max leaves after the events arrive in this order (or any other).
    assert reference.registration_status({"rank": max(ranks)}) == "cancelled"
    assert reference.registration_status({"rank": max(ranks[1:])}) == "confirmed"
    assert reference.registration_status({"attendance": PRESENT}) is None


def test_sent_beats_failed_for_a_message() -> None:
    rank = max(domain.NOTIFICATION_RANKS["sent"], domain.NOTIFICATION_RANKS["failed"])
    assert reference.notification_outcome({"rank": rank}) == "sent"


def test_a_period_that_ends_before_it_starts_is_refused_with_the_reason() -> None:
    with pytest.raises(domain.InvalidPeriod, match=r"ends \(2026-03-01\) before it starts"):
        domain.Period(date(2026, 3, 5), date(2026, 3, 1))
    one_day = domain.Period(date(2026, 3, 5), date(2026, 3, 5))
    assert one_day.contains(datetime(2026, 3, 5, 23, 59, tzinfo=UTC))
    assert not one_day.contains(datetime(2026, 3, 6, 0, 0, tzinfo=UTC))
    assert not one_day.contains(None)


def test_pseudonyms_are_stable_keyed_and_not_the_id() -> None:
    first = domain.pseudonym(b"key-one-0123456789", "person-1")
    assert first == domain.pseudonym(b"key-one-0123456789", "person-1")
    assert first != domain.pseudonym(b"key-two-0123456789", "person-1")
    assert "person-1" not in first


def test_breakdown_counts_statuses_attendance_no_shows_and_unique_people() -> None:
    facts = [
        registration("r1", "confirmed", attendance=PRESENT),
        registration("r2", "confirmed"),  # held, no attendance recorded: a no-show
        registration("r3", "cancelled"),
        registration("r4", "confirmed", person_ref="p-r1", event_id="e2", federal_district="ЦФО"),
        registration("r5", "waitlisted", event_id="e2", federal_district="ЦФО"),
    ]
    events = list(EVENTS.values())
    by_event = {row["key"]: row for row in counts.breakdown(facts, events, "event")}
    assert by_event["e1"] == {
        "key": "e1",
        "participants": 2,
        "registrations": 3,
        "confirmed": 2,
        "waitlisted": 0,
        "cancelled": 1,
        "attended": 1,
        "no_shows": 1,
    }
    # e2 is not held yet, so nobody there is a no-show.
    assert by_event["e2"]["no_shows"] == 0
    by_track = {row["key"]: row["participants"] for row in counts.breakdown(facts, events, "track")}
    assert by_track == {"online_sessions": 2, "internships": 1}
    # The same person in two events is one participant overall.
    assert {
        row["key"]: row["participants"] for row in counts.breakdown(facts, events, "category")
    } == {"ngo_leader": 2}


def test_filters_narrow_by_district_track_event_and_period() -> None:
    facts = [
        registration("r1", "confirmed"),
        registration("r2", "confirmed", event_id="e2", registered_at=at(15)),
        {"_id": "r3", "attendance": PRESENT, "event_id": "e1"},  # attendance before registration
    ]
    events = list(EVENTS.values())
    only_track = domain.Filters(track="internships")
    assert domain.event_ids_matching(events, only_track) == {"e2"}

    def counted(filters: domain.Filters) -> dict[str, int]:
        rows = counts.breakdown(facts, events, "event", filters)
        return {row["key"]: row["registrations"] for row in rows}

    # The attendance seen before its registration counts nowhere yet.
    assert counted(domain.Filters()) == {"e1": 1, "e2": 1}
    assert counted(only_track) == {"e2": 1}
    assert counted(domain.Filters(event_id="e1")) == {"e1": 1}
    march_first = domain.Filters(period=domain.Period(date(2026, 3, 1), date(2026, 3, 1)))
    assert counted(march_first) == {"e1": 1}
    assert counted(domain.Filters(district="ЦФО")) == {}


def test_the_daily_series_fills_empty_days() -> None:
    facts = [
        registration("r1", "confirmed", registered_at=at(2)),
        registration("r2", "cancelled", registered_at=at(2, 20)),
        registration("r3", "waitlisted", registered_at=at(4)),
    ]
    period = domain.Period(date(2026, 3, 1), date(2026, 3, 4))
    series = counts.daily_series(facts, [], domain.Filters(period=period))
    assert [(row["day"], row["registrations"]) for row in series] == [
        ("2026-03-01", 0),
        ("2026-03-02", 2),
        ("2026-03-03", 0),
        ("2026-03-04", 1),
    ]
    assert series[1]["cancelled"] == 1
    assert counts.daily_series([], [], domain.Filters()) == []
    open_end = counts.daily_series(
        facts, [], domain.Filters(period=domain.Period(date(2026, 3, 3)))
    )
    assert [(row["day"], row["registrations"]) for row in open_end] == [
        ("2026-03-03", 0),
        ("2026-03-04", 1),
    ]


def test_the_grant_report_lists_plans_results_and_the_qualitative_text() -> None:
    facts = [
        registration("r1", "confirmed", attendance=PRESENT),
        registration("r2", "confirmed", category="expert", region_code="77"),
        registration("r3", "confirmed", registered_at=datetime(2026, 4, 2, tzinfo=UTC)),
    ]
    notifications = [
        {"_id": "m1", "rank": 2, "sent_at": at(2)},
        {"_id": "m2", "rank": 1, "failed_at": at(3)},
        {"_id": "m3", "rank": 2, "sent_at": datetime(2026, 4, 2, tzinfo=UTC)},
    ]
    report = grant_report(
        period=domain.Period(date(2026, 3, 1), date(2026, 3, 31)),
        registrations=facts,
        events=list(EVENTS.values()),
        notifications=notifications,
        qualitative="Сформировано сообщество лидеров НКО.",
    )
    results = report["results"]
    assert results["events_planned"] == 2
    assert results["events_held"] == 1
    assert results["participants"] == 2  # r3 registered in April
    assert results["participants_by_category"] == {"expert": 1, "ngo_leader": 1}
    assert results["participants_by_region"] == {"41": 1, "77": 1}
    assert results["attendance"]["attended"] == 1
    assert results["attendance"]["no_shows"] == 1
    assert results["notifications"] == {"sent": 1, "failed": 1}
    held = next(row for row in report["events"] if row["event_id"] == "e1")
    assert held["planned_starts_at"].startswith("2026-03-10")
    assert held["actual_starts_at"].startswith("2026-03-12")
    assert held["rescheduled"] is True
    assert report["milestones"][1] == {
        "track": "online_sessions",
        "planned": 1,
        "held": 1,
        "first_held": "2026-03-12",
        "last_held": "2026-03-12",
        "complete": True,
    }
    assert report["qualitative"] == "Сформировано сообщество лидеров НКО."
    assert domain.report_digest(report) == domain.report_digest(dict(report))


def test_lag_is_what_kafka_has_beyond_the_last_applied_offset() -> None:
    applied = datetime(2026, 3, 1, tzinfo=UTC)
    lags = partition_lags(
        {("t", 0): 10, ("t", 1): 5, ("t", 2): 0},
        {"t:0": {"offset": 9, "applied_at": applied}, "t:1": {"offset": 2, "applied_at": applied}},
    )
    assert [row.lag for row in lags] == [0, 2, 0]
    assert lags[0].applied_at == applied.timestamp()
    assert lags[2].last_applied is None


def test_the_grant_report_counts_content_and_leaves_demo_events_out() -> None:
    demo = {"_id": "demo", "track": "online_sessions", "status": "completed", "demo": True,
            "planned_starts_at": at(10), "starts_at": at(10)}  # fmt: skip
    content = domain.ContentFacts(
        materials=[
            {"_id": "m1", "kind": "recommendation", "title": "Рекомендации",
             "first_published_at": at(5)},
            {"_id": "m2", "kind": "recommendation", "title": "Прошлогоднее",
             "first_published_at": datetime(2025, 3, 5, tzinfo=UTC)},
        ],
        downloads=[
            {"_id": "d1", "reader": "r1", "partial": False, "downloaded_at": at(6)},
            {"_id": "d2", "reader": "r1", "partial": False, "downloaded_at": at(7)},
            {"_id": "d3", "reader": "anonymous", "partial": False, "downloaded_at": at(7)},
            {"_id": "d4", "reader": "r2", "partial": True, "downloaded_at": at(7)},
        ],
        strategies=[
            {"_id": "s1", "organisation_id": "o1", "first_prepared_at": at(8)},
            {"_id": "s2", "organisation_id": "o2", "first_prepared_at": at(8) - timedelta(days=40)},
        ],
        mentions=[
            {"_id": "x2", "published_on": "2026-03-20", "outlet": "ГТРК", "url": "https://b",
             "type": "tv", "audience_reach": 300},
            {"_id": "x1", "published_on": "2026-03-02", "outlet": "РГ", "url": "https://a",
             "type": "online", "audience_reach": 1000},
            {"_id": "x3", "published_on": "2026-04-01", "outlet": "РГ", "url": "https://c",
             "type": "online", "audience_reach": 9},
        ],
    )  # fmt: skip
    report = grant_report(
        period=domain.Period(date(2026, 3, 1), date(2026, 3, 31)),
        registrations=[registration("r1", "confirmed"), registration("r9", "confirmed",
                                                                     event_id="demo")],
        events=[*EVENTS.values(), demo],
        notifications=[],
        qualitative="",
        content=content,
    )  # fmt: skip
    results = report["results"]
    assert "demo" not in {row["event_id"] for row in report["events"]}
    assert results["events_planned"] == 2
    assert results["attendance"]["registrations"] == 1
    assert results["materials"]["published"] == 1
    assert results["materials"]["published_by_kind"] == {"recommendation": 1}
    assert (results["materials"]["downloads"], results["materials"]["unique_readers"]) == (3, 1)
    assert [row["url"] for row in results["publications"]] == ["https://a", "https://b"]
    assert results["media_reach"] == 1300
    assert results["strategies_prepared"] == 1


@pytest.mark.parametrize("bitmap_cells", [counts.BITMAP_CELLS, 0], ids=["bitmap", "sorted"])
def test_the_column_counts_agree_with_the_rules_stated_fact_by_fact(
    bitmap_cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counts, "BITMAP_CELLS", bitmap_cells)
    rng = random.Random(20261125)
    statuses = ["confirmed", "waitlisted", "cancelled", None]
    facts: list[dict[str, Any]] = []
    for number in range(3000):
        status = rng.choice(statuses)
        fact: dict[str, Any] = {
            "_id": f"r{number}",
            "event_id": rng.choice(["e1", "e2", "demo", None]),
            "person_ref": rng.choice([f"p{rng.randrange(400)}", None]),
            "category": rng.choice(["ngo_leader", "expert", None]),
            "region_code": rng.choice(["41", "77", None]),
            "federal_district": rng.choice(["ДФО", "ЦФО", None]),
            "registered_at": rng.choice([at(rng.randrange(1, 31)), None,
                                         datetime(2026, 4, 2, tzinfo=UTC)]),
        }  # fmt: skip
        if status is not None:
            fact["rank"] = domain.REGISTRATION_RANKS[status]
        if rng.random() < 0.4:
            fact["attendance"] = domain.attendance_mark(at(12), attended=rng.random() < 0.7)
        facts.append(fact)
    messages: list[dict[str, Any]] = []
    for number in range(500):
        kind = rng.choice(["confirmation", "invitation", "reminder"])
        message: dict[str, Any] = {"_id": f"m{number}", "kind": kind}
        for outcome in ("failed", "sent"):
            if rng.random() < 0.6:
                message[f"{outcome}_at"] = at(rng.randrange(1, 31))
                message["rank"] = domain.NOTIFICATION_RANKS[outcome]
        messages.append(message)
    events = {**EVENTS, "demo": {"_id": "demo", "status": "completed", "demo": True}}
    for period in (domain.Period(), domain.Period(date(2026, 3, 1), date(2026, 3, 20))):
        report = grant_report(
            period=period, registrations=facts, events=list(events.values()),
            notifications=messages, qualitative="",
        )  # fmt: skip
        outcomes = [reference.notification_outcome(message) for message in messages]
        assert report["results"]["notifications"] == {
            outcome: sum(
                1
                for message, its in zip(messages, outcomes, strict=True)
                if its == outcome
                and domain.period_contains_or_open(period, message.get(f"{its}_at"))
            )
            for outcome in ("sent", "failed")
        }
        by_kind: dict[str, dict[str, int]] = {}
        for message, its in zip(messages, outcomes, strict=True):
            if its and domain.period_contains_or_open(period, message.get(f"{its}_at")):
                row = by_kind.setdefault(message["kind"], {"sent": 0, "failed": 0})
                row[its] += 1
        assert counts.outcome_counts_by_kind(messages, period) == dict(sorted(by_kind.items()))
        results = report["results"]
        selected = [
            fact
            for fact in facts
            if reference.registration_matches(fact, domain.Filters(period=period), None)
            and fact.get("event_id") != "demo"
        ]
        totals = reference.Tally()
        for fact in selected:
            totals.add(fact, EVENTS.get(str(fact.get("event_id"))))
        assert results["attendance"] == totals.as_dict()
        assert results["attendance_by_event"] == reference.breakdown(selected, EVENTS, "event")
        for name, by in (("category", "category"), ("region", "region"), ("district", "district")):
            assert results[f"participants_by_{name}"] == reference.unique_participants(selected, by)
        assert results["participants"] == len(
            {f["person_ref"] for f in selected if f.get("person_ref") and f["rank"] == 2}
        )

    # The dashboard: every breakdown and the series, under filters of each kind.
    all_events = list(events.values())
    for filters in (
        domain.Filters(),
        domain.Filters(period=domain.Period(date(2026, 3, 5), date(2026, 3, 25))),
        domain.Filters(period=domain.Period(end=date(2026, 3, 10)), district="ЦФО"),
        domain.Filters(track="online_sessions"),
        domain.Filters(event_id="e2", district="ДФО"),
        domain.Filters(event_id="nowhere"),
    ):
        allowed = domain.event_ids_matching(all_events, filters)
        chosen = [f for f in facts if reference.registration_matches(f, filters, allowed)]
        for by in domain.BREAKDOWNS:
            expected = reference.breakdown(chosen, events, by)
            assert counts.breakdown(facts, all_events, by, filters) == expected, (filters, by)
        expected_series = reference.daily_series(chosen, filters.period)
        assert counts.daily_series(facts, all_events, filters) == expected_series, filters
