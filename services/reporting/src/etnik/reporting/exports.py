"""The grant report as CSV, XLSX and PDF: the same tables, in Russian, for the Fund."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from etnik.common.pdf_fonts import BOLD, REGULAR, register_fonts
from etnik.reporting.experts import expert_tables
from etnik.reporting.feedback import feedback_rows
from etnik.reporting.internships import internship_tables
from etnik.reporting.mechanisms import mechanism_tables
from etnik.reporting.partnerships import SECTOR_LABELS, pair_label
from etnik.reporting.video import video_tables

CATEGORY_LABELS = {
    "ngo_leader": "Руководитель НКО",
    "ngo_activist": "Активист НКО",
    "expert": "Эксперт",
    "government_official": "Представитель органа власти",
    "media": "СМИ",
    "other": "Другое",
    "unknown": "Не указано",
}
MEDIA_TYPE_LABELS = {
    "print": "печатное СМИ",
    "online": "интернет-СМИ",
    "tv": "телевидение",
    "radio": "радио",
    "social": "социальные сети",
    "other": "другое",
}
STATUS_LABELS = {
    "draft": "черновик",
    "published": "опубликовано",
    "registration_open": "идёт регистрация",
    "closed": "регистрация закрыта",
    "completed": "проведено",
    "cancelled": "отменено",
}


@dataclass(frozen=True)
class ReportTable:
    """One titled table of the report."""

    key: str
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


def report_tables(report: Mapping[str, Any]) -> list[ReportTable]:
    """The report's sections as tables, in the order the Fund reads them."""
    results = report["results"]
    attendance = results["attendance"]
    period = report["period"]
    # Reports frozen before content was counted have no such sections: shown as empty.
    materials = results.get("materials") or {}
    publications = results.get("publications") or []
    return [
        ReportTable(
            "period",
            "Отчётный период",
            ["Показатель", "Значение"],
            [["Начало периода", period["start"] or "—"], ["Конец периода", period["end"] or "—"]],
        ),
        ReportTable(
            "milestones",
            "Ключевые вехи",
            ["Направление", "Запланировано", "Проведено", "Первое", "Последнее"],
            [
                [m["track"], m["planned"], m["held"], m["first_held"] or "—", m["last_held"] or "—"]
                for m in report["milestones"]
            ],
        ),
        ReportTable(
            "events",
            "Мероприятия — план и факт",
            ["Мероприятие", "Направление", "Формат", "Округ", "Статус", "План", "Факт"],
            [
                [
                    e["title"] or e["event_id"],
                    e["track"],
                    e["format"],
                    e["federal_district"],
                    STATUS_LABELS.get(e["status"], e["status"]),
                    _day(e["planned_starts_at"]),
                    _day(e["actual_starts_at"]),
                ]
                for e in report["events"]
            ],
        ),
        ReportTable(
            "results",
            "Количественные результаты",
            ["Показатель", "Значение"],
            [
                ["Мероприятий запланировано", results["events_planned"]],
                ["Мероприятий проведено", results["events_held"]],
                ["Уникальных участников", results["participants"]],
                ["Регистраций", attendance["registrations"]],
                ["Подтверждено", attendance["confirmed"]],
                ["В листе ожидания", attendance["waitlisted"]],
                ["Отменено", attendance["cancelled"]],
                ["Посетили", attendance["attended"]],
                ["Не явились", attendance["no_shows"]],
                ["Уведомлений отправлено", results["notifications"]["sent"]],
                ["Уведомлений не доставлено", results["notifications"]["failed"]],
                ["Методических материалов опубликовано", materials.get("published", 0)],
                ["Скачиваний материалов", materials.get("downloads", 0)],
                ["Публикаций в СМИ", len(publications)],
                ["Суммарный охват публикаций", results.get("media_reach", 0)],
                ["Стратегий развития НКО подготовлено", results.get("strategies_prepared", 0)],
            ],
        ),
        _counts(
            "by_category",
            "Участники по категориям",
            "Категория",
            {
                CATEGORY_LABELS.get(key, key): value
                for key, value in results["participants_by_category"].items()
            },
        ),
        _counts(
            "by_region", "Участники по субъектам РФ", "Код субъекта",
            results["participants_by_region"],
        ),
        _counts(
            "by_district", "Участники по федеральным округам", "Округ",
            results["participants_by_district"],
        ),
        ReportTable(
            "attendance",
            "Посещаемость по мероприятиям",
            ["Мероприятие", "Регистраций", "Подтверждено", "Посетили", "Не явились"],
            [
                [r["key"], r["registrations"], r["confirmed"], r["attended"], r["no_shows"]]
                for r in results["attendance_by_event"]
            ],
        ),
        ReportTable(
            "materials",
            "Методические материалы",
            ["Материал", "Вид", "Опубликован"],
            [
                [m["title"] or m["material_id"], m["kind"], _day(m["published_at"])]
                for m in materials.get("titles", [])
            ],
        ),
        ReportTable(
            "publications",
            "Публикации в СМИ",
            ["Дата", "Издание", "Заголовок", "Ссылка", "Тип", "Охват"],
            [
                [
                    p["published_on"] or "—", p["outlet"], p["title"] or "—", p["url"],
                    MEDIA_TYPE_LABELS.get(p["type"], p["type"]),
                    p["audience_reach"] if p["audience_reach"] is not None else "—",
                ]
                for p in publications
            ],
        ),
        ReportTable(
            "qualitative",
            "Качественные результаты",
            ["Текст"],
            [[report["qualitative"] or "—"]],
        ),
        *_feedback_tables(report.get("feedback")),
        *_partnership_tables(report.get("partnerships")),
        *(ReportTable(*table) for table in internship_tables(report.get("internships"))),
        *(ReportTable(*table) for table in expert_tables(report.get("experts"))),
        *(ReportTable(*table) for table in mechanism_tables(report.get("mechanisms"))),
        *(ReportTable(*table) for table in video_tables(report.get("video_views"))),
    ]  # fmt: skip


def to_csv(report: Mapping[str, Any]) -> bytes:
    """One row per value: section, row label, column, value (UTF-8 with BOM, for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "row", "column", "value"])
    for table in report_tables(report):
        for row in table.rows:
            label = str(row[0])
            if len(row) == 1:
                writer.writerow([table.key, table.headers[0], table.headers[0], label])
            for header, value in zip(table.headers[1:], row[1:], strict=True):
                writer.writerow([table.key, label, header, value])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(report: Mapping[str, Any]) -> bytes:
    """One worksheet per section, with a bold header row."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for table in report_tables(report):
        sheet = workbook.create_sheet(_sheet_name(table.title))
        sheet.append(list(table.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        for column, header in zip(sheet.columns, table.headers, strict=False):
            width = max([len(str(header)), *(len(str(cell.value or "")) for cell in column)])
            sheet.column_dimensions[column[0].column_letter].width = min(width + 2, 80)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_pdf(report: Mapping[str, Any], *, font: Path, bold_font: Path | None = None) -> bytes:
    """An A4 landscape document in a TTF font, so that Cyrillic text renders and extracts."""
    register_fonts(font, bold_font, setting="REPORTING_PDF_FONT")
    title_style = ParagraphStyle("title", fontName=BOLD, fontSize=15, leading=19, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=BOLD, fontSize=11, leading=14, spaceBefore=8)
    cell = ParagraphStyle("cell", fontName=REGULAR, fontSize=8, leading=10)
    period = report["period"]
    story: list[Any] = [
        Paragraph("Аналитический отчёт для Фонда президентских грантов", title_style),
        Paragraph(
            escape(f"«ЭтНик: стратегия в практике», период {period['start']} — {period['end']}"),
            cell,
        ),
    ]
    for table in report_tables(report):
        story.append(Paragraph(escape(table.title), heading))
        if not table.rows:
            story.append(Paragraph("Нет данных", cell))
            continue
        data = [[Paragraph(escape(str(h)), cell) for h in table.headers]]
        data += [[Paragraph(escape(str(value)), cell) for value in row] for row in table.rows]
        grid = Table(data, repeatRows=1, hAlign="LEFT")
        grid.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [grid, Spacer(1, 3 * mm)]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        title="Аналитический отчёт ЭтНик",
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
    )
    document.build(story)
    return buffer.getvalue()


def _feedback_tables(feedback: Mapping[str, Any] | None) -> list[ReportTable]:
    """Participants' survey answers, part of the qualitative results (absent: no tables)."""
    if not feedback:
        return []
    ratings, comments = feedback_rows(feedback)
    return [
        ReportTable(
            "feedback_ratings",
            "Отзывы участников — оценки",
            ["Мероприятие или направление", "Вопрос", "Ответов", "Средняя оценка", "Оценки 1–5"],
            ratings,
        ),
        ReportTable(
            "feedback_comments",
            "Отзывы участников — ответы",
            ["Мероприятие", "Вопрос", "Ответ"],
            comments,
        ),
    ]


def _partnership_tables(partnerships: Mapping[str, Any] | None) -> list[ReportTable]:
    """Partnerships formed in the period: by district, by sector pair, and each one."""
    if not partnerships:
        return []
    status = {"active": "действует", "ended": "завершено"}
    return [
        ReportTable(
            "partnerships_by_district",
            "Партнёрства по округам",
            ["Федеральный округ", "Партнёрств"],
            [[district, count] for district, count in partnerships["by_district"].items()],
        ),
        ReportTable(
            "partnerships_by_sector_pair",
            "Партнёрства: сочетания секторов",
            ["Стороны", "Партнёрств"],
            [[pair_label(pair), count] for pair, count in partnerships["by_sector_pair"].items()],
        ),
        ReportTable(
            "partnerships",
            "Партнёрства программы",
            ["Дата", "Предмет", "Стороны", "Округ", "Мероприятие", "Статус"],
            [
                [
                    row["formed_on"],
                    row["subject"],
                    "; ".join(
                        f"{party['name']} ({SECTOR_LABELS.get(party['sector'], party['sector'])})"
                        for party in row["parties"]
                    ),
                    row["federal_district"] or "—",
                    row["event_title"] or "—",
                    status.get(row["status"], row["status"] or "—"),
                ]
                for row in partnerships["rows"]
            ],
        ),
    ]


def _sheet_name(title: str) -> str:
    # Excel refuses these characters in sheet names and cuts names at 31 characters.
    return "".join(" " if char in "[]:*?/\\" else char for char in title)[:31].strip()


def _counts(key: str, title: str, label: str, counts: Mapping[str, int]) -> ReportTable:
    return ReportTable(key, title, [label, "Участников"], [[k, v] for k, v in counts.items()])


def _day(moment: str | None) -> str:
    return moment[:10] if moment else "—"
