"""The registration service's ASGI app: the container (container.py) behind its routes."""

from __future__ import annotations

from fastapi import FastAPI

from etnik.common.app import create_service_app
from etnik.registration.api import ROUTERS
from etnik.registration.container import build
from etnik.registration.settings import RegistrationSettings


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    """The registration service's ASGI app, with offer expiry and retention in the background."""
    container = build(settings)
    return create_service_app(
        container.runtime,
        title="EtNik registration",
        description="Programme, events, organisations, people, identity, registrations, "
        "waitlist and attendance.",
        container=container,
        routers=ROUTERS,
    )
