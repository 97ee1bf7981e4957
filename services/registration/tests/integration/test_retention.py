"""Retention: people with no registration for the retention period are erased by a scheduled
job that operators preview and audit, through the API on real Kafka and FerretDB.

Each test runs its own registration app on a database of its own, with the programme ended
long ago and a retention period of seconds, so that people become due within the test.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from etnik.common.contracts.registration import PEOPLE_TOPIC

if TYPE_CHECKING:
    from conftest import NewApp, RegistrationApp
ADMIN_EMAIL = "retention-admin@example.org"
ADMIN_PASSWORD = "retention-admin-password-1"  # these test apps only
PERIOD_S = 4.0
# Longer than any test: the job's first pass (on an empty database) is its only one.
NEVER_S = 1e9


def _app(new_app: NewApp, database: str, **overrides: Any) -> Any:
    """A registration app on `database` whose programme ended in 2020."""
    return new_app(
        database,
        programme_ends_on=date(2020, 12, 31),
        retention_period=timedelta(seconds=PERIOD_S),
        **overrides,
    )


def _database() -> str:
    return f"etnik_registration_retention_{uuid.uuid4().hex[:8]}"


async def _person(app: RegistrationApp, name: str) -> str:
    """Someone an operator added, who never registered."""
    created = await app.client.post(
        "/people",
        json={"full_name": name, "email": f"r.{uuid.uuid4().hex[:10]}@example.org"},
        headers=app.auth(app.admin_token),
    )
    assert created.status_code == 201, created.text
    person_id: str = created.json()["id"]
    return person_id


async def _registered(app: RegistrationApp, event_id: str, email: str | None = None) -> str:
    response = await app.register(event_id, email)
    assert response.status_code in (200, 201), response.text
    person_id: str = response.json()["person_id"]
    return person_id


async def test_preview_lists_exactly_who_is_due_and_a_run_erases_them_with_an_audit(
    new_registration_app: NewApp,
) -> None:
    async with _app(new_registration_app, _database(), retention_check_interval_s=NEVER_S) as app:
        old_event = await app.event()
        never_registered = await _person(app, "Давно Известный")
        registered_long_ago = await _registered(app, old_event["id"])
        returning_email = f"back.{uuid.uuid4().hex[:8]}@example.org"
        returning = await _registered(app, old_event["id"], returning_email)
        await asyncio.sleep(PERIOD_S + 0.5)
        # Registered within the period: kept, whether new or known for longer.
        new_event = await app.event()
        recent = await _registered(app, new_event["id"])
        assert await _registered(app, new_event["id"], returning_email) == returning
        started = time.monotonic()

        operator = app.auth(await app.operator(["operator"]))
        preview = await app.client.get("/retention/preview", headers=operator)
        assert time.monotonic() - started < PERIOD_S  # still within the recent ones' period
        assert preview.status_code == 200, preview.text
        body = preview.json()
        due = {person["id"]: person for person in body["people"]}
        assert set(due) == {never_registered, registered_long_ago}
        assert body["truncated"] is False
        assert due[never_registered]["full_name"] == "Давно Известный"
        assert due[never_registered]["last_registration_at"] is None
        assert due[never_registered]["reason"].startswith("never registered")
        assert due[registered_long_ago]["last_registration_at"]
        assert due[registered_long_ago]["reason"].startswith("last registered on")
        # Ids and names only: no contacts in the preview.
        assert all(
            set(p) == {"id", "full_name", "last_registration_at", "reason"} for p in due.values()
        )
        limited = await app.client.get("/retention/preview", params={"limit": 1}, headers=operator)
        assert (len(limited.json()["people"]), limited.json()["truncated"]) == (1, True)

        # Bad requests change nothing.
        participant, _ = app.container.signing_key.issue(
            app.container.settings, subject=recent, kind="participant", roles=[]
        )
        for response, status in (
            (await app.client.get("/retention/preview"), 401),
            (await app.client.get("/retention/preview", headers=app.auth(participant)), 403),
            (
                await app.client.get("/retention/preview", params={"limit": 0}, headers=operator),
                422,
            ),
            (await app.client.post("/retention/runs", headers=operator), 403),  # admins run it
            (await app.client.get("/retention/runs", params={"limit": 0}, headers=operator), 422),
        ):
            assert response.status_code == status, response.text
        assert not await app.container.repository.people.find_one(
            {"_id": {"$in": list(due)}, "erased": True}
        )

        run = await app.client.post("/retention/runs", headers=app.auth(app.admin_token))
        assert run.status_code == 201, run.text
        record = run.json()
        assert record["status"] == "finished"
        assert record["trigger"].startswith("operator:")
        assert (record["count"], set(record["erased_ids"]), record["failed_ids"]) == (
            2,
            {never_registered, registered_long_ago},
            [],
        )
        for person_id in (never_registered, registered_long_ago):
            person = await app.container.repository.people.find_one({"_id": person_id})
            assert person is not None
            assert (person["erased"], person["erased_by"]) == (True, "retention")
            assert person["email"].endswith("@erased.invalid")
        for person_id in (recent, returning):
            kept = await app.container.repository.people.find_one({"_id": person_id})
            assert kept is not None
            assert not kept.get("erased")
        # Every service is told, as with any erasure.
        await app.published(
            PEOPLE_TOPIC,
            lambda e: e["subject"] == registered_long_ago and e["type"] == "ru.etnik.person.erased",
        )

        audit = (await app.client.get("/retention/runs", headers=operator)).json()
        assert audit[0]["id"] == record["id"]
        assert set(audit[0]["erased_ids"]) == {never_registered, registered_long_ago}
        assert [r["trigger"] for r in audit[1:]] == ["schedule"]  # the job's pass at start
        assert audit[1]["count"] == 0
        again = await app.client.get("/retention/preview", headers=operator)
        listed = {person["id"] for person in again.json()["people"]}
        assert not listed & {never_registered, registered_long_ago}  # erased: never due again
        if time.monotonic() - started < PERIOD_S:  # on a loaded machine the recent ones may be due
            assert listed == set()


async def test_the_scheduled_job_erases_who_is_due_once_across_replicas(
    new_registration_app: NewApp,
) -> None:
    database = _database()
    async with (
        _app(new_registration_app, database, retention_check_interval_s=NEVER_S) as app,
    ):
        forgotten = [await _person(app, f"Забытый Участник {n}") for n in range(3)]
    # Two replicas with a short interval share the database: each pass runs on one only.
    async with (
        _app(new_registration_app, database, retention_check_interval_s=0.5) as one,
        _app(new_registration_app, database, retention_check_interval_s=0.5),
    ):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = await one.container.retention.runs(limit=500, offset=0)
            erased = [pid for run in runs for pid in run["erased_ids"]]
            if set(forgotten) <= set(erased):
                break
            await asyncio.sleep(0.3)
        else:
            raise AssertionError(f"the scheduled job did not erase them: {runs}")
        scheduled = [run for run in runs if run["trigger"] == "schedule"]
        assert len(scheduled) >= 2
        assert len({run["_id"] for run in scheduled}) == len(scheduled)
        assert sorted(erased) == sorted(forgotten)  # each exactly once
        for person_id in forgotten:
            person = await one.container.repository.people.find_one({"_id": person_id})
            assert person is not None
            assert person["erased_by"] == "retention"
