"""HTTP entrypoints of the content service: thin, each builds a command and calls a handler."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.background import BackgroundTask

from etnik.common.auth import (
    InvalidToken,
    Principal,
    Role,
    require_roles,
    require_roles_or_service,
)
from etnik.common.idempotency import IDEMPOTENCY_HEADER, fingerprint
from etnik.common.mongo import Document
from etnik.content.container import Container
from etnik.content.domain import (
    MaterialKind,
    MaterialStatus,
    RangeNotSatisfiable,
    Reader,
    RuleViolation,
    WorkflowAction,
    content_disposition,
    parse_range,
    safe_filename,
)
from etnik.content.export import person_export
from etnik.content.files import read_range
from etnik.content.schemas import (
    FederalDistrict,
    MaterialFields,
    MaterialIn,
    MaterialOut,
    MaterialPage,
    MediaMentionIn,
    MediaMentionOut,
    MediaMentionPage,
    StrategyIn,
    StrategyOut,
    StrategySectionsIn,
    StrategyVersionOut,
    VersionOut,
    WorkflowIn,
)
from etnik.content.search_index import SearchQuery
from etnik.content.service import MaterialService

router = APIRouter()

STAFF_ROLES = {Role.OPERATOR, Role.MODERATOR}
Author = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]
Reviewer = Annotated[Principal, Depends(require_roles(Role.MODERATOR))]
Staff = Annotated[Principal, Depends(require_roles(Role.OPERATOR, Role.MODERATOR))]
# A person's export is read by operators and by registration, never by participants.
ExportReader = Annotated[
    Principal, Depends(require_roles_or_service({Role.OPERATOR}, {"registration"}))
]

_bearer = HTTPBearer(auto_error=False)


async def current_reader(
    app: Container,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Reader:
    """Who reads: anonymous without a token, 401 for a bad token, else participant or staff."""
    if credentials is None:
        return Reader(kind="anonymous")
    try:
        principal = await app.runtime.jwt_verifier.principal(credentials.credentials)
    except InvalidToken as error:
        raise RuleViolation(401, str(error)) from error
    if principal.kind == "participant":
        return Reader(kind="participant", subject=principal.subject)
    return Reader(
        kind="operator", subject=principal.subject, is_staff=principal.has_any(STAFF_ROLES)
    )


ReaderDep = Annotated[Reader, Depends(current_reader)]


def material_out(material: Document, reader: Reader | None = None) -> dict[str, Any]:
    """A material as the API shows it; authors' person ids only to staff (writers are staff)."""
    shown = MaterialOut(id=material["_id"], **material).model_dump(mode="json")
    if reader is not None and not reader.is_staff:
        shown["authors"] = [
            {key: value for key, value in author.items() if key != "person_id"}
            for author in shown["authors"]
        ]
    return shown


@router.post("/materials", status_code=201, response_model=MaterialOut, tags=["materials"])
async def create_material(
    body: MaterialIn,
    app: Container,
    author: Author,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> JSONResponse:
    """Create a draft material (operators); it is public only once a reviewer approves it."""

    async def action() -> tuple[int, Any]:
        """Create once; the idempotency store replays the answer, a refusal too, to a retry."""
        return 201, material_out(await app.materials.create(body.given(), by=author.subject))

    return await app.runtime.idempotency.run(
        scope=f"materials:{author.subject}",
        key=idempotency_key,
        request_fingerprint=fingerprint(body.given()),
        action=action,
    )


@router.get("/materials", response_model=MaterialPage, tags=["materials"])
async def search_materials(
    app: Container,
    reader: ReaderDep,
    q: Annotated[str | None, Query(max_length=200, description="Words, any form")] = None,
    kind: MaterialKind | None = None,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    federal_district: Annotated[FederalDistrict | None, Query()] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    status: MaterialStatus | None = None,
    collection_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """Search what the caller may see, by words (Russian morphology) and filters."""
    query = SearchQuery(
        text=q,
        kind=kind.value if kind else None,
        event_id=event_id,
        federal_district=federal_district,
        tag=tag,
        status=status.value if status else None,
        collection_id=collection_id,
        limit=limit,
        offset=offset,
    )
    items, total = await app.materials.search(reader, query)
    return {
        "items": [material_out(item, reader) for item in items],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/materials/{material_id}", response_model=MaterialOut, tags=["materials"])
async def get_material(material_id: str, app: Container, reader: ReaderDep) -> dict[str, Any]:
    """One material; drafts and material the caller may not see are 404."""
    return material_out(await app.materials.read(material_id, reader), reader)


@router.patch("/materials/{material_id}", response_model=MaterialOut, tags=["materials"])
async def edit_material(
    material_id: str, body: MaterialFields, app: Container, author: Author
) -> dict[str, Any]:
    """Change a material's details (operators): a new version."""
    material = await app.materials.edit(material_id, body.given(), by=author.subject)
    return material_out(material)


@router.put(
    "/materials/{material_id}/file",
    response_model=MaterialOut,
    tags=["files"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload_file(
    material_id: str,
    request: Request,
    app: Container,
    author: Author,
    filename: Annotated[str, Query(min_length=1, max_length=255)],
) -> dict[str, Any]:
    """Upload the material's file as the raw request body (operators): a new version.

    The type is judged by the content (415 when not allowed), the size is bounded (413),
    and the body streams into GridFS without being held in memory.
    """
    max_bytes = app.files.max_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise RuleViolation(413, f"files may be at most {max_bytes} bytes")
    material = await app.materials.attach_file(
        material_id, request.stream(), filename=safe_filename(filename), by=author.subject
    )
    return material_out(material)


@router.get(
    "/materials/{material_id}/file",
    tags=["files"],
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {}, 416: {}},
)
async def download_file(
    material_id: str,
    app: Container,
    reader: ReaderDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    """Download the material's file; HTTP Range gives part of it (206)."""
    return await _download(app.materials, material_id, reader, range_header, version=None)


@router.get(
    "/materials/{material_id}/versions/{version}/file",
    tags=["files"],
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {}, 416: {}},
)
async def download_version_file(
    material_id: str,
    version: int,
    app: Container,
    staff: Staff,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    """Download the file of an old version (operators and moderators)."""
    reader = Reader(kind="operator", subject=staff.subject, is_staff=True)
    return await _download(app.materials, material_id, reader, range_header, version=version)


async def _download(
    service: MaterialService,
    material_id: str,
    reader: Reader,
    range_header: str | None,
    *,
    version: int | None,
) -> Response:
    target = await service.open_file(material_id, reader, version=version)
    size = int(target.file["size"])
    try:
        selected = parse_range(range_header, size)
    except RangeNotSatisfiable:
        return JSONResponse(
            {"detail": f"the range is outside the file of {size} bytes"},
            status_code=416,
            headers={"Content-Range": f"bytes */{size}"},
        )
    first, last = selected if selected else (0, size - 1)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(max(last - first + 1, 0)),
        "Content-Disposition": content_disposition(target.file["filename"]),
        "ETag": f'"{target.file["sha256"]}"',
        "X-Content-SHA256": target.file["sha256"],
    }
    if selected:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(
        read_range(target.source, first, last),
        status_code=206 if selected else 200,
        media_type=target.file["content_type"],
        headers=headers,
        background=BackgroundTask(service.record_download, target, reader, partial=bool(selected)),
    )


@router.get(
    "/materials/{material_id}/versions", response_model=list[VersionOut], tags=["materials"]
)
async def list_versions(material_id: str, app: Container, staff: Staff) -> list[dict[str, Any]]:
    """Every version: who changed what and when, and the state it left (staff)."""
    history = await app.materials.versions(material_id)
    return [VersionOut(**entry).model_dump(mode="json") for entry in history]


async def _transition(
    app: Container,
    material_id: str,
    action: WorkflowAction,
    by: Principal,
    body: WorkflowIn | None,
) -> dict[str, Any]:
    material = await app.materials.transition(
        material_id, action, by=by.subject, comment=body.comment if body else None
    )
    return material_out(material)


@router.post("/materials/{material_id}/submit", response_model=MaterialOut, tags=["workflow"])
async def submit(
    material_id: str, app: Container, author: Author, body: WorkflowIn | None = None
) -> dict[str, Any]:
    """Send a draft for review (operators)."""
    return await _transition(app, material_id, WorkflowAction.SUBMIT, author, body)


@router.post("/materials/{material_id}/approve", response_model=MaterialOut, tags=["workflow"])
async def approve(
    material_id: str, app: Container, reviewer: Reviewer, body: WorkflowIn | None = None
) -> dict[str, Any]:
    """Publish a material in review (moderators who neither wrote nor edited it)."""
    return await _transition(app, material_id, WorkflowAction.APPROVE, reviewer, body)


@router.post("/materials/{material_id}/reject", response_model=MaterialOut, tags=["workflow"])
async def reject(
    material_id: str, app: Container, reviewer: Reviewer, body: WorkflowIn | None = None
) -> dict[str, Any]:
    """Send a material in review back to draft, with a comment (moderators)."""
    return await _transition(app, material_id, WorkflowAction.REJECT, reviewer, body)


@router.post("/materials/{material_id}/archive", response_model=MaterialOut, tags=["workflow"])
async def archive(
    material_id: str, app: Container, staff: Staff, body: WorkflowIn | None = None
) -> dict[str, Any]:
    """Withdraw a material from publication (operators and moderators)."""
    return await _transition(app, material_id, WorkflowAction.ARCHIVE, staff, body)


@router.post("/materials/{material_id}/compile", response_model=MaterialOut, tags=["collections"])
async def compile_collection(material_id: str, app: Container, author: Author) -> dict[str, Any]:
    """Compile a methodological collection's published materials into one PDF (operators).

    The PDF, with a table of contents, becomes the collection's file in a new version.
    """
    return material_out(await app.materials.compile_collection(material_id, by=author.subject))


def strategy_out(strategy: Document) -> dict[str, Any]:
    """A strategy document as the API shows it."""
    return StrategyOut(id=strategy["_id"], **strategy).model_dump(mode="json")


@router.post("/strategies", status_code=201, response_model=StrategyOut, tags=["strategies"])
async def create_strategy(body: StrategyIn, app: Container, author: Author) -> dict[str, Any]:
    """Start an organisation's strategy, prefilled with its participation (operators)."""
    strategy = await app.strategies.create(body.organisation_id, by=author.subject)
    return strategy_out(strategy)


@router.get("/strategies/{organisation_id}", response_model=StrategyOut, tags=["strategies"])
async def get_strategy(organisation_id: str, app: Container, staff: Staff) -> dict[str, Any]:
    """An organisation's current strategy (staff)."""
    return strategy_out(await app.strategies.get(organisation_id))


@router.patch("/strategies/{organisation_id}", response_model=StrategyOut, tags=["strategies"])
async def edit_strategy(
    organisation_id: str, body: StrategySectionsIn, app: Container, author: Author
) -> dict[str, Any]:
    """Change sections, the development vector or the goals of a strategy (operators): a new
    version. Goals name mechanisms of the catalogue (GET /mechanisms)."""
    structure = body.model_dump(include={"vector", "goals"} & body.model_fields_set)
    strategy = await app.strategies.edit(
        organisation_id,
        body.sections,
        by=author.subject,
        expected_version=body.expected_version,
        structure=structure,
    )
    return strategy_out(strategy)


@router.get(
    "/strategies/{organisation_id}/versions",
    response_model=list[StrategyVersionOut],
    tags=["strategies"],
)
async def strategy_versions(
    organisation_id: str, app: Container, staff: Staff
) -> list[dict[str, Any]]:
    """Every version of a strategy (staff)."""
    strategy = await app.strategies.get(organisation_id, with_history=True)
    return [StrategyVersionOut(**entry).model_dump(mode="json") for entry in strategy["history"]]


@router.get(
    "/strategies/{organisation_id}/pdf",
    tags=["strategies"],
    responses={200: {"content": {"application/pdf": {}}}},
)
async def strategy_pdf(organisation_id: str, app: Container, staff: Staff) -> Response:
    """The strategy as a PDF with Cyrillic fonts (staff)."""
    strategy, content = await app.strategies.pdf(organisation_id)
    name = f"Вектор развития — {strategy.get('organisation_name') or organisation_id}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition(safe_filename(name))},
    )


@router.post("/media-mentions", status_code=201, response_model=MediaMentionOut, tags=["media"])
async def register_media_mention(
    body: MediaMentionIn, app: Container, staff: Staff
) -> dict[str, Any]:
    """Register a publication about the programme, for the grant report (staff)."""
    return await app.media_mentions.register(body, by=staff.subject)


@router.get("/media-mentions", response_model=MediaMentionPage, tags=["media"])
async def list_media_mentions(
    app: Container,
    staff: Staff,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Media mentions, newest first, optionally those of one event (staff)."""
    return await app.media_mentions.page(event_id=event_id, limit=limit, offset=offset)


@router.get(
    "/people/{person_id}/export",
    tags=["personal data"],
    summary="What content holds about a person (operators, registration)",
)
async def export_person(person_id: str, app: Container, reader: ExportReader) -> dict[str, Any]:
    """Materials naming the person, access records and strategies (empty lists if none)."""
    return await person_export(app.repository, app.access, app.strategies, person_id)
