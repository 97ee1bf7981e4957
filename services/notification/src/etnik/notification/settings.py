"""Settings of the notification service."""

from __future__ import annotations

from pydantic import Field, SecretStr

from etnik.common.settings import ServiceSettings


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

    dispatch_idle_interval_s: float = Field(default=0.5, gt=0)
    dispatch_lease_s: float = Field(default=60.0, gt=0)
    max_send_attempts: int = Field(default=5, ge=1)
    retry_base_delay_s: float = Field(default=2.0, gt=0)
    # A message whose recipient or event is not yet known waits this long before it fails.
    wait_for_context_s: float = Field(default=600.0, gt=0)
