"""The calendar file (.ics) of a registration, downloaded from the participant's own page."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from etnik.common.mongo import Document
from etnik.registration.domain import EventStatus

PRODUCT_ID = "-//EtNik Platform//Registration//RU"


def registration_ics(event: Document, *, online_link: str | None) -> bytes:
    """One VEVENT in UTC, with the UID the confirmation's attachment uses (so either file
    updates the same calendar entry); its place is the venue, and the session link only when
    the caller passes one (a confirmed participant of an online or hybrid event)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = Event()
    entry.add("uid", f"{event['_id']}@etnik")
    entry.add("dtstamp", datetime.now(UTC))
    entry.add("dtstart", event["starts_at"].astimezone(UTC))
    entry.add("dtend", event["ends_at"].astimezone(UTC))
    entry.add("summary", event["title"])
    venue = event.get("venue")
    if venue or online_link:
        entry.add("location", venue or online_link)
    if online_link:
        entry.add("url", online_link)
        entry.add("description", f"Ссылка для подключения: {online_link}")
    if event.get("status") == EventStatus.CANCELLED:
        entry.add("status", "CANCELLED")
    calendar.add_component(entry)
    ical: bytes = calendar.to_ical()
    return ical
