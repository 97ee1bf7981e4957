"""The in-memory search index: terms, filters, visibility, order, pages and refreshes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from etnik.content.domain import Reader
from etnik.content.search import terms
from etnik.content.search_index import IndexKeeper, SearchIndex, SearchQuery

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ANONYMOUS = Reader(kind="anonymous")
STAFF = Reader(kind="operator", subject="op", is_staff=True)


def material(material_id: str, title: str, minutes: int, **fields: Any) -> dict[str, Any]:
    return {
        "_id": material_id,
        "title": title,
        "kind": "recommendation",
        "status": "published",
        "access": "public",
        "tags": [],
        "updated_at": T0 + timedelta(minutes=minutes),
        "search_terms": terms(title),
        "history": ["not for summaries"],
        **fields,
    }


def ids(found: tuple[list[dict[str, Any]], int]) -> list[str]:
    return [item["_id"] for item in found[0]]


def index_of(*materials: dict[str, Any]) -> SearchIndex:
    index = SearchIndex()
    index.replace_all(materials)
    return index


def test_words_match_in_any_form_and_all_must_match() -> None:
    index = index_of(
        material("a", "Стратегия развития НКО", 1),
        material("b", "Стратегии молодёжных организаций", 2),
    )
    assert ids(index.search(ANONYMOUS, set(), SearchQuery(text="стратегиями"))) == ["b", "a"]
    assert ids(index.search(ANONYMOUS, set(), SearchQuery(text="стратегия развитию"))) == ["a"]
    assert ids(index.search(ANONYMOUS, set(), SearchQuery(text="музей"))) == []


def test_filters_visibility_and_pages() -> None:
    index = index_of(
        material("draft", "Черновик", 5, status="draft"),
        material("closed", "Для участников", 4, access="participants", event_id="e1"),
        material("agenda", "Повестка", 3, kind="agenda", tags=["цфо"], federal_district="ЦФО"),
        material("old", "Старое", 1),
    )
    assert ids(index.search(ANONYMOUS, set(), SearchQuery())) == ["agenda", "old"]
    participant = Reader(kind="participant", subject="p")
    assert ids(index.search(participant, {"e1"}, SearchQuery())) == ["closed", "agenda", "old"]
    assert ids(index.search(STAFF, set(), SearchQuery(status="draft"))) == ["draft"]
    assert index.search(ANONYMOUS, set(), SearchQuery(status="draft")) == ([], 0)
    assert ids(index.search(ANONYMOUS, set(), SearchQuery(kind="agenda"))) == ["agenda"]
    assert ids(index.search(ANONYMOUS, set(), SearchQuery(tag="ЦФО"))) == ["agenda"]
    assert ids(index.search(ANONYMOUS, set(), SearchQuery(federal_district="ЦФО"))) == ["agenda"]
    page = index.search(STAFF, set(), SearchQuery(limit=2, offset=1))
    assert ids(page) == ["closed", "agenda"]
    assert page[1] == 4
    assert "history" not in page[0][0]
    assert "search_terms" not in page[0][0]


def test_a_new_state_replaces_the_old_terms() -> None:
    index = index_of(material("a", "Повестка", 1))
    index.apply(material("a", "Рекомендации", 2))
    assert ids(index.search(ANONYMOUS, set(), SearchQuery(text="повестка"))) == []
    assert ids(index.search(ANONYMOUS, set(), SearchQuery(text="рекомендация"))) == ["a"]
    assert len(index) == 1


class FakeSource:
    """A repository stand-in: a list of materials and a revision counter."""

    def __init__(self) -> None:
        self.materials: list[dict[str, Any]] = []
        self.revision = 0
        self.asked_since: list[datetime | None] = []

    async def search_revision(self) -> int:
        return self.revision

    async def indexable_since(self, since: datetime | None) -> list[dict[str, Any]]:
        self.asked_since.append(since)
        return [m for m in self.materials if since is None or m["updated_at"] >= since]


async def test_other_processes_writes_are_read_only_when_the_revision_moved() -> None:
    source = FakeSource()
    source.materials.append(material("a", "Повестка", 1))
    keeper = IndexKeeper(SearchIndex(), source)
    await keeper.rebuild()
    assert keeper.index.loaded
    assert not await keeper.refresh_if_changed()

    source.materials.append(material("b", "Программа", 2))
    source.revision += 1
    assert await keeper.refresh_if_changed()
    assert ids(keeper.index.search(ANONYMOUS, set(), SearchQuery())) == ["b", "a"]
    # The refresh re-read only recent changes, from a little before the newest it knew.
    assert source.asked_since[-1] is not None
    assert source.asked_since[-1] < T0 + timedelta(minutes=1)
