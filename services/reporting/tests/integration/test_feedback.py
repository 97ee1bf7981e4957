"""Post-event survey answers on the real FerretDB: live writes keep one fact per answer, and a
rebuild loads them like every other fact (unit/test_feedback.py counts them)."""

from __future__ import annotations

from etnik.reporting.projections import Generations

from ..folding import documents, read
from ..histories.feedback import ANSWERS, EVENTS


async def test_live_writes_and_a_rebuilds_load_keep_one_fact_per_answer(
    generations: Generations,
) -> None:
    live = generations.store(1)
    for item in [ANSWERS[0], ANSWERS[0], ANSWERS[1]]:
        await live.apply(item, read(item))
    assert sorted(await live.survey_answers.distinct("_id")) == ["a1", "a2"]

    # A rebuild folds the streams in memory and loads the documents into a new generation.
    built = generations.store(2)
    await built.load(documents([*EVENTS, *ANSWERS], columnar=False))
    loaded = await built.survey_answers.find({}).to_list()
    assert sorted(row["_id"] for row in loaded) == ["a1", "a2", "a3", "a4", "a5"]
    await built.drop()
