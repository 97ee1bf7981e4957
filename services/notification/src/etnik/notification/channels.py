"""Delivery channels: what triggers a message never knows how it travels."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Protocol

import aiosmtplib

from etnik.notification.settings import NotificationSettings

log = logging.getLogger(__name__)

# The SMTP policy folds a header over 78 characters and, for a long URL with nothing to fold
# at, encodes it as an RFC 2047 word: a List-Unsubscribe that no mail client could use. Lines
# may be 998 characters long (RFC 5322), so they are flattened here with that limit.
_WIRE_POLICY = email_policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Attachment:
    """A file sent along with a message; with a `content_id`, an image the HTML shows inline
    (`<img src="cid:{content_id}">`), sent as a part related to the HTML."""

    filename: str
    content: bytes
    maintype: str
    subtype: str
    content_id: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message, ready for any channel."""

    message_id: str
    to_address: str
    to_name: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


class DeliveryError(Exception):
    """The channel refused or could not take the message.

    `permanent`: trying again will not help (the recipient was refused). `outage`: the
    channel itself could not be reached, which says nothing about the message: it waits
    for the channel without using up its attempts.
    """

    def __init__(self, reason: str, *, permanent: bool, outage: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.outage = outage


class Channel(Protocol):
    """A way to reach a person (email now; SMS or messengers can be added beside it)."""

    name: str

    async def send(self, message: OutgoingMessage) -> None:
        """Deliver, or raise DeliveryError."""

    async def close(self) -> None:
        """Release connections."""


class EmailChannel:
    """Email over SMTP through a few kept-alive connections, each reopened when it drops.

    Up to `smtp_connections` messages are on the wire at once; a sender waits for a free
    connection. A connection that fails is closed and opened again once for the same
    message; a server that cannot be reached at all is reported as an outage.
    """

    name = "email"

    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings
        self._sender = parseaddr(settings.mail_from)[1]
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(settings.smtp_connections):
            self._idle.put_nowait(None)  # a slot, connected when first used
        self._open: set[aiosmtplib.SMTP] = set()

    @property
    def connections(self) -> int:
        """How many messages may be sent side by side."""
        return self._settings.smtp_connections

    def _build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._settings.mail_from
        email["To"] = formataddr((message.to_name, message.to_address))
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(idstring=message.message_id[:16], domain="etnik.local")
        for name, value in message.headers.items():
            email[name] = value
        email.set_content(message.text)
        attached = list(message.attachments)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
            inline = [attachment for attachment in attached if attachment.content_id]
            if inline:
                # multipart/alternative [text, multipart/related [html, images]]: clients show
                # the images in place and do not list them as files.
                html_part = email.get_body(preferencelist=("html",))
                assert html_part is not None  # added just above
                for image in inline:
                    html_part.add_related(
                        image.content,
                        maintype=image.maintype,
                        subtype=image.subtype,
                        cid=f"<{image.content_id}>",
                        disposition="inline",
                        filename=image.filename,
                    )
                html_part.set_param("type", "text/html")  # the root part's type (RFC 2387)
                attached = [attachment for attachment in attached if not attachment.content_id]
        # Without an HTML part an inline image has nowhere to be shown: it goes as a file.
        for attachment in attached:
            email.add_attachment(
                attachment.content,
                maintype=attachment.maintype,
                subtype=attachment.subtype,
                filename=attachment.filename,
            )
        return email

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_implicit_tls,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_s,
        )
        try:
            await client.connect()
            if settings.smtp_username and settings.smtp_password:
                await client.login(
                    settings.smtp_username, settings.smtp_password.get_secret_value()
                )
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            client.close()
            raise DeliveryError(
                f"SMTP unreachable: {error}", permanent=False, outage=True
            ) from error
        self._open.add(client)
        return client

    async def send(self, message: OutgoingMessage) -> None:
        """Send one email; a dropped connection is reopened once before giving up."""
        wire = self._build(message).as_bytes(policy=_WIRE_POLICY)
        client = await self._idle.get()
        try:
            for attempt in (1, 2):
                try:
                    if client is None or not client.is_connected:
                        await self._drop(client)
                        client = None
                        client = await self._connect()
                    await client.sendmail(self._sender, [message.to_address], wire)
                    return
                except aiosmtplib.SMTPRecipientsRefused as error:
                    raise DeliveryError(f"recipient refused: {error}", permanent=True) from error
                except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
                    await self._drop(client)
                    client = None
                    if attempt == 2:
                        raise DeliveryError(f"SMTP: {error}", permanent=False) from error
        finally:
            self._idle.put_nowait(client)

    async def _drop(self, client: aiosmtplib.SMTP | None) -> None:
        if client is None:
            return
        self._open.discard(client)
        try:
            await client.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            client.close()

    async def close(self) -> None:
        """Close the SMTP connections."""
        for client in list(self._open):
            await self._drop(client)
