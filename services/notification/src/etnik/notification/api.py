"""HTTP entrypoints of the notification service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from etnik.common.auth import Principal, Role, require_roles
from etnik.notification.container import Container
from etnik.notification.domain import values_a_template_must_show
from etnik.notification.rendering import (
    SUPPORTED_LOCALES,
    TemplateProblem,
    event_context,
    template_name,
)

router = APIRouter()

Operator = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]
KINDS = (
    "registration_confirmed",
    "registration_waitlisted",
    "registration_received",
    "registration_rejected",
    "registration_cancelled",
    "registration_offered",
    "event_reminder",
    "event_changed",
    "event_cancelled",
    "sign_in_link",
    "invitation",
    "certificate_issued",
    "survey_invitation",
)
Kind = Literal[KINDS]  # type: ignore[valid-type]
Locale = Literal["ru", "en"]


class TemplateIn(BaseModel):
    """A new version of a template."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=10, max_length=50_000)


class PreviewIn(BaseModel):
    """What to preview: a saved template, or a draft, for a recipient and an event."""

    model_config = ConfigDict(extra="forbid")

    person_id: str | None = None
    event_id: str | None = None
    source: str | None = Field(default=None, max_length=50_000)


def _public(document: dict[str, Any]) -> dict[str, Any]:
    hidden = {"_id", "context", "outbox", "outbox_since", "lease_owner", "lease_until", "claim_gen"}
    return {"id": document["_id"], **{k: v for k, v in document.items() if k not in hidden}}


@router.get("/messages", tags=["delivery log"], summary="Delivery log (operators)")
async def delivery_log(
    app: Container,
    operator: Operator,
    person_id: str | None = None,
    status: Literal["pending", "sent", "failed", "dropped"] | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Messages, newest first, without their content or links."""
    query: dict[str, Any] = {
        key: value for key, value in {"person_id": person_id, "kind": kind}.items() if value
    }
    if status is not None:
        query["status"] = status
    messages = await app.messages.delivery_log(query, limit=limit, offset=offset)
    return [_public(document) for document in messages]


@router.post("/messages/{message_id}/resend", tags=["delivery log"], status_code=202)
async def resend(message_id: str, app: Container, operator: Operator) -> dict[str, str]:
    """Send a sent or failed message again."""
    store = app.messages
    if not await store.resend(message_id):
        raise HTTPException(404, "no sent or failed message with this id")
    return {"status": "queued"}


@router.get("/campaigns/{campaign_id}", tags=["campaigns"])
async def campaign_progress(campaign_id: str, app: Container, operator: Operator) -> dict[str, Any]:
    """How far an invitation campaign has got: sent, failed, dropped and remaining."""
    service = app.service
    return await service.campaign_progress(campaign_id)


_UNSUBSCRIBE_PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="font-family: Arial, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem;">
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, tags=["unsubscribe"])
async def unsubscribe_page(token: str, app: Container) -> HTMLResponse:
    """A confirmation page: link checkers that open the link unsubscribe nobody."""
    service = app.service
    if service.unsubscribe_links.person_id(token) is None:
        return HTMLResponse(
            _UNSUBSCRIBE_PAGE.format(
                title="Ссылка недействительна", text="Проверьте ссылку из письма.", form=""
            ),
            status_code=404,
        )
    form = (
        '<form method="post"><button type="submit" style="font-size: 1rem; padding: 0.5rem 1rem;">'
        "Отписаться</button></form>"
    )
    return HTMLResponse(
        _UNSUBSCRIBE_PAGE.format(
            title="Отписка от приглашений",
            text="Вы больше не будете получать приглашения на мероприятия программы «ЭтНик». "
            "Письма о ваших регистрациях продолжат приходить.",
            form=form,
        )
    )


@router.post("/unsubscribe/{token}", tags=["unsubscribe"])
async def unsubscribe(token: str, app: Container) -> JSONResponse:
    """Stop invitations (also the one-click List-Unsubscribe-Post); no sign-in needed."""
    service = app.service
    person_id = service.unsubscribe_links.person_id(token)
    if person_id is None:
        raise HTTPException(404, "this unsubscribe link is not valid")
    await service.unsubscribe(person_id)
    return JSONResponse({"status": "unsubscribed", "message": "Вы отписались от приглашений."})


@router.get("/templates/{kind}/{locale}", tags=["templates"])
async def get_template(
    kind: Kind, locale: Locale, app: Container, operator: Operator
) -> dict[str, Any]:
    """The template in use, with every saved version."""
    store = app.templates
    renderer = app.renderer
    name = template_name(kind, locale)
    history = await store.history(name)
    source = history[-1]["source"] if history else renderer.packaged_source(name)
    return {"name": name, "source": source, "versions": history}


@router.put("/templates/{kind}/{locale}", tags=["templates"])
async def save_template(
    kind: Kind, locale: Locale, body: TemplateIn, app: Container, operator: Operator
) -> dict[str, Any]:
    """Save a new version after checking that it renders; 422 with the reason if not."""
    renderer = app.renderer
    name = template_name(kind, locale)
    try:
        renderer.render_source(name, body.source, _sample_context(locale))
        used = renderer.names_used(body.source)
    except TemplateProblem as problem:
        raise HTTPException(422, str(problem)) from problem
    # A participant must not lose what they need to attend to an edit.
    left_out = [value for value in values_a_template_must_show(kind) if value not in used]
    if left_out:
        shown = ", ".join(f"{{{{ {value} }}}}" for value in left_out)
        raise HTTPException(422, f"the template must show {shown}")
    store = app.templates
    version = await store.save(name, body.source, operator.subject)
    return {"name": name, "version": version}


@router.post("/templates/{kind}/{locale}/preview", tags=["templates"])
async def preview_template(
    kind: Kind, locale: Locale, body: PreviewIn, app: Container, operator: Operator
) -> dict[str, str]:
    """Render a template (or a draft) for a given recipient and event, without sending."""
    service = app.service
    renderer = app.renderer
    context = _sample_context(locale)
    if body.person_id:
        recipient = await service.projections.recipient(body.person_id)
        if recipient is None:
            raise HTTPException(404, "unknown recipient")
        context["recipient"] = recipient
    if body.event_id:
        event = await service.projections.event(body.event_id)
        if event is None:
            raise HTTPException(404, "unknown event")
        zone = context["recipient"].get("timezone") or "Europe/Moscow"
        context["event"] = event_context(event, locale=locale, recipient_zone=zone)
    try:
        rendered = renderer.render_source(template_name(kind, locale), body.source, context)
    except TemplateProblem as problem:
        raise HTTPException(422, str(problem)) from problem
    return {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}


def _sample_context(locale: str) -> dict[str, Any]:
    """Made-up values with every field a template may use, to check and preview templates."""
    starts_at = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    zone = "Asia/Kamchatka"
    expires = (starts_at - timedelta(days=2)).isoformat()
    return {
        "locale": locale if locale in SUPPORTED_LOCALES else "ru",
        "recipient": {"full_name": "Анна Иванова", "email": "anna@example.org", "timezone": zone},
        "event": event_context(
            {
                "title": "Стратегическая онлайн-сессия по ЦФО",
                "starts_at": starts_at,
                "format": "online",
            },
            locale=locale,
            recipient_zone=zone,
        ),
        "reason": "Пример причины",
        "link": "https://etnik.example/link",
        "accept_url": "https://etnik.example/accept",
        "offer_expires": expires,
        "link_expires": expires,
        "unsubscribe_url": "https://etnik.example/unsubscribe",
        "manage_url": "https://etnik.example/registrations/manage?token=example",
        "online_link": "https://telemost.yandex.ru/j/example",
        "check_in_code": "ABCD2345",
        "certificate_url": "https://etnik.example/api/registration/registrations/by-link/"
        "certificate.pdf?token=example",
        "survey_url": "https://etnik.example/registrations/survey?token=example",
        "moved": True,
        "link_changed": True,
    }
