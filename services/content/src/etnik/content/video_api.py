"""HTTP entrypoints of video materials: chapters, subtitle tracks, views (thin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from etnik.content.api import Author, ReaderDep, material_out
from etnik.content.container import Container
from etnik.content.domain import safe_filename
from etnik.content.schemas import MaterialOut
from etnik.content.video import ChaptersIn, ViewIn, ViewOut

router = APIRouter(tags=["video"])

VTT_MEDIA_TYPE = "text/vtt; charset=utf-8"
Language = Annotated[str, Path(pattern=r"^[a-z]{2,3}$", description="ISO 639 code, e.g. ru")]


def _vtt(text: str, name: str) -> Response:
    return Response(
        text,
        media_type=VTT_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="{safe_filename(name)}"'},
    )


@router.put("/materials/{material_id}/chapters", response_model=MaterialOut)
async def set_chapters(
    material_id: str, body: ChaptersIn, app: Container, author: Author
) -> dict[str, Any]:
    """Replace a video's chapters, in order, and its duration if known (operators)."""
    material = await app.video.set_chapters(material_id, body, by=author.subject)
    return material_out(material)


@router.get(
    "/materials/{material_id}/chapters.vtt",
    responses={200: {"content": {"text/vtt": {}}}},
)
async def chapters_track(material_id: str, app: Container, reader: ReaderDep) -> Response:
    """The chapters as a WebVTT track for `<track kind="chapters">`."""
    return _vtt(await app.video.chapters_track(material_id, reader), "chapters.vtt")


@router.put(
    "/materials/{material_id}/subtitles/{language}",
    response_model=MaterialOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/vtt": {"schema": {"type": "string"}}}}
    },
)
async def upload_subtitles(
    material_id: str,
    language: Language,
    request: Request,
    app: Container,
    author: Author,
    label: Annotated[str | None, Query(max_length=60)] = None,
) -> dict[str, Any]:
    """Upload a language's WebVTT subtitles as the raw body (operators): a new version.

    A malformed file is refused with 422 naming its line; anything but text with 415.
    """
    material = await app.video.upload_subtitles(
        material_id, language, request.stream(), label=label, by=author.subject
    )
    return material_out(material)


@router.delete("/materials/{material_id}/subtitles/{language}", response_model=MaterialOut)
async def remove_subtitles(
    material_id: str, language: Language, app: Container, author: Author
) -> dict[str, Any]:
    """Remove a language's subtitles (operators): a new version."""
    material = await app.video.remove_subtitles(material_id, language, by=author.subject)
    return material_out(material)


@router.get(
    "/materials/{material_id}/subtitles/{language}.vtt",
    responses={200: {"content": {"text/vtt": {}}}},
)
async def subtitles(
    material_id: str, language: Language, app: Container, reader: ReaderDep
) -> Response:
    """A language's subtitles as WebVTT for `<track kind="subtitles">`."""
    text = await app.video.subtitles_text(material_id, language, reader)
    return _vtt(text, f"{language}.vtt")


@router.post("/materials/{material_id}/views", response_model=ViewOut)
async def count_view(
    material_id: str, app: Container, reader: ReaderDep, body: ViewIn | None = None
) -> dict[str, Any]:
    """Report that playback of the video started: a view, once per viewer within a window.

    Signed-in viewers are known by their token; anonymous ones send `viewer`, a random key
    their browser keeps. 404 for a material the caller may not see, 409 if it is not
    published or has no video file.
    """
    counted = await app.video.count_view(material_id, reader, body.viewer if body else None)
    return {"material_id": material_id, "counted": counted}
