"""The calendar file (.ics) of a programme event: one shape for the confirmation's attachment
and the participant's download, so that either file updates the same calendar entry."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

PRODUCT_ID = "-//EtNik Platform//RU"


def event_ics(
    *,
    event_id: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    venue: str | None = None,
    online_link: str | None = None,
    cancelled: bool = False,
) -> bytes:
    """One VEVENT in UTC with a stable UID (`<event id>@etnik`): a changed event updates the
    same entry. Its place is the venue, else the session link; the link (pass it only for a
    confirmed participant of an online or hybrid event) is also its URL and description."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = Event()
    entry.add("uid", f"{event_id}@etnik")
    entry.add("dtstamp", datetime.now(UTC))
    entry.add("dtstart", starts_at.astimezone(UTC))
    entry.add("dtend", ends_at.astimezone(UTC))
    entry.add("summary", title)
    if venue or online_link:
        entry.add("location", venue or online_link)
    if online_link:
        entry.add("url", online_link)
        entry.add("description", f"Ссылка для подключения: {online_link}")
    if cancelled:
        entry.add("status", "CANCELLED")
    calendar.add_component(entry)
    ical: bytes = calendar.to_ical()
    return ical
