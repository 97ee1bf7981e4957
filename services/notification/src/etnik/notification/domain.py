"""Rules free of I/O: reminder times, quiet hours in the recipient's zone, what a message
about a registration carries, and the delivery policy: whether a claimed message goes now,
waits or gives up, and what is written to it then (its Outcome)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.events import IntegrationEvent

Document = dict[str, Any]

REMINDER = "event_reminder"
INVITATION = "invitation"
# Kinds a person may opt out of; the rest answer something they did or must know.
OPTIONAL_KINDS = frozenset({INVITATION})
# Kinds that do not concern one event.
KINDS_WITHOUT_EVENT = frozenset({"sign_in_link"})
DEFAULT_ZONE = "Europe/Moscow"

QUIET_FROM = time(22, 0)
QUIET_UNTIL = time(8, 0)


def reminder_times(
    starts_at: datetime, offsets: list[timedelta], now: datetime
) -> list[tuple[timedelta, datetime]]:
    """Each offset with the moment its reminder falls due; reminders already past are left out."""
    return [(offset, starts_at - offset) for offset in offsets if starts_at - offset > now]


def outside_quiet_hours(moment: datetime, zone: str) -> datetime:
    """The moment itself, or 08:00 local time next if it falls between 22:00 and 08:00 there."""
    local = moment.astimezone(ZoneInfo(zone))
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return moment
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=ZoneInfo(zone))


# --- What a message about a registration carries ----------------------------------------

# Kinds about one registration: each carries its owner's link, read at send time.
REGISTRATION_KINDS = frozenset(
    {
        "registration_received",
        "registration_confirmed",
        "registration_waitlisted",
        "registration_offered",
        "registration_rejected",
        "registration_cancelled",
        "event_reminder",
        "event_changed",
        "event_cancelled",
        "certificate_issued",
        "survey_invitation",
    }
)
# The message that gives a participant the link to their certificate.
CERTIFICATE_ISSUED = "certificate_issued"
# The invitation of a participant who attended to answer the event's feedback survey.
SURVEY_INVITATION = "survey_invitation"
# Kinds that tell a confirmed participant how to attend: the session link, the check-in code.
ATTENDING_KINDS = frozenset({"registration_confirmed", "event_reminder", "event_changed"})
# Kinds that carry a ticket holder's QR code as an inline image (to show at the door), and
# those that also attach the PDF ticket: the confirmation. A reminder has the code alone, so
# that reminding a whole event does not have registration draw a PDF for each participant.
TICKET_QR_KINDS = frozenset({"registration_confirmed", "event_reminder"})
TICKET_PDF_KINDS = frozenset({"registration_confirmed"})
CONFIRMED = "confirmed"


@dataclass(frozen=True)
class DeliveryDetails:
    """What registration says, at send time, a message about a registration may carry.

    Secrets for the recipient alone: kept out of reprs, never stored, logged or published."""

    status: str
    manage_url: str = field(repr=False)
    online_link: str | None = field(default=None, repr=False)
    check_in_code: str | None = field(default=None, repr=False)
    certificate_url: str | None = field(default=None, repr=False)
    # The link to the feedback survey: only while the participant may still answer it.
    survey_url: str | None = field(default=None, repr=False)
    # What the ticket's QR code encodes: only for a confirmed participant of a venue event.
    qr_value: str | None = field(default=None, repr=False)


def values_a_template_must_show(kind: str) -> tuple[str, ...]:
    """What an operator's version of a kind's template may not leave out (a change notice
    repeats the session link, not the unchanged check-in code)."""
    if kind == "event_changed":
        return ("manage_url", "online_link")
    if kind == CERTIFICATE_ISSUED:
        return ("certificate_url",)
    if kind == SURVEY_INVITATION:
        return ("survey_url",)
    if kind in ATTENDING_KINDS:
        return ("manage_url", "online_link", "check_in_code")
    return ("manage_url",) if kind in REGISTRATION_KINDS else ()


def needs_delivery_details(kind: str, context: Mapping[str, Any]) -> bool:
    """Whether a message is about one registration, whose details are read before sending."""
    return kind in REGISTRATION_KINDS and bool(context.get("registration_id"))


def survey_closed(kind: str, details: DeliveryDetails) -> str | None:
    """Why a survey invitation is not to be sent now (answered meanwhile, or attendance
    corrected: registration gives no link then); else None."""
    if kind == SURVEY_INVITATION and details.survey_url is None:
        return "the survey is no longer open to this participant"
    return None


def no_longer_due(kind: str, status: str) -> str | None:
    """Why a message meant for a confirmed participant is not to be sent now; else None."""
    if kind in ATTENDING_KINDS and status != CONFIRMED:
        return f"the registration is {status}, no longer confirmed"
    return None


def delivery_values(kind: str, details: DeliveryDetails | None) -> dict[str, str | None]:
    """What a template shows: the owner's link in every message about a registration; the
    session link and check-in code only in those that tell a confirmed participant how to
    attend (registration withholds them from any other registration)."""
    values: dict[str, str | None] = {"manage_url": None, "online_link": None, "check_in_code": None}
    if details is not None:
        attending = kind in ATTENDING_KINDS
        values = {
            "manage_url": details.manage_url,
            "online_link": details.online_link if attending else None,
            "check_in_code": details.check_in_code if attending else None,
        }
    if kind == CERTIFICATE_ISSUED:
        # Only the certificate's own message shows its link.
        values["certificate_url"] = details.certificate_url if details else None
    if kind == SURVEY_INVITATION:
        values["survey_url"] = details.survey_url if details else None
    return values


def ticket_qr_value(kind: str, details: DeliveryDetails | None) -> str | None:
    """What the inline QR code of a message encodes; None when it shows none (registration
    gives the value only to a confirmed participant of an in-person or hybrid event)."""
    if details is None or kind not in TICKET_QR_KINDS:
        return None
    return details.qr_value


def needs_ticket_pdf(kind: str, details: DeliveryDetails | None) -> bool:
    """Whether the message is not to go without the participant's PDF ticket attached."""
    return kind in TICKET_PDF_KINDS and details is not None and details.qr_value is not None


# --- The delivery policy ------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one claimed message, as it is written to the message."""

    message: Document
    generation: int
    result: str  # sent, failed, retried, dropped, postponed, deferred
    fields: dict[str, Any]
    unset_secrets: bool = False
    attempts: int = 0  # added to the message's count
    event: IntegrationEvent | None = None


@dataclass(frozen=True)
class DeliveryPolicy:
    """When a claimed message goes, waits or gives up, decided from the message, what is
    known of its recipient and event, and the clock; no I/O."""

    max_send_attempts: int
    retry_base_delay_s: float
    smtp_outage_max_delay_s: float
    registration_outage_max_delay_s: float
    wait_for_context_s: float

    def awaited(
        self,
        message: Document,
        recipient: Mapping[str, Any] | None,
        event: Mapping[str, Any] | None,
        now: datetime,
    ) -> tuple[str, datetime] | None:
        """What a message waits for ("person:<id>" or "event:<id>", which its trigger came
        before) and when to look again; None when it has both, or has waited long enough
        (then `before_sending` fails it)."""
        kind = message["kind"]
        if recipient is not None and (event is not None or kind in KINDS_WITHOUT_EVENT):
            return None
        age_s = (now - message["created_at"]).total_seconds()
        if age_s > self.wait_for_context_s:
            return None
        if recipient is None:
            what = f"person:{message['person_id']}"
        else:
            what = f"event:{message['context'].get('event_id', '')}"
        return what, now + timedelta(seconds=min(120.0, max(30.0, age_s * 2)))

    def before_sending(
        self,
        message: Document,
        generation: int,
        recipient: Mapping[str, Any] | None,
        event: Mapping[str, Any] | None,
        now: datetime,
    ) -> Outcome | None:
        """The outcome of a message that is not to be sent now; None to send it."""
        kind = message["kind"]
        if recipient is None or (event is None and kind not in KINDS_WITHOUT_EVENT):
            missing = "recipient" if recipient is None else "event"
            return self.failure(message, generation, f"{missing} unknown", now, permanent=True)
        if kind == REMINDER and event is not None and event["starts_at"] <= now:
            return self.dropped(message, generation, "the event has started")
        if kind in OPTIONAL_KINDS:
            if recipient.get("unsubscribed_at") is not None:
                return self.dropped(
                    message, generation, "the recipient unsubscribed from invitations"
                )
            allowed = outside_quiet_hours(now, recipient.get("timezone") or DEFAULT_ZONE)
            if allowed > now:
                return Outcome(
                    message,
                    generation,
                    "postponed",
                    {"due_at": allowed, "note": "quiet hours in the recipient's zone"},
                )
        return None

    def sent(self, message: Document, generation: int, now: datetime) -> Outcome:
        """Accepted by the channel: done, its secrets removed."""
        return Outcome(
            message,
            generation,
            "sent",
            {"status": "sent", "sent_at": now},
            unset_secrets=True,
            attempts=1,
            event=NotificationSent(**message_facts(message), sent_at=now),
        )

    def dropped(self, message: Document, generation: int, reason: str) -> Outcome:
        """No longer to be sent (the event started, the registration changed, ...)."""
        return Outcome(
            message,
            generation,
            "dropped",
            {"status": "dropped", "last_error": reason},
            unset_secrets=True,
        )

    def failure(
        self, message: Document, generation: int, reason: str, now: datetime, *, permanent: bool
    ) -> Outcome:
        """A failed try: retried after a doubling delay, or failed for good after the last
        attempt or a permanent refusal."""
        attempts = int(message.get("attempts", 0)) + 1
        if not permanent and attempts < self.max_send_attempts:
            delay = self.retry_base_delay_s * 2 ** (attempts - 1)
            return Outcome(
                message,
                generation,
                "retried",
                {"due_at": now + timedelta(seconds=delay), "last_error": reason},
                attempts=1,
            )
        return Outcome(
            message,
            generation,
            "failed",
            {"status": "failed", "failed_at": now, "last_error": reason},
            unset_secrets=True,
            attempts=1,
            event=NotificationFailed(**message_facts(message), reason=reason, failed_at=now),
        )

    def waiting_for_channel(
        self, message: Document, generation: int, reason: str, now: datetime
    ) -> Outcome:
        """The channel is down: try again later without using up an attempt."""
        return self._waiting(
            message, generation, reason, now, "SMTP", "outage_waits", self.smtp_outage_max_delay_s
        )

    def waiting_for_registration(
        self, message: Document, generation: int, reason: str, now: datetime
    ) -> Outcome:
        """Registration cannot say what the message must carry: try again later, without
        using up an attempt (as for an SMTP outage), and never send it without."""
        return self._waiting(
            message,
            generation,
            reason,
            now,
            "registration",
            "registration_waits",
            self.registration_outage_max_delay_s,
        )

    def _waiting(
        self,
        message: Document,
        generation: int,
        reason: str,
        now: datetime,
        what: str,
        counter: str,
        max_delay_s: float,
    ) -> Outcome:
        """Due again after a backoff that doubles with each wait for `what`, up to a bound."""
        waits = int(message.get(counter) or 0) + 1
        delay = min(self.retry_base_delay_s * 2 ** min(waits - 1, 16), max_delay_s)
        return Outcome(
            message,
            generation,
            "deferred",
            {
                "due_at": now + timedelta(seconds=delay),
                "note": f"waiting for {what}",
                "last_error": reason,
                counter: waits,
            },
        )


def message_facts(message: Document) -> dict[str, Any]:
    """What every notification event says of its message."""
    return {
        "message_id": message["_id"],
        "kind": message["kind"],
        "channel": message["channel"],
        "person_id": message["person_id"],
        "trigger_event_id": message["trigger"],
    }
