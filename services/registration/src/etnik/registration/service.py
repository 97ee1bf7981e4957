"""Use cases of registrations: the form, consent ledger, capacity, waitlist, offers, approval,
cancellation and attendance. Each changes state through the repository and stages its events."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cachetools import TTLCache
from pymongo import ASCENDING
from pymongo.errors import PyMongoError

from etnik.common.contracts.registration import (
    AttendanceRecorded,
    ParticipantCategory,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationOffered,
    RegistrationPendingApproval,
    RegistrationRejected,
    RegistrationStatus,
    RegistrationWaitlisted,
)
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.catalogue import CatalogueService
from etnik.registration.consents import current_text, shown_text
from etnik.registration.directory import DirectoryService
from etnik.registration.domain import (
    CHECK_IN_ALPHABET,
    AttendanceRule,
    EventStatus,
    Place,
    Question,
    QuestionKind,
    RuleViolation,
    WaitingEntry,
    check_in_code_from_scan,
    check_registration_window,
    choose_place,
    minutes_attended,
    next_to_offer,
    validate_answers,
)
from etnik.registration.errors import DomainError
from etnik.registration.identity import LinkExpired, LinkInvalid, SigningKey
from etnik.registration.internships import application_decided, application_received
from etnik.registration.invitations import InvitationService
from etnik.registration.repository import (
    ACTIVE_STATUSES,
    SEAT_HOLDING_STATUSES,
    PlaceTaken,
    RegistrationRepository,
    new_id,
    now_utc,
    unseated,
)
from etnik.registration.schemas import OnlineSessionIn, OrganisationIn, RegistrationIn
from etnik.registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

MANAGE_LINK = "manage"
CHECK_IN_CODE_LENGTH = 8
# Tries at a numbered place before answering 503; collisions need many concurrent writers.
PLACE_ATTEMPTS = 50
# Offers made in one pass after places were freed.
OFFER_ROUNDS = 1000
# Seat numbers tried blindly before the holders are read.
BLIND_TRIES = 3
# How long an event seen full sends newcomers straight to the waitlist.
FULL_EVENT_MEMORY_S = 2.0
# How long a process serves the current consent text without asking again.
CONSENT_TEXT_CACHE_S = 10.0


@dataclass(frozen=True)
class RegistrationResult:
    """A registration, whether this request created it, and the owner's link token if so."""

    registration: Document
    created: bool
    manage_token: str | None = None


@dataclass(frozen=True)
class ClientContext:
    """Where a request came from: kept with a consent, as 152-FZ evidence."""

    ip: str | None
    user_agent: str | None


def _facts(registration: Document) -> dict[str, Any]:
    return {
        "registration_id": registration["_id"],
        "event_id": registration["event_id"],
        "person_id": registration["person_id"],
        "category": ParticipantCategory(registration["category"]),
        "organisation_id": registration.get("organisation_id"),
        "region_code": registration.get("region_code"),
        "federal_district": registration.get("federal_district"),
        # What the person agreed to with this registration: the versions of the texts.
        "consent_version": (registration.get("consent") or {}).get("personal_data_version"),
        "publication_consent": bool((registration.get("consent") or {}).get("publication")),
    }


def _place_fields(place: Place, registration: Document) -> Document:
    """The seat and quota place a registration holds (unique values where not numbered)."""
    registration_id = registration["_id"]
    quota_place = (
        f"{registration['category']}:{place.quota_place}"
        if place.quota_place is not None
        else unseated(registration_id)
    )
    seat = place.seat if place.seat is not None else unseated(registration_id)
    return {"seat": seat, "quota_place": quota_place}


def _no_place(registration_id: str) -> Document:
    """Fields of a registration that holds no place: its number is free for someone else."""
    return {"seat": unseated(registration_id), "quota_place": unseated(registration_id)}


def new_check_in_code() -> str:
    """A random code a participant shows (as QR) or types at the door."""
    return "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(CHECK_IN_CODE_LENGTH))


class RegistrationService:
    """Registrations, the waitlist and attendance."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        catalogue: CatalogueService,
        directory: DirectoryService,
        invitations: InvitationService,
        signing_key: SigningKey,
        settings: RegistrationSettings,
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        self._directory = directory
        self._invitations = invitations
        self._key = signing_key
        self._settings = settings
        # (event, category) → until when it is known to be full, on this process's clock.
        self._full_until: dict[tuple[str, str], float] = {}
        self._rechecking: set[tuple[str, str]] = set()
        # The current consent text of each scope: read once a few seconds rather than once a
        # registration (a form that names a newer version reads it at once).
        self._consent_texts: TTLCache[str, list[Document]] = TTLCache(
            maxsize=16, ttl=CONSENT_TEXT_CACHE_S
        )

    # --- Registering -----------------------------------------------------------------------

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
        registration_id = new_id()

        consent_ids = await self._record_consents(
            person["_id"], event_id, command, consent_text, client
        )
        registration: Document = {
            # A concurrent request for the same person uses the same id: one insert wins.
            "_id": registration_id,
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
        for attempt in range(PLACE_ATTEMPTS):
            fields, contract = await self._placement(
                event, registration, invited=invitation is not None, attempt=attempt
            )
            # A fresh code each try, so that a (most unlikely) clash is not retried forever.
            placed = {**registration, **fields, "check_in_code": new_check_in_code()}
            staged = self._staging.stage(
                contract(**_facts(placed), registered_at=now),
                *application_received(event, placed, person),
            )
            try:
                earlier = await self._repo.insert_registration(placed, staged)
            except PlaceTaken:
                continue  # another registration took that seat number: pick again
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
            return RegistrationResult(placed, created=True, manage_token=self.manage_token(placed))
        raise DomainError(503, "too many registrations at this moment; retry shortly")

    async def _placement(
        self, event: Document, registration: Document, *, invited: bool, attempt: int
    ) -> tuple[Document, type[IntegrationEvent]]:
        """The new registration's status and place: pending, confirmed or waitlisted."""
        registration_id = registration["_id"]
        if event.get("requires_approval") and not invited:
            status = RegistrationStatus.PENDING_APPROVAL.value
            return {"status": status, **_no_place(registration_id)}, RegistrationPendingApproval
        place = await self._newcomer_place(event, registration["category"], attempt)
        if place is not None:
            status = RegistrationStatus.CONFIRMED.value
            return {"status": status, **_place_fields(place, registration)}, RegistrationConfirmed
        fields = {
            "status": RegistrationStatus.WAITLISTED.value,
            # The waitlist is in order of arrival: the moment the form was received.
            "waitlisted_at": registration["created_at"],
            **_no_place(registration_id),
        }
        return fields, RegistrationWaitlisted

    async def _newcomer_place(self, event: Document, category: str, attempt: int) -> Place | None:
        """A place for someone registering now; None sends them to the waitlist.

        Reading every holder is a scan on FerretDB v1, so the first tries pick seat numbers
        blindly and let the unique index refuse a taken one; only then is the event read.
        Once an event is seen full, newcomers join the waitlist for a moment without reading
        again. A place freed meanwhile is not lost: it goes to the head of the waitlist,
        where newcomers queue anyway.
        """
        capacity = event.get("capacity")
        quota = (event.get("quotas") or {}).get(category)
        if capacity is None and quota is None:
            return Place(None, None)
        if quota == 0:
            return None
        key = (event["_id"], category)
        if self._full_until.get(key, 0.0) > time.monotonic():
            return None
        if key in self._full_until and key in self._rechecking:
            # Seen full, and one request is reading it again: the rest queue meanwhile, rather
            # than each scanning every holder at once (what stalled a burst of thousands).
            return None
        if attempt < BLIND_TRIES and event.get("places_numbered"):
            return Place(
                secrets.randbelow(capacity) + 1 if capacity is not None else None,
                secrets.randbelow(quota) + 1 if quota is not None else None,
            )
        self._rechecking.add(key)
        try:
            place = await self.free_place(event, category)
        finally:
            self._rechecking.discard(key)
        if place is None:
            self._full_until[key] = time.monotonic() + FULL_EVENT_MEMORY_S
        else:
            self._full_until.pop(key, None)
        return place

    async def free_place(self, event: Document, category: str) -> Place | None:
        """A free numbered place for this category now, or None."""
        capacity = event.get("capacity")
        quota = (event.get("quotas") or {}).get(category)
        if capacity is None and quota is None:
            return Place(None, None)  # no limit: nothing to read
        # Without a capacity only the category's quota matters: read just those holders.
        holders = await self._repo.seat_holders(
            event["_id"], category=category if capacity is None else None
        )
        same_category = [h for h in holders if h.get("category") == category]
        prefix = f"{category}:"
        return choose_place(
            capacity=capacity,
            seats_held=len(holders),
            taken_seats={h["seat"] for h in holders if isinstance(h.get("seat"), int)},
            quota=quota,
            quota_held=len(same_category),
            taken_quota_places={
                int(str(h["quota_place"])[len(prefix) :])
                for h in same_category
                if str(h.get("quota_place", "")).startswith(prefix)
            },
            pick=secrets.choice,
        )

    def _checked_answers(
        self, event: Document, command: RegistrationIn
    ) -> tuple[int, dict[str, Any]]:
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

    def manage_token(self, registration: Document) -> str:
        """The signed token of the owner's link to view or cancel this registration."""
        return self._key.sign_link(
            purpose=MANAGE_LINK, subject=registration["_id"], ttl_s=self._settings.manage_link_ttl_s
        )

    def manage_url(self, registration: Document) -> str:
        """The owner's link, on the portal."""
        base = self._settings.public_base_url.rstrip("/")
        return f"{base}/registrations/manage?token={self.manage_token(registration)}"

    # --- Reading ---------------------------------------------------------------------------

    async def registration(self, registration_id: str) -> Document:
        """A registration; 404 when unknown."""
        found = await self._repo.get(self._repo.registrations, registration_id)
        if found is None:
            raise DomainError(404, "unknown registration")
        return found

    async def by_link(self, token: str) -> Document:
        """The registration a signed owner's link points at."""
        try:
            claims = self._key.verify_link(token, purpose=MANAGE_LINK)
        except LinkExpired as error:
            raise DomainError(410, str(error)) from None
        except LinkInvalid as error:
            raise DomainError(403, str(error)) from None
        return await self.registration(str(claims["sub"]))

    async def for_person(self, person_id: str) -> list[Document]:
        """A person's registrations, newest first."""
        return await self._repo.find(
            self._repo.registrations, {"person_id": person_id}, sort=(("created_at", -1),)
        )

    async def page(self, filters: Document, limit: int, offset: int) -> tuple[int, list[Document]]:
        """Registrations matching the filters, in arrival order, and their total."""
        query = {k: v for k, v in filters.items() if v is not None}
        total = await self._repo.count(self._repo.registrations, query)
        items = await self._repo.find(
            self._repo.registrations,
            query,
            sort=(("created_at", ASCENDING), ("_id", ASCENDING)),
            limit=limit,
            offset=offset,
        )
        # One query for the page's people, not one per row.
        people = {
            person["_id"]: person
            for person in await self._repo.find(
                self._repo.people, {"_id": {"$in": sorted({r["person_id"] for r in items})}}
            )
        }
        for item in items:
            person = people.get(item["person_id"]) or {}
            item["full_name"], item["email"] = person.get("full_name"), person.get("email")
        return total, items

    # --- Changing a registration -----------------------------------------------------------

    async def _change(
        self,
        registration: Document,
        from_statuses: tuple[str, ...],
        update: Document,
        *events: IntegrationEvent,
    ) -> Document | None:
        staged = self._staging.stage(*events)
        updated = await self._repo.update(
            self._repo.registrations,
            {"_id": registration["_id"], "status": {"$in": list(from_statuses)}},
            {**update, "$inc": {"version": 1}},
            staged,
        )
        if updated is not None:
            await self._staging.flush(self._repo.registrations, registration["_id"], staged)
        return updated

    async def cancel(self, registration_id: str, reason: str | None, *, by: str) -> Document:
        """Cancel a registration; a place it held goes to the next person on the waitlist."""
        registration = await self.registration(registration_id)
        if registration["status"] not in ACTIVE_STATUSES:
            raise DomainError(409, f"a {registration['status']} registration cannot be cancelled")
        now = now_utc()
        updated = await self._change(
            registration,
            ACTIVE_STATUSES,
            {
                "$set": {
                    "status": RegistrationStatus.CANCELLED.value,
                    "cancelled_at": now,
                    "cancelled_by": by,
                    "cancel_reason": reason,
                    "previous_status": registration["status"],
                    **_no_place(registration["_id"]),
                }
            },
            RegistrationCancelled(**_facts(registration), reason=reason, cancelled_at=now),
        )
        if updated is None:
            raise DomainError(409, "the registration changed meanwhile; reload it")
        if registration["status"] in SEAT_HOLDING_STATUSES:
            await self.offer_free_places(registration["event_id"])
        return updated

    async def approve(self, registration_id: str, moderator: str) -> Document:
        """A moderator approves: confirmed if a place is left, otherwise waitlisted."""
        registration = await self.registration(registration_id)
        if registration["status"] != RegistrationStatus.PENDING_APPROVAL:
            raise DomainError(409, f"a {registration['status']} registration cannot be approved")
        event = await self._catalogue.get_event(registration["event_id"], include_drafts=True)
        decided_at = now_utc()
        decided = {"decided_by": moderator, "decided_at": decided_at}
        facts = _facts(registration)
        registered_at = registration["created_at"]
        person = (
            await self._repo.get(self._repo.people, registration["person_id"])
            if event.get("internship")
            else None
        )
        for _ in range(PLACE_ATTEMPTS):
            place = await self.free_place(event, registration["category"])
            contract: IntegrationEvent
            if place is None and event.get("internship"):
                # Selection fills a fixed number of places: no waitlist behind them.
                raise DomainError(
                    409, f"all {event.get('capacity')} places are taken: reject, or add places"
                )
            if place is None:
                update = {
                    "status": RegistrationStatus.WAITLISTED.value,
                    "waitlisted_at": now_utc(),
                    **decided,
                }
                contract = RegistrationWaitlisted(**facts, registered_at=registered_at)
            else:
                update = {
                    "status": RegistrationStatus.CONFIRMED.value,
                    **_place_fields(place, registration),
                    **decided,
                }
                contract = RegistrationConfirmed(**facts, registered_at=registered_at)
            staged = self._staging.stage(
                contract,
                *application_decided(
                    event,
                    registration,
                    person,
                    decision="approved",
                    by=moderator,
                    at=decided_at,
                ),
            )
            try:
                updated = await self._repo.take_place(
                    registration_id,
                    RegistrationStatus.PENDING_APPROVAL.value,
                    {"$set": update, "$inc": {"version": 1}},
                    staged,
                )
            except PlaceTaken:
                continue
            if updated is None:
                raise DomainError(409, "the registration was decided meanwhile; reload it")
            await self._staging.flush(self._repo.registrations, registration_id, staged)
            return updated
        raise DomainError(503, "too many changes at this moment; retry shortly")

    async def reject(self, registration_id: str, reason: str, moderator: str) -> Document:
        """A moderator rejects, with the reason the person is told."""
        registration = await self.registration(registration_id)
        now = now_utc()
        event = await self._repo.get(self._repo.events, registration["event_id"]) or {}
        person = (
            await self._repo.get(self._repo.people, registration["person_id"])
            if event.get("internship")
            else None
        )
        updated = await self._change(
            registration,
            (RegistrationStatus.PENDING_APPROVAL.value,),
            {
                "$set": {
                    "status": RegistrationStatus.REJECTED.value,
                    "rejection_reason": reason,
                    "decided_by": moderator,
                    "decided_at": now,
                }
            },
            RegistrationRejected(**_facts(registration), reason=reason, rejected_at=now),
            *application_decided(
                event, registration, person, decision="rejected", by=moderator, at=now
            ),
        )
        if updated is None:
            raise DomainError(409, f"a {registration['status']} registration cannot be rejected")
        return updated

    async def accept_offer(self, registration_id: str) -> Document:
        """The person takes the place offered to them, before the offer expires."""
        registration = await self.registration(registration_id)
        expires = registration.get("offer_expires_at")
        if registration["status"] != RegistrationStatus.OFFERED or expires is None:
            raise DomainError(409, "there is no open offer for this registration")
        if expires <= now_utc():
            raise DomainError(410, "the offer has expired")
        updated = await self._change(
            registration,
            (RegistrationStatus.OFFERED.value,),
            {
                "$set": {
                    "status": RegistrationStatus.CONFIRMED.value,
                    "offer_accepted_at": now_utc(),
                }
            },
            RegistrationConfirmed(**_facts(registration), registered_at=registration["created_at"]),
        )
        if updated is None:
            raise DomainError(409, "the offer is no longer open")
        return updated

    # --- The waitlist ----------------------------------------------------------------------

    async def offer_free_places(self, event_id: str) -> int:
        """Offer every free place to the earliest waitlisted person who fits it; how many."""
        offered = 0
        for _ in range(OFFER_ROUNDS):
            event = await self._repo.get(self._repo.events, event_id)
            if event is None or event["status"] in {EventStatus.CANCELLED, EventStatus.COMPLETED}:
                return offered
            waiting = await self._repo.waiting(event_id)
            holders = await self._repo.seat_holders(event_id)
            held_by_category: dict[str, int] = {}
            for holder in holders:
                category = holder["category"]
                held_by_category[category] = held_by_category.get(category, 0) + 1
            entry = next_to_offer(
                (WaitingEntry(w["_id"], w["category"], rank) for rank, w in enumerate(waiting)),
                capacity=event.get("capacity"),
                seats_taken=len(holders),
                quotas=event.get("quotas") or {},
                quota_taken=held_by_category,
            )
            place = await self.free_place(event, entry.category) if entry else None
            if entry is None or place is None:
                return offered
            registration = next(w for w in waiting if w["_id"] == entry.registration_id)
            expires = now_utc() + timedelta(seconds=self._settings.offer_ttl_s)
            staged = self._staging.stage(
                RegistrationOffered(
                    **_facts(registration),
                    offer_expires_at=expires,
                    accept_url=self.manage_url(registration),
                )
            )
            update = {
                "status": RegistrationStatus.OFFERED.value,
                "offer_expires_at": expires,
                **_place_fields(place, registration),
            }
            try:
                updated = await self._repo.take_place(
                    registration["_id"],
                    RegistrationStatus.WAITLISTED.value,
                    {"$set": update, "$inc": {"version": 1}},
                    staged,
                )
            except PlaceTaken:
                continue  # a concurrent writer took the number: look again
            if updated is not None:
                await self._staging.flush(self._repo.registrations, registration["_id"], staged)
                offered += 1
        return offered

    async def expire_offers(self) -> int:
        """Cancel offers past their expiry and pass their places on; how many expired."""
        due = await self._repo.find(
            self._repo.registrations,
            {"status": RegistrationStatus.OFFERED.value, "offer_expires_at": {"$lte": now_utc()}},
            limit=200,
        )
        for registration in due:
            now = now_utc()
            reason = "the offered place was not taken in time"
            staged = self._staging.stage(
                RegistrationCancelled(**_facts(registration), reason=reason, cancelled_at=now)
            )
            updated = await self._repo.update(
                self._repo.registrations,
                {
                    "_id": registration["_id"],
                    "status": RegistrationStatus.OFFERED.value,
                    "offer_expires_at": {"$lte": now},
                },
                {
                    "$set": {
                        "status": RegistrationStatus.CANCELLED.value,
                        "cancelled_at": now,
                        "cancelled_by": "system",
                        "cancel_reason": reason,
                        "previous_status": RegistrationStatus.OFFERED.value,
                        **_no_place(registration["_id"]),
                    },
                    "$inc": {"version": 1},
                },
                staged,
            )
            if updated is None:
                continue  # accepted or cancelled meanwhile
            await self._staging.flush(self._repo.registrations, registration["_id"], staged)
            await self.offer_free_places(registration["event_id"])
        return len(due)

    async def run_offer_expiry(self) -> None:
        """Background loop: expire offers for the life of the process."""
        while True:
            try:
                await self.expire_offers()
            except PyMongoError as error:
                log.warning("offer expiry pass failed: %s", error)
            await asyncio.sleep(self._settings.offer_check_interval_s)

    # --- Attendance ------------------------------------------------------------------------

    async def check_in(self, event_id: str, scanned: str, operator: str) -> tuple[Document, bool]:
        """Mark a confirmed participant as attended by QR or typed code; (registration, new)."""
        try:
            code = check_in_code_from_scan(scanned)
        except ValueError as error:
            raise DomainError(422, str(error)) from None
        registration = await self._repo.registrations.find_one(
            {"event_id": event_id, "check_in_code": code}, {"outbox": 0, "outbox_since": 0}
        )
        if registration is None:
            raise DomainError(404, "no registration for this event has this code")
        if registration["status"] != RegistrationStatus.CONFIRMED:
            raise DomainError(409, f"this registration is {registration['status']}, not confirmed")
        if (registration.get("attendance") or {}).get("status") == "attended":
            return registration, False
        method = "qr" if scanned.strip().upper().startswith("ETNIK1:") else "code"
        return await self._record_attendance(registration, True, method, None, operator), True

    async def _record_attendance(
        self,
        registration: Document,
        attended: bool,
        method: str,
        minutes: int | None,
        recorded_by: str,
        extra: Document | None = None,
    ) -> Document:
        now = now_utc()
        attendance = {
            "status": "attended" if attended else "no_show",
            "method": method,
            "minutes": minutes,
            "recorded_at": now,
            "recorded_by": recorded_by,
        }
        staged = self._staging.stage(
            AttendanceRecorded(
                registration_id=registration["_id"],
                event_id=registration["event_id"],
                person_id=registration["person_id"],
                attended=attended,
                method=method,
                minutes_attended=minutes,
                recorded_at=now,
            )
        )
        updated = await self._repo.update(
            self._repo.registrations,
            {"_id": registration["_id"], "version": registration.get("version", 1)},
            {"$set": {"attendance": attendance, **(extra or {})}, "$inc": {"version": 1}},
            staged,
        )
        if updated is None:
            raise DomainError(409, "the registration changed meanwhile; send the records again")
        await self._staging.flush(self._repo.registrations, registration["_id"], staged)
        return updated

    async def record_online(
        self, event_id: str, sessions: list[OnlineSessionIn], recorded_by: str
    ) -> list[Document]:
        """Add join/leave records; each registration's minutes and attendance are recomputed."""
        event = await self._catalogue.get_event(event_id, include_drafts=True)
        rule = AttendanceRule(**(event.get("attendance_rule") or {}))
        event_minutes = int((event["ends_at"] - event["starts_at"]).total_seconds() // 60)
        by_registration: dict[str, list[OnlineSessionIn]] = {}
        for session in sessions:
            by_registration.setdefault(session.registration_id, []).append(session)
        results = []
        for registration_id, new_sessions in by_registration.items():
            registration = await self._repo.get(self._repo.registrations, registration_id)
            if registration is None or registration["event_id"] != event_id:
                raise DomainError(404, f"registration {registration_id} is not for this event")
            if registration["status"] != RegistrationStatus.CONFIRMED:
                raise DomainError(409, f"registration {registration_id} is not confirmed")
            stored = list(registration.get("online_sessions") or [])
            known = {(s["joined_at"], s["left_at"]) for s in stored}
            # A resent record is not counted twice.
            stored += [
                {"joined_at": s.joined_at, "left_at": s.left_at}
                for s in new_sessions
                if (s.joined_at, s.left_at) not in known
            ]
            minutes = minutes_attended(
                ((s["joined_at"], s["left_at"]) for s in stored),
                event["starts_at"],
                event["ends_at"],
            )
            attended = rule.attended(minutes, event_minutes)
            results.append(
                await self._record_attendance(
                    registration,
                    attended,
                    "online",
                    minutes,
                    recorded_by,
                    {"online_sessions": stored},
                )
            )
        return results

    async def finalise_attendance(self, event_id: str, recorded_by: str) -> int:
        """Mark confirmed participants with no attendance as no-shows; how many."""
        unmarked = await self._repo.find(
            self._repo.registrations,
            {
                "event_id": event_id,
                "status": RegistrationStatus.CONFIRMED.value,
                "attendance": {"$exists": False},
            },
        )
        for registration in unmarked:
            await self._record_attendance(registration, False, "operator", None, recorded_by)
        return len(unmarked)
