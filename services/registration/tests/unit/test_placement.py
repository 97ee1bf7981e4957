"""Taking a place against concurrent writers: the one retry every use case shares."""

from __future__ import annotations

import pytest

from etnik.common.errors import Refused
from etnik.registration.domain import Place
from etnik.registration.errors import DomainError
from etnik.registration.placement import (
    PLACE_ATTEMPTS,
    no_place,
    place_fields,
    retry_while_taken,
)
from etnik.registration.repository import PlaceTaken

BUSY = "too many registrations at this moment; retry shortly"


async def test_a_place_taken_meanwhile_is_chosen_again() -> None:
    tries: list[int] = []

    async def attempt(number: int) -> str:
        tries.append(number)
        if number < 2:
            raise PlaceTaken
        return "stored"

    assert await retry_while_taken(attempt) == "stored"
    assert tries == [0, 1, 2]  # each try knows its number (the first ones pick blindly)


async def test_places_taken_on_every_try_answer_503_with_the_reason_given() -> None:
    tries: list[int] = []

    async def attempt(number: int) -> str:
        tries.append(number)
        raise PlaceTaken

    with pytest.raises(DomainError) as busy:
        await retry_while_taken(attempt, busy=BUSY)
    assert (busy.value.status_code, busy.value.reason) == (503, BUSY)
    assert tries == list(range(PLACE_ATTEMPTS))


async def test_another_refusal_is_not_retried() -> None:
    tries: list[int] = []

    async def attempt(number: int) -> str:
        tries.append(number)
        raise DomainError(409, "the registration was decided meanwhile; reload it")

    with pytest.raises(DomainError) as refused:
        await retry_while_taken(attempt)
    assert refused.value.status_code == 409
    assert tries == [0]


def test_a_domain_refusal_is_the_one_the_kernel_answers() -> None:
    assert isinstance(DomainError(404, "unknown registration"), Refused)


def test_a_numbered_place_is_held_by_its_numbers_and_no_place_by_unique_values() -> None:
    registration = {"_id": "r1", "category": "ngo_leader"}
    assert place_fields(Place(7, 3), registration) == {"seat": 7, "quota_place": "ngo_leader:3"}
    assert place_fields(Place(None, None), registration) == no_place("r1")
    assert no_place("r1") == {"seat": "none:r1", "quota_place": "none:r1"}
