"""The grant report's files read back: CSV rows, the XLSX workbook and the PDF's text."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook, load_workbook
from pypdf import PdfReader

from etnik.reporting import exports
from etnik.reporting.settings import ReportingSettings


def csv_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """The CSV file's rows: section, row, column and value."""
    return list(csv.DictReader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"))))


def workbook(report: dict[str, Any]) -> Workbook:
    """The XLSX file, opened."""
    return load_workbook(io.BytesIO(exports.to_xlsx(report)))


def pdf_text(report: dict[str, Any]) -> str:
    """The text of every page of the PDF, in the fonts the service is configured with."""
    settings = ReportingSettings()
    pdf = exports.to_pdf(
        report, font=settings.reporting_pdf_font, bold_font=settings.reporting_pdf_bold_font
    )
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
