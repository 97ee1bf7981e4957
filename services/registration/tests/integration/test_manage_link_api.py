"""What the participant's own page reads through the signed link in every message about a
registration: the owner's view and the event's calendar file (.ics), on the real stack."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from icalendar import Calendar

if TYPE_CHECKING:
    from conftest import RegistrationApp

LINK = "https://telemost.yandex.ru/j/123456"


async def _calendar(registration: RegistrationApp, token: str) -> httpx.Response:
    return await registration.client.get(
        "/registrations/by-link/calendar.ics", params={"token": token}
    )


def _only_event(body: bytes) -> Any:
    [entry] = Calendar.from_ical(body).walk("VEVENT")
    return entry


async def test_a_confirmed_participant_downloads_the_event_with_its_session_link(
    registration: RegistrationApp,
) -> None:
    event = await registration.event(capacity=1)
    confirmed = (await registration.register(event["id"])).json()
    assert confirmed["status"] == "confirmed"

    answer = await _calendar(registration, confirmed["manage_token"])

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    assert answer.headers["content-disposition"] == 'attachment; filename="etnik-2027-03-01.ics"'
    assert answer.headers["cache-control"] == "no-store"
    entry = _only_event(answer.content)
    assert str(entry["summary"]) == event["title"]
    assert entry.decoded("dtstart") == datetime(2027, 3, 1, 11, 0, tzinfo=UTC)
    assert entry.decoded("dtend") == datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
    assert str(entry["uid"]) == f"{event['id']}@etnik"  # the confirmation's attachment's
    assert str(entry["url"]) == LINK


async def test_a_waitlisted_participants_file_has_no_session_link(
    registration: RegistrationApp,
) -> None:
    event = await registration.event(capacity=1)
    await registration.register(event["id"])
    waiting = (await registration.register(event["id"])).json()
    assert waiting["status"] == "waitlisted"

    answer = await _calendar(registration, waiting["manage_token"])

    assert answer.status_code == 200, answer.text
    assert str(_only_event(answer.content)["summary"]) == event["title"]
    assert b"telemost" not in answer.content


async def test_a_hybrid_events_file_has_the_venue_and_once_confirmed_the_link(
    registration: RegistrationApp,
) -> None:
    venue = "Москва, ул. Покровка, 47, Дом народов России"
    event = await registration.event(format="hybrid", venue=venue)
    confirmed = (await registration.register(event["id"])).json()

    entry = _only_event((await _calendar(registration, confirmed["manage_token"])).content)

    assert str(entry["location"]) == venue
    assert str(entry["url"]) == LINK


async def test_a_forged_or_expired_link_gets_no_file(registration: RegistrationApp) -> None:
    event = await registration.event()
    registered = (await registration.register(event["id"])).json()
    forged = registered["manage_token"][:-4] + "AAAA"
    expired = registration.container.signing_key.sign_link(
        purpose="manage", subject=registered["id"], ttl_s=-60
    )
    invitation = registration.container.signing_key.sign_link(
        purpose="invitation", subject=registered["id"], ttl_s=600
    )

    assert (await _calendar(registration, forged)).status_code == 403
    assert (await _calendar(registration, "not-a-token")).status_code == 403
    assert (await _calendar(registration, invitation)).status_code == 403  # another purpose
    gone = await _calendar(registration, expired)
    assert gone.status_code == 410
    assert gone.json()["detail"] == "this link has expired"


async def test_the_owner_view_has_what_the_page_shows(registration: RegistrationApp) -> None:
    venue = "Якутск, пр. Ленина, 30"
    event = await registration.event(format="hybrid", venue=venue, capacity=1)
    confirmed = (
        await registration.register(event["id"], timezone="Asia/Yakutsk", region_code="14")
    ).json()
    view = (
        await registration.client.get(
            "/registrations/by-link", params={"token": confirmed["manage_token"]}
        )
    ).json()
    assert (view["event_format"], view["venue"], view["event_status"]) == (
        "hybrid",
        venue,
        "registration_open",
    )
    assert view["ends_at"].startswith("2027-03-01T14:00")
    assert view["participant_timezone"] == "Asia/Yakutsk"
    assert view["cancelled_by"] is None

    cancelled = await registration.client.post(
        "/registrations/by-link/cancel", params={"token": confirmed["manage_token"]}
    )
    assert cancelled.status_code == 200, cancelled.text
    after = (
        await registration.client.get(
            "/registrations/by-link", params={"token": confirmed["manage_token"]}
        )
    ).json()
    assert (after["status"], after["cancelled_by"]) == ("cancelled", "owner")
    assert after["cancelled_at"]
    assert after["online_link"] is None
    assert after["check_in_code"] is None
