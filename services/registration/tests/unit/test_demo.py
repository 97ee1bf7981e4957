"""Demo data: only in development, marked as demo, loaded once on an empty database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from etnik.registration.settings import RegistrationSettings

if TYPE_CHECKING:
    pass


@pytest.mark.parametrize(
    ("environment", "demo_data", "loads"),
    [
        ("development", True, True),
        ("development", False, False),
        ("test", True, False),
        ("production", True, False),
    ],
)
def test_demo_data_is_for_development_only(environment: str, demo_data: bool, loads: bool) -> None:
    explicit = {
        "kafka_bootstrap_servers": "kafka:9092",
        "mongodb_url": "mongodb://db/",
        "registration_url": "http://registration",
        "jwt_private_key_file": "/run/secrets/jwt.pem",
        "notification_client_secret": "n" * 32,
    }
    settings = RegistrationSettings(environment=environment, demo_data=demo_data, **explicit)
    assert settings.loads_demo_data is loads
