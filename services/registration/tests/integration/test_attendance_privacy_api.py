"""Attendance (check-in, online minutes, no-shows), personal data (export, erasure), operators'
lists and exports, and invitation campaigns, through the API on real Kafka and FerretDB."""

from __future__ import annotations

import csv
import io
import uuid
from typing import TYPE_CHECKING, Any

from openpyxl import load_workbook  # type: ignore[import-untyped]

from etnik.common.contracts.registration import (
    ATTENDANCE_TOPIC,
    CAMPAIGNS_TOPIC,
    PEOPLE_TOPIC,
    REGISTRATIONS_TOPIC,
)

if TYPE_CHECKING:
    from conftest import RegistrationApp


async def _view(registration: RegistrationApp, body: dict[str, Any]) -> dict[str, Any]:
    response = await registration.client.get(
        "/registrations/by-link", params={"token": body["manage_token"]}
    )
    view: dict[str, Any] = response.json()
    return view


async def test_check_in_by_qr_or_typed_code_and_no_shows_kept_apart(
    registration: RegistrationApp,
) -> None:
    event = await registration.event(format="in_person", online_link=None, capacity=3)
    check_in = registration.auth(await registration.operator(["check_in"]))
    operator = registration.auth(await registration.operator(["operator"]))
    scanned, typed, absent = [(await registration.register(event["id"])).json() for _ in range(3)]
    waiting = (await registration.register(event["id"])).json()
    qr = (await _view(registration, scanned))["qr_value"]
    code = (await _view(registration, typed))["check_in_code"]
    url = f"/events/{event['id']}/check-in"

    assert (
        await registration.client.post(url, json={"code": qr}, headers=operator)
    ).status_code == 403
    first = await registration.client.post(url, json={"code": qr}, headers=check_in)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "registration_id": scanned["id"],
        "attendance": "attended",
        "method": "qr",
        "minutes_attended": None,
    }
    again = await registration.client.post(url, json={"code": qr}, headers=check_in)
    assert again.headers["X-Already-Checked-In"] == "true"
    lowercase = f"{code[:4].lower()}-{code[4:].lower()}"
    by_code = await registration.client.post(url, json={"code": lowercase}, headers=check_in)
    assert by_code.json()["method"] == "code"
    unknown = await registration.client.post(url, json={"code": "ZZZZZZZZ"}, headers=check_in)
    assert unknown.status_code == 404

    admin = registration.auth(registration.admin_token)
    for action in ("close-registration", "complete"):
        moved = await registration.client.post(f"/events/{event['id']}/{action}", headers=admin)
        assert moved.status_code == 200, moved.text
    page = await registration.client.get(
        "/registrations", params={"event_id": event["id"]}, headers=admin
    )
    attendance = {row["id"]: row["attendance"] for row in page.json()["items"]}
    assert attendance == {
        scanned["id"]: "attended",
        typed["id"]: "attended",
        absent["id"]: "no_show",
        waiting["id"]: "registered",
    }
    [recorded] = await registration.published(
        ATTENDANCE_TOPIC,
        lambda e: e["subject"] == absent["id"] and e["type"] == "ru.etnik.attendance.recorded",
    )
    assert recorded["data"]["attended"] is False


def _session(registration_id: str, joined: str, left: str) -> dict[str, str]:
    return {
        "registration_id": registration_id,
        "joined_at": f"2027-03-01T{joined}:00Z",
        "left_at": f"2027-03-01T{left}:00Z",
    }


async def test_online_attendance_counts_minutes_against_the_events_rule(
    registration: RegistrationApp,
) -> None:
    # 11:00-14:00 UTC; attended means at least 60 minutes.
    event = await registration.event(attendance_rule={"min_share": None, "min_minutes": 60})
    stayed, dropped_in = [(await registration.register(event["id"])).json() for _ in range(2)]
    records = {
        "sessions": [
            _session(stayed["id"], "10:50", "11:40"),  # 40 minutes inside the event
            _session(stayed["id"], "11:30", "12:10"),  # overlaps: 30 more
            _session(dropped_in["id"], "11:00", "11:20"),
        ]
    }
    url = f"/events/{event['id']}/attendance/online"
    check_in = registration.auth(await registration.operator(["check_in"]))
    response = await registration.client.post(url, json=records, headers=check_in)
    assert response.status_code == 200, response.text
    result = {row["registration_id"]: row for row in response.json()}
    assert result[stayed["id"]]["minutes_attended"] == 70
    assert result[stayed["id"]]["attendance"] == "attended"
    assert result[dropped_in["id"]]["minutes_attended"] == 20
    assert result[dropped_in["id"]]["attendance"] == "no_show"
    # The platform resends its records: nothing is counted twice.
    again = await registration.client.post(url, json=records, headers=check_in)
    assert {r["minutes_attended"] for r in again.json()} == {70, 20}
    stranger = {"sessions": [_session(uuid.uuid4().hex, "11:00", "11:20")]}
    assert (await registration.client.post(url, json=stranger, headers=check_in)).status_code == 404


async def test_a_person_exports_their_data_and_erasure_anonymises_them(
    registration: RegistrationApp,
) -> None:
    event = await registration.event(capacity=1)
    email = f"erase.{uuid.uuid4().hex[:8]}@example.org"
    mine = (await registration.register(event["id"], email, phone="+7 914 123-45-67")).json()
    next_in_line = (await registration.register(event["id"])).json()
    await registration.client.post("/auth/sign-in-link", json={"email": email})
    [link] = await registration.published(
        "etnik.registration.sign_in_links.v1", lambda e: e["subject"] == mine["person_id"]
    )
    tokens = (
        await registration.client.post(
            "/auth/sign-in", json={"token": link["data"]["link"].split("token=")[1]}
        )
    ).json()
    as_me = registration.auth(tokens["access_token"])

    exported = (await registration.client.get("/me/export", headers=as_me)).json()
    assert exported["person"]["email"] == email
    assert exported["person"]["phone"] == "+79141234567"
    assert [r["id"] for r in exported["registrations"]] == [mine["id"]]
    assert exported["consents"][0]["scope"] == "personal_data"
    assert exported["consents"][0]["user_agent"] == "pytest-browser/1.0"

    erased = await registration.client.post("/me/erase", headers=as_me)
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] is True
    assert email not in erased.json()["email"]
    assert erased.json()["phone"] is None
    [erasure] = await registration.published(
        PEOPLE_TOPIC,
        lambda e: e["subject"] == mine["person_id"] and e["type"] == "ru.etnik.person.erased",
    )
    assert erasure["data"]["person_id"] == mine["person_id"]
    # The registration is cancelled and its place offered to the next person.
    await registration.published(
        REGISTRATIONS_TOPIC,
        lambda e: (
            e["subject"] == next_in_line["id"] and e["type"] == "ru.etnik.registration.offered"
        ),
    )
    # Signed out everywhere; the address no longer signs in.
    refused = await registration.client.post(
        "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 401
    others = await registration.client.get(
        "/me/export", headers=registration.auth(registration.admin_token)
    )
    assert others.status_code == 403  # an operator is not a participant


async def test_operators_filter_page_and_export_registrations(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event()
    for index, (category, region) in enumerate(
        [("media", "77"), ("expert", "41"), ("expert", "41"), ("ngo_leader", "16")]
    ):
        await registration.register(
            event["id"],
            category=category,
            region_code=region,
            full_name=f'=HYPERLINK("x") Участник {index}',
        )
    experts = await registration.client.get(
        "/registrations",
        params={"event_id": event["id"], "category": "expert", "region_code": "41", "limit": 1},
        headers=admin,
    )
    assert experts.json()["total"] == 2
    assert len(experts.json()["items"]) == 1
    row = experts.json()["items"][0]
    assert row["full_name"].startswith('=HYPERLINK("x") Участник')  # the row names its person
    assert row["email"].endswith("@example.org")
    second_page = await registration.client.get(
        "/registrations",
        params={"event_id": event["id"], "category": "expert", "limit": 1, "offset": 1},
        headers=admin,
    )
    assert second_page.json()["items"][0]["id"] != experts.json()["items"][0]["id"]
    by_district = await registration.client.get(
        "/registrations", params={"event_id": event["id"], "federal_district": "ДФО"}, headers=admin
    )
    assert by_district.json()["total"] == 4  # the event's district

    moderator = registration.auth(await registration.operator(["moderator"]))
    forbidden = await registration.client.get(
        "/registrations/export", params={"event_id": event["id"]}, headers=moderator
    )
    assert forbidden.status_code == 403
    exported = await registration.client.get(
        "/registrations/export", params={"event_id": event["id"], "format": "csv"}, headers=admin
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "ID регистрации"
    assert len(rows) == 5
    names = {row[6] for row in rows[1:]}
    assert all(name.startswith("'=HYPERLINK") for name in names)  # never run as a formula

    workbook_response = await registration.client.get(
        "/registrations/export", params={"event_id": event["id"], "format": "xlsx"}, headers=admin
    )
    sheet = load_workbook(io.BytesIO(workbook_response.content)).active
    assert sheet.max_row == 5
    assert sheet.cell(row=1, column=7).value == "ФИО"
    bad_format = await registration.client.get(
        "/registrations/export", params={"format": "pdf"}, headers=admin
    )
    assert bad_format.status_code == 422


async def test_an_invitation_campaign_invites_its_audience_once(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event()
    marker = uuid.uuid4().hex[:6]
    organisation = await registration.client.post(
        "/organisations",
        json={
            "name": f"Автономия {marker}",
            "kind": "national_cultural_autonomy",
            "region_code": "03",
        },
        headers=admin,
    )
    people = [("bair", "03", organisation.json()["id"]), ("olga", "77", None)]
    for name, region, org in people:
        await registration.client.post(
            "/people",
            json={
                "full_name": f"{name} {marker}",
                "email": f"{name}.{marker}@example.org",
                "category": "ngo_leader",
                "region_code": region,
                "organisation_id": org,
            },
            headers=admin,
        )
    body = {
        "event_id": event["id"],
        "federal_districts": ["ДФО"],
        "categories": ["ngo_leader"],
        "organisation_kinds": ["national_cultural_autonomy"],
    }
    campaign = await registration.client.post("/invitation-campaigns", json=body, headers=admin)
    assert campaign.status_code == 201, campaign.text
    assert campaign.json()["invitations"] >= 1  # bair, not olga (ЦФО, no autonomy)
    invited = await registration.client.get(f"/events/{event['id']}/invitations", headers=admin)
    assert len(invited.json()) == campaign.json()["invitations"]
    repeat = await registration.client.post("/invitation-campaigns", json=body, headers=admin)
    assert repeat.json()["invitations"] == 0  # nobody is invited twice
    [created] = await registration.published(
        CAMPAIGNS_TOPIC, lambda e: e["subject"] == campaign.json()["id"]
    )
    assert created["data"]["organisation_kinds"] == ["national_cultural_autonomy"]
    listed = await registration.client.get(
        "/invitation-campaigns", params={"event_id": event["id"]}, headers=admin
    )
    assert [c["id"] for c in listed.json()] == [repeat.json()["id"], campaign.json()["id"]]
    assert listed.json()[1]["organisation_kinds"] == ["national_cultural_autonomy"]
    check_in = registration.auth(await registration.operator(["check_in"]))
    refused = await registration.client.get("/invitation-campaigns", headers=check_in)
    assert refused.status_code == 403
