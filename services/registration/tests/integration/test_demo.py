"""Demo data: only in development, marked as demo, loaded once on an empty database."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from etnik.registration.catalogue import CatalogueService
from etnik.registration.demo import load_demo_data
from etnik.registration.directory import DirectoryService
from etnik.registration.identity import OperatorAccounts
from etnik.registration.reference import seed_reference_data
from etnik.registration.repository import RegistrationRepository

if TYPE_CHECKING:
    from conftest import RegistrationApp


async def test_the_demo_programme_loads_once_and_is_marked(registration: RegistrationApp) -> None:
    runtime = registration.container.runtime
    repository = RegistrationRepository(
        runtime.mongo[f"etnik_registration_demo_{uuid.uuid4().hex[:8]}"]
    )
    staging = runtime.outbox
    catalogue = CatalogueService(repository, staging)
    directory = DirectoryService(repository, staging, catalogue)
    accounts = OperatorAccounts(repository.events.database["operators"], staging)
    await repository.ensure_indexes()
    await seed_reference_data(repository)
    await catalogue.seed_default_programme()
    for _ in range(2):
        await load_demo_data(repository, catalogue, directory, accounts)

    events = await repository.find(repository.events, {})
    assert len(events) == 10
    assert all(event["demo"] for event in events)
    online = [e for e in events if e["track"] == "online_sessions"]
    assert len({e["federal_district"] for e in online}) == 8
    moscow = ZoneInfo("Europe/Moscow")
    assert {e["starts_at"].astimezone(moscow).hour for e in online} == {14}
    assert sum(e["track"] == "in_person_session" for e in events) == 1
    assert sum(e["track"] == "internships" for e in events) == 1
    organisations = await repository.find(repository.organisations, {})
    assert len({o["region_code"] for o in organisations}) >= 3
    assert all(o["demo"] for o in organisations)
    assert await accounts.authenticate("operator@etnik.local", "wrong") is None
    assert len(await accounts.list()) == 1
