"""Rules of video materials: chapters, WebVTT subtitles and what counts as a view. No I/O.

A WebVTT file is checked by a strict parser of our own: webvtt-py (the one maintained
library on PyPI) silently drops malformed cues and accepts cues that end before they start,
and it does not tell which line is wrong, which is what an operator needs to fix a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from etnik.content.domain import MaterialKind, MaterialStatus, RuleViolation

# Kinds of material that are a video to play: the methodological video, session recordings.
VIDEO_KINDS = frozenset({MaterialKind.VIDEO.value, MaterialKind.SESSION_RECORDING.value})
MAX_CHAPTERS = 100
MAX_SUBTITLE_TRACKS = 20
MAX_SUBTITLE_BYTES = 2 * 1024 * 1024
# A viewer's playback sessions within this long count as one view.
DEFAULT_VIEW_WINDOW_S = 30 * 60

LANGUAGE_LABELS = {
    "ru": "Русский",
    "en": "English",
    "ba": "Башҡорт",
    "tt": "Татарча",
    "cv": "Чӑвашла",
    "sah": "Саха тыла",
    "ce": "Нохчийн",
    "os": "Ирон",
}


# --- Request and response bodies -----------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChapterIn(_Strict):
    """A chapter of a video: its title (in Russian) and where it starts, in seconds."""

    title: str = Field(min_length=1, max_length=200)
    start_s: float = Field(ge=0, le=24 * 3600, description="Seconds from the video's start")


class ChaptersIn(_Strict):
    """The whole chapter list of a video, in order, and the video's duration if known."""

    chapters: list[ChapterIn] = Field(max_length=MAX_CHAPTERS)
    duration_s: float | None = Field(default=None, gt=0, le=24 * 3600)


class ViewIn(_Strict):
    """The start of a playback; anonymous viewers send a random key their browser keeps."""

    viewer: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{16,64}$")


class ViewOut(BaseModel):
    """Whether the playback counted as a new view (False: a repeat within the window)."""

    material_id: str
    counted: bool


class ChapterOut(BaseModel):
    """A chapter as the API shows it."""

    title: str
    start_s: float


class SubtitleTrackOut(BaseModel):
    """A subtitle track as the API shows it (served at …/subtitles/{language}.vtt)."""

    language: str
    label: str
    cues: int
    size: int


# --- Chapters ------------------------------------------------------------------------------


def clock(seconds: float) -> str:
    """00:01:05.250 for 65.25 seconds: the WebVTT timestamp form, also used in messages."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def check_chapters(chapters: Sequence[Mapping[str, Any]], duration_s: float | None) -> None:
    """422 naming every bad chapter: out of order, at the same time, or past the video's end."""
    problems: list[str] = []
    previous: float | None = None
    for number, chapter in enumerate(chapters, start=1):
        start = float(chapter["start_s"])
        name = f"chapter {number} «{chapter['title']}» at {clock(start)}"
        if previous is not None and start == previous:
            problems.append(f"{name} starts at the same time as chapter {number - 1}")
        elif previous is not None and start < previous:
            problems.append(f"{name} starts before chapter {number - 1}: list chapters in order")
        if duration_s is not None and start >= duration_s:
            problems.append(f"{name} starts after the video ends ({clock(duration_s)})")
        previous = start if previous is None else max(previous, start)
    if problems:
        raise RuleViolation(422, "; ".join(problems))


def chapters_vtt(chapters: Iterable[Mapping[str, Any]], duration_s: float | None) -> str:
    """A WebVTT chapters track: each chapter runs until the next one (the last to the end)."""
    listed = list(chapters)
    lines = ["WEBVTT", ""]
    for number, chapter in enumerate(listed):
        start = float(chapter["start_s"])
        if number + 1 < len(listed):
            end = float(listed[number + 1]["start_s"])
        else:
            # Without a known duration the last chapter is left open for a long while.
            end = duration_s if duration_s is not None else start + 24 * 3600
        title = " ".join(str(chapter["title"]).split()).replace("-->", "→")
        lines += [f"chapter-{number + 1}", f"{clock(start)} --> {clock(end)}", title, ""]
    return "\n".join(lines)


def check_video_material(material: Mapping[str, Any]) -> None:
    """Chapters and subtitles belong to video materials only (422)."""
    if material.get("kind") not in VIDEO_KINDS:
        raise RuleViolation(
            422,
            "chapters and subtitles belong to video materials (kind video or session_recording)",
        )


def has_video_file(material: Mapping[str, Any]) -> bool:
    """Whether the material's current file is a video the portal can play."""
    file = material.get("file") or {}
    return str(file.get("content_type") or "").startswith("video/")


def check_video_source(material: Mapping[str, Any]) -> None:
    """A video goes to review with something to watch: a link (VK Видео, RUTUBE…) or a
    video file of its own (422); a draft may wait for its file."""
    if material.get("kind") != MaterialKind.VIDEO:
        return
    if not material.get("video_url") and not has_video_file(material):
        raise RuleViolation(422, "a video material needs video_url or a video file (MP4)")


def check_viewable(material: Mapping[str, Any]) -> None:
    """A view counts only for a published material with a video file to play (409)."""
    if material.get("status") != MaterialStatus.PUBLISHED:
        raise RuleViolation(409, "views are counted only for published material")
    if not has_video_file(material):
        raise RuleViolation(409, "this material has no video file to play")


# --- WebVTT --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    """One cue of a subtitle file."""

    start_s: float
    end_s: float
    text: str


class MalformedSubtitles(RuleViolation):
    """A subtitle file that is not well-formed WebVTT, with the line to look at."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(422, f"line {line}: {reason}")
        self.line = line


_TIMESTAMP = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
_TIMING = re.compile(r"^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+(.*))?$")
_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_BLOCK_KEYWORDS = ("NOTE", "STYLE", "REGION")


def _seconds(stamp: str) -> float | None:
    match = _TIMESTAMP.match(stamp)
    if match is None:
        return None
    hours, minutes, seconds, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def decode_subtitles(content: bytes) -> str:
    """The file as text, without a byte-order mark and with \\n line ends (422 if not UTF-8)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise MalformedSubtitles(line, "subtitles must be UTF-8 text") from error
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_webvtt(text: str) -> list[Cue]:
    """The cues of a WebVTT file; MalformedSubtitles (422) naming the first bad line."""
    lines = text.split("\n")
    if not _HEADER.match(lines[0]):
        raise MalformedSubtitles(1, "a WebVTT file starts with the line «WEBVTT»")
    number = 1
    # The header runs to the first blank line and may not hold a cue.
    while number < len(lines) and lines[number].strip():
        if "-->" in lines[number]:
            raise MalformedSubtitles(
                number + 1, "a blank line must separate the «WEBVTT» header from the first cue"
            )
        number += 1
    cues: list[Cue] = []
    while number < len(lines):
        if not lines[number].strip():
            number += 1
            continue
        block_start = number
        block: list[str] = []
        while number < len(lines) and lines[number].strip():
            block.append(lines[number])
            number += 1
        cue = _cue(block, block_start + 1, cues[-1] if cues else None)
        if cue is not None:
            cues.append(cue)
    if not cues:
        raise MalformedSubtitles(len(lines), "the file holds no cue")
    return cues


def _cue(block: list[str], first_line: int, previous: Cue | None) -> Cue | None:
    """One block: a comment or style (None), or a cue with an optional identifier line."""
    head = block[0]
    if any(head == word or head.startswith((word + " ", word + "\t")) for word in _BLOCK_KEYWORDS):
        if head.startswith(("STYLE", "REGION")) and previous is not None:
            raise MalformedSubtitles(first_line, f"a {head.split()[0]} block must come before cues")
        return None
    timing_at = 0 if "-->" in head else 1
    if timing_at >= len(block) or "-->" not in block[timing_at]:
        raise MalformedSubtitles(
            first_line + timing_at,
            "a cue needs a timing line such as «00:00:01.000 --> 00:00:04.000»",
        )
    line = first_line + timing_at
    timing = _TIMING.match(block[timing_at].strip())
    start = _seconds(timing.group(1)) if timing else None
    end = _seconds(timing.group(2)) if timing else None
    if timing is None or start is None or end is None:
        raise MalformedSubtitles(
            line,
            f"the cue timing «{block[timing_at].strip()}» is not "
            "«HH:MM:SS.mmm --> HH:MM:SS.mmm» (or MM:SS.mmm)",
        )
    if end <= start:
        raise MalformedSubtitles(
            line, f"the cue ends ({clock(end)}) before or when it starts ({clock(start)})"
        )
    if previous is not None and start < previous.start_s:
        raise MalformedSubtitles(
            line,
            f"the cue starts ({clock(start)}) before the previous cue ({clock(previous.start_s)})",
        )
    text_lines = block[timing_at + 1 :]
    for offset, text_line in enumerate(text_lines, start=1):
        if "-->" in text_line:
            raise MalformedSubtitles(
                line + offset, "cue text may not hold «-->»: is a blank line missing before it?"
            )
    return Cue(start, end, "\n".join(text_lines))


def subtitle_label(language: str, label: str | None) -> str:
    """The track's name in the player: as given, else the language's own name."""
    return (label or "").strip() or LANGUAGE_LABELS.get(language, language)
