"""Settings of the registration service."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator

from etnik.common.settings import ServiceSettings


class RegistrationSettings(ServiceSettings):
    """Identity keys, token lifetimes and the first administrator."""

    service_name: str = "registration"
    # PEM file of the EC P-256 key that signs tokens; generated per process in development.
    jwt_private_key_file: Path | None = None
    access_token_ttl_s: int = Field(default=900, ge=60, le=3600)
    admin_email: str = "admin@etnik.local"
    admin_password: SecretStr | None = None

    @model_validator(mode="after")
    def _production_needs_a_signing_key(self) -> Self:
        if self.is_production and self.jwt_private_key_file is None:
            raise ValueError("in production JWT_PRIVATE_KEY_FILE must name the signing key")
        return self
