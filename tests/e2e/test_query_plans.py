"""Every query the services sent during the run is served by an index, not a collection scan.

Each service records the shape of every query it sends (`MONGODB_QUERY_LOG`,
etnik.common.query_log) while the rest of the suite runs; this test, which runs last, asks the
server to explain each shape and fails on a collection scan (on FerretDB v2, whose planner
weighs costs, a scan passes where an index fitting the filter exists). FerretDB v1 uses no
index for any
query (docs/benchmarks.md), so there the test is skipped with that reason: run the suite with
`MONGODB_URL` pointing at MongoDB (or another server that uses indexes) to check the plans.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from etnik.common.query_log import read_shapes
from etnik.common.topics import SERVICES
from etnik.devstack import Stack

pytestmark = pytest.mark.runs_last


def _nodes(plan: Any) -> Iterator[dict[str, Any]]:
    """Every object in a nested explain document."""
    if isinstance(plan, dict):
        yield plan
        for value in plan.values():
            yield from _nodes(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from _nodes(value)


def _documentdb_index_used(node: dict[str, Any]) -> bool:
    """Whether a PostgreSQL plan node of DocumentDB narrows by an index: a field's own index,
    or the `_id_` index with a condition on the id (its shard-key condition alone is a scan)."""
    name = node.get("Index Name")
    return name is not None and (name != "_id_" or "object_id" in str(node.get("Index Cond")))


def scanned(explained: dict[str, Any]) -> bool:
    """Whether an explain answer's chosen plan reads the whole collection.

    MongoDB names the plan's stages (COLLSCAN); FerretDB v2 answers with DocumentDB's
    PostgreSQL plan, where a query that no index narrows still passes through `_id_`."""
    planner = explained.get("queryPlanner", explained)
    if "winningPlan" in planner:
        return any(node.get("stage") == "COLLSCAN" for node in _nodes(planner["winningPlan"]))
    return not any(_documentdb_index_used(node) for node in _nodes(planner.get("Plan")))


# Operators an index cannot narrow by.
UNINDEXABLE = frozenset({"$ne", "$nin", "$not", "$exists"})


def _narrowing_fields(query: dict[str, Any]) -> set[str] | None:
    """The fields an index could narrow this filter by; None when an `$or` branch has none."""
    fields: set[str] = set()
    for key, condition in query.items():
        if key == "$or":
            branches = [_narrowing_fields(branch) for branch in condition]
            if all(branches):
                fields |= set().union(*(b for b in branches if b))
            continue
        if key.startswith("$"):
            continue
        operators = set(condition) if isinstance(condition, dict) else set()
        exists_true = isinstance(condition, dict) and condition.get("$exists") is True
        if not operators or operators - UNINDEXABLE or exists_true:
            fields.add(key)
    return fields or None


def an_index_leads_with(query: dict[str, Any], indexes: list[dict[str, Any]]) -> bool:
    """Whether some index starts with a field the filter narrows by (what a cost-based planner
    may still pass over on a small or unselective collection)."""
    fields = _narrowing_fields(query) or set()
    return any(next(iter(index["key"])) in fields for index in indexes)


def ferretdb_v1(client: MongoClient[dict[str, Any]]) -> bool:
    """Whether the server is FerretDB v1, which uses no index for any query."""
    info = client.admin.command("buildInfo")
    return str(info.get("ferretdbVersion", "")).lstrip("v").startswith("1.")


def service_of(database: str) -> str | None:
    """The service whose database this is (`etnik_<service>`, a test's `etnik_t<id>_<service>`
    or an in-process test's `etnik_<service>_it_<id>`)."""
    return next((part for part in database.split("_") if part in SERVICES), None)


def selects_nothing(query: Any) -> bool:
    """Whether a filter holds an empty `$in`, which matches nothing and reads nothing."""
    if isinstance(query, dict):
        return any(
            (key == "$in" and value == []) or selects_nothing(value) for key, value in query.items()
        )
    return isinstance(query, list) and any(selects_nothing(value) for value in query)


def test_every_recorded_query_is_served_by_an_index(
    platform: Stack, request: pytest.FixtureRequest
) -> None:
    log = Path(os.environ["MONGODB_QUERY_LOG"])  # set for the run by the root conftest
    shapes = [shape for shape in read_shapes(log) if shape["filter"]]
    recorded = {service_of(shape["database"]) for shape in shapes}
    ran = {s for s in SERVICES if any(f"services/{s}/" in i.nodeid for i in request.session.items)}
    # Where each service's tests ran, a service missing from the log means the recording broke.
    assert ran <= recorded, f"no queries recorded for {sorted(ran - recorded)}"
    # Each shape is explained on the database of the service as the platform runs it, with the
    # indexes it makes at start (a test's own database may lack them), once.
    checks: dict[str, tuple[str, dict[str, Any]]] = {}
    for shape in shapes:
        service = service_of(shape["database"])
        if service is None or selects_nothing(shape["filter"]):
            continue
        find = {"find": shape["collection"], "filter": shape["filter"]}
        if shape["sort"]:
            find["sort"] = shape["sort"]
        database = platform.database_name(service)
        checks.setdefault(f"{database}.{shape['command']} {find}", (database, find))
    with MongoClient(platform.mongodb_url, serverSelectionTimeoutMS=5000) as client:
        if ferretdb_v1(client):
            pytest.skip(
                f"{len(checks)} query shapes recorded, not checked: FerretDB v1 uses no index "
                "for any query; run with MONGODB_URL pointing at a server that does"
            )
        scans = []
        collections = {name: client[name].list_collection_names() for name, _ in checks.values()}
        for described, (database, find) in checks.items():
            if find["find"] not in collections[database]:
                continue  # the platform never made it (a test's own collection): nothing to scan
            try:
                explained = client[database].command({"explain": find, "verbosity": "queryPlanner"})
            except OperationFailure as error:
                scans.append(f"{described}: explain failed: {error}")
                continue
            if not scanned(explained):
                continue
            # DocumentDB plans by cost, as PostgreSQL does: on a collection of a few documents, or
            # for a value most documents share, it may read them all although an index fits.
            # MongoDB's planner uses a fitting index always, so there a scan is never excused.
            documentdb = "winningPlan" not in explained.get("queryPlanner", {})
            indexes = list(client[database][find["find"]].list_indexes())
            if not (documentdb and an_index_leads_with(find["filter"], indexes)):
                scans.append(described)
    assert not scans, "collection scans:\n" + "\n".join(scans)
