"""Pure rules of the registration domain: no I/O, unit-tested with plain values."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from etnik.common.contracts.registration import EventFormat, RegistrationStatus

# --- Event lifecycle ------------------------------------------------------------------


class EventStatus(StrEnum):
    """The lifecycle of a programme event."""

    DRAFT = "draft"
    PUBLISHED = "published"
    REGISTRATION_OPEN = "registration_open"
    CLOSED = "closed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# Closed may reopen (a deadline extended); completed and cancelled are final.
ALLOWED_TRANSITIONS: Mapping[EventStatus, frozenset[EventStatus]] = {
    EventStatus.DRAFT: frozenset({EventStatus.PUBLISHED, EventStatus.CANCELLED}),
    EventStatus.PUBLISHED: frozenset({EventStatus.REGISTRATION_OPEN, EventStatus.CANCELLED}),
    EventStatus.REGISTRATION_OPEN: frozenset({EventStatus.CLOSED, EventStatus.CANCELLED}),
    EventStatus.CLOSED: frozenset(
        {EventStatus.REGISTRATION_OPEN, EventStatus.COMPLETED, EventStatus.CANCELLED}
    ),
    EventStatus.COMPLETED: frozenset(),
    EventStatus.CANCELLED: frozenset(),
}

# The names of the transition endpoints, and the status each leads to.
TRANSITION_ACTIONS: Mapping[str, EventStatus] = {
    "publish": EventStatus.PUBLISHED,
    "open-registration": EventStatus.REGISTRATION_OPEN,
    "close-registration": EventStatus.CLOSED,
    "complete": EventStatus.COMPLETED,
    "cancel": EventStatus.CANCELLED,
}

VISIBLE_STATUSES = tuple(status.value for status in EventStatus if status is not EventStatus.DRAFT)


class RuleViolation(ValueError):
    """A request that breaks a domain rule; `status_code` says how the API answers."""

    def __init__(self, reason: str, status_code: int = 409) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


def check_transition(current: str, target: EventStatus) -> None:
    """Raise RuleViolation unless the lifecycle allows current → target."""
    allowed = ALLOWED_TRANSITIONS.get(EventStatus(current), frozenset())
    if target not in allowed:
        names = ", ".join(sorted(s.value for s in allowed)) or "none"
        raise RuleViolation(
            f"an event in status {current} cannot become {target}; allowed: {names}"
        )


def check_registration_window(
    status: str, opens_at: datetime | None, closes_at: datetime | None, now: datetime
) -> None:
    """Raise RuleViolation (409) unless the event takes registrations now."""
    if status != EventStatus.REGISTRATION_OPEN:
        raise RuleViolation("registration for this event is not open")
    if opens_at is not None and now < opens_at:
        raise RuleViolation("registration for this event has not opened yet")
    if closes_at is not None and now >= closes_at:
        raise RuleViolation("registration for this event has closed")


# --- Online links ----------------------------------------------------------------------

# Host suffix → platform. Any other https URL is accepted as "other".
_PLATFORMS: tuple[tuple[str, str], ...] = (
    ("vkvideo.ru", "vk_video"),
    ("vk.com", "vk_video"),
    ("vk.ru", "vk_video"),
    ("telemost.yandex.ru", "yandex_telemost"),
    ("telemost.360.yandex.ru", "yandex_telemost"),
    ("mts-link.ru", "mts_link"),
    ("webinar.ru", "mts_link"),  # МТС Линк's former name; its links still work
    ("zoom.us", "zoom"),
    ("zoom.com", "zoom"),
)


def recognise_online_platform(url: str) -> str:
    """The video platform an online link belongs to, or 'other'; ValueError if not a web URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError("an online link must be an http(s) URL")
    host = parts.hostname.lower()
    for suffix, platform in _PLATFORMS:
        if host == suffix or host.endswith("." + suffix):
            return platform
    return "other"


# --- Russian registry numbers ----------------------------------------------------------

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: str, weights: Sequence[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10


def is_valid_inn(value: str) -> bool:
    """ИНН: 10 digits (organisation) or 12 (individual) with correct check digits."""
    if not value.isdigit() or not value.isascii():
        return False
    if len(value) == 10:
        return _check_digit(value[:9], _INN10_WEIGHTS) == int(value[9])
    if len(value) == 12:
        return _check_digit(value[:10], _INN12_WEIGHTS_11) == int(value[10]) and _check_digit(
            value[:11], _INN12_WEIGHTS_12
        ) == int(value[11])
    return False


def is_valid_ogrn(value: str) -> bool:
    """ОГРН (13 digits, organisations) or ОГРНИП (15, sole traders) with a correct check digit."""
    if not value.isdigit() or not value.isascii():
        return False
    if len(value) == 13:
        return int(value[:12]) % 11 % 10 == int(value[12])
    if len(value) == 15:
        return int(value[:14]) % 13 % 10 == int(value[14])
    return False


def normalise_phone(value: str, region: str = "RU") -> str:
    """A phone number in E.164 form; ValueError when it is not a valid number."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError("not a phone number") from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# --- Capacity, quotas and the waitlist -------------------------------------------------


def has_free_seat(
    *,
    capacity: int | None,
    seats_taken: int,
    quotas: Mapping[str, int],
    quota_taken: Mapping[str, int],
    category: str,
) -> bool:
    """Whether one more person of this category fits: overall and within their quota."""
    if capacity is not None and seats_taken >= capacity:
        return False
    quota = quotas.get(category)
    return quota is None or quota_taken.get(category, 0) < quota


@dataclass(frozen=True)
class Place:
    """A place at an event: a seat number (None without a capacity limit) and, for a
    category with a quota, a number within that quota."""

    seat: int | None
    quota_place: int | None


def choose_place(
    *,
    capacity: int | None,
    seats_held: int,
    taken_seats: Collection[int],
    quota: int | None,
    quota_held: int,
    taken_quota_places: Collection[int],
    pick: Callable[[Sequence[int]], int],
) -> Place | None:
    """A free place for one more person, or None when the event or their quota is full.

    Numbered places make capacity safe without atomic counters: a unique index on
    (event, seat) refuses a second registration on a number, and the loser picks again.
    Picking at random among free numbers keeps concurrent registrations from colliding.
    """
    seat = None
    if capacity is not None:
        free = [n for n in range(1, capacity + 1) if n not in taken_seats]
        if seats_held >= capacity or not free:
            return None
        seat = pick(free)
    quota_place = None
    if quota is not None:
        free_quota = [n for n in range(1, quota + 1) if n not in taken_quota_places]
        if quota_held >= quota or not free_quota:
            return None
        quota_place = pick(free_quota)
    return Place(seat, quota_place)


@dataclass(frozen=True)
class WaitingEntry:
    """One waitlisted registration, as the offer rule sees it."""

    registration_id: str
    category: str
    position: int


def next_to_offer(
    waiting: Iterable[WaitingEntry],
    *,
    capacity: int | None,
    seats_taken: int,
    quotas: Mapping[str, int],
    quota_taken: Mapping[str, int],
) -> WaitingEntry | None:
    """The earliest waiting registration that fits the free place (its quota may be full)."""
    for entry in sorted(waiting, key=lambda e: e.position):
        if has_free_seat(
            capacity=capacity,
            seats_taken=seats_taken,
            quotas=quotas,
            quota_taken=quota_taken,
            category=entry.category,
        ):
            return entry
    return None


# --- Registration forms ----------------------------------------------------------------


class QuestionKind(StrEnum):
    """What a custom question accepts."""

    TEXT = "text"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Question:
    """One custom question on an event's form."""

    key: str
    label: str
    kind: QuestionKind
    required: bool = False
    options: tuple[str, ...] = ()
    max_length: int = 2000


def validate_answers(questions: Sequence[Question], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers checked against the form; ValueError listing every problem."""
    problems: list[str] = []
    known = {question.key for question in questions}
    problems.extend(f"{key}: not a question on this form" for key in answers if key not in known)
    accepted: dict[str, Any] = {}
    for question in questions:
        value = answers.get(question.key)
        if value is None or value == "" or value == []:
            if question.required:
                problems.append(f"{question.key}: an answer is required")
            continue
        problem = _answer_problem(question, value)
        if problem:
            problems.append(f"{question.key}: {problem}")
        else:
            accepted[question.key] = value
    if problems:
        raise ValueError("; ".join(problems))
    return accepted


def _answer_problem(question: Question, value: Any) -> str | None:
    if question.kind is QuestionKind.TEXT:
        if not isinstance(value, str):
            return "expected text"
        return "too long" if len(value) > question.max_length else None
    if question.kind is QuestionKind.BOOLEAN:
        return None if isinstance(value, bool) else "expected true or false"
    if question.kind is QuestionKind.CHOICE:
        return None if value in question.options else "not one of the options"
    if not isinstance(value, list) or not all(item in question.options for item in value):
        return "expected a list of the options"
    return None


# --- Attendance ------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceRule:
    """What counts as attended online: a share of the event's length and/or fixed minutes."""

    min_share: float | None = 0.5
    min_minutes: int | None = None

    def attended(self, minutes: int, event_minutes: int) -> bool:
        """Whether this many minutes of an event this long count as attendance."""
        if self.min_minutes is not None and minutes < self.min_minutes:
            return False
        return not (self.min_share is not None and minutes < self.min_share * event_minutes)


def minutes_attended(
    sessions: Iterable[tuple[datetime, datetime]], starts_at: datetime, ends_at: datetime
) -> int:
    """Minutes inside the event covered by join/leave sessions; overlaps count once."""
    clipped = sorted(
        (max(joined, starts_at), min(left, ends_at))
        for joined, left in sessions
        if min(left, ends_at) > max(joined, starts_at)
    )
    total = timedelta()
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, end in clipped:
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_start is not None and current_end is not None:
        total += current_end - current_start
    return int(total.total_seconds() // 60)


# --- Check-in codes --------------------------------------------------------------------

QR_PREFIX = "ETNIK1:"
# No 0/O or 1/I: a code typed from paper should not be misread.
CHECK_IN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def check_in_code_from_scan(value: str) -> str:
    """The check-in code in a scanned QR value or a typed code, normalised."""
    code = value.strip()
    if code.upper().startswith(QR_PREFIX):
        code = code[len(QR_PREFIX) :]
    code = code.replace("-", "").replace(" ", "").upper()
    if not code or any(ch not in CHECK_IN_ALPHABET for ch in code):
        raise ValueError("not a check-in code")
    return code


def qr_value(check_in_code: str) -> str:
    """What the QR code on a participant's ticket encodes."""
    return QR_PREFIX + check_in_code


# --- What a participant is given to attend ---------------------------------------------

ONLINE_FORMATS = frozenset({EventFormat.ONLINE.value, EventFormat.HYBRID.value})
IN_PERSON_FORMATS = frozenset({EventFormat.IN_PERSON.value, EventFormat.HYBRID.value})


@dataclass(frozen=True)
class AttendanceDetails:
    """The session link and the check-in code a participant is given; None where not."""

    online_link: str | None = None
    check_in_code: str | None = None

    @property
    def qr_value(self) -> str | None:
        """What the participant's QR code encodes, with the check-in code."""
        return qr_value(self.check_in_code) if self.check_in_code else None


def attendance_details(
    *,
    registration_status: str,
    event_status: str,
    event_format: str,
    online_link: str | None,
    check_in_code: str | None,
) -> AttendanceDetails:
    """Only a confirmed registration of an event that is not cancelled gets them, and only
    what its format uses: the link online or hybrid, the code in person or hybrid."""
    if registration_status != RegistrationStatus.CONFIRMED or event_status == EventStatus.CANCELLED:
        return AttendanceDetails()
    return AttendanceDetails(
        online_link=(online_link or None) if event_format in ONLINE_FORMATS else None,
        check_in_code=(check_in_code or None) if event_format in IN_PERSON_FORMATS else None,
    )


def ticket_refusal(
    *,
    registration_status: str,
    event_status: str,
    event_format: str,
    check_in_code: str | None,
) -> str | None:
    """Why a registration has no ticket (its QR code and PDF), or None when it has one.

    A ticket carries the check-in code, so it is given exactly when attendance_details gives
    the code: a confirmed registration of an in-person or hybrid event that is not cancelled."""
    if event_format not in IN_PERSON_FORMATS:
        return "this event is online only: there is no ticket, join by the session link"
    if event_status == EventStatus.CANCELLED:
        return "the event is cancelled: there is no ticket"
    if registration_status != RegistrationStatus.CONFIRMED:
        return (
            f"a ticket is issued only for a confirmed registration; this one is "
            f"{registration_status.replace('_', ' ')}"
        )
    if not check_in_code:
        return "this registration has no check-in code yet"
    return None


# --- Exports -------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula (CSV/XLSX injection)."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_STARTS):
        return value
    # A phone number (+79123456789) is data, not a formula.
    if value[0] in "+-" and value[1:].replace(" ", "").isdigit():
        return value
    return "'" + value
