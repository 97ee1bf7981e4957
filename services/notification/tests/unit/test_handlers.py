"""What notification queues for each event it consumes, on in-memory stores.

The handlers' rules (which message, which reminders, what is dropped when an event moves or
is cancelled) checked without Kafka or MongoDB; the stores themselves are tested on the real
stack in tests/integration.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from etnik.notification.domain import INVITATION, REMINDER
from etnik.notification.inbound import (
    EventChanged,
    EventCreated,
    InvitationIssued,
    PersonRegistered,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.notification.projections import organisation_recipient

if TYPE_CHECKING:  # the fixture's class, from this folder's conftest.py
    from conftest import Handled

STARTS = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def event(starts_at: datetime = STARTS, **changes: object) -> EventCreated:
    fields: dict[str, object] = {
        "event_id": "e-1",
        "title": "Школа НКО",
        "format": "online",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=2),
        "timezone": "Asia/Kamchatka",
        "status": "published",
    }
    return EventCreated(**{**fields, **changes})


def changed(
    starts_at: datetime = STARTS, changes: list[str] | None = None, **fields: object
) -> EventChanged:
    return EventChanged(**{**event(starts_at).model_dump(), **fields, "changes": changes or []})


def confirmed(registration_id: str = "r-1", person_id: str = "p-1") -> RegistrationConfirmed:
    return RegistrationConfirmed(
        registration_id=registration_id, event_id="e-1", person_id=person_id
    )


async def test_a_confirmation_queues_its_message_and_a_reminder_per_offset_once(
    handled: Handled,
) -> None:
    await handled.deliver(event())
    envelope = await handled.deliver(confirmed())
    await handled.deliver(confirmed(), envelope_id=envelope.id)  # redelivered: nothing new
    assert [m["kind"] for m in handled.queue.pending("registration_confirmed")] == [
        "registration_confirmed"
    ]
    reminders = handled.queue.pending(REMINDER)
    assert sorted(m["due_at"] for m in reminders) == [
        STARTS - timedelta(hours=24),
        STARTS - timedelta(hours=1),
    ]
    assert {m["context"]["starts_at"] for m in reminders} == {STARTS.isoformat()}


async def test_a_registration_before_its_event_gets_reminders_when_the_event_arrives(
    handled: Handled,
) -> None:
    await handled.deliver(confirmed())
    assert handled.queue.pending(REMINDER) == []
    await handled.deliver(event())
    assert len(handled.queue.pending(REMINDER)) == len(handled.offsets)


async def test_a_moved_event_replaces_the_reminders_and_tells_participants(
    handled: Handled,
) -> None:
    await handled.deliver(event())
    await handled.deliver(confirmed())
    later = STARTS + timedelta(days=1)
    await handled.deliver(changed(later, ["starts_at", "ends_at"]))
    reminders = handled.queue.pending(REMINDER)
    assert {m["context"]["starts_at"] for m in reminders} == {later.isoformat()}
    assert len(reminders) == len(handled.offsets)
    dropped = [m for m in handled.queue.messages.values() if m["status"] == "dropped"]
    assert {m["reason"] for m in dropped} == {"the event moved"}
    told = handled.queue.pending("event_changed")
    assert [m["context"]["moved"] for m in told] == [True]


async def test_a_cancelled_event_drops_reminders_and_tells_participants_once(
    handled: Handled,
) -> None:
    await handled.deliver(event())
    await handled.deliver(confirmed("r-1", "p-1"))
    await handled.deliver(confirmed("r-2", "p-2"))
    await handled.deliver(changed(status="cancelled", changes=["status"]))
    await handled.deliver(changed(status="cancelled", changes=["title"]))  # already cancelled
    assert handled.queue.pending(REMINDER) == []
    assert sorted(m["person_id"] for m in handled.queue.pending("event_cancelled")) == [
        "p-1",
        "p-2",
    ]


async def test_a_cancelled_registration_drops_only_its_own_reminders(handled: Handled) -> None:
    await handled.deliver(event())
    await handled.deliver(confirmed("r-1", "p-1"))
    await handled.deliver(confirmed("r-2", "p-2"))
    await handled.deliver(
        RegistrationCancelled(
            registration_id="r-1", event_id="e-1", person_id="p-1", reason="болезнь"
        )
    )
    assert {m["person_id"] for m in handled.queue.pending(REMINDER)} == {"p-2"}
    (cancelled,) = handled.queue.pending("registration_cancelled")
    assert cancelled["context"]["reason"] == "болезнь"
    assert handled.facts.registrations["r-1"]["status"] == "cancelled"


async def test_a_new_online_link_is_told_to_participants_of_an_online_event(
    handled: Handled,
) -> None:
    await handled.deliver(event())
    await handled.deliver(confirmed())
    await handled.deliver(changed(changes=["online_link"]))
    (told,) = handled.queue.pending("event_changed")
    assert told["context"] == {
        "event_id": "e-1",
        "registration_id": "r-1",
        "moved": False,
        "link_changed": True,
    }
    assert len(handled.queue.pending(REMINDER)) == len(
        handled.offsets
    )  # not moved: kept as they were


async def test_an_erased_persons_late_record_is_not_kept(handled: Handled) -> None:
    handled.erasures.erased.add("p-1")
    person = PersonRegistered(
        person_id="p-1", full_name="Айана Иванова", email="a@example.org", timezone="Asia/Yakutsk"
    )
    await handled.deliver(person)
    assert handled.facts.recipients == {}
    assert handled.queue.known_facts == []


@pytest.mark.parametrize(
    ("addressed", "queued"),
    [
        ({"person_id": "p-1"}, "p-1"),
        (
            {"organisation_id": "o-1", "email": "ngo@example.org", "timezone": "Asia/Omsk"},
            organisation_recipient("o-1"),
        ),
        ({"organisation_id": "o-1"}, None),  # an organisation with no address: nothing to send
    ],
)
async def test_an_invitation_goes_to_a_person_or_an_organisations_address(
    handled: Handled, addressed: dict[str, str], queued: str | None
) -> None:
    invitation = InvitationIssued(
        invitation_id="i-1",
        event_id="e-1",
        campaign_id="c-1",
        link="https://etnik.example/i/secret",
        expires_at=STARTS,
        **addressed,
    )
    await handled.deliver(invitation)
    recipients = [m["person_id"] for m in handled.queue.pending(INVITATION)]
    assert recipients == ([] if queued is None else [queued])
