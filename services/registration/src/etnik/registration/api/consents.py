"""HTTP entrypoints of consent texts and consents (publishing versions, re-acceptance, the
publication consent withdrawn on its own) and of retention (preview, runs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from etnik.registration.api.answers import idempotent, public
from etnik.registration.api.dependencies import (
    Admin,
    Caller,
    Client,
    IdempotencyKey,
    Limit,
    Offset,
    Operator,
    participant_id,
)
from etnik.registration.consents import ConsentScope, Locale, in_locale, published
from etnik.registration.container import Container

router = APIRouter()

LocaleQuery = Annotated[Locale, Query(description="ru or en; Russian when not translated")]
CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
TEXT_MAX = 20_000


# --- Bodies and answers ---------------------------------------------------------------------


class ConsentTextView(BaseModel):
    """A version of a consent text in one language, as a form shows it."""

    scope: ConsentScope
    version: int
    text: str
    locale: Locale = Field(description="The language of `text`")
    effective_from: datetime


class ConsentVersionIn(BaseModel):
    """A new version of a consent text; once published it never changes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text_ru: str = Field(min_length=20, max_length=TEXT_MAX, description="The binding text")
    text_en: str | None = Field(default=None, min_length=20, max_length=TEXT_MAX)
    effective_from: AwareDatetime | None = Field(
        default=None, description="When it comes into force; now when left out"
    )
    version: int | None = Field(
        default=None, ge=1, description="The number expected; refused (409) if published already"
    )

    @model_validator(mode="after")
    def _russian(self) -> Self:
        if not CYRILLIC & set(self.text_ru.lower()):
            raise ValueError("text_ru must be the Russian text")
        return self


class ConsentVersionOut(BaseModel):
    """A published version in both languages."""

    scope: ConsentScope
    version: int
    text_ru: str
    text_en: str | None
    effective_from: datetime
    published_at: datetime | None


class ConsentStateOut(BaseModel):
    """A person's consent of one scope, against the version in force."""

    scope: ConsentScope
    current: ConsentTextView | None = Field(description="The version in force, to show")
    accepted_version: int | None = Field(description="The newest version accepted, not withdrawn")
    accepted_at: datetime | None
    withdrawn_at: datetime | None = Field(description="Set when the consent stands withdrawn")
    needs_acceptance: bool = Field(description="The person is asked to accept `current`")


class ConsentChangeIn(BaseModel):
    """Accept a version shown (signed-in person), or withdraw the publication consent."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "withdraw"]
    scope: ConsentScope
    version: int | None = Field(default=None, ge=1, description="The version accepted")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.action == "accept" and self.version is None:
            raise ValueError("accepting needs the version that was shown")
        if self.action == "withdraw" and self.scope is ConsentScope.PERSONAL_DATA:
            raise ValueError(
                "withdrawing consent to processing erases your data: use POST /me/erase"
            )
        if self.action == "withdraw" and self.version is not None:
            raise ValueError("a withdrawal names no version")
        return self


class LedgerEntryOut(BaseModel):
    """One consent in the ledger (152-FZ evidence), without the address it came from."""

    id: str
    scope: ConsentScope
    text_version: int
    event_id: str | None
    given_at: datetime
    source: str | None = Field(default=None, description="registration_form, portal")
    withdrawn_at: datetime | None
    withdrawn_by: str | None = None


class PersonConsentsOut(BaseModel):
    """A person's consents, for an operator answering a request."""

    person_id: str
    consents: list[ConsentStateOut]
    ledger: list[LedgerEntryOut]


class DuePersonOut(BaseModel):
    """Someone a retention run would erase now: id and name only."""

    id: str
    full_name: str
    last_registration_at: datetime | None = Field(description="Null when never registered")
    reason: str


class RetentionPreviewOut(BaseModel):
    """Who a retention run would erase now, and the rule."""

    as_of: datetime
    cutoff: datetime | None = Field(description="Null while nobody can be due yet")
    programme_ends_on: date
    retention_period_days: float
    people: list[DuePersonOut]
    truncated: bool = Field(description="More people are due than listed")


class RetentionRunOut(BaseModel):
    """The audit record of one retention run."""

    id: str
    trigger: str = Field(description="schedule, or operator:<account id>")
    started_at: datetime
    finished_at: datetime | None
    status: Literal["running", "finished", "skipped"] = Field(
        description="skipped: another run was in progress, this one erased nothing"
    )
    cutoff: datetime | None
    count: int = Field(description="People erased")
    erased_ids: list[str]
    failed_ids: list[str] = Field(description="Erasures that failed; retried by the next run")


# --- Consent texts --------------------------------------------------------------------------

_TEXT_ANSWERS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such version, or none in force"},
    422: {"description": "Unknown scope or locale"},
}


@router.get(
    "/consent-texts/{scope}",
    response_model=ConsentTextView,
    tags=["reference"],
    responses=_TEXT_ANSWERS,
)
async def consent_text(
    scope: ConsentScope,
    container: Container,
    version: Annotated[int | None, Query(ge=1)] = None,
    locale: LocaleQuery = "ru",
) -> dict[str, Any]:
    """The consent text of a scope in force now, or a given version (public)."""
    return in_locale(await container.consents.text(scope, version), locale)


@router.get(
    "/consent-texts/{scope}/versions",
    response_model=list[ConsentVersionOut],
    tags=["reference"],
)
async def consent_text_versions(scope: ConsentScope, container: Container) -> list[dict[str, Any]]:
    """Every published version of a scope's text, newest first, including ones not yet in
    force (public: what people agreed to is no secret)."""
    return [published(text) for text in await container.consents.versions(scope)]


@router.post(
    "/consent-texts/{scope}/versions",
    status_code=201,
    response_model=ConsentVersionOut,
    tags=["reference"],
    responses={409: {"description": "This version is published already"}},
)
async def publish_consent_text(
    scope: ConsentScope,
    body: ConsentVersionIn,
    container: Container,
    admin: Admin,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Publish the next version of a consent text (administrators). People who accepted an
    older personal-data text are asked to accept it when they next sign in."""

    async def act() -> tuple[int, Any]:
        """Publish the version; the answer is what a retry gets."""
        text = await container.consents.publish(
            scope,
            text_ru=body.text_ru,
            text_en=body.text_en,
            effective=body.effective_from,
            version=body.version,
            by=admin.subject,
        )
        return 201, ConsentVersionOut.model_validate(published(text)).model_dump(mode="json")

    return await idempotent(
        container,
        scope=f"consent-texts:{scope}:{admin.subject}",
        key=idempotency_key,
        request=body.model_dump(mode="json"),
        act=act,
    )


# --- One's own consents ---------------------------------------------------------------------


@router.get("/me/consents", response_model=list[ConsentStateOut], tags=["personal data"])
async def my_consents(container: Container, caller: Caller, locale: LocaleQuery = "ru") -> Any:
    """The signed-in participant's consents, and whether they are asked to accept a new text."""
    return await container.consents.state(participant_id(caller), locale)


@router.post("/me/consents", response_model=list[ConsentStateOut], tags=["personal data"])
async def change_my_consents(
    body: ConsentChangeIn,
    client: Client,
    container: Container,
    caller: Caller,
    locale: LocaleQuery = "ru",
) -> Any:
    """Accept the version shown (recorded in the ledger once), or withdraw the publication
    consent alone: the registrations stay, and content stops showing one's name."""
    person_id = participant_id(caller)
    consents = container.consents
    if body.action == "accept":
        assert body.version is not None  # the body's validator requires it
        await consents.accept(person_id, body.scope, body.version, client)
    else:
        await consents.withdraw_publication(person_id, by="self", actor="self")
    return await consents.state(person_id, locale)


# --- Operators --------------------------------------------------------------------------------


@router.get(
    "/people/{person_id}/consents", response_model=PersonConsentsOut, tags=["personal data"]
)
async def person_consents(
    person_id: str, container: Container, operator: Operator
) -> dict[str, Any]:
    """A person's consents and ledger (operators, e.g. answering a request)."""
    ledger = await container.consents.ledger(person_id)
    return {
        "person_id": person_id,
        "consents": await container.consents.state(person_id),
        "ledger": [public(entry) for entry in ledger],
    }


@router.post(
    "/people/{person_id}/consents/publication/withdraw",
    response_model=PersonConsentsOut,
    tags=["personal data"],
)
async def withdraw_publication_of(
    person_id: str, container: Container, operator: Operator
) -> dict[str, Any]:
    """Withdraw a person's publication consent on their written request (operators); a repeat
    changes nothing."""
    await container.consents.withdraw_publication(
        person_id, by="operator", actor=f"operator:{operator.subject}"
    )
    return await person_consents(person_id, container, operator)


# --- Retention --------------------------------------------------------------------------------


@router.get("/retention/preview", response_model=RetentionPreviewOut, tags=["personal data"])
async def retention_preview(
    container: Container, operator: Operator, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> dict[str, Any]:
    """Who a retention run would erase now and why (operators): ids and names only."""
    return await container.retention.preview(limit)


@router.get("/retention/runs", response_model=list[RetentionRunOut], tags=["personal data"])
async def retention_runs(
    container: Container, operator: Operator, limit: Limit = 50, offset: Offset = 0
) -> list[dict[str, Any]]:
    """The audit of retention runs, newest first (operators)."""
    return [public(run) for run in await container.retention.runs(limit=limit, offset=offset)]


@router.post(
    "/retention/runs",
    status_code=201,
    response_model=RetentionRunOut,
    tags=["personal data"],
    responses={409: {"description": "Another run is in progress"}},
)
async def run_retention(container: Container, admin: Admin) -> dict[str, Any]:
    """Run retention now rather than at the next scheduled pass (administrators)."""
    run = await container.retention.run(trigger=f"operator:{admin.subject}")
    assert run is not None  # only a scheduled pass can find its slot taken
    if run["status"] == "skipped":
        raise HTTPException(409, "another retention run is in progress; see GET /retention/runs")
    return public(run)
