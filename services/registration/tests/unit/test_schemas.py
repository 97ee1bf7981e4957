"""Request bodies refuse what a participant must not set."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from etnik.registration.schemas import EventIn, RegistrationIn


def _form(**overrides: Any) -> dict[str, Any]:
    return {
        "full_name": "Анна Иванова",
        "email": "anna@example.org",
        "category": "ngo_leader",
        "consent_personal_data": True,
        **overrides,
    }


def test_a_complete_form_is_accepted() -> None:
    form = RegistrationIn.model_validate(_form(timezone="Asia/Kamchatka"))
    assert form.timezone == "Asia/Kamchatka"
    assert form.consent_publication is False


@pytest.mark.parametrize("field", ["role", "status", "person_id", "seats_taken"])
def test_privileged_or_unknown_fields_are_refused(field: str) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RegistrationIn.model_validate(_form(**{field: "admin"}))


def test_consent_must_be_given_explicitly() -> None:
    payload = _form()
    del payload["consent_personal_data"]
    with pytest.raises(ValidationError, match="consent_personal_data"):
        RegistrationIn.model_validate(payload)


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("timezone", "Mars/Olympus"), ("region_code", "7")],
)
def test_invalid_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        RegistrationIn.model_validate(_form(**{field: value}))


def test_an_event_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="ends_at must be after starts_at"):
        EventIn.model_validate(
            {
                "title": "Сессия",
                "format": "online",
                "starts_at": "2026-11-29T11:00:00Z",
                "ends_at": "2026-11-29T10:00:00Z",
            }
        )
