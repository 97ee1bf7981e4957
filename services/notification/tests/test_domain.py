"""Reminder times and quiet hours, in the recipient's own zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from etnik.notification.calendar import event_ics
from etnik.notification.domain import outside_quiet_hours, reminder_times
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
        {"title": "Сессия ЦФО", "starts_at": START, "ends_at": START + timedelta(hours=3)},
        event_id="e1",
    ).decode()
    assert "UID:e1@etnik" in ics
    assert "DTSTART:20261129T110000Z" in ics
    assert "DTEND:20261129T140000Z" in ics
    assert "SUMMARY:Сессия ЦФО" in ics


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
