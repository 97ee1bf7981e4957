"""The grant report's files open in the tools the Fund uses, with their Cyrillic text intact."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from etnik.common.pdf_fonts import FontMissing
from etnik.reporting import domain, exports
from etnik.reporting.report import grant_report
from etnik.reporting.settings import ReportingSettings

SETTINGS = ReportingSettings()


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
    text = exports.to_csv(sample_report()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    lookup = {(row["section"], row["row"], row["column"]): row["value"] for row in rows}
    assert lookup[("results", "Уникальных участников", "Значение")] == "1"
    assert lookup[("by_category", "Руководитель НКО", "Участников")] == "1"
    assert lookup[("qualitative", "Текст", "Текст")].startswith("Участники подготовили")


def test_xlsx_has_a_sheet_per_section() -> None:
    workbook = load_workbook(io.BytesIO(exports.to_xlsx(sample_report())))
    assert "Количественные результаты" in workbook.sheetnames
    results = workbook["Количественные результаты"]
    values = {row[0]: row[1] for row in results.iter_rows(min_row=2, values_only=True)}
    assert values["Мероприятий проведено"] == 1
    assert values["Уведомлений отправлено"] == 1
    first_event = next(workbook["Мероприятия — план и факт"].iter_rows(min_row=2, values_only=True))
    assert first_event[0].startswith("Стратегическая онлайн-сессия")
    assert first_event[5] == first_event[6] == "2026-03-12"


def test_pdf_text_extracts_in_cyrillic() -> None:
    pdf = exports.to_pdf(
        sample_report(),
        font=SETTINGS.reporting_pdf_font,
        bold_font=SETTINGS.reporting_pdf_bold_font,
    )
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Аналитический отчёт" in text
    assert "Руководитель НКО" in text
    assert "индивидуальные векторы развития" in text


def test_a_missing_font_is_refused_with_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        exports.to_pdf(sample_report(), font=tmp_path / "absent.ttf")
