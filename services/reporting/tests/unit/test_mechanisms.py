"""The Strategy's mechanisms NGOs chose, in reporting: the latest version of each NGO's strategy
counted once, by the organisation's district, against hand-counted fixtures, in the grant
report and its files (integration/test_mechanisms.py: kept by live writes and a rebuild
alike)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from etnik.reporting import domain

from ..folding import report
from ..histories.mechanisms import APRIL, FESTIVALS, GRANTS, HISTORY, LANGUAGES, MARCH
from .report_files import csv_rows, pdf_text, workbook


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {row["code"]: row["organisations"] for row in rows}


def test_the_grant_report_counts_each_ngos_latest_strategy_by_district() -> None:
    section = report(HISTORY, MARCH)["mechanisms"]

    assert section["organisations"] == 4
    assert [(r["code"], r["organisations"]) for r in section["mechanisms"]] == [
        (LANGUAGES, 3),
        (FESTIVALS, 2),
        (GRANTS, 2),
    ]
    titles = {row["code"]: (row["title"], row["retired"]) for row in section["mechanisms"]}
    assert titles[GRANTS] == ("Участие в конкурсах грантов", False)
    assert titles[FESTIVALS] == ("Национальные праздники", True)
    districts = {d["federal_district"]: d for d in section["by_district"]}
    assert list(districts) == ["ПФО", "СФО", "не указан"]
    assert districts["ПФО"]["organisations"] == 2
    assert _counts(districts["ПФО"]["mechanisms"]) == {GRANTS: 2, FESTIVALS: 1, LANGUAGES: 1}
    assert _counts(districts["СФО"]["mechanisms"]) == {LANGUAGES: 1}
    assert _counts(districts["не указан"]["mechanisms"]) == {FESTIVALS: 1, LANGUAGES: 1}

    april = report(HISTORY, APRIL)["mechanisms"]
    assert _counts(april["mechanisms"]) == {GRANTS: 2, LANGUAGES: 2, FESTIVALS: 2}
    # Before any strategy named a mechanism there is no section, so reports frozen before
    # mechanisms existed reproduce as they were.
    assert "mechanisms" not in report(HISTORY, domain.Period(date(2026, 2, 1), date(2026, 2, 28)))
    assert "mechanisms" not in report(HISTORY[:11], MARCH)


def test_order_and_repeats_change_nothing() -> None:
    expected = report(HISTORY, MARCH)["mechanisms"]
    strategies = HISTORY[11:15]
    for order in itertools.permutations(strategies):
        shuffled = [*HISTORY[:11], *order, *HISTORY[15:]]
        assert report(shuffled, MARCH)["mechanisms"] == expected


def test_the_reports_files_show_the_mechanisms() -> None:
    grant = report(HISTORY, MARCH)

    rows = csv_rows(grant)
    by_district = {
        r["row"]: r["value"] for r in rows if r["section"] == "mechanisms_in_districts"
        and r["column"] == "НКО"
    }  # fmt: skip
    assert by_district["ПФО — Участие в конкурсах грантов"] == "2"
    assert by_district["не указан — Национальные праздники (выведен из каталога)"] == "1"

    book = workbook(grant)
    chosen = list(book["Механизмы, выбранные НКО"].iter_rows(values_only=True))
    assert chosen[0] == ("Механизм", "Код", "Задача Стратегии", "НКО")
    assert chosen[1] == (
        "Курсы родных языков",
        LANGUAGES,
        "Участие институтов гражданского общества",
        3,
    )
    districts = list(book["НКО с механизмами по округам"].iter_rows(values_only=True))
    assert districts == [("Федеральный округ", "НКО"), ("ПФО", 2), ("СФО", 1), ("не указан", 1)]

    extracted = pdf_text(grant)
    assert "Механизмы Стратегии по округам" in extracted
    assert "Курсы родных языков" in extracted
