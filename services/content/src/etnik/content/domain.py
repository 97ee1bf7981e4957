"""Pure rules of the content service: kinds, workflow, access, versions, ranges. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

from etnik.common.errors import Refused


class MaterialKind(StrEnum):
    """What a material is."""

    METHODOLOGICAL_COLLECTION = "methodological_collection"
    RECOMMENDATION = "recommendation"
    PRESENTATION = "presentation"
    AGENDA = "agenda"
    SESSION_RECORDING = "session_recording"
    VIDEO = "video"
    NGO_STRATEGY = "ngo_strategy"
    OTHER = "other"


KIND_LABELS: dict[str, str] = {
    MaterialKind.METHODOLOGICAL_COLLECTION: "Методический сборник",
    MaterialKind.RECOMMENDATION: "Рекомендации",
    MaterialKind.PRESENTATION: "Презентация",
    MaterialKind.AGENDA: "Повестка",
    MaterialKind.SESSION_RECORDING: "Запись сессии",
    MaterialKind.VIDEO: "Видео",
    MaterialKind.NGO_STRATEGY: "Стратегия развития НКО",
    MaterialKind.OTHER: "Материал",
}


class MaterialStatus(StrEnum):
    """Where a material stands in its publication workflow."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class AccessLevel(StrEnum):
    """Who may read a published material."""

    PUBLIC = "public"
    PARTICIPANTS = "participants"
    OPERATORS = "operators"


class WorkflowAction(StrEnum):
    """The steps that move a material through its workflow."""

    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    ARCHIVE = "archive"


# action -> (statuses it starts from, status it leads to)
TRANSITIONS: dict[WorkflowAction, tuple[frozenset[MaterialStatus], MaterialStatus]] = {
    WorkflowAction.SUBMIT: (frozenset({MaterialStatus.DRAFT}), MaterialStatus.IN_REVIEW),
    WorkflowAction.APPROVE: (frozenset({MaterialStatus.IN_REVIEW}), MaterialStatus.PUBLISHED),
    WorkflowAction.REJECT: (frozenset({MaterialStatus.IN_REVIEW}), MaterialStatus.DRAFT),
    WorkflowAction.ARCHIVE: (
        frozenset({MaterialStatus.DRAFT, MaterialStatus.PUBLISHED}),
        MaterialStatus.ARCHIVED,
    ),
}

# Fields of a material that its versions record; a change to any of them is a new version.
VERSIONED_FIELDS = (
    "kind",
    "title",
    "description",
    "authors",
    "tags",
    "language",
    "federal_district",
    "track",
    "event_id",
    "organisation_id",
    "collection_id",
    "access",
    "video_url",
    "video_platform",
    "file",
    "status",
    # A video's duration, chapters and subtitle tracks (etnik.content.video).
    "duration_s",
    "chapters",
    "subtitles",
)


class RuleViolation(Refused):
    """A request content's rules refuse: the kernel answers it with its status and reason."""


def next_status(current: str, action: WorkflowAction) -> MaterialStatus:
    """The status an action leads to, or RuleViolation(409) when it does not apply now."""
    sources, target = TRANSITIONS[action]
    if MaterialStatus(current) not in sources:
        allowed = ", ".join(sorted(sources))
        raise RuleViolation(409, f"cannot {action.value} a material that is {current} ({allowed})")
    return target


# Steps that move a material without changing it: taking one (e.g. rejecting) is not editing.
_WORKFLOW_STEPS = frozenset(action.value for action in WorkflowAction)

# What readers get and who may read it: a change to a published material needs review again.
REVIEWED_FIELDS = frozenset(
    {"description", "video_url", "video_platform", "file", "access", "chapters", "subtitles"}
)


def check_reviewer(reviewer: str, material: Mapping[str, Any]) -> None:
    """Four eyes: whoever wrote or edited a material may not approve it (403)."""
    editors = {material.get("created_by")}
    # Any other action (create, edit, file, compile, or one added later) counts as editing.
    editors.update(
        entry.get("by")
        for entry in material.get("history", ())
        if entry.get("action") not in _WORKFLOW_STEPS
    )
    if reviewer in editors:
        raise RuleViolation(403, "a reviewer may not approve a material they wrote or edited")


def needs_review_again(status: str, changes: Iterable[str], after: Mapping[str, Any]) -> bool:
    """Whether a change sends a published material back to review (metadata alone does not)."""
    if status != MaterialStatus.PUBLISHED:
        return False
    changed = set(changes)
    if changed & REVIEWED_FIELDS:
        return True
    # Participants-only material: its event decides which participants may read it.
    return "event_id" in changed and after.get("access") == AccessLevel.PARTICIPANTS


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The versioned fields whose values differ, in a stable order."""
    return [name for name in VERSIONED_FIELDS if before.get(name) != after.get(name)]


@dataclass(frozen=True)
class Reader:
    """Who asks to read: anonymous, a participant (a person id) or an operator with roles."""

    kind: str  # anonymous, participant, operator
    subject: str | None = None
    is_staff: bool = False  # an operator or moderator: sees drafts and operators-only material


def readable_statuses(reader: Reader) -> list[str]:
    """Statuses a reader may see: staff see everything, others only published material."""
    if reader.is_staff:
        return [status.value for status in MaterialStatus]
    return [MaterialStatus.PUBLISHED.value]


def may_read(reader: Reader, material: Mapping[str, Any], participant_events: set[str]) -> bool:
    """Whether a reader may see a material, given the events the reader holds places at."""
    if reader.is_staff:
        return True
    if material.get("status") != MaterialStatus.PUBLISHED:
        return False
    access = material.get("access")
    if access == AccessLevel.PUBLIC:
        return True
    if access == AccessLevel.PARTICIPANTS:
        return reader.kind == "participant" and material.get("event_id") in participant_events
    return False


def visibility_filter(reader: Reader, participant_events: Iterable[str]) -> dict[str, Any]:
    """A MongoDB filter matching exactly what may_read allows, for listings and search."""
    if reader.is_staff:
        return {}
    allowed: list[dict[str, Any]] = [{"access": AccessLevel.PUBLIC.value}]
    events = sorted(participant_events)
    if reader.kind == "participant" and events:
        allowed.append({"access": AccessLevel.PARTICIPANTS.value, "event_id": {"$in": events}})
    return {"status": MaterialStatus.PUBLISHED.value, "$or": allowed}


_VIDEO_HOSTS = {
    "vk.com": "vk_video",
    "vkvideo.ru": "vk_video",
    "vk.ru": "vk_video",
    "rutube.ru": "rutube",
}


def video_platform(url: str) -> str:
    """Which platform a video link points at: vk_video, rutube or other."""
    host = (urlsplit(url).hostname or "").lower()
    for known, platform in _VIDEO_HOSTS.items():
        if host == known or host.endswith("." + known):
            return platform
    return "other"


# --- HTTP Range (RFC 9110 §14) -------------------------------------------------------------


class RangeNotSatisfiable(Exception):
    """A Range that selects no byte of the file: answered 416."""


_BYTE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single range, None to send the whole file.

    Multiple ranges and malformed headers are ignored (the whole file is sent), as RFC 9110
    allows; a well-formed range that selects nothing raises RangeNotSatisfiable.
    """
    if not header:
        return None
    match = _BYTE_RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # a suffix: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - length, 0), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size:
        raise RangeNotSatisfiable
    if last < first:
        return None
    return first, min(last, size - 1)


# --- Content-Disposition (RFC 6266 with RFC 5987 for non-ASCII names) ----------------------

_UNSAFE_IN_QUOTED = re.compile(r'[^\x20-\x7e]|["\\]')


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """An attachment header that keeps Cyrillic names: an ASCII fallback plus filename*."""
    disposition = "inline" if inline else "attachment"
    cleaned = filename.replace("\r", "").replace("\n", "").strip() or "file"
    fallback = _UNSAFE_IN_QUOTED.sub("_", cleaned)
    if fallback == cleaned:
        return f'{disposition}; filename="{cleaned}"'
    encoded = quote(cleaned, safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def safe_filename(name: str) -> str:
    """A file name without path parts or control characters, at most 200 characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    return base[:200] or "file"
