"""Reminder times and quiet hours, in the recipient's own zone; what a message about a
registration carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from etnik.common.calendar import event_ics
from etnik.notification.domain import (
    DeliveryDetails,
    delivery_values,
    needs_delivery_details,
    no_longer_due,
    outside_quiet_hours,
    reminder_times,
)
from etnik.notification.handlers import link_changed_for_participants
from etnik.notification.inbound import EventChanged
from etnik.notification.unsubscribe import UnsubscribeLinks

START = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)  # 14:00 Moscow, 23:00 Kamchatka


def test_reminders_fall_due_at_each_offset_before_the_start() -> None:
    now = START - timedelta(days=3)
    times = reminder_times(START, [timedelta(hours=24), timedelta(hours=1)], now)
    assert times == [
        (timedelta(hours=24), START - timedelta(hours=24)),
        (timedelta(hours=1), START - timedelta(hours=1)),
    ]


def test_reminders_already_past_are_not_scheduled() -> None:
    now = START - timedelta(hours=2)
    assert reminder_times(START, [timedelta(hours=24), timedelta(hours=1)], now) == [
        (timedelta(hours=1), START - timedelta(hours=1))
    ]


def test_daytime_in_the_recipients_zone_is_not_quiet() -> None:
    # 11:00 UTC is 14:00 in Moscow.
    assert outside_quiet_hours(START, "Europe/Moscow") == START


def test_a_night_in_kamchatka_waits_for_eight_in_the_morning_there() -> None:
    # 11:00 UTC is 23:00 in Kamchatka (UTC+12): the invitation waits until 08:00 local.
    allowed = outside_quiet_hours(START, "Asia/Kamchatka")
    assert allowed == datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 08:00 on the 30th there


def test_early_morning_waits_until_eight_the_same_day() -> None:
    early = datetime(2026, 11, 29, 3, 30, tzinfo=UTC)  # 06:30 in Moscow
    assert outside_quiet_hours(early, "Europe/Moscow") == datetime(2026, 11, 29, 5, 0, tzinfo=UTC)


def test_the_calendar_file_has_a_stable_uid_and_utc_times() -> None:
    ics = event_ics(
        event_id="e1", title="Сессия ЦФО", starts_at=START, ends_at=START + timedelta(hours=3)
    ).decode()
    assert "UID:e1@etnik" in ics
    assert "DTSTART:20261129T110000Z" in ics
    assert "DTEND:20261129T140000Z" in ics
    assert "SUMMARY:Сессия ЦФО" in ics
    assert "LOCATION" not in ics


def test_the_calendar_file_of_an_online_participant_holds_the_session_link() -> None:
    ics = event_ics(
        event_id="e1",
        title="Сессия",
        starts_at=START,
        ends_at=START + timedelta(hours=3),
        online_link="https://telemost.yandex.ru/j/1",
    ).decode()
    assert "LOCATION:https://telemost.yandex.ru/j/1" in ics
    assert "URL:https://telemost.yandex.ru/j/1" in ics


def test_unsubscribe_links_are_bound_to_their_person() -> None:
    links = UnsubscribeLinks("secret", "https://etnik.example/")
    token = links.token("p1")
    assert links.url("p1") == f"https://etnik.example/api/notification/unsubscribe/{token}"
    assert links.person_id(token) == "p1"
    assert links.person_id(token[:-2] + "xx") is None
    assert UnsubscribeLinks("other", "https://x").person_id(token) is None


def test_a_long_list_unsubscribe_url_stays_a_plain_header() -> None:
    from etnik.notification.channels import EmailChannel, OutgoingMessage
    from etnik.notification.settings import NotificationSettings

    url = "https://etnik.example/api/notification/unsubscribe/" + "x" * 120
    from etnik.notification.channels import _WIRE_POLICY

    email = EmailChannel(NotificationSettings())._build(
        OutgoingMessage(
            message_id="m1",
            to_address="anna@example.org",
            to_name="Анна Иванова",
            subject="Приглашение: стратегическая сессия",
            text="Текст",
            headers={"List-Unsubscribe": f"<{url}>"},
        )
    )
    wire = email.as_bytes(policy=_WIRE_POLICY).decode()
    assert f"List-Unsubscribe: <{url}>\r\n" in wire


LINK = "https://telemost.yandex.ru/j/1"
MANAGE = "https://etnik.example/registrations/manage?token=t"
CONFIRMED = DeliveryDetails("confirmed", MANAGE, online_link=LINK, check_in_code="ABCD2345")

MESSAGES_ABOUT_A_REGISTRATION = [
    "registration_received",
    "registration_confirmed",
    "registration_waitlisted",
    "registration_offered",
    "registration_rejected",
    "registration_cancelled",
    "event_reminder",
    "event_changed",
    "event_cancelled",
]


@pytest.mark.parametrize("kind", MESSAGES_ABOUT_A_REGISTRATION)
def test_every_message_about_a_registration_carries_its_owner_link(kind: str) -> None:
    assert needs_delivery_details(kind, {"registration_id": "r1"})
    assert delivery_values(kind, CONFIRMED)["manage_url"] == MANAGE


@pytest.mark.parametrize("kind", ["invitation", "sign_in_link"])
def test_messages_about_no_registration_read_nothing(kind: str) -> None:
    assert not needs_delivery_details(kind, {"event_id": "e1"})
    assert delivery_values(kind, None) == dict.fromkeys(
        ("manage_url", "online_link", "check_in_code")
    )


@pytest.mark.parametrize(
    ("kind", "attending"),
    [(kind, kind in {"registration_confirmed", "event_reminder", "event_changed"})
     for kind in MESSAGES_ABOUT_A_REGISTRATION],
)  # fmt: skip
def test_only_confirmations_reminders_and_changes_tell_how_to_attend(
    kind: str, attending: bool
) -> None:
    values = delivery_values(kind, CONFIRMED)
    assert (values["online_link"], values["check_in_code"]) == (
        (LINK, "ABCD2345") if attending else (None, None)
    )


@pytest.mark.parametrize("status", ["waitlisted", "offered", "cancelled", "rejected"])
def test_messages_for_confirmed_participants_are_not_sent_to_others(status: str) -> None:
    for kind in ("registration_confirmed", "event_reminder", "event_changed"):
        assert no_longer_due(kind, status) is not None
    assert no_longer_due("registration_waitlisted", status) is None
    assert no_longer_due("event_reminder", "confirmed") is None


def _changed(changes: list[str], **fields: object) -> EventChanged:
    values: dict[str, object] = {
        "event_id": "e1",
        "title": "Сессия",
        "format": "online",
        "starts_at": START,
        "ends_at": START + timedelta(hours=3),
        "timezone": "Europe/Moscow",
        "status": "registration_open",
        "changes": changes,
        **fields,
    }
    return EventChanged.model_validate(values)


def test_a_new_online_link_is_news_for_participants_who_attend_online() -> None:
    assert link_changed_for_participants(_changed(["online_link", "online_platform"]))
    assert link_changed_for_participants(_changed(["online_link"], format="hybrid"))
    assert not link_changed_for_participants(_changed(["online_link"], format="in_person"))
    assert not link_changed_for_participants(_changed(["online_link"], status="completed"))
    assert not link_changed_for_participants(_changed(["capacity"]))
