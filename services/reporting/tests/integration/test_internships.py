"""Internships on the real FerretDB: live writes and a rebuild's load alike keep the newest
outcome, and no person's id (unit/test_internships.py counts them)."""

from __future__ import annotations

from etnik.reporting.projections import Generations

from ..folding import documents, read
from ..histories.internships import HISTORY


async def test_live_writes_and_a_rebuilds_load_keep_the_newest_outcome(
    generations: Generations,
) -> None:
    live = generations.store(1)
    recorded, corrected, decided = HISTORY[16], HISTORY[17], HISTORY[13]
    for item in [corrected, decided, recorded, corrected]:  # out of order, with a repeat
        await live.apply(item, read(item))
    [outcome] = await live.internship_outcomes.find({}).to_list()
    assert (outcome["_id"], outcome["version"], outcome["hours"]) == ("a1", 2, 30)
    [application] = await live.internship_applications.find({}).to_list()
    assert (application["decision"], application["federal_district"]) == ("approved", "ДФО")
    # No person's id is kept: only the pseudonymous facts reporting counts.
    assert "person" not in str(outcome) + str(application)

    built = generations.store(2)
    await built.load(documents(HISTORY, columnar=False))
    assert sorted(row["_id"] for row in await built.internships.find({}).to_list()) == [
        "d1",
        "f1",
        "i1",
        "i2",
    ]
    assert await built.internship_applications.count_documents({}) == 8
    await built.drop()
