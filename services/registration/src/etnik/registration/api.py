"""HTTP entrypoints of the registration service: thin, each builds a command and calls a handler."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from etnik.common.auth import Principal, Role, current_principal, require_roles, require_service
from etnik.common.calendar import event_ics
from etnik.common.contracts.registration import ParticipantCategory, RegistrationStatus
from etnik.common.idempotency import IDEMPOTENCY_HEADER, fingerprint
from etnik.common.mongo import Document
from etnik.common.pdf_fonts import FontMissing, register_fonts
from etnik.registration.container import Services, services
from etnik.registration.domain import (
    TRANSITION_ACTIONS,
    VISIBLE_STATUSES,
    AttendanceDetails,
    EventStatus,
    attendance_details,
    qr_value,
    ticket_refusal,
)
from etnik.registration.errors import DomainError
from etnik.registration.export_pdf import export_pdf
from etnik.registration.exports import EXPORT_FORMATS, export_registrations
from etnik.registration.identity import AccountRefused
from etnik.registration.schemas import (
    AttendanceOut,
    CampaignIn,
    CampaignOut,
    CancelIn,
    CheckInIn,
    DeliveryOut,
    EventIn,
    EventOut,
    EventUpdate,
    FederalDistrictOut,
    FederalDistrictUpdate,
    FederalSubjectOut,
    FederalSubjectUpdate,
    FormIn,
    FormOut,
    InvitationIn,
    InvitationOut,
    OnlineAttendanceIn,
    OperatorIn,
    OperatorOut,
    OperatorUpdate,
    OrganisationIn,
    OrganisationOut,
    PasswordChange,
    PersonIn,
    PersonOut,
    PersonUpdate,
    ProgrammeIn,
    ProgrammeOut,
    RefreshRequest,
    RegistrationIn,
    RegistrationOut,
    RegistrationPage,
    RegistrationRow,
    RegistrationView,
    RejectIn,
    ServiceTokenRequest,
    SignInLinkRequest,
    SignInRequest,
    TokenOut,
    TokenRequest,
    TransitionOut,
)
from etnik.registration.service import ClientContext
from etnik.registration.settings import NOTIFICATION_CLIENT
from etnik.registration.surveys import surveys_of
from etnik.registration.ticket import MOSCOW, Ticket, qr_svg, ticket_pdf

router = APIRouter()
T = TypeVar("T")

App = Annotated[Services, Depends(services)]
Caller = Annotated[Principal, Depends(current_principal)]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Operator = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]
Moderator = Annotated[Principal, Depends(require_roles(Role.MODERATOR))]
Staff = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.MODERATOR))]
CheckIn = Annotated[Principal, Depends(require_roles(Role.CHECK_IN))]
AnyStaff = Annotated[
    Principal, Depends(require_roles(Role.OPERATOR, Role.MODERATOR, Role.CHECK_IN))
]
AttendanceRecorder = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.CHECK_IN))]
NotificationService = Annotated[Principal, Depends(require_service(NOTIFICATION_CLIENT))]
IdempotencyKey = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _out(document: Document) -> dict[str, Any]:
    return {("id" if k == "_id" else k): v for k, v in document.items()}


def _participant(caller: Principal) -> str:
    if caller.kind != "participant":
        raise HTTPException(403, "this is a participant's own page; sign in with your email link")
    return caller.subject


async def _run(action: Callable[[], Awaitable[T]]) -> T:
    """Await a use case; its refusal becomes the HTTP error it names."""
    try:
        return await action()
    except DomainError as error:
        raise HTTPException(error.status_code, error.reason) from None


# --- Identity -----------------------------------------------------------------------------


@router.post("/auth/token", response_model=TokenOut, tags=["identity"], summary="Operator sign-in")
async def sign_in(body: TokenRequest, app: App) -> TokenOut:
    """Exchange an operator's email and password for an access and a refresh token."""
    tokens = await app.identity.operator_sign_in(body.email, body.password)
    if tokens is None:
        raise HTTPException(401, "wrong email or password")
    return TokenOut(**tokens)


@router.post("/auth/sign-in-link", status_code=202, tags=["identity"])
async def request_sign_in_link(body: SignInLinkRequest, app: App) -> dict[str, str]:
    """Email a participant a one-time sign-in link (the same answer for unknown addresses)."""
    await app.identity.request_sign_in_link(str(body.email))
    return {"detail": "if this address is registered, a sign-in link is on its way"}


@router.post("/auth/sign-in", response_model=TokenOut, tags=["identity"])
async def participant_sign_in(body: SignInRequest, app: App) -> TokenOut:
    """Exchange a one-time link's token for a participant's tokens."""
    tokens = await app.identity.participant_sign_in(body.token)
    if tokens is None:
        raise HTTPException(401, "this sign-in link is unknown, used or expired")
    return TokenOut(**tokens)


@router.post("/auth/refresh", response_model=TokenOut, tags=["identity"])
async def refresh(body: RefreshRequest, app: App) -> TokenOut:
    """Renew the tokens; the refresh token given is spent."""
    tokens = await app.identity.refresh(body.refresh_token)
    if tokens is None:
        raise HTTPException(401, "this refresh token is unknown, revoked or expired")
    return TokenOut(**tokens)


@router.post("/auth/sign-out", status_code=204, tags=["identity"])
async def sign_out(body: RefreshRequest, app: App) -> Response:
    """Revoke a refresh token."""
    await app.identity.sign_out(body.refresh_token)
    return Response(status_code=204)


@router.post(
    "/auth/service-token",
    response_model=TokenOut,
    tags=["identity"],
    summary="Service sign-in (client credentials)",
)
async def service_token(body: ServiceTokenRequest, app: App, response: Response) -> TokenOut:
    """Exchange a platform service's client id and secret for a short-lived service token."""
    token = app.identity.service_token(body.client_id, body.client_secret)
    if token is None:
        raise HTTPException(401, "unknown client or wrong secret")
    response.headers["Cache-Control"] = "no-store"
    return TokenOut(**token)


@router.get("/auth/jwks", tags=["identity"], summary="Public keys that verify access tokens")
async def jwks(app: App) -> dict[str, Any]:
    """The JSON Web Key Set every service verifies tokens with."""
    keys: dict[str, Any] = app.signing_key.jwks()
    return keys


@router.post("/operators", status_code=201, response_model=OperatorOut, tags=["identity"])
async def create_operator(body: OperatorIn, app: App, admin: Admin) -> dict[str, Any]:
    """Create an operator account (administrators only)."""
    account_id = await app.accounts.create(
        str(body.email), body.password, body.roles, by=admin.subject
    )
    if account_id is None:
        raise HTTPException(409, "an account with this email exists")
    account = await app.accounts.get(account_id)
    assert account is not None
    return _out(account)


@router.patch("/operators/{account_id}", response_model=OperatorOut, tags=["identity"])
async def update_operator(
    account_id: str, body: OperatorUpdate, app: App, admin: Admin
) -> dict[str, Any]:
    """Change an operator's roles, or deactivate or reactivate the account (administrators)."""
    try:
        account = await app.accounts.update(
            account_id, roles=body.roles, active=body.active, by=admin.subject
        )
    except AccountRefused as refused:
        raise HTTPException(refused.status_code, refused.reason) from refused
    return _out(account)


@router.post("/auth/password", status_code=204, tags=["identity"])
async def change_password(body: PasswordChange, app: App, operator: AnyStaff) -> Response:
    """Change one's own operator password; the current one is required."""
    try:
        await app.accounts.change_password(
            operator.subject, body.current_password, body.new_password
        )
    except AccountRefused as refused:
        raise HTTPException(refused.status_code, refused.reason) from refused
    return Response(status_code=204)


@router.get("/operators", response_model=list[OperatorOut], tags=["identity"])
async def list_operators(app: App, admin: Admin) -> list[dict[str, Any]]:
    """Every operator account (administrators only)."""
    return [_out(account) for account in await app.accounts.list()]


# --- Reference data -----------------------------------------------------------------------


@router.get("/reference/districts", response_model=list[FederalDistrictOut], tags=["reference"])
async def districts(app: App) -> list[Document]:
    """The federal districts."""
    return await app.catalogue.districts()


@router.put("/reference/districts/{key}", response_model=FederalDistrictOut, tags=["reference"])
async def update_district(
    key: str, body: FederalDistrictUpdate, app: App, admin: Admin
) -> Document:
    """Correct a federal district's names (administrators)."""
    return await _run(lambda: app.catalogue.update_district(key, body))


@router.get("/reference/subjects", response_model=list[FederalSubjectOut], tags=["reference"])
async def subjects(app: App) -> list[Document]:
    """The federal subjects with their default time zones."""
    return await app.catalogue.subjects()


@router.put("/reference/subjects/{code}", response_model=FederalSubjectOut, tags=["reference"])
async def update_subject(code: str, body: FederalSubjectUpdate, app: App, admin: Admin) -> Document:
    """Correct a federal subject (administrators)."""
    return await _run(lambda: app.catalogue.update_subject(code, body))


# --- Programme and events -----------------------------------------------------------------


@router.get("/programmes", response_model=list[ProgrammeOut], tags=["programme"])
async def programmes(app: App) -> list[dict[str, Any]]:
    """Programmes and their tracks."""
    return [_out(p) for p in await app.catalogue.programmes()]


@router.put("/programmes/{programme_id}", response_model=ProgrammeOut, tags=["programme"])
async def put_programme(programme_id: str, body: ProgrammeIn, app: App, operator: Operator) -> Any:
    """Create or replace a programme and its tracks (operators)."""
    if body.id != programme_id:
        raise HTTPException(422, "the body's id must match the path")
    return _out(await app.catalogue.put_programme(body))


@router.post("/events", status_code=201, response_model=EventOut, tags=["programme"])
async def create_event(
    body: EventIn, app: App, operator: Operator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Create a programme event (operators)."""

    async def action() -> tuple[int, Any]:
        """Create once; the idempotency store replays the answer to a retry."""
        try:
            event = await app.catalogue.create_event(body)
        except DomainError as error:
            return error.status_code, {"detail": error.reason}
        shown = await _event_out(app, event)
        return 201, EventOut.model_validate(shown).model_dump(mode="json")

    return await app.runtime.idempotency.run(
        scope=f"events:{operator.subject}",
        key=idempotency_key,
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        action=action,
    )


@router.get("/events", response_model=list[EventOut], tags=["programme"])
async def list_events(
    app: App,
    track: str | None = None,
    programme_id: str | None = None,
    federal_district: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Public list of visible events (published or later), by start time."""
    filters = {"track": track, "programme_id": programme_id, "federal_district": federal_district}
    events = await app.catalogue.list_events(
        statuses=list(VISIBLE_STATUSES), filters=filters, limit=limit, offset=offset, public=True
    )
    return [await _event_out(app, event) for event in events]


@router.get("/operator/events", response_model=list[EventOut], tags=["programme"])
async def list_all_events(
    app: App,
    staff: Staff,
    status: EventStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Every event, drafts included (operators and moderators)."""
    events = await app.catalogue.list_events(
        statuses=[status.value] if status else None, filters={}, limit=limit, offset=offset
    )
    return [await _event_out(app, event) for event in events]


# An invitation-only event is shown to the holder of an invitation link to it, to nobody else.
InvitationToken = Annotated[
    str | None,
    Query(alias="invitation", max_length=2000, description="The token of an invitation link"),
]


@router.get("/events/{event_id}", response_model=EventOut, tags=["programme"])
async def get_event(event_id: str, app: App, invitation: InvitationToken = None) -> dict[str, Any]:
    """One visible event (one open by invitation only: with an invitation to it)."""
    event = await _run(lambda: app.invitations.visible_event(event_id, invitation))
    return await _event_out(app, event)


@router.patch("/events/{event_id}", response_model=EventOut, tags=["programme"])
async def update_event(event_id: str, body: EventUpdate, app: App, operator: Operator) -> Any:
    """Change an event's details (operators); more places go to the waitlist at once."""
    event = await _run(lambda: app.catalogue.update_event(event_id, body))
    await app.registrations.offer_free_places(event_id)
    return await _event_out(app, event)


def _transition_route(action: str, target: EventStatus) -> None:
    async def transition(event_id: str, app: App, operator: Operator) -> TransitionOut:
        """Move the event along its lifecycle (operators)."""
        event, previous = await _run(lambda: app.catalogue.transition(event_id, target))
        if target is EventStatus.COMPLETED:
            # Whoever has no attendance by now is a no-show: kept apart from the registered.
            await app.registrations.finalise_attendance(event_id, operator.subject)
            # Who attended is known now: they are asked for feedback, if the event has a survey.
            await surveys_of(app).request_answers(event_id)
        return TransitionOut(id=event["_id"], status=target, previous_status=EventStatus(previous))

    router.add_api_route(
        f"/events/{{event_id}}/{action}",
        transition,
        methods=["POST"],
        response_model=TransitionOut,
        tags=["programme"],
        summary=f"Lifecycle: {action} (→ {target.value})",
    )


for _action, _target in TRANSITION_ACTIONS.items():
    _transition_route(_action, _target)


@router.get("/events/{event_id}/form", response_model=FormOut, tags=["programme"])
async def get_form(event_id: str, app: App, invitation: InvitationToken = None) -> dict[str, Any]:
    """The current registration form of a visible event."""
    event = await _run(lambda: app.invitations.visible_event(event_id, invitation))
    form = event.get("form") or {"version": 0, "questions": []}
    return {"event_id": event_id, "version": form["version"], "questions": form["questions"]}


@router.get("/operator/events/{event_id}/form", response_model=FormOut, tags=["programme"])
async def get_form_of_any_event(event_id: str, app: App, staff: Staff) -> dict[str, Any]:
    """The current registration form of any event, drafts included (operators and moderators).

    The public form is 404 for a draft, which is when operators usually write the questions.
    """
    event = await _run(lambda: app.catalogue.get_event(event_id, include_drafts=True))
    form = event.get("form") or {"version": 0, "questions": []}
    return {"event_id": event_id, "version": form["version"], "questions": form["questions"]}


@router.put("/events/{event_id}/form", response_model=FormOut, tags=["programme"])
async def put_form(event_id: str, body: FormIn, app: App, operator: Operator) -> dict[str, Any]:
    """Publish a new version of the registration form (operators)."""
    event = await _run(lambda: app.catalogue.put_form(event_id, body))
    form = event["form"]
    return {"event_id": event_id, "version": form["version"], "questions": form["questions"]}


# --- Organisations and people -------------------------------------------------------------


@router.post("/organisations", status_code=201, response_model=OrganisationOut, tags=["directory"])
async def create_organisation(
    body: OrganisationIn, app: App, operator: Operator, response: Response
) -> dict[str, Any]:
    """Add an organisation (operators); one with the same ИНН is returned instead (200)."""
    organisation, created = await _run(lambda: app.directory.create_organisation(body))
    if not created:
        response.status_code = 200
    return _out(organisation)


@router.get("/organisations", response_model=list[OrganisationOut], tags=["directory"])
async def list_organisations(
    app: App,
    staff: Staff,
    kind: str | None = None,
    region_code: str | None = None,
    federal_district: str | None = None,
    inn: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Organisations, filtered (operators and moderators)."""
    filters = {
        "kind": kind,
        "region_code": region_code,
        "federal_district": federal_district,
        "inn": inn,
    }
    return [_out(o) for o in await app.directory.list_organisations(filters, limit, offset)]


@router.get("/organisations/{organisation_id}", response_model=OrganisationOut, tags=["directory"])
async def get_organisation(organisation_id: str, app: App, staff: Staff) -> dict[str, Any]:
    """One organisation (operators and moderators)."""
    return _out(await _run(lambda: app.directory.organisation(organisation_id)))


@router.post("/people", status_code=201, response_model=PersonOut, tags=["directory"])
async def create_person(
    body: PersonIn, app: App, operator: Operator, response: Response
) -> dict[str, Any]:
    """Add a person (operators); one with the same email is returned instead (200)."""
    person, created = await _run(lambda: app.directory.create_person(body))
    if not created:
        response.status_code = 200
    return _out(person)


@router.get("/people", response_model=list[PersonOut], tags=["directory"])
async def list_people(
    app: App,
    staff: Staff,
    category: ParticipantCategory | None = None,
    region_code: str | None = None,
    federal_district: str | None = None,
    organisation_id: str | None = None,
    email: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """People, filtered (operators and moderators)."""
    filters = {
        "category": category.value if category else None,
        "region_code": region_code,
        "federal_district": federal_district,
        "organisation_id": organisation_id,
        "email": email.strip().lower() if email else None,
    }
    return [_out(p) for p in await app.directory.list_people(filters, limit, offset)]


@router.get("/people/{person_id}", response_model=PersonOut, tags=["directory"])
async def get_person(person_id: str, app: App, staff: Staff) -> dict[str, Any]:
    """One person (operators and moderators)."""
    return _out(await _run(lambda: app.directory.person(person_id)))


@router.patch("/people/{person_id}", response_model=PersonOut, tags=["directory"])
async def update_person(
    person_id: str, body: PersonUpdate, app: App, operator: Operator
) -> dict[str, Any]:
    """Change a person's details (operators)."""
    return _out(await _run(lambda: app.directory.update_person(person_id, body)))


@router.get("/people/{person_id}/export", tags=["personal data"])
async def export_person(person_id: str, app: App, admin: Admin) -> dict[str, Any]:
    """Everything every service holds about a person (administrators, e.g. for a written
    request); a service that did not answer is named in `missing_sections`."""
    exported: dict[str, Any] = await _run(lambda: app.privacy.export(person_id))
    return exported


@router.get("/people/{person_id}/export.pdf", tags=["personal data"])
async def export_person_pdf(person_id: str, app: App, admin: Admin) -> Response:
    """The same export as a readable PDF in Russian (administrators)."""
    return await _export_pdf(app, person_id)


@router.post("/people/{person_id}/erase", response_model=PersonOut, tags=["personal data"])
async def erase_person(person_id: str, app: App, admin: Admin) -> dict[str, Any]:
    """Erase a person on their written withdrawal (administrators)."""
    return _out(await _run(lambda: app.privacy.erase(person_id, by=f"operator:{admin.subject}")))


@router.get("/me", response_model=PersonOut, tags=["personal data"])
async def me(app: App, caller: Caller) -> dict[str, Any]:
    """The signed-in participant's profile."""
    person_id = _participant(caller)
    return _out(await _run(lambda: app.directory.person(person_id)))


@router.patch("/me", response_model=PersonOut, tags=["personal data"])
async def update_me(body: PersonUpdate, app: App, caller: Caller) -> dict[str, Any]:
    """Change one's own details (the time zone among them)."""
    person_id = _participant(caller)
    return _out(await _run(lambda: app.directory.update_person(person_id, body)))


@router.get("/me/registrations", response_model=list[RegistrationOut], tags=["personal data"])
async def my_registrations(app: App, caller: Caller) -> list[dict[str, Any]]:
    """The signed-in participant's registrations."""
    mine = await app.registrations.for_person(_participant(caller))
    return [await _ranked(app, r) for r in mine]


@router.get("/me/export", tags=["personal data"])
async def export_me(app: App, caller: Caller) -> dict[str, Any]:
    """Everything every service holds about the signed-in participant, as JSON."""
    person_id = _participant(caller)
    exported: dict[str, Any] = await _run(lambda: app.privacy.export(person_id))
    return exported


@router.get("/me/export.pdf", tags=["personal data"])
async def export_me_pdf(app: App, caller: Caller) -> Response:
    """The signed-in participant's export as a readable PDF in Russian."""
    return await _export_pdf(app, _participant(caller))


async def _export_pdf(app: Services, person_id: str) -> Response:
    """A person's export rendered as a PDF (never cached: it is personal data)."""
    exported: dict[str, Any] = await _run(lambda: app.privacy.export(person_id))
    settings = app.settings
    try:
        register_fonts(settings.pdf_font_file, settings.pdf_bold_font_file, setting="PDF_FONT_FILE")
    except FontMissing as missing:
        raise HTTPException(503, str(missing)) from missing
    content = await asyncio.to_thread(export_pdf, exported)
    day = exported["exported_at"].astimezone(MOSCOW).date().isoformat()
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="etnik-personal-data-{day}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/me/erase", response_model=PersonOut, tags=["personal data"])
async def erase_me(app: App, caller: Caller) -> dict[str, Any]:
    """Withdraw consent: anonymise the participant here and tell every service to do the same."""
    person_id = _participant(caller)
    return _out(await _run(lambda: app.privacy.erase(person_id, by="self")))


# --- Registrations ------------------------------------------------------------------------


@router.post(
    "/events/{event_id}/registrations",
    status_code=201,
    response_model=RegistrationOut,
    tags=["registrations"],
    responses={200: {"description": "This person was already registered: the existing one"}},
)
async def register(
    event_id: str,
    body: RegistrationIn,
    request: Request,
    app: App,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Public registration form; a person registering twice gets their registration back."""
    client = ClientContext(
        # The gateway replaces X-Real-IP with the connection's address; a client cannot set it.
        ip=request.headers.get("x-real-ip") or (request.client.host if request.client else None),
        user_agent=request.headers.get("user-agent"),
    )

    async def action() -> tuple[int, Any]:
        """Register once; the idempotency store replays the answer to a retry."""
        try:
            result = await app.registrations.register(event_id, body, client)
        except DomainError as error:
            return error.status_code, {"detail": error.reason}
        # The place in the waitlist is not counted here: in a burst that count is what costs
        # most. The owner's view (by link or signed in) shows it.
        shown = _row(result.registration) | {"manage_token": result.manage_token}
        body_out = RegistrationOut.model_validate(shown).model_dump(mode="json")
        return (201 if result.created else 200), body_out

    return await app.runtime.idempotency.run(
        scope=f"registrations:{event_id}",
        key=idempotency_key,
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        action=action,
    )


@router.get("/registrations", response_model=RegistrationPage, tags=["registrations"])
async def list_registrations(
    app: App,
    staff: Staff,
    event_id: str | None = None,
    status: RegistrationStatus | None = None,
    region_code: str | None = None,
    federal_district: str | None = None,
    category: ParticipantCategory | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RegistrationPage:
    """Registrations with filters and pagination (operators and moderators)."""
    filters = _registration_filters(event_id, status, region_code, federal_district, category)
    total, items = await app.registrations.page(filters, limit, offset)
    return RegistrationPage(
        total=total, items=[RegistrationRow.model_validate(_row(r)) for r in items]
    )


@router.get("/registrations/export", tags=["registrations"])
async def export(
    app: App,
    operator: Operator,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    event_id: str | None = None,
    status: RegistrationStatus | None = None,
    region_code: str | None = None,
    federal_district: str | None = None,
    category: ParticipantCategory | None = None,
) -> Response:
    """Registrations with the people's contacts as CSV or XLSX (operators)."""
    filters = _registration_filters(event_id, status, region_code, federal_district, category)
    content = await export_registrations(app, filters, format)
    media_type = EXPORT_FORMATS[format]
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="registrations.{format}"'},
    )


@router.get("/registrations/by-link", response_model=RegistrationView, tags=["registrations"])
async def view_by_link(token: Annotated[str, Query(max_length=2000)], app: App) -> dict[str, Any]:
    """The owner's view through the signed link in their confirmation."""
    registration = await _run(lambda: app.registrations.by_link(token))
    return await _view(app, registration)


@router.post(
    "/registrations/by-link/cancel", response_model=RegistrationOut, tags=["registrations"]
)
async def cancel_by_link(
    token: Annotated[str, Query(max_length=2000)], app: App, body: CancelIn | None = None
) -> dict[str, Any]:
    """Cancel one's own registration through the signed link."""
    registration = await _run(lambda: app.registrations.by_link(token))
    reason = body.reason if body else None
    return _row(
        await _run(lambda: app.registrations.cancel(registration["_id"], reason, by="owner"))
    )


@router.post(
    "/registrations/by-link/accept-offer", response_model=RegistrationOut, tags=["registrations"]
)
async def accept_by_link(token: Annotated[str, Query(max_length=2000)], app: App) -> Any:
    """Take the place offered from the waitlist, through the signed link."""
    registration = await _run(lambda: app.registrations.by_link(token))
    return _row(await _run(lambda: app.registrations.accept_offer(registration["_id"])))


async def _owned(app: Services, registration_id: str, caller: Principal) -> Document:
    """The registration if the caller owns it or is staff; 404 otherwise (no id probing)."""
    registration: Document = await _run(lambda: app.registrations.registration(registration_id))
    staff = caller.has_any({Role.OPERATOR, Role.MODERATOR, Role.CHECK_IN})
    owner = caller.kind == "participant" and registration["person_id"] == caller.subject
    if not (staff or owner):
        raise HTTPException(404, "unknown registration")
    return registration


@router.get(
    "/registrations/{registration_id}", response_model=RegistrationView, tags=["registrations"]
)
async def view_registration(registration_id: str, app: App, caller: Caller) -> dict[str, Any]:
    """A registration, for its owner (signed in) or staff."""
    return await _view(app, await _owned(app, registration_id, caller))


@router.get(
    "/registrations/{registration_id}/delivery",
    response_model=DeliveryOut,
    tags=["registrations"],
    summary="What a message about the registration carries (the notification service only)",
)
async def delivery(
    registration_id: str, app: App, caller: NotificationService, response: Response
) -> dict[str, Any]:
    """The owner's link always; the session link and check-in code only once confirmed.

    Read at send time, so that the online link never travels through Kafka or sits in a
    stored message."""
    registration = await _run(lambda: app.registrations.registration(registration_id))
    _, details = await _entitled(app, registration)
    response.headers["Cache-Control"] = "no-store"
    return {
        "registration_id": registration["_id"],
        "status": registration["status"],
        "manage_url": app.registrations.manage_url(registration),
        "online_link": details.online_link,
        "check_in_code": details.check_in_code,
        "qr_value": details.qr_value,
        "certificate_url": await app.certificates.download_url(registration),
        "survey_url": await surveys_of(app).delivery_url(registration),
    }


@router.post(
    "/registrations/{registration_id}/cancel",
    response_model=RegistrationOut,
    tags=["registrations"],
)
async def cancel(
    registration_id: str, app: App, caller: Caller, body: CancelIn | None = None
) -> dict[str, Any]:
    """Cancel a registration (its owner or an operator); the place goes to the waitlist."""
    registration = await _owned(app, registration_id, caller)
    if caller.kind != "participant" and not caller.has_any({Role.OPERATOR}):
        raise HTTPException(403, "this action needs another role")
    by = "owner" if caller.kind == "participant" else f"operator:{caller.subject}"
    reason = body.reason if body else None
    return _row(await _run(lambda: app.registrations.cancel(registration["_id"], reason, by=by)))


@router.post(
    "/registrations/{registration_id}/accept-offer",
    response_model=RegistrationOut,
    tags=["registrations"],
)
async def accept_offer(registration_id: str, app: App, caller: Caller) -> dict[str, Any]:
    """Take the place offered from the waitlist (the signed-in owner)."""
    registration = await _owned(app, registration_id, caller)
    if registration["person_id"] != caller.subject:
        raise HTTPException(403, "only the person registered can accept the offer")
    return _row(await _run(lambda: app.registrations.accept_offer(registration_id)))


@router.post(
    "/registrations/{registration_id}/approve", response_model=RegistrationOut, tags=["approval"]
)
async def approve(registration_id: str, app: App, moderator: Moderator) -> dict[str, Any]:
    """Approve a pending registration (moderators)."""
    return _row(await _run(lambda: app.registrations.approve(registration_id, moderator.subject)))


@router.post(
    "/registrations/{registration_id}/reject", response_model=RegistrationOut, tags=["approval"]
)
async def reject(
    registration_id: str, body: RejectIn, app: App, moderator: Moderator
) -> dict[str, Any]:
    """Reject a pending registration with a reason (moderators)."""
    return _out(
        await _run(
            lambda: app.registrations.reject(registration_id, body.reason, moderator.subject)
        )
    )


# --- Invitations --------------------------------------------------------------------------


@router.post(
    "/events/{event_id}/invitations",
    status_code=201,
    response_model=InvitationOut,
    tags=["invitations"],
)
async def invite(event_id: str, body: InvitationIn, app: App, operator: Operator) -> dict[str, Any]:
    """Invite a person or an organisation; notification sends the link."""
    return _out(await _run(lambda: app.invitations.issue(event_id, body)))


@router.get(
    "/events/{event_id}/invitations", response_model=list[InvitationOut], tags=["invitations"]
)
async def invitations(
    event_id: str, app: App, operator: Operator, limit: Limit = 100, offset: Offset = 0
) -> list[dict[str, Any]]:
    """An event's invitations (operators)."""
    return [_out(i) for i in await app.invitations.list_for_event(event_id, limit, offset)]


@router.post(
    "/invitation-campaigns", status_code=201, response_model=CampaignOut, tags=["invitations"]
)
async def create_campaign(body: CampaignIn, app: App, operator: Operator) -> dict[str, Any]:
    """Invite an audience (districts, regions, categories, organisation types) to an event."""
    return _out(await _run(lambda: app.invitations.create_campaign(body, operator.subject)))


@router.get("/invitation-campaigns", response_model=list[CampaignOut], tags=["invitations"])
async def list_campaigns(
    app: App,
    staff: Staff,
    event_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """The latest invitation campaigns, newest first (operators and moderators)."""
    return [_out(campaign) for campaign in await app.invitations.campaigns(event_id, limit)]


# --- Attendance ---------------------------------------------------------------------------


@router.post("/events/{event_id}/check-in", response_model=AttendanceOut, tags=["attendance"])
async def check_in(
    event_id: str, body: CheckInIn, app: App, staff: CheckIn, response: Response
) -> AttendanceOut:
    """Check a participant in by a scanned QR value or a typed code (check-in role)."""
    registration, new = await _run(
        lambda: app.registrations.check_in(event_id, body.code, staff.subject)
    )
    if not new:
        response.status_code = 200
        response.headers["X-Already-Checked-In"] = "true"
    return _attendance(registration)


@router.post(
    "/events/{event_id}/attendance/online", response_model=list[AttendanceOut], tags=["attendance"]
)
async def online_attendance(
    event_id: str, body: OnlineAttendanceIn, app: App, recorder: AttendanceRecorder
) -> list[AttendanceOut]:
    """Join/leave records from the video platform or an operator; minutes are recomputed."""
    updated = await _run(
        lambda: app.registrations.record_online(event_id, body.sessions, recorder.subject)
    )
    return [_attendance(r) for r in updated]


@router.post("/events/{event_id}/attendance/finalise", tags=["attendance"])
async def finalise_attendance(event_id: str, app: App, operator: Operator) -> dict[str, int]:
    """Mark confirmed participants without attendance as no-shows (operators)."""
    await _run(lambda: app.catalogue.get_event(event_id, include_drafts=True))
    no_shows = await app.registrations.finalise_attendance(event_id, operator.subject)
    # Of a completed event: attendance recorded since is asked for feedback too (once each).
    await surveys_of(app).request_answers(event_id)
    return {"no_shows": no_shows}


# --- The owner's calendar file ------------------------------------------------------------


@router.get(
    "/registrations/by-link/calendar.ics",
    tags=["registrations"],
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The event as an .ics file"},
        403: {"description": "The link is not valid"},
        410: {"description": "The link has expired"},
    },
)
async def calendar_by_link(token: Annotated[str, Query(max_length=2000)], app: App) -> Response:
    """The event of one's registration as a calendar file, through the signed link; with the
    session link only while the registration is confirmed (online and hybrid events)."""
    registration = await _run(lambda: app.registrations.by_link(token))
    event, details = await _entitled(app, registration)
    day = event["starts_at"].astimezone(UTC).date().isoformat()
    return Response(
        event_ics(
            event_id=event["_id"],
            title=event["title"],
            starts_at=event["starts_at"],
            ends_at=event["ends_at"],
            venue=event.get("venue"),
            online_link=details.online_link,
            cancelled=event["status"] == EventStatus.CANCELLED,
        ),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="etnik-{day}.ics"',
            # It may hold the session link: no shared cache may keep it.
            "Cache-Control": "no-store",
        },
    )


# --- The participant's ticket (in-person and hybrid events) -------------------------------


def _ticket_answers(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {media_type: {}}, "description": description},
        403: {"description": "The link is not valid"},
        409: {"description": "No ticket: not confirmed, an online event, or cancelled (why)"},
        410: {"description": "The link has expired"},
    }


@router.get(
    "/registrations/by-link/qr.svg",
    tags=["registrations"],
    response_class=Response,
    responses=_ticket_answers("image/svg+xml", "The QR code"),
)
async def qr_by_link(token: Annotated[str, Query(max_length=2000)], app: App) -> Response:
    """The QR code of one's ticket as an SVG image, through the signed link: what the console
    scans at the door. Only a confirmed registration of an in-person or hybrid event that is
    not cancelled has one; any other answers 409 with the reason."""
    registration = await _run(lambda: app.registrations.by_link(token))
    await _ticketed_event(app, registration)
    return Response(
        qr_svg(qr_value(registration["check_in_code"])),
        media_type="image/svg+xml",
        headers={
            # It lets its holder in: no shared cache may keep it.
            "Cache-Control": "no-store",
            # Opened on its own, the image runs nothing and loads nothing.
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@router.get(
    "/registrations/by-link/ticket.pdf",
    tags=["registrations"],
    response_class=Response,
    responses=_ticket_answers("application/pdf", "The ticket"),
)
async def ticket_by_link(token: Annotated[str, Query(max_length=2000)], app: App) -> Response:
    """One's ticket as a PDF (A5, in Russian), through the signed link: the event, the
    participant, Moscow and their own time, the venue, the QR code and the code as text.
    Only for a confirmed registration of an in-person or hybrid event that is not cancelled."""
    registration = await _run(lambda: app.registrations.by_link(token))
    return await _ticket_response(app, registration)


@router.get(
    "/registrations/{registration_id}/delivery/ticket.pdf",
    tags=["registrations"],
    response_class=Response,
    summary="The ticket a confirmation carries (the notification service only)",
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The ticket"},
        409: {"description": "No ticket: not confirmed, an online event, or cancelled (why)"},
    },
)
async def ticket_for_delivery(
    registration_id: str, app: App, caller: NotificationService
) -> Response:
    """The same PDF as the participant's page gives, for notification to attach to a
    confirmation or reminder; 409 with the reason when the registration has no ticket."""
    registration = await _run(lambda: app.registrations.registration(registration_id))
    return await _ticket_response(app, registration)


async def _event_of(app: Services, registration: Document) -> Document:
    """The event a registration is for (drafts included: staff and owners see them)."""
    return await _run(
        lambda: app.catalogue.get_event(registration["event_id"], include_drafts=True)
    )


async def _entitled(app: Services, registration: Document) -> tuple[Document, AttendanceDetails]:
    """The registration's event, and the session link and check-in code it entitles to."""
    event = await _event_of(app, registration)
    details = attendance_details(
        registration_status=registration["status"],
        event_status=event["status"],
        event_format=str(event.get("format", "")),
        online_link=event.get("online_link"),
        check_in_code=registration.get("check_in_code"),
    )
    return event, details


async def _ticketed_event(app: Services, registration: Document) -> Document:
    """The registration's event, when the registration has a ticket; 409 with why not."""
    event = await _event_of(app, registration)
    refusal = ticket_refusal(
        registration_status=registration["status"],
        event_status=event["status"],
        event_format=str(event.get("format", "")),
        check_in_code=registration.get("check_in_code"),
    )
    if refusal:
        raise HTTPException(409, refusal)
    return event


async def _ticket_response(app: Services, registration: Document) -> Response:
    event = await _ticketed_event(app, registration)
    try:
        person = await app.directory.person(registration["person_id"])
    except DomainError:
        person = {"erased": True}
    if person.get("erased"):
        raise HTTPException(409, "the participant's data was erased: there is no ticket")
    ticket = Ticket(
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
    settings = app.settings
    try:
        register_fonts(settings.pdf_font_file, settings.pdf_bold_font_file, setting="PDF_FONT_FILE")
    except FontMissing as missing:
        raise HTTPException(503, str(missing)) from missing
    content = await asyncio.to_thread(ticket_pdf, ticket)
    day = event["starts_at"].astimezone(MOSCOW).date().isoformat()
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="etnik-ticket-{day}.pdf"',
            "Cache-Control": "no-store",
        },
    )


# --- Helpers ------------------------------------------------------------------------------


def _registration_filters(
    event_id: str | None,
    status: RegistrationStatus | None,
    region_code: str | None,
    federal_district: str | None,
    category: ParticipantCategory | None,
) -> Document:
    return {
        "event_id": event_id,
        "status": status.value if status else None,
        "region_code": region_code,
        "federal_district": federal_district,
        "category": category.value if category else None,
    }


def _row(registration: Document) -> dict[str, Any]:
    attendance = registration.get("attendance") or {}
    return _out(registration) | {
        "attendance": attendance.get("status", "registered"),
        "minutes_attended": attendance.get("minutes"),
    }


async def _ranked(app: Services, registration: Document) -> dict[str, Any]:
    """A registration with its place in the waitlist, when it waits."""
    waiting = registration["status"] == RegistrationStatus.WAITLISTED
    rank = await app.repository.waitlist_rank(registration) if waiting else None
    return _row(registration) | {"waitlist_position": rank}


async def _event_out(app: Services, event: Document) -> dict[str, Any]:
    """An event with the places held now (counted: there is no counter to drift)."""
    return _out(event) | {"seats_taken": await app.repository.seats_taken(event["_id"])}


def _attendance(registration: Document) -> AttendanceOut:
    attendance = registration.get("attendance") or {}
    return AttendanceOut(
        registration_id=registration["_id"],
        attendance=attendance.get("status", "registered"),
        method=attendance.get("method"),
        minutes_attended=attendance.get("minutes"),
    )


async def _view(app: Services, registration: Document) -> dict[str, Any]:
    """The owner's view: the session link and check-in code as the registration entitles to
    (confirmed, the event not cancelled, and only what the event's format uses)."""
    event, details = await _entitled(app, registration)
    return await _ranked(app, registration) | {
        "event_title": event["title"],
        "starts_at": event["starts_at"],
        "timezone": event["timezone"],
        "ends_at": event.get("ends_at"),
        "event_format": event.get("format"),
        "event_status": event.get("status"),
        "venue": event.get("venue"),
        "federal_district": event.get("federal_district"),
        "participant_timezone": await _participant_timezone(app, registration["person_id"]),
        "cancelled_by": _canceller(registration.get("cancelled_by")),
        "online_link": details.online_link,
        "check_in_code": details.check_in_code,
        "qr_value": details.qr_value,
    }


async def _participant_timezone(app: Services, person_id: str) -> str | None:
    """The zone the person's messages are written in; None for an unknown (erased) person."""
    try:
        person = await app.directory.person(person_id)
    except DomainError:
        return None
    zone = person.get("timezone")
    return zone if isinstance(zone, str) else None


def _canceller(stored: object) -> str | None:
    """Who cancelled, as a kind (the operator's account id is not the participant's business)."""
    if not isinstance(stored, str):
        return None
    if stored.startswith("operator:"):
        return "operator"
    # "privacy": the person withdrew their consent, which cancels their registrations.
    return {"owner": "owner", "privacy": "owner", "system": "system"}.get(stored)
