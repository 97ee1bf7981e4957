"""Search terms with Russian morphology: our own index fields, since FerretDB has no text index.

Every word is lower-cased (ё read as е) and reduced to its Snowball stem, Russian for
Cyrillic words and English for Latin ones, so that «стратегии», «стратегией» and
«стратегия» meet on one term. A query matches a material holding all its terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]  # ships no type hints

_WORD = re.compile(r"[0-9a-zа-я]+", re.IGNORECASE)
_CYRILLIC = re.compile(r"[а-я]")

# Words too common to narrow a search; stemming them would only bloat the index.
_STOP_WORDS_TEXT = """
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни
    быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где
    есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж
    тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее
    были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот
    через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед
    иногда лучше чуть том нельзя такой им более всегда конечно всю между
    the a an and or of to in on for with by at from is are be this that
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

# Index size is bounded: a long PDF contributes at most this many distinct terms.
MAX_TERMS = 5000

_russian = snowballstemmer.stemmer("russian")
_english = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem of one lower-case word."""
    if _CYRILLIC.search(word):
        return str(_russian.stemWord(word))
    return str(_english.stemWord(word))


def words(text: str) -> list[str]:
    """The words of a text, lower-cased, ё as е, without stop words."""
    normalised = text.lower().replace("ё", "е")
    return [word for word in _WORD.findall(normalised) if word not in STOP_WORDS]


def terms(*texts: str | None) -> list[str]:
    """Distinct stems of the texts, in first-seen order, at most MAX_TERMS."""
    seen: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for word in words(text):
            seen.setdefault(stem(word), None)
            if len(seen) >= MAX_TERMS:
                return list(seen)
    return list(seen)


def merge_terms(*groups: Iterable[str]) -> list[str]:
    """The union of term lists, in order, capped at MAX_TERMS."""
    merged: dict[str, None] = {}
    for group in groups:
        for term in group:
            merged.setdefault(term, None)
    return list(merged)[:MAX_TERMS]
