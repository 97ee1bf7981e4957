"""The Strategy's mechanisms NGOs chose, in reporting: the latest version of each NGO's strategy
counted once, by the organisation's district, against hand-counted fixtures, in the grant
report and its files, and kept by live writes and a rebuild alike."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from pymongo import AsyncMongoClient
from pypdf import PdfReader

from etnik.common.contracts.content import MechanismRecorded, MechanismRetired, StrategyUpdated
from etnik.common.contracts.registration import OrganisationRegistered
from etnik.common.events import CloudEvent
from etnik.reporting import domain, exports
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import Generations, ProjectionStore
from etnik.reporting.report import grant_report
from etnik.reporting.settings import ReportingSettings

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


def _store() -> ProjectionStore:
    # A client that never connects: building writes does no I/O.
    unused = AsyncMongoClient("mongodb://127.0.0.1:9", connect=False)["unused"]
    return ProjectionStore(unused, 1, b"test-pseudonym-key-0123")


def _fold(history: list[CloudEvent], *, columnar: bool = True) -> ProjectionFold:
    store, fold = _store(), ProjectionFold(columnar=columnar)
    for item in history:
        for collection, write in store.writes_for(item, item.payload()):
            fold.apply(collection, write)
    return fold


def _report(history: list[CloudEvent], period: domain.Period) -> dict[str, Any]:
    fold = _fold(history)
    return grant_report(
        period=period,
        registrations=fold.tables["registrations"],
        events=list(fold.collection("events")),
        notifications=fold.tables["notifications"],
        qualitative="",
        strategy_versions=fold.collection("strategy_versions"),
        mechanisms=fold.collection("mechanisms"),
        organisations=fold.collection("organisations"),
    )


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {row["code"]: row["organisations"] for row in rows}


def test_the_grant_report_counts_each_ngos_latest_strategy_by_district() -> None:
    section = _report(HISTORY, MARCH)["mechanisms"]

    assert section["organisations"] == 4
    assert [(r["code"], r["organisations"]) for r in section["mechanisms"]] == [
        (LANGUAGES, 3),
        (FESTIVALS, 2),
        (GRANTS, 2),
    ]
    titles = {row["code"]: (row["title"], row["retired"]) for row in section["mechanisms"]}
    assert titles[GRANTS] == ("Участие в конкурсах грантов", False)
    assert titles[FESTIVALS] == ("Национальные праздники", True)
    districts = {d["federal_district"]: d for d in section["by_district"]}
    assert list(districts) == ["ПФО", "СФО", "не указан"]
    assert districts["ПФО"]["organisations"] == 2
    assert _counts(districts["ПФО"]["mechanisms"]) == {GRANTS: 2, FESTIVALS: 1, LANGUAGES: 1}
    assert _counts(districts["СФО"]["mechanisms"]) == {LANGUAGES: 1}
    assert _counts(districts["не указан"]["mechanisms"]) == {FESTIVALS: 1, LANGUAGES: 1}

    april = _report(HISTORY, APRIL)["mechanisms"]
    assert _counts(april["mechanisms"]) == {GRANTS: 2, LANGUAGES: 2, FESTIVALS: 2}
    # Before any strategy named a mechanism there is no section, so reports frozen before
    # mechanisms existed reproduce as they were.
    assert "mechanisms" not in _report(HISTORY, domain.Period(date(2026, 2, 1), date(2026, 2, 28)))
    assert "mechanisms" not in _report(HISTORY[:11], MARCH)


def test_order_and_repeats_change_nothing() -> None:
    expected = _report(HISTORY, MARCH)["mechanisms"]
    strategies = HISTORY[11:15]
    for order in itertools.permutations(strategies):
        shuffled = [*HISTORY[:11], *order, *HISTORY[15:]]
        assert _report(shuffled, MARCH)["mechanisms"] == expected


def test_the_reports_files_show_the_mechanisms() -> None:
    report = _report(HISTORY, MARCH)

    rows = list(csv.DictReader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"))))
    by_district = {
        r["row"]: r["value"] for r in rows if r["section"] == "mechanisms_in_districts"
        and r["column"] == "НКО"
    }  # fmt: skip
    assert by_district["ПФО — Участие в конкурсах грантов"] == "2"
    assert by_district["не указан — Национальные праздники (выведен из каталога)"] == "1"

    workbook = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    chosen = list(workbook["Механизмы, выбранные НКО"].iter_rows(values_only=True))
    assert chosen[0] == ("Механизм", "Код", "Задача Стратегии", "НКО")
    assert chosen[1] == (
        "Курсы родных языков",
        LANGUAGES,
        "Участие институтов гражданского общества",
        3,
    )
    districts = list(workbook["НКО с механизмами по округам"].iter_rows(values_only=True))
    assert districts == [("Федеральный округ", "НКО"), ("ПФО", 2), ("СФО", 1), ("не указан", 1)]

    settings = ReportingSettings()
    pdf = exports.to_pdf(
        report, font=settings.reporting_pdf_font, bold_font=settings.reporting_pdf_bold_font
    )
    extracted = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Механизмы Стратегии по округам" in extracted
    assert "Курсы родных языков" in extracted


@pytest.fixture
async def generations(
    new_generations: Callable[[float], AbstractAsyncContextManager[Generations]],
) -> AsyncIterator[Generations]:
    async with new_generations(0.01) as generations:
        yield generations


async def test_live_writes_and_a_rebuilds_load_keep_the_same_facts(
    generations: Generations,
) -> None:
    live = generations.store(1)
    for item in HISTORY:
        await live.apply(item, item.payload())
    [grants] = await live.mechanisms.find({"_id": GRANTS}).to_list()
    assert (grants["version"], grants["title"]) == (2, "Участие в конкурсах грантов")
    versions = await live.strategy_versions.find({}).to_list()
    assert len(versions) == 9  # eleven strategy events: one repeated, one without codes
    [o4] = await live.organisations.find({"_id": "o4"}).to_list()
    assert o4["federal_district"] is None
    assert "name" not in o4  # reporting keeps no organisation names

    built = generations.store(2)
    await built.load(_fold(HISTORY, columnar=False).documents())
    assert len(await built.strategy_versions.find({}).to_list()) == 9
    assert len(await built.mechanisms.find({}).to_list()) == 3
    await built.drop()
