"""Times as a person reads them: their own zone beside Moscow time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
_MONTHS_RU = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip


def date_ru(moment: datetime, zone: str) -> str:
    """«29 ноября 2022 года» in the given zone."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.day} {_MONTHS_RU[local.month - 1]} {local.year} года"


def time_both_ru(moment: datetime, zone: str) -> str:
    """«14:00 МСК / 23:00 по местному времени»; just «14:00 МСК» where the two coincide."""
    moscow = moment.astimezone(MOSCOW)
    local = moment.astimezone(ZoneInfo(zone))
    if local.utcoffset() == moscow.utcoffset():
        return f"{moscow:%H:%M} МСК"
    day_shift = ""
    if local.date() != moscow.date():
        day_shift = f", {local.day} {_MONTHS_RU[local.month - 1]}"
    return f"{moscow:%H:%M} МСК / {local:%H:%M}{day_shift} по местному времени"


def time_both_en(moment: datetime, zone: str) -> str:
    """«14:00 Moscow time / 23:00 your time»."""
    moscow = moment.astimezone(MOSCOW)
    local = moment.astimezone(ZoneInfo(zone))
    if local.utcoffset() == moscow.utcoffset():
        return f"{moscow:%H:%M} Moscow time"
    return f"{moscow:%H:%M} Moscow time / {local:%H:%M} your time ({local:%d %b})"


def datetime_both(moment: datetime, zone: str, locale: str) -> str:
    """«29 ноября 2022 года, 14:00 МСК / 23:00 по местному времени», for deadlines and expiries."""
    if locale == "en":
        return f"{moment.astimezone(ZoneInfo(zone)):%d %B %Y}, {time_both_en(moment, zone)}"
    return f"{date_ru(moment, 'Europe/Moscow')}, {time_both_ru(moment, zone)}"
