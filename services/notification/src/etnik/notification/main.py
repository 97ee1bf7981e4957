"""The notification service's ASGI app: the container (container.py) behind its routes."""

from __future__ import annotations

from fastapi import FastAPI

from etnik.common.app import create_service_app
from etnik.common.erasure import erasure_router
from etnik.notification.api import router
from etnik.notification.container import build
from etnik.notification.export import router as export_router
from etnik.notification.settings import NotificationSettings


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    """The notification service's ASGI app, with its dispatcher running in the background."""
    container = build(settings)
    return create_service_app(
        container.runtime,
        title="EtNik notification",
        description="Invitations, confirmations and reminders, in each person's own time zone.",
        container=container,
        routers=[router, export_router, erasure_router()],
    )
