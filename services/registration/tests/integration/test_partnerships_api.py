"""The partnership registry through the API, against the real Kafka and FerretDB: recorded,
changed and ended with an event each; each bad input refused with its reason and nothing
stored; readers and the public kept to what they may do."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from etnik.common.contracts.registration import PARTNERSHIPS_TOPIC

if TYPE_CHECKING:
    from conftest import RegistrationApp


async def _organisation(registration: RegistrationApp, kind: str, region: str) -> dict[str, Any]:
    created = await registration.client.post(
        "/organisations",
        json={"name": f"{kind} {uuid.uuid4().hex[:6]}", "kind": kind, "region_code": region},
        headers=registration.auth(registration.admin_token),
    )
    assert created.status_code == 201, created.text
    organisation: dict[str, Any] = created.json()
    return organisation


def _body(ngo: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "subject": "Совместный фестиваль национальных культур и курс родного языка",
        "parties": [
            {"organisation_id": ngo["id"]},
            {"name": "Министерство национальной политики Республики Саха (Якутия)",
             "sector": "authority"},
        ],
        "formed_on": "2026-11-20",
        **overrides,
    }  # fmt: skip


async def _count(registration: RegistrationApp, ngo: dict[str, Any]) -> int:
    listed = await registration.client.get(
        "/partnerships",
        params={"organisation_id": ngo["id"]},
        headers=registration.auth(registration.admin_token),
    )
    assert listed.status_code == 200, listed.text
    return len(listed.json())


async def test_a_partnership_is_recorded_changed_and_ended_with_an_event_each(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    ngo = await _organisation(registration, "ngo", "14")  # Якутия: ДФО
    business = await _organisation(registration, "other", "14")
    event = await registration.event()
    recorded = await registration.client.post(
        "/partnerships",
        json=_body(ngo, event_id=event["id"]),
        headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert recorded.status_code == 201, recorded.text
    partnership = recorded.json()
    assert [(p["sector"], p["organisation_id"]) for p in partnership["parties"]] == [
        ("ngo", ngo["id"]),
        ("authority", None),
    ]
    assert partnership["parties"][0]["name"] == ngo["name"]
    assert (partnership["federal_district"], partnership["status"], partnership["version"]) == (
        "ДФО",
        "active",
        1,
    )

    # A business registered as "other" in the directory is named a business here.
    changed = await registration.client.patch(
        f"/partnerships/{partnership['id']}",
        json={
            "version": 1,
            "parties": [
                {"organisation_id": ngo["id"]},
                {"organisation_id": business["id"], "sector": "business"},
                {"name": "Газета «Якутия»", "sector": "media"},
            ],
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert [p["sector"] for p in changed.json()["parties"]] == ["ngo", "business", "media"]
    assert changed.json()["version"] == 2
    stale = await registration.client.patch(
        f"/partnerships/{partnership['id']}",
        json={"version": 1, "subject": "Другое"},
        headers=admin,
    )
    assert stale.status_code == 409
    assert "version 2" in stale.json()["detail"]

    ended_on = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    ended = await registration.client.post(
        f"/partnerships/{partnership['id']}/end", json={"ended_on": ended_on}, headers=admin
    )
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["ended_on"]) == ("ended", ended_on)
    again = await registration.client.post(
        f"/partnerships/{partnership['id']}/end", json={"ended_on": ended_on}, headers=admin
    )
    assert again.status_code == 409

    published = await registration.published(
        PARTNERSHIPS_TOPIC, lambda e: e["data"]["partnership_id"] == partnership["id"], wait_s=30
    )
    types = {e["type"]: e for e in published}
    assert set(types) == {
        "ru.etnik.partnership.formed",
        "ru.etnik.partnership.changed",
        "ru.etnik.partnership.ended",
    }
    assert types["ru.etnik.partnership.changed"]["data"]["changes"] == ["parties"]
    assert types["ru.etnik.partnership.ended"]["data"]["version"] == 3
    assert types["ru.etnik.partnership.formed"]["data"]["event_id"] == event["id"]


async def test_each_bad_partnership_is_refused_with_its_reason_and_nothing_is_stored(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    ngo = await _organisation(registration, "ngo", "03")  # Бурятия
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    refusals: list[tuple[dict[str, Any], int, str]] = [
        (
            _body(ngo, parties=[{"organisation_id": ngo["id"]}]),
            422,
            "a partnership needs at least two parties",
        ),
        (
            _body(ngo, parties=[{"organisation_id": ngo["id"]}, {"organisation_id": "nobody"}]),
            422,
            "party 2: unknown organisation nobody",
        ),
        (
            _body(ngo, parties=[{"organisation_id": ngo["id"]}, {"organisation_id": ngo["id"]}]),
            422,
            "party 2: this party is already named",
        ),
        (
            _body(ngo, parties=[{"organisation_id": ngo["id"]}, {"name": "ООО «Северный ветер»"}]),
            422,
            "party 2: give an organisation_id from the directory, or the party's name and sector",
        ),
        (_body(ngo, event_id="no-such-event"), 422, "unknown event no-such-event"),
        (_body(ngo, federal_district="XYZ"), 422, "unknown federal district XYZ"),
        (_body(ngo, formed_on=tomorrow), 422, "formed_on is in the future"),
        (
            _body(
                ngo,
                parties=[
                    {"name": "Администрация г. Кызыла", "sector": "authority"},
                    {"name": "ООО «Саяны»", "sector": "business"},
                ],
            ),
            422,
            "federal_district is needed",
        ),
    ]
    for body, status, reason in refusals:
        refused = await registration.client.post("/partnerships", json=body, headers=admin)
        assert refused.status_code == status, (body, refused.text)
        assert reason in str(refused.json()["detail"]), (body, refused.text)
    unknown_sector = await registration.client.post(
        "/partnerships",
        json=_body(
            ngo, parties=[{"organisation_id": ngo["id"]}, {"name": "X Y", "sector": "army"}]
        ),
        headers=admin,
    )
    assert unknown_sector.status_code == 422
    assert await _count(registration, ngo) == 0

    # A valid one is stored; a change that would break it is refused and changes nothing.
    stored = await registration.client.post("/partnerships", json=_body(ngo), headers=admin)
    assert stored.status_code == 201, stored.text
    partnership = stored.json()
    assert partnership["federal_district"] == "ДФО"  # from the NGO's region
    url = f"/partnerships/{partnership['id']}"
    for change, reason in [
        ({"parties": [{"organisation_id": ngo["id"]}]}, "at least two parties"),
        ({"subject": None}, "subject may not be null"),
        ({"event_id": "no-such-event"}, "unknown event"),
    ]:
        refused = await registration.client.patch(url, json=change, headers=admin)
        assert refused.status_code == 422, refused.text
        assert reason in refused.text
    before_formed = (date(2026, 11, 1)).isoformat()
    early = await registration.client.post(
        f"{url}/end", json={"ended_on": before_formed}, headers=admin
    )
    assert (early.status_code, early.json()["detail"]) == (422, "ended_on is before formed_on")
    unchanged = await registration.client.get(url, headers=admin)
    assert unchanged.json()["version"] == 1
    assert unchanged.json()["status"] == "active"
    missing = await registration.client.get("/partnerships/nope", headers=admin)
    assert (missing.status_code, missing.json()["detail"]) == (404, "unknown partnership")


async def test_only_staff_read_and_only_operators_record_partnerships(
    registration: RegistrationApp,
) -> None:
    ngo = await _organisation(registration, "ngo", "14")
    moderator = registration.auth(await registration.operator(["moderator"]))
    assert (await registration.client.get("/partnerships")).status_code == 401
    assert (await registration.client.get("/partnerships", headers=moderator)).status_code == 200
    refused = await registration.client.post("/partnerships", json=_body(ngo), headers=moderator)
    assert refused.status_code == 403
    assert await _count(registration, ngo) == 0
