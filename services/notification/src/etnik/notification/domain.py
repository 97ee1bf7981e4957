"""Scheduling rules, free of I/O: reminder times and quiet hours in the recipient's zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
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
