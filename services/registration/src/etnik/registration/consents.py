"""Consent texts and the consent ledger (152-FZ art. 9): versions that administrators publish,
a person asked to accept a newer text, and the publication consent withdrawn on its own.

A published version never changes: a new text is a new version, in force from its
`effective_from`. The current version of a scope is the highest one already in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.registration import PublicationConsentWithdrawn
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.errors import DomainError
from etnik.registration.repository import RegistrationRepository, new_id, now_utc
from etnik.registration.settings import RegistrationSettings

# Texts seeded before versions had an effective date were in force from the start.
SINCE_THE_START = datetime(2022, 1, 1, tzinfo=UTC)
# How far in the past an effective date may lie (the administrator's clock, a slow request).
CLOCK_SKEW = timedelta(minutes=5)
# The form's 409 starts with this, and the portal reloads the text when it sees it.
TEXT_CHANGED = "the consent text changed"


@dataclass(frozen=True)
class ClientContext:
    """Where a request came from: kept with a consent, as 152-FZ evidence."""

    ip: str | None
    user_agent: str | None


class ConsentScope(StrEnum):
    """What a consent is given to."""

    PERSONAL_DATA = "personal_data"
    PUBLICATION = "publication"


Locale = Literal["ru", "en"]


def effective_from(text: Document) -> datetime:
    """When a version came or comes into force."""
    moment = text.get("effective_from") or SINCE_THE_START
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def current_text(texts: Sequence[Document], now: datetime) -> Document | None:
    """The highest version of a scope in force at `now` (texts of one scope, any order)."""
    in_force = [text for text in texts if effective_from(text) <= now]
    return max(in_force, key=lambda text: text["version"], default=None)


def shown_text(
    texts: Sequence[Document], version: int | None, now: datetime, grace: timedelta
) -> Document:
    """The version a person accepted: the current one, or one superseded less than `grace` ago
    (a form opened before the new text took effect); DomainError otherwise."""
    current = current_text(texts, now)
    if current is None:
        raise DomainError(404, "no consent text is in force for this scope")
    if version is None or version == current["version"]:
        return current
    shown = next((text for text in texts if text["version"] == version), None)
    if shown is None or effective_from(shown) > now:
        raise DomainError(
            409,
            f"{TEXT_CHANGED} (version {version} is not in force; now version "
            f"{current['version']}); read it again",
        )
    superseded_at = min(
        effective_from(text)
        for text in texts
        if text["version"] > version and effective_from(text) <= now
    )
    if now - superseded_at > grace:
        raise DomainError(409, f"{TEXT_CHANGED} (now version {current['version']}); read it again")
    return shown


def in_locale(text: Document, locale: Locale) -> Document:
    """A version as the public sees it, in the language asked for (Russian when untranslated)."""
    english = text.get("text_en")
    return {
        "scope": text["scope"],
        "version": text["version"],
        "text": english if locale == "en" and english else text["text"],
        "locale": "en" if locale == "en" and english else "ru",
        "effective_from": effective_from(text),
    }


def published(text: Document) -> Document:
    """A version with both languages, for the list of versions."""
    return {
        "scope": text["scope"],
        "version": text["version"],
        "text_ru": text["text"],
        "text_en": text.get("text_en"),
        "effective_from": effective_from(text),
        "published_at": text.get("created_at"),
    }


class ConsentService:
    """Publishing consent texts; accepting and withdrawing consents in the ledger."""

    def __init__(
        self, repository: RegistrationRepository, staging: Outbox, settings: RegistrationSettings
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._grace = timedelta(seconds=settings.consent_text_grace_s)

    # --- Texts ------------------------------------------------------------------------------

    async def versions(self, scope: ConsentScope) -> list[Document]:
        """Every published version of a scope, newest first (a handful: read them all)."""
        return await self._repo.find(
            self._repo.consent_texts, {"scope": scope.value}, sort=(("version", DESCENDING),)
        )

    async def text(self, scope: ConsentScope, version: int | None) -> Document:
        """One version, or the current one; 404 when there is no such version."""
        texts = await self.versions(scope)
        if version is None:
            found = current_text(texts, now_utc())
        else:
            found = next((text for text in texts if text["version"] == version), None)
        if found is None:
            raise DomainError(404, f"no version {version or 'in force'} of the {scope} text")
        return found

    async def publish(
        self,
        scope: ConsentScope,
        *,
        text_ru: str,
        text_en: str | None,
        effective: datetime | None,
        version: int | None,
        by: str,
    ) -> Document:
        """Publish the next version of a scope's text; 409 for a version already published."""
        texts = await self.versions(scope)
        next_version = (texts[0]["version"] + 1) if texts else 1
        if version is not None and any(text["version"] == version for text in texts):
            raise DomainError(
                409, f"version {version} of the {scope} text is published and cannot change"
            )
        if version is not None and version != next_version:
            raise DomainError(422, f"the next version of the {scope} text is {next_version}")
        now = now_utc()
        effective = effective or now
        if effective < now - CLOCK_SKEW:
            raise DomainError(422, "effective_from cannot be in the past")
        if texts and effective < effective_from(texts[0]):
            raise DomainError(
                422, f"effective_from must not precede version {texts[0]['version']}'s"
            )
        document: Document = {
            "_id": f"{scope}:{next_version}",
            "scope": scope.value,
            "version": next_version,
            "text": text_ru,
            "text_en": text_en,
            "effective_from": effective,
            "created_at": now,
            "published_by": by,
        }
        try:
            await self._repo.consent_texts.insert_one(document)
        except DuplicateKeyError:
            # Another administrator published this number a moment ago.
            raise DomainError(
                409, f"version {next_version} of the {scope} text was published meanwhile"
            ) from None
        return document

    # --- A person's consents ----------------------------------------------------------------

    async def state(self, person_id: str, locale: Locale = "ru") -> list[dict[str, Any]]:
        """Per scope: the version in force, the one the person accepted, and whether they are
        asked to accept the newer one."""
        await self._person(person_id)
        ledger = await self._repo.find(self._repo.consents, {"person_id": person_id})
        now = now_utc()
        states = []
        for scope in ConsentScope:
            current = current_text(await self.versions(scope), now)
            active = [
                entry
                for entry in ledger
                if entry["scope"] == scope.value and entry.get("withdrawn_at") is None
            ]
            accepted = max(active, key=lambda entry: entry["text_version"], default=None)
            withdrawn = [e["withdrawn_at"] for e in ledger if e["scope"] == scope.value]
            accepted_version = accepted["text_version"] if accepted else None
            behind = current is not None and (accepted_version or 0) < current["version"]
            states.append(
                {
                    "scope": scope.value,
                    "current": in_locale(current, locale) if current else None,
                    "accepted_version": accepted_version,
                    "accepted_at": accepted["given_at"] if accepted else None,
                    "withdrawn_at": max(filter(None, withdrawn), default=None)
                    if accepted is None
                    else None,
                    # Processing needs the current text; publication is optional, so only a
                    # person who gave it is asked again.
                    "needs_acceptance": behind
                    and (scope is ConsentScope.PERSONAL_DATA or accepted is not None),
                }
            )
        return states

    async def ledger(self, person_id: str) -> list[Document]:
        """A person's ledger entries, oldest first."""
        await self._person(person_id)
        return await self._repo.find(
            self._repo.consents, {"person_id": person_id}, sort=(("given_at", 1), ("_id", 1))
        )

    async def accept(
        self, person_id: str, scope: ConsentScope, version: int, client: ClientContext
    ) -> None:
        """Record that a signed-in person accepted a version shown to them (once per version)."""
        person = await self._person(person_id)
        if person.get("erased"):
            raise DomainError(409, "this person's data was erased")
        text = shown_text(await self.versions(scope), version, now_utc(), self._grace)
        already = await self._repo.consents.find_one(
            {
                "person_id": person_id,
                "scope": scope.value,
                "text_version": text["version"],
                "withdrawn_at": None,
            }
        )
        if already is not None:
            return
        await self._repo.consents.insert_one(
            {
                "_id": new_id(),
                "person_id": person_id,
                "scope": scope.value,
                "text_version": text["version"],
                "event_id": None,
                "given_at": now_utc(),
                "source": "portal",
                "ip": client.ip,
                "user_agent": (client.user_agent or "")[:500] or None,
                "withdrawn_at": None,
            }
        )

    async def withdraw_publication(
        self, person_id: str, *, by: Literal["self", "operator"], actor: str
    ) -> bool:
        """Withdraw the consent to publication alone: the ledger records it and every service is
        told (PublicationConsentWithdrawn); False when it was withdrawn already."""
        person = await self._person(person_id)
        if person.get("erased"):
            raise DomainError(409, "this person's data was erased")
        active = {"person_id": person_id, "scope": "publication", "withdrawn_at": None}
        given = await self._repo.consents.find_one(active)
        if given is None and person.get("publication_withdrawn_at") is not None:
            return False  # nothing given since the last withdrawal: a repeated request
        now = now_utc()
        # The event is written with the person, atomically; the relay publishes it if the
        # process stops here. The ledger follows: a retry after a crash repeats both, harmlessly.
        staged = self._staging.stage(
            PublicationConsentWithdrawn(person_id=person_id, withdrawn_at=now, by=by)
        )
        updated = await self._repo.update(
            self._repo.people,
            {"_id": person_id, "erased": {"$ne": True}},
            {"$set": {"publication_withdrawn_at": now, "publication_withdrawn_by": actor}},
            staged,
        )
        if updated is None:
            raise DomainError(409, "this person's data was erased")
        await self._staging.flush(self._repo.people, person_id, staged)
        await self._repo.consents.update_many(
            active, {"$set": {"withdrawn_at": now, "withdrawn_by": actor}}
        )
        return True

    async def _person(self, person_id: str) -> Document:
        person = await self._repo.get(self._repo.people, person_id)
        if person is None:
            raise DomainError(404, "unknown person")
        return person
