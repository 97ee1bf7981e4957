"""Video views in reporting: counted per video material in the period, with unique viewers,
against hand-counted fixtures, in the grant report and its files
(integration/test_video.py: live and by a rebuild)."""

from __future__ import annotations

from datetime import date

from etnik.reporting import domain
from etnik.reporting.video import video_views_summary

from ..folding import report
from ..histories.video import FILM, HISTORY, MARCH, RECORDING, T0
from .report_files import csv_rows, pdf_text, workbook


def test_the_grant_report_counts_views_per_video() -> None:
    section = report(HISTORY, MARCH)["video_views"]
    assert section == {
        "views": 5,
        "unique_viewers": 3,
        "materials": [
            {"material_id": "film", "title": FILM, "views": 4, "unique_viewers": 3},
            {"material_id": "rec", "title": RECORDING, "views": 1, "unique_viewers": 1},
        ],
    }
    april = report(HISTORY, domain.Period(date(2026, 4, 1), date(2026, 4, 30)))
    assert april["video_views"]["materials"] == [
        {"material_id": "film", "title": FILM, "views": 1, "unique_viewers": 1}
    ]
    # Every view, in an open period.
    assert report(HISTORY, domain.Period())["video_views"]["views"] == 7


def test_a_report_without_views_has_no_section() -> None:
    # Reports frozen before views were counted reproduce as they were.
    assert "video_views" not in report(HISTORY[:2], MARCH)
    assert "video_views" not in report(HISTORY, domain.Period(date(2026, 5, 1), None))


def test_a_view_without_a_viewer_makes_unique_viewers_unknown() -> None:
    facts = [
        {"material_id": "film", "title": FILM, "viewer": "v1", "viewed_at": T0},
        {"material_id": "film", "title": FILM, "viewer": None, "viewed_at": T0},
    ]
    summary = video_views_summary(facts, [], MARCH)
    assert (summary["views"], summary["unique_viewers"]) == (2, None)
    # The title the view carried, when the material's publication is not known.
    assert summary["materials"][0]["title"] == FILM


def test_the_reports_files_show_the_views() -> None:
    grant = report(HISTORY, MARCH)

    rows = csv_rows(grant)
    views = {(r["row"], r["column"]): r["value"] for r in rows if r["section"] == "video_views"}
    assert views[(FILM, "Просмотров")] == "4"
    assert views[(FILM, "Уникальных зрителей")] == "3"
    assert views[("Всего", "Просмотров")] == "5"

    sheet = list(workbook(grant)["Просмотры видеоматериалов"].iter_rows(values_only=True))
    assert sheet == [
        ("Видеоматериал", "Просмотров", "Уникальных зрителей"),
        (FILM, 4, 3),
        (RECORDING, 1, 1),
        ("Всего", 5, 3),
    ]

    extracted = pdf_text(grant)
    assert "Просмотры видеоматериалов" in extracted
    assert "Запись онлайн-сессии ПФО" in extracted
