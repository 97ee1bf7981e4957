"""Every query the services sent during the run is served by an index, not a collection scan.

Each service records the shape of every query it sends (`MONGODB_QUERY_LOG`,
etnik.common.query_log) while the rest of the suite runs; this test, which runs last, asks the
server to explain each shape and fails on a collection scan. FerretDB v1 uses no index for any
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


def ferretdb_v1(client: MongoClient[dict[str, Any]]) -> bool:
    """Whether the server is FerretDB v1, which uses no index for any query."""
    info = client.admin.command("buildInfo")
    return str(info.get("ferretdbVersion", "")).lstrip("v").startswith("1.")


SERVICES = ("registration", "notification", "content", "reporting")


def test_every_recorded_query_is_served_by_an_index(
    platform: Stack, request: pytest.FixtureRequest
) -> None:
    log = Path(os.environ["MONGODB_QUERY_LOG"])  # set for the run by the root conftest
    shapes = [shape for shape in read_shapes(log) if shape["filter"]]
    recorded = {shape["database"].rsplit("_", 1)[-1] for shape in shapes}
    ran = {s for s in SERVICES if any(f"services/{s}/" in i.nodeid for i in request.session.items)}
    # Where each service's tests ran, a service missing from the log means the recording broke.
    assert ran <= recorded, f"no queries recorded for {sorted(ran - recorded)}"
    with MongoClient(platform.mongodb_url, serverSelectionTimeoutMS=5000) as client:
        if ferretdb_v1(client):
            pytest.skip(
                f"{len(shapes)} query shapes recorded, not checked: FerretDB v1 uses no index "
                "for any query; run with MONGODB_URL pointing at a server that does"
            )
        scans = []
        existing: dict[str, list[str]] = {}
        for shape in shapes:
            database = shape["database"]
            if database not in existing:
                existing[database] = client[database].list_collection_names()
            if shape["collection"] not in existing[database]:
                continue  # dropped since (a test's own collection): nothing left to scan
            find = {"find": shape["collection"], "filter": shape["filter"]}
            if shape["sort"]:
                find["sort"] = shape["sort"]
            try:
                explained = client[shape["database"]].command(
                    {"explain": find, "verbosity": "queryPlanner"}
                )
            except OperationFailure as error:
                scans.append(f"{shape}: explain failed: {error}")
                continue
            if scanned(explained):
                scans.append(
                    f"{shape['database']}.{shape['collection']} {shape['command']} "
                    f"filter={shape['filter']} sort={shape['sort']}"
                )
    assert not scans, "collection scans:\n" + "\n".join(scans)
