"""The roster's experts on the real FerretDB: live writes and a rebuild's load alike keep the
newest version of each (unit/test_experts.py counts them)."""

from __future__ import annotations

from etnik.reporting.projections import Generations

from ..folding import documents, read
from ..histories.experts import HISTORY


async def test_live_writes_and_a_rebuilds_load_keep_the_newest_version(
    generations: Generations,
) -> None:
    live = generations.store(1)
    rostered, first, newest = HISTORY[5:8]
    for item in [newest, rostered, first, rostered]:  # out of order, with a repeat
        await live.apply(item, read(item))
    [stored] = await live.experts.find({}).to_list()
    assert (stored["_id"], stored["version"], len(stored["assignments"])) == ("e1", 3, 3)

    built = generations.store(2)
    await built.load(documents(HISTORY, columnar=False))
    loaded = await built.experts.find({}).to_list()
    assert sorted(row["_id"] for row in loaded) == ["e1", "e2", "e3", "e4", "e5"]
    await built.drop()
