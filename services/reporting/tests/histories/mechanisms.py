"""The Strategy's mechanisms NGOs chose, hand-counted: six organisations, the catalogue's
entries in several versions and the NGOs' strategies over March and April, with a repeat
(the unit tests count them; the integration tests store them)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from etnik.common.contracts.content import MechanismRecorded, MechanismRetired, StrategyUpdated
from etnik.common.contracts.registration import OrganisationRegistered
from etnik.common.events import CloudEvent
from etnik.reporting import domain

MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))
APRIL = domain.Period(date(2026, 4, 1), date(2026, 4, 30))
GRANTS, LANGUAGES, FESTIVALS = "grant_competitions", "native_language_courses", "ethno_events"


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def _wrap(event: Any, at: datetime) -> CloudEvent:
    return CloudEvent.wrap(event, source="/etnik/test", time=at)


def _organisation(organisation_id: str, district: str | None, *, demo: bool = False) -> CloudEvent:
    registered = OrganisationRegistered(
        organisation_id=organisation_id,
        name=f"Организация {organisation_id}",
        kind="ngo",
        federal_district=district,
        demo=demo,
    )
    return _wrap(registered, _at(1, 10))


def _mechanism(code: str, title: str, version: int = 1, *, retired: bool = False) -> CloudEvent:
    kind = MechanismRetired if retired else MechanismRecorded
    entry = kind(
        code=code,
        title=title,
        task_code="civil_society",
        task_title="Участие институтов гражданского общества",
        status="retired" if retired else "active",
        version=version,
        changed_at=_at(1, version),
    )
    return _wrap(entry, _at(1, version))


def _strategy(
    organisation_id: str, version: int, mechanisms: list[str] | None, at: datetime
) -> CloudEvent:
    updated = StrategyUpdated(
        strategy_id=f"s-{organisation_id}",
        organisation_id=organisation_id,
        version=version,
        sections=["goal_list"],
        updated_at=at,
        mechanisms=mechanisms,
    )
    return _wrap(updated, at)


# Hand-counted, March (each NGO's latest version saved by 31 March):
#   o1 ПФО  v1 [] (2 Mar), v2 [grants, languages] (10 Mar), v3 [grants] (5 Apr: after March)
#   o2 ПФО  v1 [] , v2 [grants, festivals] (15 Mar), delivered twice
#   o3 СФО  v1 from before goals existed (no codes: not a fact), v2 [languages] (20 Mar)
#   o4 no district: v1 [festivals, languages] (5 Mar)  -> «не указан»
#   o5 demonstration organisation: v1 [grants] -> never counted
#   o6 ЦФО  v1 [] -> names no mechanism, not counted
# NGOs: o1 o2 o3 o4 = 4.  languages: o1 o3 o4 = 3; festivals: o2 o4 = 2; grants: o1 o2 = 2.
# ПФО: 2 NGOs, grants 2, festivals 1, languages 1; СФО: 1, languages 1;
# не указан: 1, festivals 1, languages 1.
# April: o1 at v3 [grants]: grants 2 (o1 o2), languages 2 (o3 o4), festivals 2 (o2 o4).
HISTORY = [
    _organisation("o1", "ПФО"),
    _organisation("o2", "ПФО"),
    _organisation("o3", "СФО"),
    _organisation("o4", None),
    _organisation("o5", "ЦФО", demo=True),
    _organisation("o6", "ЦФО"),
    _mechanism(GRANTS, "Участие в конкурсах грантов", version=2),
    _mechanism(GRANTS, "Конкурсы грантов"),  # an older version arriving late changes nothing
    _mechanism(LANGUAGES, "Курсы родных языков"),
    _mechanism(FESTIVALS, "Национальные праздники"),
    _mechanism(FESTIVALS, "Национальные праздники", version=2, retired=True),
    _strategy("o1", 1, [], _at(3, 2)),
    _strategy("o1", 2, [GRANTS, LANGUAGES], _at(3, 10)),
    _strategy("o1", 3, [GRANTS], _at(4, 5)),
    _strategy("o2", 1, [], _at(3, 1)),
    _strategy("o2", 2, [GRANTS, FESTIVALS], _at(3, 15)),
    _strategy("o2", 2, [GRANTS, FESTIVALS], _at(3, 15)),
    _strategy("o3", 1, None, _at(3, 3)),
    _strategy("o3", 2, [LANGUAGES], _at(3, 20)),
    _strategy("o4", 1, [FESTIVALS, LANGUAGES], _at(3, 5)),
    _strategy("o5", 1, [GRANTS], _at(3, 5)),
    _strategy("o6", 1, [], _at(3, 5)),
]
