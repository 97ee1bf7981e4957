"""Internships in reporting: applications, decisions and outcomes counted per internship and
per participants' district against hand-counted fixtures, whatever the order or repeats, in
the grant report and its files (integration/test_internships.py: kept by live writes and a
rebuild alike)."""

from __future__ import annotations

import itertools
from datetime import date

from etnik.reporting import domain

from ..folding import report
from ..histories.internships import HISTORY, MARCH
from .report_files import csv_rows, pdf_text, workbook


def test_the_grant_report_counts_each_internship_and_the_participants_districts() -> None:
    section = report(HISTORY, MARCH)["internships"]

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
    april = report(HISTORY, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))["internships"]
    assert [(r["event_id"], r["approved"]) for r in april["rows"]] == [("i2", 1)]
    # A report with none has no section: reports frozen before it reproduce as they were.
    assert "internships" not in report(HISTORY[:4], MARCH)
    assert "internships" not in report(HISTORY, domain.Period(date(2026, 5, 1), None))


def test_any_order_and_repeats_give_the_same_counts() -> None:
    a1 = [HISTORY[0], HISTORY[4], HISTORY[5], HISTORY[9], HISTORY[13], HISTORY[16], HISTORY[17]]
    expected = report(a1, MARCH)["internships"]
    assert expected["rows"][0]["hours"] == 30
    for order in itertools.permutations(a1[1:]):
        shuffled = [a1[0], *order, order[0]]
        assert report(shuffled, MARCH)["internships"] == expected


def test_the_reports_files_show_the_internships() -> None:
    grant = report(HISTORY, MARCH)

    rows = csv_rows(grant)
    by_district = {
        (r["row"], r["column"]): r["value"]
        for r in rows
        if r["section"] == "internships_by_district"
    }
    assert by_district[("СФО", "Часов")] == "22"
    assert by_district[("ДФО", "Отклонено")] == "1"

    book = workbook(grant)
    listed = list(book["Стажировки и выездные программы"].iter_rows(values_only=True))
    assert listed[0] == (
        "Мероприятие", "Вид", "Принимающая организация", "Даты",
        "Заявок", "Одобрено", "Отклонено", "Завершили", "Часов",
    )  # fmt: skip
    assert listed[1] == (
        "Стажировка i1", "Стажировка", "Дом народов Татарстана", "2026-03-10 – 2026-03-12",
        4, 2, 1, 1, 36,
    )  # fmt: skip
    assert listed[2][1] == "Выездная бизнес-программа"

    extracted = " ".join(pdf_text(grant).split())  # table cells wrap their lines
    assert "Стажировки по округам участников" in extracted
    assert "Дом народов Татарстана" in extracted
