"""The use cases one process holds, as the HTTP entrypoints reach them."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from etnik.common.app import ServiceRuntime
from etnik.registration.catalogue import CatalogueService
from etnik.registration.certificates import CertificateService
from etnik.registration.consents import ConsentService
from etnik.registration.directory import DirectoryService
from etnik.registration.identity import IdentityService, OperatorAccounts, SigningKey
from etnik.registration.invitations import InvitationService
from etnik.registration.privacy import PrivacyService
from etnik.registration.repository import RegistrationRepository
from etnik.registration.retention import RetentionService
from etnik.registration.service import RegistrationService
from etnik.registration.settings import RegistrationSettings


@dataclass(frozen=True)
class Services:
    """Every handler of the registration service."""

    runtime: ServiceRuntime
    settings: RegistrationSettings
    repository: RegistrationRepository
    signing_key: SigningKey
    accounts: OperatorAccounts
    identity: IdentityService
    catalogue: CatalogueService
    directory: DirectoryService
    registrations: RegistrationService
    invitations: InvitationService
    privacy: PrivacyService
    certificates: CertificateService
    consents: ConsentService
    retention: RetentionService


def services(request: Request) -> Services:
    """The handlers of the app serving this request."""
    found: Services = request.app.state.services
    return found
