"""Partnerships in reporting: the newest version of each whatever the order or repeats,
counted by district and by kind of sector pair against hand-counted fixtures, in the grant
report and its files (integration/test_partnerships.py: kept by live writes and a rebuild
alike)."""

from __future__ import annotations

import itertools
from datetime import date

from etnik.reporting import domain
from etnik.reporting.partnerships import pair_label, partnership_summary, sector_pairs

from ..folding import fold, report
from ..histories.partnerships import HISTORY, MARCH
from .report_files import csv_rows, pdf_text, workbook


def test_sector_pairs_are_each_kind_once_in_a_fixed_order() -> None:
    assert sector_pairs(["authority", "ngo"]) == ["ngo–authority"]
    assert sector_pairs(["media", "ngo", "ngo"]) == ["ngo–ngo", "ngo–media"]
    assert sector_pairs(["business", "authority", "ngo"]) == [
        "ngo–authority",
        "ngo–business",
        "authority–business",
    ]
    assert sector_pairs(["ngo"]) == []
    assert pair_label("ngo–authority") == "НКО – органы власти"


def test_the_newest_version_wins_in_any_order_and_repeats_change_nothing() -> None:
    p1 = HISTORY[1:4]
    for order in itertools.permutations([*p1, p1[0]]):
        [fact] = list(fold(list(order)).collection("partnerships"))
        assert (fact["version"], fact["status"], len(fact["parties"])) == (3, "ended", 3)


def test_the_grant_report_counts_partnerships_by_district_and_sector_pair() -> None:
    section = report(HISTORY, MARCH)["partnerships"]

    assert (section["formed"], section["active"], section["ended"]) == (3, 2, 1)
    assert section["cross_sector"] == 2  # p1 and p3; p2 is NGO–NGO only
    assert section["by_district"] == {"ДФО": 2, "СФО": 1}
    assert section["by_sector_pair"] == {
        "ngo–ngo": 2,
        "ngo–authority": 1,
        "ngo–business": 1,
        "ngo–media": 1,
        "authority–business": 1,
    }
    assert [row["partnership_id"] for row in section["rows"]] == ["p1", "p2", "p3"]
    april = report(HISTORY, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))
    assert april["partnerships"]["by_sector_pair"] == {"ngo–business": 1}
    # A report with none has no section: reports frozen before it reproduce as they were.
    assert "partnerships" not in report(HISTORY[:1], MARCH)


def test_the_dashboard_narrows_to_one_district() -> None:
    folded = fold(HISTORY)
    events = {str(e["_id"]): e for e in folded.collection("events")}
    siberia = partnership_summary(
        folded.collection("partnerships"),
        MARCH,
        events,
        demo_event_ids={"demo-1"},
        federal_district="СФО",
    )
    assert (siberia["formed"], siberia["by_sector_pair"]) == (1, {"ngo–ngo": 1})


def test_the_reports_files_show_the_partnerships() -> None:
    grant = report(HISTORY, MARCH)

    rows = csv_rows(grant)
    pairs = {r["row"]: r["value"] for r in rows if r["section"] == "partnerships_by_sector_pair"}
    assert pairs["НКО – органы власти"] == "1"
    assert pairs["НКО – НКО"] == "2"

    book = workbook(grant)
    districts = list(book["Партнёрства по округам"].iter_rows(values_only=True))
    assert districts == [("Федеральный округ", "Партнёрств"), ("ДФО", 2), ("СФО", 1)]
    listed = list(book["Партнёрства программы"].iter_rows(values_only=True))
    assert listed[1][2] == (
        "АНО «Алгыс» (НКО); Министерство по делам народов (органы власти); "
        "АО «Северный банк» (бизнес)"
    )
    assert listed[1][5] == "завершено"

    extracted = pdf_text(grant)
    assert "Партнёрства: сочетания секторов" in extracted
    assert "Газета «Якутия»" in extracted
