"""Reading registrations: by id, through the owner's signed link, a person's, a filtered page,
and what a registration entitles its owner to (the session link, the check-in code, a ticket).
"""

from __future__ import annotations

from pymongo import ASCENDING

from etnik.common.contracts.registration import RegistrationStatus
from etnik.common.mongo import Document
from etnik.registration.catalogue import CatalogueService
from etnik.registration.directory import DirectoryService
from etnik.registration.domain import AttendanceDetails, attendance_details, ticket_refusal
from etnik.registration.errors import DomainError
from etnik.registration.identity import LinkExpired, LinkInvalid, SigningKey
from etnik.registration.repository import RegistrationRepository
from etnik.registration.settings import RegistrationSettings
from etnik.registration.ticket import Ticket

MANAGE_LINK = "manage"


class ManageLinks:
    """The owner's signed link to view, cancel or accept an offer for one registration."""

    def __init__(self, signing_key: SigningKey, settings: RegistrationSettings) -> None:
        self._key = signing_key
        self._settings = settings

    def token(self, registration: Document) -> str:
        """The signed token of the owner's link to this registration."""
        return self._key.sign_link(
            purpose=MANAGE_LINK, subject=registration["_id"], ttl_s=self._settings.manage_link_ttl_s
        )

    def url(self, registration: Document) -> str:
        """The owner's link, on the portal."""
        base = self._settings.public_base_url.rstrip("/")
        return f"{base}/registrations/manage?token={self.token(registration)}"

    def registration_id(self, token: str) -> str:
        """The registration a token names; 410 when expired, 403 when not valid."""
        try:
            claims = self._key.verify_link(token, purpose=MANAGE_LINK)
        except LinkExpired as error:
            raise DomainError(410, str(error)) from None
        except LinkInvalid as error:
            raise DomainError(403, str(error)) from None
        return str(claims["sub"])


class RegistrationQueries:
    """Registrations as their owners and staff read them; nothing here changes state."""

    def __init__(
        self,
        repository: RegistrationRepository,
        catalogue: CatalogueService,
        directory: DirectoryService,
        links: ManageLinks,
    ) -> None:
        self._repo = repository
        self._catalogue = catalogue
        self._directory = directory
        self._links = links

    async def registration(self, registration_id: str) -> Document:
        """A registration; 404 when unknown."""
        found = await self._repo.get(self._repo.registrations, registration_id)
        if found is None:
            raise DomainError(404, "unknown registration")
        return found

    async def by_link(self, token: str) -> Document:
        """The registration a signed owner's link points at."""
        return await self.registration(self._links.registration_id(token))

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

    async def waitlist_position(self, registration: Document) -> int | None:
        """1 for the first in line; None unless the registration waits."""
        if registration["status"] != RegistrationStatus.WAITLISTED:
            return None
        return await self._repo.waitlist_rank(registration)

    async def entitled(self, registration: Document) -> tuple[Document, AttendanceDetails]:
        """The registration's event, and the session link and check-in code it entitles to."""
        event = await self._event_of(registration)
        details = attendance_details(
            registration_status=registration["status"],
            event_status=event["status"],
            event_format=str(event.get("format", "")),
            online_link=event.get("online_link"),
            check_in_code=registration.get("check_in_code"),
        )
        return event, details

    async def owner_view(self, registration: Document) -> Document:
        """What the owner sees beside the registration: the event, their place in the waitlist,
        and the session link and check-in code as the registration entitles to (confirmed,
        the event not cancelled, and only what the event's format uses)."""
        event, details = await self.entitled(registration)
        return {
            "waitlist_position": await self.waitlist_position(registration),
            "event_title": event["title"],
            "starts_at": event["starts_at"],
            "timezone": event["timezone"],
            "ends_at": event.get("ends_at"),
            "event_format": event.get("format"),
            "event_status": event.get("status"),
            "venue": event.get("venue"),
            "federal_district": event.get("federal_district"),
            "participant_timezone": await self._participant_timezone(registration["person_id"]),
            "cancelled_by": canceller(registration.get("cancelled_by")),
            "online_link": details.online_link,
            "check_in_code": details.check_in_code,
            "qr_value": details.qr_value,
        }

    async def ticketed_event(self, registration: Document) -> Document:
        """The registration's event, when the registration has a ticket; 409 with why not."""
        event = await self._event_of(registration)
        refusal = ticket_refusal(
            registration_status=registration["status"],
            event_status=event["status"],
            event_format=str(event.get("format", "")),
            check_in_code=registration.get("check_in_code"),
        )
        if refusal:
            raise DomainError(409, refusal)
        return event

    async def ticket(self, registration: Document) -> Ticket:
        """What the registration's ticket prints; 409 with why there is none."""
        event = await self.ticketed_event(registration)
        try:
            person = await self._directory.person(registration["person_id"])
        except DomainError:
            person = {"erased": True}
        if person.get("erased"):
            raise DomainError(409, "the participant's data was erased: there is no ticket")
        return Ticket(
            participant_name=person["full_name"],
            event_title=event["title"],
            starts_at=event["starts_at"],
            ends_at=event.get("ends_at"),
            event_format=str(event["format"]),
            venue=event.get("venue"),
            check_in_code=registration["check_in_code"],
            participant_timezone=person.get("timezone"),
            event_timezone=event.get("timezone"),
        )

    async def _event_of(self, registration: Document) -> Document:
        """The event a registration is for (drafts included: staff and owners see them)."""
        return await self._catalogue.get_event(registration["event_id"], include_drafts=True)

    async def _participant_timezone(self, person_id: str) -> str | None:
        """The zone the person's messages are written in; None for an unknown (erased) person."""
        try:
            person = await self._directory.person(person_id)
        except DomainError:
            return None
        zone = person.get("timezone")
        return zone if isinstance(zone, str) else None


def canceller(stored: object) -> str | None:
    """Who cancelled, as a kind (the operator's account id is not the participant's business)."""
    if not isinstance(stored, str):
        return None
    if stored.startswith("operator:"):
        return "operator"
    # "privacy": the person withdrew their consent, which cancels their registrations.
    return {"owner": "owner", "privacy": "owner", "system": "system"}.get(stored)
