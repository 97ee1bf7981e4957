"""The Strategy's mechanisms NGOs chose, on the real FerretDB: live writes and a rebuild's load
keep the same facts, and no organisation's name (unit/test_mechanisms.py counts them)."""

from __future__ import annotations

from etnik.reporting.projections import Generations

from ..folding import documents, read
from ..histories.mechanisms import GRANTS, HISTORY


async def test_live_writes_and_a_rebuilds_load_keep_the_same_facts(
    generations: Generations,
) -> None:
    live = generations.store(1)
    for item in HISTORY:
        await live.apply(item, read(item))
    [grants] = await live.mechanisms.find({"_id": GRANTS}).to_list()
    assert (grants["version"], grants["title"]) == (2, "Участие в конкурсах грантов")
    versions = await live.strategy_versions.find({}).to_list()
    assert len(versions) == 9  # eleven strategy events: one repeated, one without codes
    [o4] = await live.organisations.find({"_id": "o4"}).to_list()
    assert o4["federal_district"] is None
    assert "name" not in o4  # reporting keeps no organisation names

    built = generations.store(2)
    await built.load(documents(HISTORY, columnar=False))
    assert len(await built.strategy_versions.find({}).to_list()) == 9
    assert len(await built.mechanisms.find({}).to_list()) == 3
    await built.drop()
