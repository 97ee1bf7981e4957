"""What a file really is, judged by its first bytes and never by its name."""

from __future__ import annotations

import puremagic

# Bytes read before deciding; enough for the magic numbers and an OOXML file's first entries.
SNIFF_BYTES = 64 * 1024

PDF = "application/pdf"
TEXT = "text/plain"
WEBVTT = "text/vtt"  # subtitles (etnik.content.video)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODP = "application/vnd.oasis.opendocument.presentation"

ALLOWED_TYPES = frozenset(
    {
        PDF,
        TEXT,
        WEBVTT,
        DOCX,
        PPTX,
        XLSX,
        ODT,
        ODP,
        "image/png",
        "image/jpeg",
        "video/mp4",
        "audio/mpeg",
    }
)

_ZIP_MAGIC = b"PK\x03\x04"
# An OOXML package names its main part in a local file header near the start.
_OOXML_PARTS = ((b"word/", DOCX), (b"ppt/", PPTX), (b"xl/", XLSX))
_ODF_MIMETYPES = {
    b"mimetypeapplication/vnd.oasis.opendocument.text": ODT,
    b"mimetypeapplication/vnd.oasis.opendocument.presentation": ODP,
}


def sniff(head: bytes) -> str | None:
    """The MIME type the content shows, or None when it is nothing we recognise."""
    if not head:
        return None
    if head.startswith(_ZIP_MAGIC):
        return _zip_package_type(head)
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    if matches:
        best = max(match.confidence for match in matches)
        for match in matches:
            if match.confidence == best and match.mime_type:
                return str(match.mime_type)
        return "application/octet-stream"
    return TEXT if _looks_like_text(head) else None


def _zip_package_type(head: bytes) -> str:
    for signature, mime in _ODF_MIMETYPES.items():
        if head[30 : 30 + len(signature)] == signature:
            return mime
    if b"[Content_Types].xml" in head:
        for marker, mime in _OOXML_PARTS:
            if marker in head:
                return mime
    return "application/zip"


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 without NUL or other control bytes (a cut multi-byte tail is forgiven)."""
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\n\r\f" for ch in text)


def is_allowed(mime: str | None) -> bool:
    """Whether files of this type may be stored."""
    return mime in ALLOWED_TYPES
