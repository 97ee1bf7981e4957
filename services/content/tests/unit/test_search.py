"""Search terms: Russian morphology through Snowball stems."""

from __future__ import annotations

from etnik.content.search import MAX_TERMS, merge_terms, terms


def test_forms_of_one_word_meet_on_one_term() -> None:
    assert terms("стратегия") == terms("стратегии") == terms("стратегией") == terms("Стратегиям")


def test_yo_is_read_as_ye_and_case_is_ignored() -> None:
    assert terms("Ёлка") == terms("елки")


def test_stop_words_are_left_out() -> None:
    assert terms("и в на для") == []
    assert terms("стратегия для НКО") == [*terms("стратегия"), *terms("нко")]


def test_latin_words_use_the_english_stemmer() -> None:
    assert terms("strategies") == terms("strategy")


def test_terms_are_distinct_and_bounded() -> None:
    assert terms("развитие развития развитию") == terms("развитие")
    many = " ".join(f"слово{i}" for i in range(MAX_TERMS + 100))
    assert len(terms(many)) == MAX_TERMS


def test_merging_keeps_order_and_drops_repeats() -> None:
    assert merge_terms(["a", "b"], ["b", "c"]) == ["a", "b", "c"]
