"""Composing a message as it goes out: the template rendered with what it must show, the
calendar file, and for a ticket holder the inline QR code and the PDF ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from etnik.common.calendar import event_ics
from etnik.notification.channels import Attachment, OutgoingMessage
from etnik.notification.domain import (
    OPTIONAL_KINDS,
    DeliveryDetails,
    Document,
    delivery_values,
    ticket_qr_value,
)
from etnik.notification.rendering import TemplateRenderer, event_context, moment, qr_png
from etnik.notification.unsubscribe import UnsubscribeLinks

# The names a participant's ticket and its QR image are attached under.
TICKET_FILENAME = "ticket.pdf"
QR_FILENAME = "qr.png"


class Composer:
    """Turns a message, its recipient and event, and what registration said at send time,
    into the message the channel sends."""

    def __init__(self, renderer: TemplateRenderer, unsubscribe_links: UnsubscribeLinks) -> None:
        self._renderer = renderer
        self._unsubscribe_links = unsubscribe_links

    def compose(
        self,
        message: Document,
        recipient: dict[str, Any],
        event: dict[str, Any] | None,
        details: DeliveryDetails | None = None,
        ticket: bytes | None = None,
    ) -> OutgoingMessage:
        """The message as it goes out: rendered, with its calendar file, and for a ticket
        holder their QR code shown inline and the PDF ticket (`ticket`) attached."""
        locale = recipient.get("locale") or "ru"
        zone = recipient.get("timezone") or "Europe/Moscow"
        context = message["context"]
        values: dict[str, Any] = {"recipient": recipient}
        if event is not None:
            values["event"] = event_context(event, locale=locale, recipient_zone=zone)
        values["reason"] = context.get("reason")
        for name in ("link", "accept_url"):
            values[name] = context.get(name)
        # Read from registration just now, for this message only: never stored in its context.
        values |= delivery_values(message["kind"], details)
        qr_value = ticket_qr_value(message["kind"], details)
        qr_id = f"ticket-qr.{message['_id']}@etnik.local" if qr_value else None
        values["ticket_qr_src"] = f"cid:{qr_id}" if qr_id else None
        values["ticket_attached"] = ticket is not None
        # What an event_changed message tells (one queued before this was known: the time).
        values["moved"] = bool(context.get("moved", True))
        values["link_changed"] = bool(context.get("link_changed", False))
        for source, target in (
            ("offer_expires_at", "offer_expires"),
            ("link_expires_at", "link_expires"),
        ):
            if context.get(source):
                values[target] = moment(
                    datetime.fromisoformat(context[source]), locale=locale, recipient_zone=zone
                )
        headers: dict[str, str] = {}
        if message["kind"] in OPTIONAL_KINDS:
            url = self._unsubscribe_links.url(message["person_id"])
            values["unsubscribe_url"] = url
            headers["List-Unsubscribe"] = f"<{url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        rendered = self._renderer.render(message["kind"], locale, values)
        attachments: list[Attachment] = []
        if message["kind"] == "registration_confirmed" and event is not None:
            ics = event_ics(
                event_id=context["event_id"],
                title=event["title"],
                starts_at=event["starts_at"],
                ends_at=event["ends_at"],
                venue=event.get("venue"),
                online_link=values["online_link"],
            )
            attachments.append(Attachment("event.ics", ics, "text", "calendar"))
        if ticket is not None:
            attachments.append(Attachment(TICKET_FILENAME, ticket, "application", "pdf"))
        # An operator's version of the template may leave the image out: then it is not sent.
        if qr_value is not None and f"cid:{qr_id}" in rendered.html:
            image = qr_png(qr_value)
            attachments.append(Attachment(QR_FILENAME, image, "image", "png", content_id=qr_id))
        return OutgoingMessage(
            message_id=message["_id"],
            to_address=recipient["email"],
            to_name=recipient.get("full_name") or "",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=headers,
            attachments=tuple(attachments),
        )
