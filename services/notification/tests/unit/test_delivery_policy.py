"""The delivery policy on plain values: whether a claimed message goes now, waits, is retried
or given up, and what is written to it then. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.notification.domain import DeliveryPolicy

NOW = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)  # 14:00 in Moscow, 23:00 in Kamchatka
POLICY = DeliveryPolicy(
    max_send_attempts=3,
    retry_base_delay_s=2.0,
    smtp_outage_max_delay_s=60.0,
    registration_outage_max_delay_s=30.0,
    wait_for_context_s=600.0,
)
MOSCOW = {"email": "a@example.org", "timezone": "Europe/Moscow"}
EVENT = {"starts_at": NOW + timedelta(days=1)}


def message(kind: str = "registration_confirmed", **fields: Any) -> dict[str, Any]:
    return {
        "_id": "m1",
        "kind": kind,
        "channel": "email",
        "person_id": "p1",
        "trigger": "t1",
        "context": {"event_id": "e1"},
        "created_at": NOW - timedelta(seconds=10),
        **fields,
    }


def test_a_message_with_its_recipient_and_event_goes_now() -> None:
    assert POLICY.awaited(message(), MOSCOW, EVENT, NOW) is None
    assert POLICY.before_sending(message(), 1, MOSCOW, EVENT, NOW) is None


def test_a_message_whose_person_or_event_is_not_known_yet_waits_for_them() -> None:
    assert POLICY.awaited(message(), None, EVENT, NOW) == ("person:p1", NOW + timedelta(seconds=30))
    what, _ = POLICY.awaited(message(), MOSCOW, None, NOW) or ("", NOW)
    assert what == "event:e1"
    # A sign-in link concerns no event.
    assert POLICY.awaited(message("sign_in_link"), MOSCOW, None, NOW) is None
    # Waited long enough: it fails for good, naming what is missing.
    old = message(created_at=NOW - timedelta(hours=1))
    assert POLICY.awaited(old, None, EVENT, NOW) is None
    failed = POLICY.before_sending(old, 1, None, EVENT, NOW)
    assert failed is not None
    assert failed.result == "failed"
    assert failed.fields["last_error"] == "recipient unknown"


def test_an_invitation_waits_out_the_night_in_the_recipients_zone() -> None:
    kamchatka = {**MOSCOW, "timezone": "Asia/Kamchatka"}
    postponed = POLICY.before_sending(message("invitation"), 2, kamchatka, EVENT, NOW)
    assert postponed is not None
    assert postponed.result == "postponed"
    assert postponed.fields["due_at"] == datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 08:00 there
    assert postponed.generation == 2
    assert postponed.event is None
    # What a person must know is not held back by the night.
    assert POLICY.before_sending(message(), 2, kamchatka, EVENT, NOW) is None


def test_an_unsubscribed_recipient_gets_no_invitation_and_a_started_event_no_reminder() -> None:
    unsubscribed = {**MOSCOW, "unsubscribed_at": NOW - timedelta(days=1)}
    dropped = POLICY.before_sending(message("invitation"), 1, unsubscribed, EVENT, NOW)
    assert dropped is not None
    assert dropped.result == "dropped"
    assert dropped.unset_secrets
    started = {"starts_at": NOW - timedelta(minutes=1)}
    late = POLICY.before_sending(message("event_reminder"), 1, MOSCOW, started, NOW)
    assert late is not None
    assert late.fields["last_error"] == "the event has started"


def test_a_failed_send_is_retried_with_a_doubling_delay_then_fails_with_its_event() -> None:
    first = POLICY.failure(message(attempts=0), 1, "451 busy", NOW, permanent=False)
    assert first.result == "retried"
    assert first.fields["due_at"] == NOW + timedelta(seconds=2)
    second = POLICY.failure(message(attempts=1), 1, "451 busy", NOW, permanent=False)
    assert second.fields["due_at"] == NOW + timedelta(seconds=4)
    last = POLICY.failure(message(attempts=2), 1, "451 busy", NOW, permanent=False)
    assert last.result == "failed"
    assert last.unset_secrets
    assert isinstance(last.event, NotificationFailed)
    assert last.event.reason == "451 busy"
    refused = POLICY.failure(message(attempts=0), 1, "550 no such user", NOW, permanent=True)
    assert refused.result == "failed"


def test_an_outage_is_waited_out_without_using_an_attempt_up_to_a_bound() -> None:
    waits = [
        POLICY.waiting_for_channel(message(outage_waits=n), 1, "refused", NOW) for n in range(8)
    ]
    delays = [(w.fields["due_at"] - NOW).total_seconds() for w in waits]
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]
    assert all(w.attempts == 0 and w.result == "deferred" for w in waits)
    assert waits[0].fields["outage_waits"] == 1
    away = POLICY.waiting_for_registration(message(registration_waits=9), 1, "503", NOW)
    assert away.fields["due_at"] == NOW + timedelta(seconds=30)
    assert away.fields["note"] == "waiting for registration"


def test_a_sent_message_loses_its_secrets_and_says_so_in_its_event() -> None:
    sent = POLICY.sent(message(), 3, NOW)
    assert sent.fields == {"status": "sent", "sent_at": NOW}
    assert sent.unset_secrets
    assert sent.attempts == 1
    assert sent.generation == 3
    assert isinstance(sent.event, NotificationSent)
    assert sent.event.message_id == "m1"
    assert sent.event.trigger_event_id == "t1"
