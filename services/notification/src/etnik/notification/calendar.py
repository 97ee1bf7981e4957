"""Calendar files (.ics) attached to confirmations, so the event lands in a person's calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event

PRODUCT_ID = "-//EtNik Platform//Notification//RU"


def event_ics(event: dict[str, Any], *, event_id: str, online_link: str | None = None) -> bytes:
    """One VEVENT in UTC with a stable UID, so a changed event updates the same entry; with
    the session link (for a confirmed participant of an online event) as its place and URL."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = Event()
    entry.add("uid", f"{event_id}@etnik")
    entry.add("dtstamp", datetime.now(UTC))
    entry.add("dtstart", event["starts_at"].astimezone(UTC))
    entry.add("dtend", event["ends_at"].astimezone(UTC))
    entry.add("summary", event["title"])
    if online_link:
        entry.add("location", online_link)
        entry.add("url", online_link)
    calendar.add_component(entry)
    ical: bytes = calendar.to_ical()
    return ical
