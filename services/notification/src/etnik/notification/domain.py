"""Rules free of I/O: reminder times, quiet hours in the recipient's zone, and what a message
about a registration carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
