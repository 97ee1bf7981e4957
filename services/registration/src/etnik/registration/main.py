"""Composition root of the registration service."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from etnik.common.app import ServiceRuntime, create_service_app
from etnik.common.contracts.registration import (
    AttendanceRecorded,
    CertificateIssued,
    EventChanged,
    EventCreated,
    ExpertChanged,
    ExpertErased,
    ExpertRemoved,
    ExpertRostered,
    FederalDistrictChanged,
    FederalSubjectChanged,
    InternshipApplicationDecided,
    InternshipApplicationReceived,
    InternshipDetailsSet,
    InternshipOutcomeCorrected,
    InternshipOutcomeRecorded,
    InvitationCampaignCreated,
    InvitationIssued,
    OperatorAccountChanged,
    OrganisationRegistered,
    PartnershipChanged,
    PartnershipEnded,
    PartnershipFormed,
    PersonErased,
    PersonRegistered,
    ProgrammeChanged,
    PublicationConsentWithdrawn,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationOffered,
    RegistrationPendingApproval,
    RegistrationRejected,
    RegistrationWaitlisted,
    SignInLinkRequested,
    SignInLinksErased,
    SurveyAnswered,
    SurveyRequested,
)
from etnik.registration.api import router
from etnik.registration.catalogue import CatalogueService
from etnik.registration.certificates import CertificateService
from etnik.registration.certificates_api import router as certificates_router
from etnik.registration.consents import ConsentService
from etnik.registration.consents_api import router as consents_router
from etnik.registration.container import Services
from etnik.registration.demo import load_demo_data
from etnik.registration.directory import DirectoryService
from etnik.registration.errors import DomainError
from etnik.registration.experts import EXPERTS, experts_of
from etnik.registration.experts_api import router as experts_router
from etnik.registration.identity import (
    IdentityService,
    OperatorAccounts,
    RefreshTokens,
    SigningKey,
    bootstrap_admin,
)
from etnik.registration.internships_api import router as internships_router
from etnik.registration.invitations import InvitationService
from etnik.registration.partnerships import partnerships_of
from etnik.registration.partnerships_api import router as partnerships_router
from etnik.registration.peer_exports import PeerExports
from etnik.registration.privacy import PrivacyService
from etnik.registration.reference import seed_reference_data
from etnik.registration.repository import OPERATORS, OUTBOX_COLLECTIONS, RegistrationRepository
from etnik.registration.retention import RetentionService
from etnik.registration.service import RegistrationService
from etnik.registration.settings import RegistrationSettings
from etnik.registration.surveys import surveys_of
from etnik.registration.surveys_api import router as surveys_router

log = logging.getLogger(__name__)

PUBLISHES = (
    EventCreated,
    EventChanged,
    ProgrammeChanged,
    FederalSubjectChanged,
    FederalDistrictChanged,
    OperatorAccountChanged,
    PersonRegistered,
    PersonErased,
    OrganisationRegistered,
    RegistrationConfirmed,
    RegistrationWaitlisted,
    RegistrationPendingApproval,
    RegistrationRejected,
    RegistrationOffered,
    RegistrationCancelled,
    AttendanceRecorded,
    SignInLinkRequested,
    SignInLinksErased,
    InvitationIssued,
    InvitationCampaignCreated,
    CertificateIssued,
    SurveyRequested,
    SurveyAnswered,
    PartnershipFormed,
    PartnershipChanged,
    PartnershipEnded,
    PublicationConsentWithdrawn,
    InternshipDetailsSet,
    InternshipApplicationReceived,
    InternshipApplicationDecided,
    InternshipOutcomeRecorded,
    InternshipOutcomeCorrected,
    ExpertRostered,
    ExpertChanged,
    ExpertRemoved,
    ExpertErased,
)


def build_runtime(
    settings: RegistrationSettings | None = None, signing_key: SigningKey | None = None
) -> ServiceRuntime:
    """The runtime without the HTTP app: used by the app and by the AsyncAPI generator."""
    return ServiceRuntime(
        settings or RegistrationSettings(),
        publishes=PUBLISHES,
        outbox_collections=(*OUTBOX_COLLECTIONS, EXPERTS),
        # Tokens issued here are verified with this process's own key, with no network round trip.
        jwks_loader=signing_key.jwks_loader() if signing_key else None,
    )


def build_services(
    runtime: ServiceRuntime, settings: RegistrationSettings, key: SigningKey
) -> Services:
    """Every handler, wired to one runtime."""
    repository = RegistrationRepository(runtime.db)
    staging = runtime.outbox
    accounts = OperatorAccounts(runtime.db[OPERATORS], staging)
    identity = IdentityService(
        settings=settings,
        signing_key=key,
        accounts=accounts,
        refresh_tokens=RefreshTokens(runtime.db["refresh_tokens"], settings.refresh_token_ttl_s),
        sign_in_links=repository.sign_in_links,
        people=repository.people,
        staging=staging,
    )
    catalogue = CatalogueService(repository, staging)
    directory = DirectoryService(repository, staging, catalogue)
    invitations = InvitationService(repository, staging, catalogue, key, settings)
    registrations = RegistrationService(
        repository, staging, catalogue, directory, invitations, key, settings
    )
    peers = PeerExports(
        settings.export_peers(),
        identity.own_service_token,
        timeout_s=settings.export_peer_timeout_s,
    )
    privacy = PrivacyService(repository, staging, registrations, identity, peers)
    certificates = CertificateService(repository, staging, catalogue, registrations, settings)
    return Services(
        runtime=runtime,
        settings=settings,
        repository=repository,
        signing_key=key,
        accounts=accounts,
        identity=identity,
        catalogue=catalogue,
        directory=directory,
        registrations=registrations,
        invitations=invitations,
        privacy=privacy,
        certificates=certificates,
        consents=ConsentService(repository, staging, settings),
        retention=RetentionService(repository, privacy, settings),
    )


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    """The registration service's ASGI app."""
    settings = settings or RegistrationSettings()
    signing_key = SigningKey.load(settings)
    runtime = build_runtime(settings, signing_key)
    app_services = build_services(runtime, settings, signing_key)
    repository = app_services.repository

    async def setup_identity() -> None:
        """Indexes of the identity collections and the first administrator."""
        await app_services.accounts.ensure_indexes()
        await runtime.db["refresh_tokens"].create_index("subject")
        await bootstrap_admin(app_services.accounts, settings)

    async def seed() -> None:
        """Reference data and the programme structure; the demo programme in development."""
        await seed_reference_data(repository)
        await app_services.catalogue.seed_default_programme()
        if settings.loads_demo_data:
            await load_demo_data(
                repository, app_services.catalogue, app_services.directory, app_services.accounts
            )

    runtime.on_database_ready(repository.ensure_indexes)
    runtime.on_database_ready(app_services.certificates.ensure_indexes)
    runtime.on_database_ready(surveys_of(app_services).ensure_indexes)
    runtime.on_database_ready(partnerships_of(app_services).ensure_indexes)
    runtime.on_database_ready(experts_of(app_services).ensure_indexes)
    runtime.on_database_ready(setup_identity)
    runtime.on_database_ready(seed)
    runtime.run_in_background(app_services.registrations.run_offer_expiry)
    runtime.run_in_background(app_services.retention.run_periodically)

    app = create_service_app(
        runtime,
        title="EtNik registration",
        description="Programme, events, organisations, people, identity, registrations, "
        "waitlist and attendance.",
        # Consents first: its GET /consent-texts/{scope} (versions, locales) serves that path.
        routers=[
            consents_router,
            router,
            certificates_router,
            surveys_router,
            partnerships_router,
            internships_router,
            experts_router,
        ],
    )

    @app.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> JSONResponse:
        """A use case's refusal as the HTTP error it names."""
        return JSONResponse({"detail": error.reason}, status_code=error.status_code)

    @app.exception_handler(PyMongoError)
    async def storage_failed(request: Request, error: PyMongoError) -> JSONResponse:
        """A storage error that is not an outage (FerretDB's SQLite busy under load): 503.

        Every write is safe to repeat with the same Idempotency-Key (people and
        registrations are found again by their natural keys), so the client is told to retry.
        """
        log.warning("storage error: %s", error)
        return JSONResponse(
            {"detail": "storage did not finish; retry with the same Idempotency-Key"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    app.state.settings = settings
    app.state.services = app_services
    return app
