"""CSV and XLSX exports of registrations with the people's contacts, for operators."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]

from etnik.common.mongo import Document
from etnik.registration.domain import spreadsheet_safe
from etnik.registration.queries import RegistrationQueries
from etnik.registration.repository import RegistrationRepository

EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAX_EXPORT_ROWS = 50_000
COLUMNS = (
    ("registration_id", "ID регистрации"),
    ("event_title", "Мероприятие"),
    ("status", "Статус"),
    ("attendance", "Посещение"),
    ("minutes_attended", "Минут онлайн"),
    ("category", "Категория"),
    ("full_name", "ФИО"),
    ("email", "Email"),
    ("phone", "Телефон"),
    ("organisation", "Организация"),
    ("position", "Должность"),
    ("region_code", "Код региона"),
    ("federal_district", "Федеральный округ"),
    ("waitlisted_at", "В листе ожидания с (UTC)"),
    ("created_at", "Зарегистрирован (UTC)"),
)


async def export_registrations(
    queries: RegistrationQueries, repository: RegistrationRepository, filters: Document, kind: str
) -> bytes:
    """The matching registrations as a CSV (UTF-8 with BOM, for Excel) or XLSX file."""
    _, registrations = await queries.page(filters, MAX_EXPORT_ROWS, 0)
    rows = await _rows(repository, registrations)
    if kind == "xlsx":
        return _xlsx(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([title for _, title in COLUMNS])
    writer.writerows([[spreadsheet_safe(row.get(key)) for key, _ in COLUMNS] for row in rows])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


async def _rows(
    repo: RegistrationRepository, registrations: list[Document]
) -> list[dict[str, Any]]:
    people = {
        p["_id"]: p
        for p in await repo.find(
            repo.people, {"_id": {"$in": list({r["person_id"] for r in registrations})}}
        )
    }
    organisation_ids = list(
        {p["organisation_id"] for p in people.values() if p.get("organisation_id")}
    )
    organisations = {
        o["_id"]: o for o in await repo.find(repo.organisations, {"_id": {"$in": organisation_ids}})
    }
    events = {
        e["_id"]: e
        for e in await repo.find(
            repo.events, {"_id": {"$in": list({r["event_id"] for r in registrations})}}
        )
    }
    rows = []
    for registration in registrations:
        person = people.get(registration["person_id"], {})
        organisation = organisations.get(person.get("organisation_id") or "", {})
        attendance = registration.get("attendance") or {}
        rows.append(
            {
                "registration_id": registration["_id"],
                "event_title": events.get(registration["event_id"], {}).get("title"),
                "status": registration["status"],
                "attendance": attendance.get("status", "registered"),
                "minutes_attended": attendance.get("minutes"),
                "category": registration.get("category"),
                "full_name": person.get("full_name"),
                "email": person.get("email"),
                "phone": person.get("phone"),
                "organisation": organisation.get("name"),
                "position": person.get("position"),
                "region_code": registration.get("region_code"),
                "federal_district": registration.get("federal_district"),
                "waitlisted_at": _when(registration.get("waitlisted_at")),
                "created_at": _when(registration["created_at"]),
            }
        )
    return rows


def _when(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _xlsx(rows: list[dict[str, Any]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Регистрации")
    sheet.append([title for _, title in COLUMNS])
    for row in rows:
        sheet.append([spreadsheet_safe(row.get(key)) for key, _ in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
