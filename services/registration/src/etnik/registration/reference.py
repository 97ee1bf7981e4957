"""Reference data shipped with the service (federal districts and subjects), and its seeding."""

from __future__ import annotations

import csv
import io
from importlib import resources
from typing import Any

from etnik.common.mongo import Document
from etnik.registration.consents import SINCE_THE_START
from etnik.registration.repository import RegistrationRepository, now_utc

DEFAULT_TIMEZONE = "Europe/Moscow"

PERSONAL_DATA_CONSENT_V1 = (
    "Я даю согласие на обработку моих персональных данных (ФИО, адрес электронной почты, "
    "телефон, регион, организация и должность, ответы в форме регистрации) организатору "
    "программы «ЭтНик: стратегия в практике» в целях регистрации на мероприятия программы, "
    "направления приглашений и материалов и подготовки отчётности (152-ФЗ). Согласие действует "
    "до его отзыва; отозвать его можно в личном кабинете."
)
PUBLICATION_CONSENT_V1 = (
    "Я согласен(на) на публикацию моих ФИО, организации и фотографий с мероприятий программы "
    "в материалах и на сайте программы."
)


PERSONAL_DATA_CONSENT_V1_EN = (
    "I consent to the processing of my personal data (full name, email address, phone, region, "
    "organisation and position, answers in the registration form) by the organiser of the "
    "programme «EtNik: strategy in practice» for registering for the programme's events, sending "
    "invitations and materials, and reporting (Federal Law 152-FZ). The consent is valid until I "
    "withdraw it; I can withdraw it in my account."
)
PUBLICATION_CONSENT_V1_EN = (
    "I agree to the publication of my full name, organisation and photographs from the "
    "programme's events in the programme's materials and on its website."
)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("etnik.registration").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def federal_districts() -> list[Document]:
    """The 8 federal districts, keyed by their abbreviation."""
    return [{"_id": row["key"], **row} for row in _rows("federal_districts.csv")]


def federal_subjects() -> list[Document]:
    """The federal subjects with their district (None for 90, 93, 94, 95) and IANA zone."""
    return [
        {
            "_id": row["code"],
            "code": row["code"],
            "name_ru": row["name_ru"],
            "federal_district": row["federal_district"] or None,
            "iso_3166_2": row["iso_3166_2"] or None,
            "iana_timezone": row["iana_timezone"],
        }
        for row in _rows("federal_subjects.csv")
    ]


async def seed_reference_data(repository: RegistrationRepository) -> None:
    """Insert what is missing; an administrator's edits are never overwritten."""
    for collection, rows in (
        (repository.districts, federal_districts()),
        (repository.subjects, federal_subjects()),
    ):
        for row in rows:
            document: dict[str, Any] = {**row, "seeded_at": now_utc()}
            await collection.update_one(
                {"_id": row["_id"]}, {"$setOnInsert": document}, upsert=True
            )
    for scope, text, text_en in (
        ("personal_data", PERSONAL_DATA_CONSENT_V1, PERSONAL_DATA_CONSENT_V1_EN),
        ("publication", PUBLICATION_CONSENT_V1, PUBLICATION_CONSENT_V1_EN),
    ):
        await repository.consent_texts.update_one(
            {"_id": f"{scope}:1"},
            {
                "$setOnInsert": {
                    "scope": scope,
                    "version": 1,
                    "text": text,
                    "text_en": text_en,
                    "effective_from": SINCE_THE_START,
                    "created_at": now_utc(),
                }
            },
            upsert=True,
        )
