"""Registering: the public form with its answers and consents, the organisation named on it,
and the new registration placed (confirmed, waitlisted or pending approval) once per person."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cachetools import TTLCache

from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.catalogue import CatalogueService
from etnik.registration.consents import ClientContext, current_text, shown_text
from etnik.registration.directory import DirectoryService
from etnik.registration.domain import (
    CHECK_IN_ALPHABET,
    Question,
    QuestionKind,
    RuleViolation,
    check_registration_window,
    validate_answers,
)
from etnik.registration.errors import DomainError
from etnik.registration.internships import application_received
from etnik.registration.invitations import InvitationService
from etnik.registration.placement import Placement, retry_while_taken
from etnik.registration.queries import ManageLinks
from etnik.registration.repository import RegistrationRepository, new_id, now_utc
from etnik.registration.schemas import OrganisationIn, RegistrationIn
from etnik.registration.settings import RegistrationSettings
from etnik.registration.status_changes import registration_facts

CHECK_IN_CODE_LENGTH = 8
# How long a process serves the current consent text without asking again.
CONSENT_TEXT_CACHE_S = 10.0


@dataclass(frozen=True)
class RegistrationResult:
    """A registration, whether this request created it, and the owner's link token if so."""

    registration: Document
    created: bool
    manage_token: str | None = None


def new_check_in_code() -> str:
    """A random code a participant shows (as QR) or types at the door."""
    return "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(CHECK_IN_CODE_LENGTH))


class Registering:
    """The public registration form, from the answers to the stored registration."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        catalogue: CatalogueService,
        directory: DirectoryService,
        invitations: InvitationService,
        placement: Placement,
        links: ManageLinks,
        settings: RegistrationSettings,
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        self._directory = directory
        self._invitations = invitations
        self._placement = placement
        self._links = links
        self._settings = settings
        # The current consent text of each scope: read once a few seconds rather than once a
        # registration (a form that names a newer version reads it at once).
        self._consent_texts: TTLCache[str, list[Document]] = TTLCache(
            maxsize=16, ttl=CONSENT_TEXT_CACHE_S
        )

    async def register(
        self, event_id: str, command: RegistrationIn, client: ClientContext
    ) -> RegistrationResult:
        """Register a person: found again by email; confirmed, waitlisted or pending approval."""
        event = await self._catalogue.get_event(event_id)
        now = now_utc()
        try:
            check_registration_window(
                event["status"],
                event.get("registration_opens_at"),
                event.get("registration_closes_at"),
                now,
            )
        except RuleViolation as error:
            raise DomainError(error.status_code, error.reason) from None
        if event.get("invitation_only") and not command.invitation_token:
            raise DomainError(403, "registration for this event is by invitation only")
        if not command.consent_personal_data:
            raise DomainError(422, "consent to personal-data processing is required to register")
        consent_text = await self.consent_text("personal_data", command.consent_version)
        form_version, answers = self._checked_answers(event, command)
        invitation = (
            await self._invitations.verify(command.invitation_token, event_id)
            if command.invitation_token
            else None
        )

        organisation_id = None
        if command.organisation_inn or command.organisation_name:
            organisation_id = await self._organisation_from_form(command)
        if invitation is not None and invitation.get("organisation_id"):
            organisation_id = invitation["organisation_id"]
        fields = command.model_dump(mode="json") | {"organisation_id": organisation_id}
        person, _ = await self._directory.find_or_create_person(fields)
        if person.get("erased"):
            raise DomainError(409, "this email belongs to erased data; use another address")
        if invitation is not None:
            self._invitations.check_holder(invitation, person)

        consent_ids = await self._record_consents(
            person["_id"], event_id, command, consent_text, client
        )
        registration: Document = {
            # A concurrent request for the same person uses the same id: one insert wins.
            "_id": new_id(),
            "event_id": event_id,
            "person_id": person["_id"],
            "category": command.category.value,
            "organisation_id": person.get("organisation_id"),
            "region_code": person.get("region_code"),
            "federal_district": event.get("federal_district") or person.get("federal_district"),
            "form_version": form_version,
            "answers": answers,
            "consent": {
                "personal_data": True,
                "personal_data_version": consent_text["version"],
                "publication": command.consent_publication,
                "given_at": now,
                "ledger_ids": consent_ids,
            },
            "invitation_id": invitation["_id"] if invitation else None,
            "created_at": now,
            "version": 1,
        }

        async def store(attempt: int) -> RegistrationResult:
            """Place the registration and store it; PlaceTaken sends it back to choose again."""
            fields, contract = await self._placement.for_newcomer(
                event, registration, invited=invitation is not None, attempt=attempt
            )
            # A fresh code each try, so that a (most unlikely) clash is not retried forever.
            placed = {**registration, **fields, "check_in_code": new_check_in_code()}
            staged = self._staging.stage(
                contract(**registration_facts(placed), registered_at=now),
                *application_received(event, placed, person),
            )
            earlier = await self._repo.insert_registration(placed, staged)
            if earlier is not None:
                # One registration per person and event (a unique index): theirs stands.
                return RegistrationResult(earlier, created=False)
            if invitation is not None:
                # Used only once the registration is stored, so a failure before never burns
                # it; refused (used by another meanwhile), the registration is withdrawn before
                # its events leave (the relay waits OUTBOX_RELAY_GRACE_S for this request).
                try:
                    await self._invitations.consume(invitation, person)
                except DomainError:
                    await self._repo.registrations.delete_one({"_id": placed["_id"]})
                    raise
            await self._staging.flush(self._repo.registrations, placed["_id"], staged)
            return RegistrationResult(placed, created=True, manage_token=self._links.token(placed))

        return await retry_while_taken(
            store, busy="too many registrations at this moment; retry shortly"
        )

    def _checked_answers(
        self, event: Document, command: RegistrationIn
    ) -> tuple[int, dict[str, Any]]:
        """The form version answered and the answers, checked against the event's form."""
        form = event.get("form") or {"version": 0, "questions": []}
        version = int(form["version"])
        if command.form_version is not None and command.form_version != version:
            raise DomainError(
                409, f"the form changed (now version {version}); reload it and answer again"
            )
        questions = [
            Question(
                key=q["key"],
                label=q["label"],
                kind=QuestionKind(q["kind"]),
                required=bool(q.get("required")),
                options=tuple(q.get("options") or ()),
            )
            for q in form["questions"]
        ]
        try:
            return version, validate_answers(questions, command.answers)
        except ValueError as error:
            raise DomainError(422, f"answers: {error}") from None

    async def consent_text(self, scope: str, version: int | None) -> Document:
        """The consent text a form showed: the current one, or one superseded less than
        CONSENT_TEXT_GRACE_S ago; 409 for a version not in force (the form reads it again)."""
        texts = self._consent_texts.get(scope)
        now = now_utc()
        current = current_text(texts, now) if texts is not None else None
        if (
            texts is None
            or current is None
            or (version is not None and version != current["version"])
        ):
            # Not known here yet, or the form names another version: ask the database.
            texts = self._consent_texts[scope] = await self._repo.find(
                self._repo.consent_texts, {"scope": scope}, sort=(("version", -1),)
            )
        grace = timedelta(seconds=self._settings.consent_text_grace_s)
        return shown_text(texts, version, now, grace)

    async def _organisation_from_form(self, command: RegistrationIn) -> str | None:
        """The organisation the form names by ИНН, added to the directory when new."""
        if command.organisation_inn:
            existing = await self._repo.organisations.find_one({"inn": command.organisation_inn})
            if existing is not None:
                return str(existing["_id"])
        if not command.organisation_name:
            raise DomainError(422, "organisation_name is required with a new organisation_inn")
        organisation, _ = await self._directory.create_organisation(
            OrganisationIn(
                name=command.organisation_name,
                kind=command.organisation_kind or "ngo",
                region_code=command.region_code,
                inn=command.organisation_inn,
            )
        )
        return str(organisation["_id"])

    async def _record_consents(
        self,
        person_id: str,
        event_id: str,
        command: RegistrationIn,
        text: Document,
        client: ClientContext,
    ) -> list[str]:
        """Append to the consent ledger before the registration: a consent without a
        registration (after a crash) is harmless; a registration without its consent is not."""
        entries = [("personal_data", text["version"])]
        if command.consent_publication:
            publication = await self.consent_text("publication", None)
            entries.append(("publication", publication["version"]))
        given_at = now_utc()
        ledger = [
            {
                "_id": new_id(),
                "person_id": person_id,
                "scope": scope,
                "text_version": version,
                "event_id": event_id,
                "given_at": given_at,
                "source": "registration_form",
                "ip": client.ip,
                "user_agent": (client.user_agent or "")[:500] or None,
                "withdrawn_at": None,
            }
            for scope, version in entries
        ]
        await self._repo.consents.insert_many(ledger)  # one round trip for both scopes
        return [entry["_id"] for entry in ledger]
