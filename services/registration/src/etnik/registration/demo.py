"""A demo programme on an empty database, so that a first `make run` shows something.

Loaded only in development (never in test or production), and every record is marked demo.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from etnik.common.auth import Role
from etnik.common.contracts.registration import EventFormat
from etnik.registration.catalogue import CatalogueService
from etnik.registration.directory import DirectoryService
from etnik.registration.identity import OperatorAccounts
from etnik.registration.repository import RegistrationRepository
from etnik.registration.schemas import EventIn, OrganisationIn

log = logging.getLogger(__name__)

MOSCOW = ZoneInfo("Europe/Moscow")
DEMO_OPERATOR_EMAIL = "operator@etnik.local"

# District, its genitive for the title, and a region in it for the session.
ONLINE_SESSIONS = (
    ("ЦФО", "Центральному федеральному округу", "77"),
    ("СЗФО", "Северо-Западному федеральному округу", "78"),
    ("ЮФО", "Южному федеральному округу", "61"),
    ("СКФО", "Северо-Кавказскому федеральному округу", "26"),
    ("ПФО", "Приволжскому федеральному округу", "16"),
    ("УФО", "Уральскому федеральному округу", "66"),
    ("СФО", "Сибирскому федеральному округу", "54"),
    ("ДФО", "Дальневосточному федеральному округу", "25"),
)
ORGANISATIONS = (
    ("АНО «Дом дружбы народов Татарстана» (демо)", "ngo", "16"),
    ("НКА «Бурятский дом» (демо)", "national_cultural_autonomy", "03"),
    ("Министерство по делам национальностей (демо)", "authority", "15"),
    ("Газета «Народы Севера» (демо)", "media", "86"),
)


def _moscow(day: datetime, hour: int) -> datetime:
    return datetime.combine(day.date(), time(hour), tzinfo=MOSCOW).astimezone(UTC)


async def load_demo_data(
    repository: RegistrationRepository,
    catalogue: CatalogueService,
    directory: DirectoryService,
    accounts: OperatorAccounts,
) -> None:
    """Create the demo programme once, on a database with no events at all."""
    if await repository.events.count_documents({}, limit=1):
        return
    log.info("empty database in development: loading the demo programme")
    start = datetime.now(UTC) + timedelta(days=21)
    await catalogue.create_event(
        EventIn(
            title="Очная стратегическая сессия экспертов (демо)",
            track="in_person_session",
            format=EventFormat.IN_PERSON,
            starts_at=_moscow(start, 10),
            ends_at=_moscow(start, 18),
            region_code="77",
            venue="Москва, Дом национальностей, ул. Новая Басманная, 4",
            capacity=25,
            requires_approval=True,
            status="registration_open",
        ),
        demo=True,
    )
    for week, (district, genitive, region) in enumerate(ONLINE_SESSIONS, start=1):
        day = start + timedelta(weeks=week)
        await catalogue.create_event(
            EventIn(
                title=f"Стратегическая онлайн-сессия по {genitive} (демо)",
                track="online_sessions",
                format=EventFormat.ONLINE,
                starts_at=_moscow(day, 14),
                ends_at=_moscow(day, 17),
                federal_district=district,
                region_code=region,
                online_link=f"https://telemost.yandex.ru/j/demo-{district.lower()}",
                capacity=300,
                status="registration_open",
            ),
            demo=True,
        )
    internship = start + timedelta(weeks=12)
    await catalogue.create_event(
        EventIn(
            title="Стажировка для лидеров этнокультурных НКО (демо)",
            track="internships",
            format=EventFormat.HYBRID,
            starts_at=_moscow(internship, 10),
            ends_at=_moscow(internship + timedelta(days=4), 18),
            region_code="16",
            venue="Казань",
            online_link="https://my.mts-link.ru/demo/internship",
            capacity=15,
            requires_approval=True,
            status="published",
        ),
        demo=True,
    )
    for name, kind, region in ORGANISATIONS:
        await directory.create_organisation(
            OrganisationIn(name=name, kind=kind, region_code=region), demo=True
        )
    password = secrets.token_urlsafe(12)
    if await accounts.create(DEMO_OPERATOR_EMAIL, password, [Role.OPERATOR, Role.MODERATOR]):
        # Printed once, for the person who just ran `make run`; development only.
        print(f"\nDemo operator sign-in: {DEMO_OPERATOR_EMAIL} / {password}\n", flush=True)
