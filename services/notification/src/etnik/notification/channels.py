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
    """A file sent along with a message."""

    filename: str
    content: bytes
    maintype: str
    subtype: str


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
    """The channel refused or could not take the message."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Channel(Protocol):
    """A way to reach a person (email now; SMS or messengers can be added beside it)."""

    name: str

    async def send(self, message: OutgoingMessage) -> None:
        """Deliver, or raise DeliveryError."""

    async def close(self) -> None:
        """Release connections."""


class EmailChannel:
    """Email over SMTP with one kept-alive connection, reopened when it drops."""

    name = "email"

    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    def _build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._settings.mail_from
        email["To"] = formataddr((message.to_name, message.to_address))
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(idstring=message.message_id[:16], domain="etnik.local")
        for name, value in message.headers.items():
            email[name] = value
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        for attachment in message.attachments:
            email.add_attachment(
                attachment.content,
                maintype=attachment.maintype,
                subtype=attachment.subtype,
                filename=attachment.filename,
            )
        return email

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_implicit_tls,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_s,
        )
        await client.connect()
        if settings.smtp_username and settings.smtp_password:
            await client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        self._client = client
        return client

    async def send(self, message: OutgoingMessage) -> None:
        """Send one email; a dropped connection is reopened once before giving up."""
        email = self._build(message)
        wire = email.as_bytes(policy=_WIRE_POLICY)
        sender = parseaddr(self._settings.mail_from)[1]
        async with self._lock:
            for attempt in (1, 2):
                try:
                    client = await self._connected()
                    await client.sendmail(sender, [message.to_address], wire)
                    return
                except aiosmtplib.SMTPRecipientsRefused as error:
                    raise DeliveryError(f"recipient refused: {error}", permanent=True) from error
                except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
                    await self._drop()
                    if attempt == 2:
                        raise DeliveryError(f"SMTP: {error}", permanent=False) from error

    async def _drop(self) -> None:
        if self._client is not None:
            try:
                await self._client.quit()
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                self._client.close()
            self._client = None

    async def close(self) -> None:
        """Close the SMTP connection."""
        async with self._lock:
            await self._drop()
