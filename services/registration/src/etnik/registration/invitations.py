"""Invitations: signed, expiring, single-use links bound to a person or an organisation and an
event; and invitation campaigns that issue them to an audience for notification to send."""

from __future__ import annotations

from datetime import timedelta

from pymongo import ASCENDING

from etnik.common.contracts.registration import (
    InvitationCampaignCreated,
    InvitationIssued,
    ParticipantCategory,
)
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.catalogue import CatalogueService
from etnik.registration.errors import DomainError
from etnik.registration.experts import roster_person_ids
from etnik.registration.identity import LinkExpired, LinkInvalid, SigningKey
from etnik.registration.repository import RegistrationRepository, new_id, now_utc
from etnik.registration.schemas import CampaignIn, InvitationIn
from etnik.registration.settings import RegistrationSettings

INVITATION_LINK = "invitation"
# One campaign issues at most this many invitations in one request.
MAX_CAMPAIGN_AUDIENCE = 20_000


class InvitationService:
    """Issuing, checking and using invitations; campaigns."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        catalogue: CatalogueService,
        signing_key: SigningKey,
        settings: RegistrationSettings,
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        self._key = signing_key
        self._settings = settings

    async def issue(
        self, event_id: str, command: InvitationIn, *, campaign_id: str | None = None
    ) -> Document:
        """One invitation; InvitationIssued carries its link for notification to send."""
        await self._catalogue.get_event(event_id, include_drafts=True)
        if command.person_id is not None:
            person = await self._repo.get(self._repo.people, command.person_id)
            if person is None or person.get("erased"):
                raise DomainError(404, "unknown person")
        organisation: Document | None = None
        if command.organisation_id is not None:
            organisation = await self._repo.get(self._repo.organisations, command.organisation_id)
            if organisation is None:
                raise DomainError(404, "unknown organisation")
        now = now_utc()
        invitation: Document = {
            "_id": new_id(),
            "event_id": event_id,
            "person_id": command.person_id,
            "organisation_id": command.organisation_id,
            "campaign_id": campaign_id,
            "created_at": now,
            "expires_at": now + timedelta(seconds=self._settings.invitation_ttl_s),
            "used_at": None,
        }
        token = self._key.sign_link(
            purpose=INVITATION_LINK,
            subject=invitation["_id"],
            ttl_s=self._settings.invitation_ttl_s,
            event_id=event_id,
        )
        base = self._settings.public_base_url.rstrip("/")
        staged = self._staging.stage(
            InvitationIssued(
                invitation_id=invitation["_id"],
                event_id=event_id,
                person_id=command.person_id,
                organisation_id=command.organisation_id,
                campaign_id=campaign_id,
                link=f"{base}/events/{event_id}/register?invitation={token}",
                expires_at=invitation["expires_at"],
                # An organisation's invitation goes to its contact address, in its hours.
                email=organisation.get("email") if organisation else None,
                timezone=(
                    await self._catalogue.timezone_of(organisation.get("region_code"))
                    if organisation
                    else None
                ),
            )
        )
        await self._repo.insert(self._repo.invitations, invitation, staged)
        await self._staging.flush(self._repo.invitations, invitation["_id"], staged)
        return {**invitation, "token": token}

    async def verify(self, token: str, event_id: str) -> Document:
        """The invitation a token names: 400 forged, 410 expired, 409 used, 422 another event."""
        try:
            claims = self._key.verify_link(token, purpose=INVITATION_LINK)
        except LinkExpired:
            raise DomainError(410, "this invitation has expired") from None
        except LinkInvalid:
            raise DomainError(400, "this invitation is not valid") from None
        invitation = await self._repo.get(self._repo.invitations, str(claims["sub"]))
        if invitation is None:
            raise DomainError(400, "this invitation is not valid")
        if invitation["event_id"] != event_id or claims.get("event_id") != event_id:
            raise DomainError(422, "this invitation is for another event")
        if invitation.get("used_at") is not None:
            raise DomainError(409, "this invitation has already been used")
        if invitation["expires_at"] <= now_utc():
            raise DomainError(410, "this invitation has expired")
        return invitation

    async def visible_event(self, event_id: str, token: str | None) -> Document:
        """An event as the public sees it: one open to invitation holders only is unknown
        without a valid invitation to it (and the invitation's own error with a bad one)."""
        event = await self._catalogue.get_event(event_id)
        if event.get("invitation_only"):
            if token is None:
                raise DomainError(404, "unknown event")
            await self.verify(token, event_id)
        return event

    @staticmethod
    def check_holder(invitation: Document, person: Document) -> None:
        """403 when the invitation names another person."""
        if invitation.get("person_id") and invitation["person_id"] != person["_id"]:
            raise DomainError(403, "this invitation is for someone else")

    async def consume(self, invitation: Document, person: Document) -> None:
        """Use an invitation once, by the person it is for; 409 if another used it meanwhile.

        Repeating it for the same person changes nothing (a retried registration)."""
        self.check_holder(invitation, person)
        used = await self._repo.invitations.update_one(
            {"_id": invitation["_id"], "used_at": None},
            {"$set": {"used_at": now_utc(), "used_by": person["_id"]}},
        )
        if used.matched_count == 1:
            return
        again = await self._repo.invitations.find_one(
            {"_id": invitation["_id"], "used_by": person["_id"]}, {"_id": 1}
        )
        if again is None:
            raise DomainError(409, "this invitation has already been used")

    async def list_for_event(self, event_id: str, limit: int, offset: int) -> list[Document]:
        """Invitations of an event, oldest first."""
        return await self._repo.find(
            self._repo.invitations,
            {"event_id": event_id},
            sort=(("created_at", ASCENDING),),
            limit=limit,
            offset=offset,
        )

    async def create_campaign(self, command: CampaignIn, operator: str) -> Document:
        """Invite everyone in the audience who has not been invited to the event yet."""
        await self._catalogue.get_event(command.event_id, include_drafts=True)
        query: Document = {"erased": {"$ne": True}}
        for field, values in (
            ("federal_district", command.federal_districts),
            ("region_code", command.region_codes),
            ("category", [c.value for c in command.categories]),
            ("organisation_kind", command.organisation_kinds),
        ):
            if values:
                query[field] = {"$in": list(values)}
        if ParticipantCategory.EXPERT in command.categories:
            # The category «expert» reaches the roster of experts too, whatever category each
            # of them registered with (a leader of an NGO may be on the roster).
            query["$or"] = [
                {"category": query.pop("category")},
                {"_id": {"$in": await roster_person_ids(self._repo)}},
            ]
        audience = await self._repo.find(self._repo.people, query, limit=MAX_CAMPAIGN_AUDIENCE + 1)
        if len(audience) > MAX_CAMPAIGN_AUDIENCE:
            raise DomainError(422, f"the audience is over {MAX_CAMPAIGN_AUDIENCE}; narrow it")
        already = {
            invitation["person_id"]
            for invitation in await self._repo.find(
                self._repo.invitations, {"event_id": command.event_id, "person_id": {"$ne": None}}
            )
        }
        campaign_id = new_id()
        issued = 0
        for person in audience:
            if person["_id"] in already:
                continue
            await self.issue(
                command.event_id, InvitationIn(person_id=person["_id"]), campaign_id=campaign_id
            )
            issued += 1
        now = now_utc()
        campaign: Document = {
            "_id": campaign_id,
            **command.model_dump(mode="json"),
            "invitations": issued,
            "created_by": operator,
            "created_at": now,
        }
        staged = self._staging.stage(
            InvitationCampaignCreated(
                campaign_id=campaign_id,
                event_id=command.event_id,
                federal_districts=command.federal_districts,
                region_codes=command.region_codes,
                categories=command.categories,
                organisation_kinds=list(command.organisation_kinds),
                invitations=issued,
                created_at=now,
            )
        )
        await self._repo.insert(self._repo.campaigns, campaign, staged)
        await self._staging.flush(self._repo.campaigns, campaign_id, staged)
        return campaign

    async def campaigns(self, event_id: str | None, limit: int) -> list[Document]:
        """The latest campaigns, newest first, optionally of one event."""
        query: Document = {"event_id": event_id} if event_id else {}
        return await self._repo.find(
            self._repo.campaigns, query, sort=(("created_at", -1),), limit=limit
        )
