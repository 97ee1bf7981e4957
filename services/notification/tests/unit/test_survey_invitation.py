"""The feedback survey's invitation: its link is read from registration at send time, shown
only in this message, and the message is dropped once the survey is closed to its reader."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from etnik.notification.domain import (
    DeliveryDetails,
    delivery_values,
    needs_delivery_details,
    survey_closed,
    values_a_template_must_show,
)
from etnik.notification.rendering import TemplateRenderer, event_context

SURVEY_URL = "https://etnik.test/registrations/survey?token=secret-token"
MANAGE_URL = "https://etnik.test/registrations/manage?token=secret-token"


def _details(survey_url: str | None) -> DeliveryDetails:
    return DeliveryDetails(status="confirmed", manage_url=MANAGE_URL, survey_url=survey_url)


def test_the_invitation_reads_its_link_from_registration() -> None:
    context = {"event_id": "e1", "registration_id": "r1"}
    assert needs_delivery_details("survey_invitation", context)
    values = delivery_values("survey_invitation", _details(SURVEY_URL))
    assert values["survey_url"] == SURVEY_URL
    assert values_a_template_must_show("survey_invitation") == ("survey_url",)


def test_no_other_message_shows_the_survey_link() -> None:
    for kind in ("registration_confirmed", "event_reminder", "certificate_issued"):
        assert "survey_url" not in delivery_values(kind, _details(SURVEY_URL))


def test_a_survey_closed_to_its_reader_drops_the_invitation() -> None:
    assert survey_closed("survey_invitation", _details(SURVEY_URL)) is None
    assert survey_closed("survey_invitation", _details(None)) == (
        "the survey is no longer open to this participant"
    )
    # Other messages do not depend on the survey.
    assert survey_closed("registration_confirmed", _details(None)) is None


@pytest.mark.parametrize(
    ("locale", "subject", "call"),
    [
        ("ru", "Поделитесь впечатлениями: Стратегическая сессия ЦФО", "Пройти опрос"),
        ("en", "Tell us how it went: Стратегическая сессия ЦФО", "Answer the survey"),
    ],
)
def test_the_invitation_gives_the_link_in_the_readers_language(
    locale: str, subject: str, call: str
) -> None:
    event = {
        "title": "Стратегическая сессия ЦФО",
        "starts_at": datetime(2022, 11, 29, 11, 0, tzinfo=UTC),
        "format": "online",
    }
    values = {
        "recipient": {"full_name": "Анна Иванова"},
        "event": event_context(event, locale=locale, recipient_zone="Europe/Moscow"),
        **delivery_values("survey_invitation", _details(SURVEY_URL)),
    }

    rendered = TemplateRenderer().render("survey_invitation", locale, values)

    assert rendered.subject == subject
    assert SURVEY_URL in rendered.text
    assert f'<a href="{SURVEY_URL}">{call}</a>' in rendered.html
    assert MANAGE_URL not in rendered.text
