"""HTTP entrypoints of the registration service: one router per sub-domain, each thin (it reads
the request, calls one use case of the container, shapes the answer). A use case's refusal
(DomainError) passes through to the kernel's one handler."""

from __future__ import annotations

from fastapi import APIRouter

from etnik.registration.api import (
    attendance,
    certificates,
    consents,
    directory,
    experts,
    identity,
    internships,
    invitations,
    moderation,
    partnerships,
    personal_data,
    programme,
    reference,
    registrations,
    surveys,
    tickets,
)

# In the order they are matched: a literal path (`/registrations/by-link`, `/registrations/
# export`) comes before the `{registration_id}` that would take it within each router, and
# consents first: its GET /consent-texts/{scope} (versions, locales) serves that path.
ROUTERS: list[APIRouter] = [
    consents.router,
    identity.router,
    reference.router,
    programme.router,
    directory.router,
    personal_data.router,
    registrations.router,
    moderation.router,
    invitations.router,
    attendance.router,
    tickets.router,
    certificates.router,
    surveys.router,
    partnerships.router,
    internships.router,
    experts.router,
]
