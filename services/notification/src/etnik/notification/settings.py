"""Settings of the notification service."""

from __future__ import annotations

import logging
from typing import Self

from pydantic import Field, SecretStr, model_validator

from etnik.common.settings import (
    ServiceSettings,
    check_client_secret,
    notification_client_secret,
)


class NotificationSettings(ServiceSettings):
    """SMTP delivery and the dispatcher's pace."""

    service_name: str = "notification"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # STARTTLS after connecting, or TLS from the first byte (port 465).
    smtp_starttls: bool = False
    smtp_implicit_tls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "ЭтНик <no-reply@etnik.local>"

    # SMTP connections kept open and used side by side.
    smtp_connections: int = Field(default=4, ge=1, le=32)

    dispatch_idle_interval_s: float = Field(default=0.5, gt=0)
    dispatch_lease_s: float = Field(default=60.0, gt=0)
    # Messages claimed with one lease insert; their outcomes are written in one bulk write.
    dispatch_batch_size: int = Field(default=100, ge=1, le=1000)
    # A batch that is not full waits this long for more, so that a stream of messages is
    # claimed and recorded in batches rather than one by one.
    dispatch_linger_s: float = Field(default=0.05, ge=0)
    # How often MongoDB is searched for due messages this replica did not queue itself
    # (reminders, retries and postponements found later, other replicas' expired claims).
    dispatch_sweep_interval_s: float = Field(default=5.0, gt=0)
    # How long SMTP may stay unreachable before a message's next try, at most.
    smtp_outage_max_delay_s: float = Field(default=60.0, gt=0)
    max_send_attempts: int = Field(default=5, ge=1)
    retry_base_delay_s: float = Field(default=2.0, gt=0)
    # A message whose recipient or event is not yet known waits this long before it fails.
    wait_for_context_s: float = Field(default=600.0, gt=0)

    # Reminders before an event, in hours (REMINDER_OFFSETS_H='[24, 1]').
    reminder_offsets_h: list[float] = Field(default_factory=lambda: [24.0, 1.0])
    # Invitations sent per second at most, across a campaign, so the SMTP relay is not flooded.
    invitation_rate_per_s: float = Field(default=20.0, gt=0)
    # How often erasures not yet completed are run again (etnik.common.erasure).
    erasure_retry_interval_s: float = Field(default=30.0, gt=0)
    # Signs unsubscribe links; required in production.
    unsubscribe_secret: SecretStr | None = None

    # This service's client secret at registration (the same value registration is given):
    # it buys a short-lived service token that reads, at send time, what a message about a
    # registration must carry (the owner's link, the session link, the check-in code).
    notification_client_secret: SecretStr | None = None
    # How long one read from registration may take; how long a message waits at most between
    # tries while registration cannot be reached (it is never sent without what it must carry).
    registration_timeout_s: float = Field(default=5.0, gt=0)
    registration_outage_max_delay_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _production_needs_its_secrets(self) -> Self:
        if self.is_production and self.unsubscribe_secret is None:
            raise ValueError("in production UNSUBSCRIBE_SECRET must be set")
        check_client_secret(self.notification_client_secret, production=self.is_production)
        return self

    def client_secret(self) -> str:
        """The secret this service proves itself with to registration."""
        return notification_client_secret(
            self.notification_client_secret, production=self.is_production
        )

    def unsubscribe_signing_key(self) -> str:
        """The configured secret; outside production a fixed development value."""
        if self.unsubscribe_secret is not None:
            return self.unsubscribe_secret.get_secret_value()
        logging.getLogger(__name__).warning("UNSUBSCRIBE_SECRET not set: using the development key")
        return "etnik-development-unsubscribe-key"
