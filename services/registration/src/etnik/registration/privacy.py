"""Personal data (152-FZ): a person's export of everything held, and erasure on withdrawal."""

from __future__ import annotations

from typing import Any

from etnik.common.contracts.registration import PersonErased, SignInLinksErased
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.certificates import withhold_names
from etnik.registration.errors import DomainError
from etnik.registration.experts import ExpertService
from etnik.registration.export_notice import privacy_notice
from etnik.registration.identity import IdentityService
from etnik.registration.internships import forget_outcome_texts
from etnik.registration.peer_exports import COMPLETE, PeerExports
from etnik.registration.repository import (
    ACTIVE_STATUSES,
    SURVEY_RECEIPTS,
    RegistrationRepository,
    now_utc,
)
from etnik.registration.waitlist import Waitlist

ERASED_NAME = "(данные удалены)"


def _public(document: Document) -> Document:
    return {("id" if k == "_id" else k): v for k, v in document.items()}


def _titled(document: Document, titles: dict[str, str]) -> Document:
    """A registration or invitation with the title of its event, for a reader of the export."""
    return document | {"event_title": titles.get(document.get("event_id") or "")}


class PrivacyService:
    """Export and erasure of one person's data."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        waitlist: Waitlist,
        identity: IdentityService,
        experts: ExpertService,
        peers: PeerExports | None = None,
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._waitlist = waitlist
        self._identity = identity
        self._experts = experts
        # The other services' parts of an export; None exports registration's alone.
        self._peers = peers

    async def export(self, person_id: str) -> dict[str, Any]:
        """Everything every service holds about a person, with what 152-FZ art. 14 requires.

        Registration's own part stays at the top level (person, registrations, consents, …);
        each other service's is a section under `services`. A service that does not answer in
        time makes the export incomplete, not failed: its section says `missing` and why,
        `complete` is false and `missing_sections` names it (the person gets what is held,
        and can ask again)."""
        own = await self._own_export(person_id)
        sections = await self._peers.gather(person_id) if self._peers is not None else {}
        missing = [name for name, section in sections.items() if section["status"] != COMPLETE]
        return {
            **own,
            "services": sections,
            "complete": not missing,
            "missing_sections": missing,
            "privacy_notice": privacy_notice(),
        }

    async def _own_export(self, person_id: str) -> dict[str, Any]:
        """What registration holds: profile, registrations, consents, invitations,
        certificates."""
        person = await self._repo.get(self._repo.people, person_id)
        if person is None:
            raise DomainError(404, "unknown person")
        organisation = None
        if person.get("organisation_id"):
            organisation = await self._repo.get(self._repo.organisations, person["organisation_id"])
        registrations = await self._repo.find(self._repo.registrations, {"person_id": person_id})
        consents = await self._repo.find(self._repo.consents, {"person_id": person_id})
        invitations = await self._repo.find(self._repo.invitations, {"person_id": person_id})
        certificates = await self._repo.find(self._repo.certificates, {"person_id": person_id})
        # That a registration answered a survey, and when (the answers name nobody: not held).
        surveys_answered = await self._repo.find(
            self._repo.registrations.database[SURVEY_RECEIPTS],
            {"_id": {"$in": [r["_id"] for r in registrations]}},
        )
        titles = await self._event_titles(registrations + invitations)
        expert = await self._experts.of_person(person_id)
        return {
            "exported_at": now_utc(),
            "person": _public(person),
            "organisation": _public(organisation) if organisation else None,
            "registrations": [_titled(_public(r), titles) for r in registrations],
            "consents": [_public(c) for c in consents],
            "invitations": [_titled(_public(i), titles) for i in invitations],
            "certificates": [_public(c) for c in certificates],
            "surveys_answered": [_public(s) for s in surveys_answered],
            "expert": _public(expert) if expert else None,
        }

    async def _event_titles(self, documents: list[Document]) -> dict[str, str]:
        """The titles of the events these registrations and invitations name (by `_id`)."""
        ids = sorted({d["event_id"] for d in documents if d.get("event_id")})
        if not ids:
            return {}
        events = await self._repo.find(self._repo.events, {"_id": {"$in": ids}})
        return {event["_id"]: event.get("title", "") for event in events}

    async def erase(self, person_id: str, *, by: str) -> Document:
        """Withdraw consent: anonymise the person, publish PersonErased, end their registrations.

        Repeating it finishes a previous run that stopped half way, without a second event.
        """
        person = await self._repo.get(self._repo.people, person_id)
        if person is None:
            raise DomainError(404, "unknown person")
        now = now_utc()
        if not person.get("erased"):
            # Each replaces, under the person's key, the records on a compacted topic that
            # carry their name or address; compaction then drops those (etnik.common.topics).
            staged = self._staging.stage(
                PersonErased(person_id=person_id, erased_at=now),
                SignInLinksErased(person_id=person_id, erased_at=now),
            )
            anonymised = {
                "full_name": ERASED_NAME,
                # The email index is unique: a placeholder that can never be anyone's address
                # frees the real one, which may register again later as a new person.
                "email": f"erased+{person_id}@erased.invalid",
                "phone": None,
                "position": None,
                "organisation_id": None,
                "erased": True,
                "erased_at": now,
                "erased_by": by,
            }
            updated = await self._repo.update(
                self._repo.people,
                {"_id": person_id, "erased": {"$ne": True}},
                {"$set": anonymised, "$inc": {"version": 1}},
                staged,
            )
            if updated is not None:
                await self._staging.flush(self._repo.people, person_id, staged)
        await self._repo.consents.update_many(
            {"person_id": person_id, "withdrawn_at": None}, {"$set": {"withdrawn_at": now}}
        )
        for registration in await self._repo.find(
            self._repo.registrations,
            {"person_id": person_id, "status": {"$in": list(ACTIVE_STATUSES)}},
        ):
            try:
                await self._waitlist.cancel(registration["_id"], "consent withdrawn", by="privacy")
            except DomainError:
                continue  # cancelled meanwhile
        # Answers may hold personal data; the registration stays as a pseudonymous fact.
        await self._repo.registrations.update_many(
            {"person_id": person_id}, {"$set": {"answers": {}, "online_sessions": []}}
        )
        # Certificates stay verifiable by their code, without the name printed on them.
        await withhold_names(self._repo, person_id)
        # Internship outcomes keep completion and hours as counts, not the result's text.
        await forget_outcome_texts(self._repo, person_id)
        # The roster entry loses what names the person; assignments stay as counts.
        await self._experts.erase_person(person_id)
        await self._identity.sign_out_everywhere(person_id)
        erased = await self._repo.get(self._repo.people, person_id)
        assert erased is not None
        return erased
