"""Video views on the real FerretDB: live writes and a rebuild's load keep each view once
(unit/test_video.py counts them)."""

from __future__ import annotations

from etnik.reporting.projections import Generations

from ..folding import documents, read
from ..histories.video import FIRST_VIEW, HISTORY


async def test_live_writes_and_a_rebuild_keep_each_view_once(generations: Generations) -> None:
    live = generations.store(1)
    for item in [FIRST_VIEW, HISTORY[5], FIRST_VIEW]:  # with a repeated delivery
        await live.apply(item, read(item))
    stored = await live.video_views.find({}).to_list()
    assert sorted(row["viewer"] for row in stored) == ["v1", "v2"]

    built = generations.store(2)
    await built.load(documents(HISTORY, columnar=False))
    assert await built.video_views.count_documents({}) == 7
    await built.drop()
