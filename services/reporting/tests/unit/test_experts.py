"""The roster's experts in reporting: the newest version of each whatever the order or repeats,
counted per event, federal district, track and role against hand-counted fixtures, in the
grant report and its files (present only when there are experts), and on the dashboard's
filters (integration/test_experts.py: kept by live writes and a rebuild alike)."""

from __future__ import annotations

import itertools
from datetime import date

from etnik.reporting import domain
from etnik.reporting.experts import expert_summary

from ..folding import fold, report
from ..histories.experts import EVENTS, HISTORY, MARCH
from .report_files import csv_rows, pdf_text, workbook


def test_the_newest_version_wins_in_any_order_and_repeats_change_nothing() -> None:
    e1 = HISTORY[5:8]
    for order in itertools.permutations([*e1, e1[1]]):
        [fact] = list(fold(list(order)).collection("experts"))
        assert (fact["version"], len(fact["assignments"])) == (3, 3)
    # Reporting keeps no person id, no field, no region: ids, roles and statuses only.
    [erased] = [f for f in fold(HISTORY).collection("experts") if f["_id"] == "e3"]
    assert set(erased) == {"_id", "version", "status", "assignments"}


def test_the_grant_report_counts_experts_per_event_district_track_and_role() -> None:
    section = report(HISTORY, MARCH)["experts"]

    assert (section["experts"], section["assignments"], section["arrived"]) == (3, 5, 2)
    assert section["by_role"] == {"speaker": 2, "moderator": 2, "facilitator": 1}
    assert section["by_district"] == {"ДФО": 2, "ЦФО": 2}
    assert section["by_track"] == {"online_sessions": 2, "strategic_session": 2}
    # In the order of their titles: «Онлайн…» before «Очная…».
    assert [(row["event_id"], row["experts"]) for row in section["by_event"]] == [
        ("o1", 2),
        ("s1", 2),
    ]
    april = report(HISTORY, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))["experts"]
    assert (april["experts"], april["by_district"]) == (1, {"ПФО": 1})
    # A report with no experts has no section: reports frozen before it reproduce as they were.
    assert "experts" not in report(EVENTS, MARCH)
    assert "experts" not in report(HISTORY, domain.Period(date(2026, 5, 1), date(2026, 5, 31)))


def test_the_dashboard_narrows_to_a_district_and_a_track() -> None:
    folded = fold(HISTORY)
    events = {str(e["_id"]): e for e in folded.collection("events") if not domain.is_demo(e)}
    march = {key for key, event in events.items() if domain.event_in_period(event, MARCH)}
    far_east = expert_summary(folded.collection("experts"), events, march, federal_district="ДФО")
    assert (far_east["experts"], far_east["by_role"]) == (2, {"moderator": 1, "facilitator": 1})
    session = expert_summary(folded.collection("experts"), events, march, track="strategic_session")
    assert (session["experts"], session["by_role"]) == (2, {"speaker": 2, "moderator": 1})


def test_the_reports_files_show_the_experts() -> None:
    grant = report(HISTORY, MARCH)

    rows = csv_rows(grant)
    districts = {r["row"]: r["value"] for r in rows if r["section"] == "experts_by_district"}
    assert districts == {"ДФО": "2", "ЦФО": "2"}

    book = workbook(grant)
    by_district = list(book["Эксперты по округам"].iter_rows(values_only=True))
    assert by_district == [("Федеральный округ", "Экспертов"), ("ДФО", 2), ("ЦФО", 2)]
    roles = list(book["Роли экспертов"].iter_rows(values_only=True))
    assert roles == [("Роль", "Назначений"), ("Спикер", 2), ("Модератор", 2), ("Фасилитатор", 1)]

    extracted = pdf_text(grant)
    assert "Эксперты на мероприятиях" in extracted
    assert "Очная стратегическая сессия" in extracted
