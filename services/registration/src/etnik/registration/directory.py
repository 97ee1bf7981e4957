"""Use cases of the directory: organisations and people (one person per email)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.registration import (
    OrganisationRegistered,
    ParticipantCategory,
    PersonRegistered,
)
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.catalogue import CatalogueService
from etnik.registration.errors import DomainError
from etnik.registration.repository import (
    WITHOUT_OUTBOX,
    RegistrationRepository,
    new_id,
    now_utc,
)
from etnik.registration.schemas import OrganisationIn, PersonIn, PersonUpdate


def person_registered(person: Document) -> PersonRegistered:
    """The event that tells other services who a person is and how to reach them."""
    return PersonRegistered(
        person_id=person["_id"],
        full_name=person["full_name"],
        email=person["email"],
        locale=person.get("locale", "ru"),
        timezone=person["timezone"],
        region_code=person.get("region_code"),
        category=ParticipantCategory(person.get("category", ParticipantCategory.OTHER)),
        organisation_id=person.get("organisation_id"),
    )


def organisation_registered(organisation: Document) -> OrganisationRegistered:
    """The event that tells other services about an organisation."""
    return OrganisationRegistered(
        organisation_id=organisation["_id"],
        name=organisation["name"],
        kind=organisation["kind"],
        region_code=organisation.get("region_code"),
        federal_district=organisation.get("federal_district"),
        inn=organisation.get("inn"),
        ogrn=organisation.get("ogrn"),
        demo=bool(organisation.get("demo")),
    )


class DirectoryService:
    """Organisations and people."""

    def __init__(
        self, repository: RegistrationRepository, staging: Outbox, catalogue: CatalogueService
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue

    # --- Organisations ---------------------------------------------------------------------

    async def create_organisation(
        self, command: OrganisationIn, *, demo: bool = False
    ) -> tuple[Document, bool]:
        """An organisation, found again by its ИНН when it has one; (organisation, created)."""
        region, district = await self._catalogue.place(command.region_code, None)
        organisation: Document = {
            "_id": new_id(),
            **command.model_dump(mode="json"),
            "region_code": region,
            "federal_district": district,
            "created_at": now_utc(),
            "demo": demo,
        }
        if organisation.get("inn") is None:
            organisation.pop("inn")  # the unique ИНН index is sparse: absent, not null
        staged = self._staging.stage(organisation_registered(organisation))
        if command.inn is None:
            await self._repo.insert(self._repo.organisations, organisation, staged)
            created, stored = True, organisation
        else:
            stored, created = await self._repo.find_or_create(
                self._repo.organisations, {"inn": command.inn}, organisation, staged
            )
        if created:
            await self._staging.flush(self._repo.organisations, stored["_id"], staged)
        return stored, created

    async def organisation(self, organisation_id: str) -> Document:
        """An organisation; 404 when unknown."""
        found = await self._repo.get(self._repo.organisations, organisation_id)
        if found is None:
            raise DomainError(404, "unknown organisation")
        return found

    async def list_organisations(
        self, filters: Document, limit: int, offset: int
    ) -> list[Document]:
        """Organisations by name."""
        query = {k: v for k, v in filters.items() if v is not None}
        return await self._repo.find(
            self._repo.organisations, query, sort=(("name", ASCENDING),), limit=limit, offset=offset
        )

    # --- People ----------------------------------------------------------------------------

    async def find_or_create_person(
        self, fields: Document, *, demo: bool = False
    ) -> tuple[Document, bool]:
        """The person with this email, or a new one; never two people with one email.

        An existing person's details are not overwritten from an unauthenticated form: anyone
        may type someone else's email. They change them signed in (PATCH /me) or an operator does.
        """
        email = str(fields["email"]).lower()
        region, district = await self._catalogue.place(fields.get("region_code"), None)
        timezone = fields.get("timezone") or await self.default_timezone(region)
        organisation_kind = None
        if fields.get("organisation_id"):
            organisation_kind = (await self.organisation(fields["organisation_id"]))["kind"]
        person: Document = {
            "_id": new_id(),
            "email": email,
            "full_name": fields["full_name"],
            "phone": fields.get("phone"),
            "region_code": region,
            "federal_district": district,
            "timezone": timezone,
            "category": str(fields.get("category") or ParticipantCategory.OTHER.value),
            "organisation_id": fields.get("organisation_id"),
            "organisation_kind": organisation_kind,
            "position": fields.get("position"),
            "locale": fields.get("locale") or "ru",
            "created_at": now_utc(),
            "version": 1,
            "demo": demo,
        }
        staged = self._staging.stage(person_registered(person))
        # Insert first: the unique email index decides between concurrent forms, and a new
        # person (most registrations) costs one command instead of a look-up and an insert.
        try:
            await self._repo.insert(self._repo.people, person, staged)
        except DuplicateKeyError:
            return await self._known(email), False
        await self._staging.flush(self._repo.people, person["_id"], staged)
        return person, True

    async def _known(self, email: str) -> Document:
        """The person stored with this email (by another form, now or earlier)."""
        known = await self._repo.people.find_one({"email": email}, WITHOUT_OUTBOX)
        if known is None:  # erased between our insert and this read: the address is free
            raise DomainError(409, "this person is being registered right now; retry shortly")
        return known

    async def create_person(self, command: PersonIn) -> tuple[Document, bool]:
        """A person added by an operator (found again by email)."""
        return await self.find_or_create_person(command.model_dump(mode="json"))

    async def default_timezone(self, region_code: str | None) -> str:
        """The time zone of the person's federal subject, else Moscow time."""
        return await self._catalogue.timezone_of(region_code)

    async def person(self, person_id: str) -> Document:
        """A person; 404 when unknown."""
        found = await self._repo.get(self._repo.people, person_id)
        if found is None:
            raise DomainError(404, "unknown person")
        return found

    async def update_person(self, person_id: str, command: PersonUpdate) -> Document:
        """Change a person's details; the new details are published."""
        current = await self.person(person_id)
        if current.get("erased"):
            raise DomainError(409, "this person's data was erased")
        changes: dict[str, Any] = command.model_dump(mode="json", exclude_unset=True)
        if "region_code" in changes:
            region, district = await self._catalogue.place(changes["region_code"], None)
            changes["federal_district"] = district
            # The zone follows a new region unless the person sets one in the same change.
            if "timezone" not in changes:
                changes["timezone"] = await self.default_timezone(region)
        if changes.get("organisation_id"):
            changes["organisation_kind"] = (await self.organisation(changes["organisation_id"]))[
                "kind"
            ]
        changed = {k: v for k, v in changes.items() if current.get(k) != v}
        if not changed:
            return current
        staged = self._staging.stage(person_registered({**current, **changed}))
        updated = await self._repo.update(
            self._repo.people,
            {"_id": person_id, "version": current.get("version", 1)},
            {"$set": changed, "$inc": {"version": 1}},
            staged,
        )
        if updated is None:
            raise DomainError(409, "the person changed meanwhile; reload and try again")
        await self._staging.flush(self._repo.people, person_id, staged)
        return updated

    async def list_people(self, filters: Document, limit: int, offset: int) -> list[Document]:
        """People by name."""
        query = {k: v for k, v in filters.items() if v is not None}
        return await self._repo.find(
            self._repo.people, query, sort=(("full_name", ASCENDING),), limit=limit, offset=offset
        )
