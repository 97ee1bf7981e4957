"""Rendering messages from Jinja2 templates, with times in the recipient's zone and Moscow's.

One template per kind and language (`<kind>.<locale>.jinja`) holds three parts: the
`subject` and `text` blocks, and the HTML document its layout makes of the `body` block.
The HTML is rendered with autoescaping on and the plain text with it off, from the same
source. Templates run sandboxed, because operators can edit them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno
from jinja2 import ChoiceLoader, DictLoader, PackageLoader, StrictUndefined, TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from etnik.notification.timefmt import date_ru, datetime_both, time_both_en, time_both_ru

_FORMAT_LABELS = {
    "ru": {"in_person": "очно", "online": "онлайн", "hybrid": "очно и онлайн"},
    "en": {"in_person": "in person", "online": "online", "hybrid": "in person and online"},
}
SUPPORTED_LOCALES = ("ru", "en")
LAYOUT = "layout.jinja"
# Values a template may test for that a message does not always have.
OPTIONAL_VALUES: Mapping[str, Any] = {
    "unsubscribe_url": None,
    "manage_url": None,
    "online_link": None,
    "check_in_code": None,
    "moved": True,
    "link_changed": False,
    "ticket_qr_src": None,
    "ticket_attached": False,
}
# The QR image: four modules of light margin, as the QR standard asks for; 7 px a module,
# about the 200 px the templates show it at (a check-in code fits the smallest, 21-module code).
QR_QUIET_ZONE = 4
QR_PIXELS_PER_MODULE = 7


class TemplateProblem(ValueError):
    """A template that does not compile or render: a message an operator can act on."""


@dataclass(frozen=True)
class RenderedMessage:
    """Subject, plain text and HTML of one message."""

    subject: str
    text: str
    html: str


def template_name(kind: str, locale: str) -> str:
    """The file (or stored) name of a kind's template in one language."""
    return f"{kind}.{locale}.jinja"


class TemplateRenderer:
    """Renders a kind of message for a recipient, from edited templates or the packaged ones."""

    def __init__(self, edited: Mapping[str, str] | None = None) -> None:
        self._edited: dict[str, str] = dict(edited or {})
        loader = ChoiceLoader(
            [DictLoader(self._edited), PackageLoader("etnik.notification", "templates")]
        )
        options: dict[str, Any] = {
            "loader": loader,
            "undefined": StrictUndefined,
            "trim_blocks": True,
            "keep_trailing_newline": False,
        }
        self._text = ImmutableSandboxedEnvironment(autoescape=False, **options)
        self._html = ImmutableSandboxedEnvironment(autoescape=True, **options)

    def use_edited(self, name: str, source: str) -> None:
        """Serve an operator's version of a template from now on."""
        self._edited[name] = source
        self._text.cache = {} if self._text.cache is not None else None
        self._html.cache = {} if self._html.cache is not None else None

    def names_used(self, source: str) -> set[str]:
        """The values a template's own source refers to (not those of its layout)."""
        try:
            return meta.find_undeclared_variables(self._text.parse(source))
        except TemplateError as error:
            raise TemplateProblem(f"the template does not render: {error}") from error

    def packaged_source(self, name: str) -> str:
        """The template as shipped with the service."""
        loader = PackageLoader("etnik.notification", "templates")
        source, _, _ = loader.get_source(self._text, name)
        return source

    def render(self, kind: str, locale: str, context: Mapping[str, Any]) -> RenderedMessage:
        """The three parts of a message of this kind, in the recipient's language."""
        locale = locale if locale in SUPPORTED_LOCALES else "ru"
        return self.render_source(template_name(kind, locale), None, {**context, "locale": locale})

    def render_source(
        self, name: str, source: str | None, context: Mapping[str, Any]
    ) -> RenderedMessage:
        """Render a template by name, or a draft source in its place (for previews)."""
        values = {**OPTIONAL_VALUES, **context}
        try:
            if source is None:
                text_template = self._text.get_template(name)
                html_template = self._html.get_template(name)
            else:
                text_template = self._text.from_string(source)
                html_template = self._html.from_string(source)
            text_context = text_template.new_context(dict(values))
            subject = "".join(text_template.blocks["subject"](text_context))
            text = "".join(text_template.blocks["text"](text_context))
            html = html_template.render(values)
        except KeyError as missing:
            raise TemplateProblem(f"the template needs a {missing} block") from missing
        except TemplateError as error:
            raise TemplateProblem(f"the template does not render: {error}") from error
        return RenderedMessage(
            subject=" ".join(subject.split()), text=text.strip() + "\n", html=html
        )


def event_context(event: Mapping[str, Any], *, locale: str, recipient_zone: str) -> dict[str, Any]:
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


def moment(value: datetime, *, locale: str, recipient_zone: str) -> str:
    """A deadline or expiry as a person reads it: date and time in both zones."""
    return datetime_both(value, recipient_zone or "Europe/Moscow", locale)


def qr_png(value: str) -> bytes:
    """A QR code as a PNG image, dark on a white square with its quiet zone: the same code as
    registration's ticket (full QR, error correction M, the smallest version that fits)."""
    buffer = io.BytesIO()
    segno.make_qr(value, error="m", boost_error=False).save(
        buffer,
        kind="png",
        scale=QR_PIXELS_PER_MODULE,
        border=QR_QUIET_ZONE,
        dark="#000",
        light="#fff",
    )
    return buffer.getvalue()
