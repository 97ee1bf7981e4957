"""Domain rules with plain values: registry numbers, lifecycle, seats, forms, attendance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from etnik.registration.domain import (
    ALLOWED_TRANSITIONS,
    AttendanceRule,
    EventStatus,
    Question,
    QuestionKind,
    RuleViolation,
    WaitingEntry,
    attendance_details,
    check_in_code_from_scan,
    check_registration_window,
    check_transition,
    has_free_seat,
    is_valid_inn,
    is_valid_ogrn,
    minutes_attended,
    next_to_offer,
    normalise_phone,
    qr_value,
    recognise_online_platform,
    spreadsheet_safe,
    validate_answers,
)

# Real, published registry numbers: ПАО Сбербанк, ООО «Яндекс», and the ИНН/ОГРНИП examples
# that the tax service's own documentation uses.
VALID_INNS = ["7707083893", "7736207543", "500100732259"]
VALID_OGRNS = ["1027700132195", "1027700229193", "304500116000157"]


def _off_by_one(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.mark.parametrize("inn", VALID_INNS)
def test_real_inns_are_valid_and_an_altered_check_digit_is_not(inn: str) -> None:
    assert is_valid_inn(inn)
    assert not is_valid_inn(_off_by_one(inn))


def test_the_first_check_digit_of_a_twelve_digit_inn_counts_too() -> None:
    inn = VALID_INNS[2]
    altered = inn[:10] + str((int(inn[10]) + 1) % 10) + inn[11]
    assert not is_valid_inn(altered)


@pytest.mark.parametrize("inn", ["", "123", "77070838931", "770708389a", "７７０７０８３８９３"])
def test_inns_of_the_wrong_shape_are_invalid(inn: str) -> None:
    assert not is_valid_inn(inn)


@pytest.mark.parametrize("ogrn", VALID_OGRNS)
def test_real_ogrns_are_valid_and_an_altered_check_digit_is_not(ogrn: str) -> None:
    assert is_valid_ogrn(ogrn)
    assert not is_valid_ogrn(_off_by_one(ogrn))


@pytest.mark.parametrize("ogrn", ["102770013219", "10277001321950", "7707083893", "x027700132195"])
def test_ogrns_of_the_wrong_length_or_shape_are_invalid(ogrn: str) -> None:
    assert not is_valid_ogrn(ogrn)


def test_phones_are_normalised_to_e164_and_invalid_ones_refused() -> None:
    assert normalise_phone("8 (912) 345-67-89") == "+79123456789"
    assert normalise_phone("+7 495 123-45-67") == "+74951234567"
    with pytest.raises(ValueError, match="valid"):
        normalise_phone("+7 123")
    with pytest.raises(ValueError, match="phone"):
        normalise_phone("not a phone")


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://vkvideo.ru/video-123_456", "vk_video"),
        ("https://vk.com/video-1_2", "vk_video"),
        ("https://telemost.yandex.ru/j/12345", "yandex_telemost"),
        ("https://telemost.360.yandex.ru/j/12345", "yandex_telemost"),
        ("https://my.mts-link.ru/j/123/456", "mts_link"),
        ("https://events.webinar.ru/123", "mts_link"),
        ("https://us02web.zoom.us/j/123", "zoom"),
        ("https://meet.example.org/room", "other"),
        ("https://evilzoom.us/j/1", "other"),
    ],
)
def test_online_platforms_are_recognised(url: str, platform: str) -> None:
    assert recognise_online_platform(url) == platform


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://zoom.us/x", "zoom.us/j/1"])
def test_only_web_links_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        recognise_online_platform(url)


def test_the_lifecycle_allows_only_its_transitions() -> None:
    check_transition("draft", EventStatus.PUBLISHED)
    check_transition("closed", EventStatus.REGISTRATION_OPEN)
    with pytest.raises(RuleViolation, match="cannot become registration_open"):
        check_transition("draft", EventStatus.REGISTRATION_OPEN)
    for final in (EventStatus.COMPLETED, EventStatus.CANCELLED):
        assert not ALLOWED_TRANSITIONS[final]
        with pytest.raises(RuleViolation):
            check_transition(final.value, EventStatus.PUBLISHED)
    # Any status but the final ones can be cancelled.
    for status, targets in ALLOWED_TRANSITIONS.items():
        if targets:
            assert EventStatus.CANCELLED in targets, status


def test_the_registration_window() -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    check_registration_window("registration_open", None, None, now)
    check_registration_window("registration_open", now - timedelta(days=1), now + timedelta(1), now)
    with pytest.raises(RuleViolation, match="not open"):
        check_registration_window("published", None, None, now)
    with pytest.raises(RuleViolation, match="not opened yet"):
        check_registration_window("registration_open", now + timedelta(hours=1), None, now)
    with pytest.raises(RuleViolation, match="closed"):
        check_registration_window("registration_open", None, now, now)


def test_seats_and_quotas() -> None:
    free = {"capacity": 10, "seats_taken": 9, "quotas": {"media": 2}}
    assert has_free_seat(**free, quota_taken={"media": 1}, category="media")
    assert not has_free_seat(**free, quota_taken={"media": 2}, category="media")
    assert has_free_seat(**free, quota_taken={"media": 2}, category="expert")
    assert not has_free_seat(
        capacity=10, seats_taken=10, quotas={}, quota_taken={}, category="expert"
    )
    assert has_free_seat(capacity=None, seats_taken=10**6, quotas={}, quota_taken={}, category="x")


def test_the_next_offer_goes_to_the_earliest_who_fits() -> None:
    waiting = [
        WaitingEntry("c", "expert", 3),
        WaitingEntry("a", "media", 1),
        WaitingEntry("b", "expert", 2),
    ]
    state = {"capacity": 10, "seats_taken": 9, "quotas": {"media": 1}}
    assert next_to_offer(waiting, **state, quota_taken={"media": 0}) == waiting[1]
    # The media quota is full: the earliest expert comes next, not the later one.
    assert next_to_offer(waiting, **state, quota_taken={"media": 1}) == waiting[2]
    full = {"capacity": 10, "seats_taken": 10, "quotas": {}}
    assert next_to_offer(waiting, **full, quota_taken={}) is None


QUESTIONS = [
    Question("topic", "Тема", QuestionKind.TEXT, required=True, max_length=10),
    Question("format", "Формат", QuestionKind.CHOICE, options=("очно", "онлайн")),
    Question("needs", "Нужды", QuestionKind.MULTI_CHOICE, options=("жильё", "трансфер")),
    Question("first", "Впервые?", QuestionKind.BOOLEAN),
]


def test_answers_are_checked_against_the_form() -> None:
    answers = {"topic": "Стратегия", "format": "очно", "needs": ["жильё"], "first": True}
    assert validate_answers(QUESTIONS, answers) == answers
    assert validate_answers(QUESTIONS, {"topic": "x", "needs": []}) == {"topic": "x"}


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        ({}, "topic: an answer is required"),
        ({"topic": "x" * 11}, "topic: too long"),
        ({"topic": "x", "format": "заочно"}, "format: not one of the options"),
        ({"topic": "x", "needs": ["виза"]}, "needs: expected a list of the options"),
        ({"topic": "x", "first": "yes"}, "first: expected true or false"),
        ({"topic": "x", "role": "admin"}, "role: not a question on this form"),
    ],
)
def test_bad_answers_say_what_is_wrong(answers: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_answers(QUESTIONS, answers)


def test_minutes_attended_merge_overlaps_and_clip_to_the_event() -> None:
    start = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)
    end = start + timedelta(hours=3)
    sessions = [
        (start - timedelta(minutes=10), start + timedelta(minutes=30)),  # 30 inside
        (start + timedelta(minutes=20), start + timedelta(minutes=60)),  # overlaps: +30
        (start + timedelta(minutes=120), end + timedelta(minutes=30)),  # 60 inside
        (end + timedelta(hours=1), end + timedelta(hours=2)),  # outside
    ]
    assert minutes_attended(sessions, start, end) == 120
    assert minutes_attended([], start, end) == 0


def test_the_attendance_rule() -> None:
    assert AttendanceRule().attended(90, 180)
    assert not AttendanceRule().attended(89, 180)
    assert AttendanceRule(min_share=None, min_minutes=30).attended(30, 180)
    assert not AttendanceRule(min_share=0.1, min_minutes=60).attended(59, 180)


def test_check_in_codes_from_a_scan_or_typed() -> None:
    assert check_in_code_from_scan(qr_value("ABCD2345")) == "ABCD2345"
    assert check_in_code_from_scan(" abcd-2345 ") == "ABCD2345"
    with pytest.raises(ValueError, match="check-in code"):
        check_in_code_from_scan("ABCD0000")  # 0 is not in the alphabet


def test_spreadsheet_cells_never_run_as_formulas() -> None:
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert spreadsheet_safe("+79123456789") == "+79123456789"
    assert spreadsheet_safe("Анна") == "Анна"
    assert spreadsheet_safe(5) == 5


LINK = "https://telemost.yandex.ru/j/123456"


@pytest.mark.parametrize(
    ("event_format", "link", "code"),
    [("online", LINK, None), ("hybrid", LINK, "ABCD2345"), ("in_person", None, "ABCD2345")],
)
def test_a_confirmed_participant_is_given_what_the_format_uses(
    event_format: str, link: str | None, code: str | None
) -> None:
    details = attendance_details(
        registration_status="confirmed",
        event_status="registration_open",
        event_format=event_format,
        online_link=LINK,
        check_in_code="ABCD2345",
    )
    assert (details.online_link, details.check_in_code) == (link, code)
    assert details.qr_value == (qr_value(code) if code else None)


@pytest.mark.parametrize(
    "status", ["waitlisted", "pending_approval", "offered", "rejected", "cancelled"]
)
def test_no_other_registration_is_given_the_link_or_the_code(status: str) -> None:
    details = attendance_details(
        registration_status=status,
        event_status="registration_open",
        event_format="hybrid",
        online_link=LINK,
        check_in_code="ABCD2345",
    )
    assert details.online_link is details.check_in_code is details.qr_value is None


def test_a_cancelled_event_gives_nobody_the_link() -> None:
    details = attendance_details(
        registration_status="confirmed",
        event_status="cancelled",
        event_format="online",
        online_link=LINK,
        check_in_code="ABCD2345",
    )
    assert details.online_link is None
