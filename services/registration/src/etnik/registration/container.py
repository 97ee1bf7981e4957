"""Composition root of the registration service: everything one process holds, wired once.

Registration consumes no events (it is where the platform's facts start), so it registers no
subscribers and has no handlers.py; what it publishes is every contract of
`etnik.common.contracts.registration`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from etnik.common.app import ServiceRuntime, container_dependency
from etnik.common.contracts import registration as contracts
from etnik.common.events import published_by
from etnik.registration.attendance import Attendance
from etnik.registration.catalogue import CatalogueService
from etnik.registration.certificates import CertificateService
from etnik.registration.consents import ConsentService
from etnik.registration.demo import load_demo_data
from etnik.registration.directory import DirectoryService
from etnik.registration.experts import EXPERTS, ExpertService
from etnik.registration.identity import (
    IdentityService,
    OperatorAccounts,
    RefreshTokens,
    SigningKey,
    bootstrap_admin,
)
from etnik.registration.internships import InternshipService
from etnik.registration.invitations import InvitationService
from etnik.registration.moderation import Moderation
from etnik.registration.partnerships import PartnershipService
from etnik.registration.peer_exports import PeerExports
from etnik.registration.placement import Placement
from etnik.registration.privacy import PrivacyService
from etnik.registration.queries import ManageLinks, RegistrationQueries
from etnik.registration.reference import seed_reference_data
from etnik.registration.registering import Registering
from etnik.registration.repository import OPERATORS, OUTBOX_COLLECTIONS, RegistrationRepository
from etnik.registration.retention import RetentionService
from etnik.registration.settings import RegistrationSettings
from etnik.registration.surveys import SurveyService
from etnik.registration.waitlist import Waitlist

REFRESH_TOKENS = "refresh_tokens"


@dataclass(frozen=True)
class RegistrationContainer:
    """The runtime, the settings, the signing key and every use case of the service."""

    runtime: ServiceRuntime
    settings: RegistrationSettings
    repository: RegistrationRepository
    signing_key: SigningKey
    accounts: OperatorAccounts
    identity: IdentityService
    catalogue: CatalogueService
    directory: DirectoryService
    invitations: InvitationService
    links: ManageLinks
    queries: RegistrationQueries
    registering: Registering
    waitlist: Waitlist
    moderation: Moderation
    attendance: Attendance
    surveys: SurveyService
    certificates: CertificateService
    consents: ConsentService
    privacy: PrivacyService
    retention: RetentionService
    partnerships: PartnershipService
    internships: InternshipService
    experts: ExpertService


def build(settings: RegistrationSettings | None = None) -> RegistrationContainer:
    """Wire the service: runtime, use cases, what runs once MongoDB answers, and the loops."""
    settings = settings or RegistrationSettings()
    key = SigningKey.load(settings)
    runtime = ServiceRuntime(
        settings,
        publishes=published_by(contracts),
        outbox_collections=(*OUTBOX_COLLECTIONS, EXPERTS),
        # Tokens issued here are verified with this process's own key, with no network round trip.
        jwks_loader=key.jwks_loader(),
    )
    repository = RegistrationRepository(runtime.db)
    staging = runtime.outbox
    accounts = OperatorAccounts(runtime.db[OPERATORS], staging)
    identity = IdentityService(
        settings=settings,
        signing_key=key,
        accounts=accounts,
        refresh_tokens=RefreshTokens(runtime.db[REFRESH_TOKENS], settings.refresh_token_ttl_s),
        sign_in_links=repository.sign_in_links,
        people=repository.people,
        staging=staging,
    )
    catalogue = CatalogueService(repository, staging)
    directory = DirectoryService(repository, staging, catalogue)
    invitations = InvitationService(repository, staging, catalogue, key, settings)
    links = ManageLinks(key, settings)
    queries = RegistrationQueries(repository, catalogue, directory, links)
    placement = Placement(repository)
    waitlist = Waitlist(repository, staging, catalogue, placement, queries, links, settings)
    surveys = SurveyService(repository, staging, catalogue, queries, links, settings)
    attendance = Attendance(repository, staging, catalogue, surveys)
    experts = ExpertService(repository, staging, catalogue)
    peers = PeerExports(
        settings.export_peers(),
        identity.own_service_token,
        timeout_s=settings.export_peer_timeout_s,
    )
    privacy = PrivacyService(repository, staging, waitlist, identity, experts, peers)
    container = RegistrationContainer(
        runtime=runtime,
        settings=settings,
        repository=repository,
        signing_key=key,
        accounts=accounts,
        identity=identity,
        catalogue=catalogue,
        directory=directory,
        invitations=invitations,
        links=links,
        queries=queries,
        registering=Registering(
            repository, staging, catalogue, directory, invitations, placement, links, settings
        ),
        waitlist=waitlist,
        moderation=Moderation(repository, staging, catalogue, placement, queries),
        attendance=attendance,
        surveys=surveys,
        certificates=CertificateService(
            repository, staging, catalogue, attendance, links, settings
        ),
        consents=ConsentService(repository, staging, settings),
        privacy=privacy,
        retention=RetentionService(repository, privacy, settings),
        partnerships=PartnershipService(repository, staging, catalogue),
        internships=InternshipService(repository, staging, catalogue),
        experts=experts,
    )

    async def setup_identity() -> None:
        """Indexes of the identity collections and the first administrator."""
        await accounts.ensure_indexes()
        await runtime.db[REFRESH_TOKENS].create_index("subject")
        await bootstrap_admin(accounts, settings)

    async def seed() -> None:
        """Reference data and the programme structure; the demo programme in development."""
        await seed_reference_data(repository)
        await catalogue.seed_default_programme()
        if settings.loads_demo_data:
            await load_demo_data(repository, catalogue, directory, accounts)

    runtime.on_database_ready(repository.ensure_indexes)
    runtime.on_database_ready(container.certificates.ensure_indexes)
    runtime.on_database_ready(surveys.ensure_indexes)
    runtime.on_database_ready(container.partnerships.ensure_indexes)
    runtime.on_database_ready(experts.ensure_indexes)
    runtime.on_database_ready(setup_identity)
    runtime.on_database_ready(seed)
    runtime.run_in_background(waitlist.run_offer_expiry)
    runtime.run_in_background(container.retention.run_periodically)
    return container


Container = Annotated[RegistrationContainer, Depends(container_dependency(RegistrationContainer))]
