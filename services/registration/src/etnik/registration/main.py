"""Composition root of the registration service."""

from __future__ import annotations

from fastapi import FastAPI

from etnik.common.app import ServiceRuntime, create_service_app
from etnik.common.contracts.registration import (
    EventCreated,
    PersonRegistered,
    RegistrationConfirmed,
    RegistrationWaitlisted,
)
from etnik.registration.api import router
from etnik.registration.identity import OperatorAccounts, SigningKey, bootstrap_admin
from etnik.registration.repository import OUTBOX_COLLECTIONS, RegistrationRepository
from etnik.registration.service import RegistrationService
from etnik.registration.settings import RegistrationSettings

PUBLISHES = (EventCreated, PersonRegistered, RegistrationConfirmed, RegistrationWaitlisted)


def build_runtime(
    settings: RegistrationSettings | None = None, signing_key: SigningKey | None = None
) -> ServiceRuntime:
    """The runtime without the HTTP app: used by the app and by the AsyncAPI generator."""
    return ServiceRuntime(
        settings or RegistrationSettings(),
        publishes=PUBLISHES,
        outbox_collections=OUTBOX_COLLECTIONS,
        # Tokens issued here are verified with this process's own key, with no network round trip.
        jwks_loader=signing_key.jwks_loader() if signing_key else None,
    )


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    """The registration service's ASGI app."""
    settings = settings or RegistrationSettings()
    signing_key = SigningKey.load(settings)
    runtime = build_runtime(settings, signing_key)
    repository = RegistrationRepository(runtime.db)
    accounts = OperatorAccounts(runtime.db["operators"])

    runtime.on_database_ready(repository.ensure_indexes)
    runtime.on_database_ready(accounts.ensure_indexes)
    runtime.on_database_ready(lambda: bootstrap_admin(accounts, settings))

    app = create_service_app(
        runtime,
        title="EtNik registration",
        description="Programme, events, people, identity and registrations.",
        routers=[router],
    )
    app.state.settings = settings
    app.state.repository = repository
    app.state.accounts = accounts
    app.state.signing_key = signing_key
    app.state.service = RegistrationService(repository, runtime.publisher, runtime.outbox)
    return app
