"""Rendering messages from Jinja2 templates, with times in the recipient's zone and Moscow's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from etnik.notification.timefmt import date_ru, time_both_en, time_both_ru

_FORMAT_LABELS = {
    "ru": {"in_person": "очно", "online": "онлайн", "hybrid": "очно и онлайн"},
    "en": {"in_person": "in person", "online": "online", "hybrid": "in person and online"},
}
SUPPORTED_LOCALES = ("ru", "en")


@dataclass(frozen=True)
class RenderedMessage:
    """Subject, plain text and HTML of one message."""

    subject: str
    text: str
    html: str


class TemplateRenderer:
    """Renders a kind of message for a recipient; HTML is autoescaped, plain text is not."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("etnik.notification", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, kind: str, locale: str, context: dict[str, Any]) -> RenderedMessage:
        """The three parts of a message of this kind, in the recipient's language."""
        locale = locale if locale in SUPPORTED_LOCALES else "ru"
        values = {**context, "locale": locale}
        return RenderedMessage(
            subject=self._env.get_template(f"{kind}/{locale}.subject.txt")
            .render(values)
            .strip()
            .replace("\n", " "),
            text=self._env.get_template(f"{kind}/{locale}.text.txt").render(values),
            html=self._env.get_template(f"{kind}/{locale}.html").render(values),
        )


def event_context(event: dict[str, Any], *, locale: str, recipient_zone: str) -> dict[str, Any]:
    """What templates know of an event, its time given in both zones."""
    starts_at: datetime = event["starts_at"]
    zone = recipient_zone or "Europe/Moscow"
    if locale == "en":
        when_date = f"{starts_at.astimezone(ZoneInfo(zone)):%d %B %Y}"
        when_time = time_both_en(starts_at, zone)
    else:
        when_date = date_ru(starts_at, zone)
        when_time = time_both_ru(starts_at, zone)
    return {
        "title": event["title"],
        "date": when_date,
        "time": when_time,
        "format_label": _FORMAT_LABELS.get(locale, _FORMAT_LABELS["ru"]).get(
            event.get("format", "")
        ),
    }
