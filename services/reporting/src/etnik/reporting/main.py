"""The reporting service's ASGI app: the container (container.py) behind its routes."""

from __future__ import annotations

from fastapi import FastAPI

from etnik.common.app import create_service_app
from etnik.reporting.api import router
from etnik.reporting.container import build
from etnik.reporting.settings import ReportingSettings


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    """The reporting service's ASGI app."""
    container = build(settings)
    return create_service_app(
        container.runtime,
        title="EtNik reporting",
        description="Programme statistics and grant-fund reports built from the event streams.",
        container=container,
        routers=[router],
    )
