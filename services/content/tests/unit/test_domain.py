"""Workflow, access, versions, ranges and file names: pure rules, plain values."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from etnik.content.domain import (
    MaterialStatus,
    RangeNotSatisfiable,
    Reader,
    RuleViolation,
    WorkflowAction,
    changed_fields,
    check_reviewer,
    content_disposition,
    may_read,
    needs_review_again,
    next_status,
    parse_range,
    safe_filename,
    video_platform,
    visibility_filter,
)

ANONYMOUS = Reader(kind="anonymous")
PARTICIPANT = Reader(kind="participant", subject="person-1")
STAFF = Reader(kind="operator", subject="op-1", is_staff=True)


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("draft", WorkflowAction.SUBMIT, MaterialStatus.IN_REVIEW),
        ("in_review", WorkflowAction.APPROVE, MaterialStatus.PUBLISHED),
        ("in_review", WorkflowAction.REJECT, MaterialStatus.DRAFT),
        ("published", WorkflowAction.ARCHIVE, MaterialStatus.ARCHIVED),
        ("draft", WorkflowAction.ARCHIVE, MaterialStatus.ARCHIVED),
    ],
)
def test_the_workflow_moves_forward(
    status: str, action: WorkflowAction, expected: MaterialStatus
) -> None:
    assert next_status(status, action) is expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", WorkflowAction.APPROVE),
        ("published", WorkflowAction.SUBMIT),
        ("archived", WorkflowAction.APPROVE),
        ("archived", WorkflowAction.ARCHIVE),
    ],
)
def test_a_step_out_of_order_is_a_conflict(status: str, action: WorkflowAction) -> None:
    with pytest.raises(RuleViolation) as refused:
        next_status(status, action)
    assert refused.value.status_code == 409


def test_whoever_wrote_or_edited_a_material_may_not_approve_it() -> None:
    material = {"created_by": "author", "history": [{"by": "author"}, {"by": "editor"}]}
    for person in ("author", "editor"):
        with pytest.raises(RuleViolation) as refused:
            check_reviewer(person, material)
        assert refused.value.status_code == 403
    check_reviewer("reviewer", material)


def test_a_moderator_who_only_rejected_may_approve_the_resubmission() -> None:
    material = {
        "created_by": "author",
        "history": [
            {"by": "author", "action": "create"},
            {"by": "author", "action": "submit"},
            {"by": "moderator", "action": "reject"},
            {"by": "author", "action": "edit"},
            {"by": "author", "action": "submit"},
        ],
    }
    check_reviewer("moderator", material)
    with pytest.raises(RuleViolation):
        check_reviewer("author", material)
    # Any action that is not a workflow step counts as editing, even one added later.
    material["history"].append({"by": "moderator", "action": "compile"})
    with pytest.raises(RuleViolation):
        check_reviewer("moderator", material)


@pytest.mark.parametrize(
    ("status", "changes", "after", "expected"),
    [
        ("published", ["description"], {}, True),
        ("published", ["file"], {}, True),
        ("published", ["access"], {}, True),
        ("published", ["video_url", "video_platform"], {}, True),
        ("published", ["title", "tags"], {}, False),
        ("published", ["event_id"], {"access": "participants"}, True),
        ("published", ["event_id"], {"access": "public"}, False),
        ("draft", ["description", "file"], {}, False),
        ("in_review", ["access"], {}, False),
    ],
)
def test_only_a_change_of_substance_sends_a_published_material_back_to_review(
    status: str, changes: list[str], after: dict[str, str], expected: bool
) -> None:
    assert needs_review_again(status, changes, after) is expected


def test_changed_fields_name_only_what_differs() -> None:
    before = {"title": "А", "tags": ["x"], "status": "draft"}
    after = {"title": "Б", "tags": ["x"], "status": "draft", "unrelated": 1}
    assert changed_fields(before, after) == ["title"]


@pytest.mark.parametrize(
    ("reader", "material", "events", "visible"),
    [
        (ANONYMOUS, {"status": "published", "access": "public"}, set(), True),
        (ANONYMOUS, {"status": "draft", "access": "public"}, set(), False),
        (ANONYMOUS, {"status": "in_review", "access": "public"}, set(), False),
        (ANONYMOUS, {"status": "archived", "access": "public"}, set(), False),
        (ANONYMOUS, {"status": "published", "access": "operators"}, set(), False),
        (
            ANONYMOUS,
            {"status": "published", "access": "participants", "event_id": "e1"},
            set(),
            False,
        ),
        (
            PARTICIPANT,
            {"status": "published", "access": "participants", "event_id": "e1"},
            {"e1"},
            True,
        ),
        (
            PARTICIPANT,
            {"status": "published", "access": "participants", "event_id": "e2"},
            {"e1"},
            False,
        ),
        (
            PARTICIPANT,
            {"status": "draft", "access": "participants", "event_id": "e1"},
            {"e1"},
            False,
        ),
        (STAFF, {"status": "draft", "access": "operators"}, set(), True),
    ],
)
def test_who_may_read_what(
    reader: Reader, material: dict[str, str], events: set[str], visible: bool
) -> None:
    assert may_read(reader, material, events) is visible


def test_the_listing_filter_allows_what_may_read_allows() -> None:
    assert visibility_filter(STAFF, []) == {}
    assert visibility_filter(ANONYMOUS, ["e1"]) == {
        "status": "published",
        "$or": [{"access": "public"}],
    }
    assert visibility_filter(PARTICIPANT, ["e2", "e1"]) == {
        "status": "published",
        "$or": [
            {"access": "public"},
            {"access": "participants", "event_id": {"$in": ["e1", "e2"]}},
        ],
    }


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://vkvideo.ru/video-123_456", "vk_video"),
        ("https://vk.com/video-1_2", "vk_video"),
        ("https://rutube.ru/video/abc/", "rutube"),
        ("https://www.rutube.ru/video/abc/", "rutube"),
        ("https://notrutube.ru/video", "other"),
        ("https://example.org/film.mp4", "other"),
    ],
)
def test_video_links_are_told_apart(url: str, platform: str) -> None:
    assert video_platform(url) == platform


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file instead
        ("items=0-1", None),
        ("bytes=5-1", None),
    ],
)
def test_ranges_select_bytes(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_beyond_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


def test_content_disposition_keeps_a_cyrillic_name() -> None:
    header = content_disposition("Сборник «ЭтНик» 2024.pdf")
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback.isascii()
    encoded = header.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == "Сборник «ЭтНик» 2024.pdf"
    assert " " not in encoded


def test_content_disposition_of_a_plain_name_needs_no_extension() -> None:
    assert content_disposition("agenda.pdf") == 'attachment; filename="agenda.pdf"'
    assert content_disposition('a"b.pdf').count('"') == 2


def test_file_names_lose_paths_and_control_characters() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\Отчёт.pdf") == "Отчёт.pdf"
    assert safe_filename("a\r\nb.txt") == "ab.txt"
    assert safe_filename("...") == "file"
