"""Settings of the registration service."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator

from etnik.common.pdf_fonts import DEFAULT_BOLD_FONT_FILE, DEFAULT_FONT_FILE
from etnik.common.settings import (
    Environment,
    ServiceSettings,
    check_client_secret,
    notification_client_secret,
)

NOTIFICATION_CLIENT = "notification"


class RegistrationSettings(ServiceSettings):
    """Identity keys, token and link lifetimes, offers, and the first administrator."""

    service_name: str = "registration"
    # PEM file of the EC P-256 key that signs tokens; generated per process in development.
    jwt_private_key_file: Path | None = None
    # PEM files of keys signed with before a rotation (public or private halves): published in
    # the JWKS and accepted for links until what they signed has expired, then removed.
    jwt_previous_key_files: list[Path] = Field(default_factory=list)
    access_token_ttl_s: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_s: int = Field(default=30 * 86400, ge=300)
    sign_in_link_ttl_s: int = Field(default=900, ge=60, le=86400)
    # The link in a registration answer that lets its owner view or cancel it.
    manage_link_ttl_s: int = Field(default=180 * 86400, ge=3600)
    invitation_ttl_s: int = Field(default=30 * 86400, ge=60)
    # How long a freed place stays offered to the next waitlisted person.
    offer_ttl_s: int = Field(default=48 * 3600, ge=1)
    offer_check_interval_s: float = Field(default=30.0, gt=0)
    # The secret the notification service proves itself with to get a short-lived service
    # token (POST /auth/service-token); notification is given the same value.
    notification_client_secret: SecretStr | None = None
    service_token_ttl_s: int = Field(default=300, ge=60, le=3600)
    # A TrueType font with Cyrillic glyphs for participants' tickets (Debian: fonts-dejavu-core).
    pdf_font_file: Path = DEFAULT_FONT_FILE
    pdf_bold_font_file: Path = DEFAULT_BOLD_FONT_FILE
    # The other services a person's export reads from (`GET /people/{id}/export` on each, with
    # registration's own service token), and how long each may take before its section is
    # reported missing (the export is given without it, saying so).
    notification_url: str = "http://127.0.0.1:8002"
    content_url: str = "http://127.0.0.1:8003"
    reporting_url: str = "http://127.0.0.1:8004"
    export_peer_timeout_s: float = Field(default=5.0, gt=0, le=60)
    admin_email: str = "admin@etnik.local"
    admin_password: SecretStr | None = None
    # Demo programme on an empty database; only ever in development.
    demo_data: bool = True
    # A form that showed the previous consent text is still accepted this long after the next
    # one took effect (the person is asked to accept the new one when signed in).
    consent_text_grace_s: int = Field(default=86400, ge=0)
    # Retention (152-FZ art. 5 p. 7): a person with no registration for RETENTION_PERIOD is erased,
    # and nobody before the programme's end plus that period. ISO 8601 durations, e.g. P1096D.
    programme_ends_on: date = date(2026, 12, 31)
    retention_period: timedelta = Field(default=timedelta(days=3 * 365 + 1), gt=timedelta(0))
    retention_check_interval_s: float = Field(default=86400.0, gt=0)

    @property
    def loads_demo_data(self) -> bool:
        """Demo data only in development, never in test or production."""
        return self.demo_data and self.environment is Environment.DEVELOPMENT

    def export_peers(self) -> dict[str, str]:
        """The services whose part of a person's export registration gathers, by name."""
        return {
            "notification": self.notification_url,
            "content": self.content_url,
            "reporting": self.reporting_url,
        }

    def service_clients(self) -> dict[str, str]:
        """Client id -> secret of the services that may ask for a service token."""
        secret = notification_client_secret(
            self.notification_client_secret, production=self.is_production
        )
        return {NOTIFICATION_CLIENT: secret}

    @model_validator(mode="after")
    def _production_needs_a_signing_key(self) -> Self:
        if self.is_production and self.jwt_private_key_file is None:
            raise ValueError("in production JWT_PRIVATE_KEY_FILE must name the signing key")
        check_client_secret(self.notification_client_secret, production=self.is_production)
        return self
