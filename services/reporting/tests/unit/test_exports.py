"""The grant report's files open in the tools the Fund uses, with their Cyrillic text intact."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from etnik.common.pdf_fonts import FontMissing
from etnik.reporting import domain, exports
from etnik.reporting.report import grant_report

from .report_files import csv_rows, pdf_text, workbook


def sample_report() -> dict[str, object]:
    moment = datetime(2026, 3, 12, 11, tzinfo=UTC)
    return grant_report(
        period=domain.Period(date(2026, 3, 1), date(2026, 3, 31)),
        registrations=[
            {
                "_id": "r1",
                "event_id": "e1",
                "person_ref": "p1",
                "category": "ngo_leader",
                "region_code": "41",
                "federal_district": "ДФО",
                "rank": 2,
                "registered_at": moment,
                "attendance": domain.attendance_mark(moment, attended=True),
            }
        ],
        events=[
            {
                "_id": "e1",
                "title": "Стратегическая онлайн-сессия по Дальневосточному федеральному округу",
                "track": "online_sessions",
                "format": "online",
                "federal_district": "ДФО",
                "status": "completed",
                "planned_starts_at": moment,
                "planned_ends_at": moment,
                "starts_at": moment,
                "ends_at": moment,
            }
        ],
        notifications=[{"_id": "m1", "rank": 2, "sent_at": moment}],
        qualitative="Участники подготовили индивидуальные векторы развития.",
    )


def test_csv_has_one_row_per_value() -> None:
    rows = csv_rows(sample_report())
    lookup = {(row["section"], row["row"], row["column"]): row["value"] for row in rows}
    assert lookup[("results", "Уникальных участников", "Значение")] == "1"
    assert lookup[("by_category", "Руководитель НКО", "Участников")] == "1"
    assert lookup[("qualitative", "Текст", "Текст")].startswith("Участники подготовили")


def test_xlsx_has_a_sheet_per_section() -> None:
    book = workbook(sample_report())
    assert "Количественные результаты" in book.sheetnames
    results = book["Количественные результаты"]
    values = {row[0]: row[1] for row in results.iter_rows(min_row=2, values_only=True)}
    assert values["Мероприятий проведено"] == 1
    assert values["Уведомлений отправлено"] == 1
    first_event = next(book["Мероприятия — план и факт"].iter_rows(min_row=2, values_only=True))
    assert first_event[0].startswith("Стратегическая онлайн-сессия")
    assert first_event[5] == first_event[6] == "2026-03-12"


def test_pdf_text_extracts_in_cyrillic() -> None:
    text = pdf_text(sample_report())
    assert "Аналитический отчёт" in text
    assert "Руководитель НКО" in text
    assert "индивидуальные векторы развития" in text


def test_a_missing_font_is_refused_with_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        exports.to_pdf(sample_report(), font=tmp_path / "absent.ttf")
