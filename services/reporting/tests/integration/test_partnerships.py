"""Partnerships on the real FerretDB: live writes and a rebuild's load alike keep the newest
version of each (unit/test_partnerships.py counts them)."""

from __future__ import annotations

from etnik.reporting.projections import Generations

from ..folding import documents, read
from ..histories.partnerships import HISTORY


async def test_live_writes_and_a_rebuilds_load_keep_the_newest_version(
    generations: Generations,
) -> None:
    live = generations.store(1)
    ended, formed, changed = HISTORY[3], HISTORY[1], HISTORY[2]
    for item in [ended, formed, changed, formed]:  # out of order, with a repeat
        await live.apply(item, read(item))
    [stored] = await live.partnerships.find({}).to_list()
    assert (stored["_id"], stored["version"], stored["status"]) == ("p1", 3, "ended")

    built = generations.store(2)
    await built.load(documents(HISTORY, columnar=False))
    loaded = await built.partnerships.find({}).to_list()
    assert sorted(row["_id"] for row in loaded) == ["p1", "p2", "p3", "p4", "p5"]
    await built.drop()
