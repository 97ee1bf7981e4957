"""Consent texts published as versions, re-acceptance of a newer text, and the publication
consent withdrawn on its own, through the API on real Kafka and FerretDB.

The tests publish new versions, which every later registration would have to show: they run
on a registration app and database of their own, not the session's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from etnik.registration.consents import shown_text
from etnik.registration.errors import DomainError

if TYPE_CHECKING:
    pass
ADMIN_EMAIL = "consents-admin@example.org"
ADMIN_PASSWORD = "consents-admin-password-1"  # this test app only
NEW_TEXT_RU = (
    "Я даю согласие на обработку моих персональных данных (ФИО, адрес электронной почты, "
    "телефон, регион, организация) в целях участия в программе «ЭтНик»; редакция 2."
)
NEW_TEXT_EN = (
    "I consent to the processing of my personal data (name, email, phone, region, "
    "organisation) for taking part in the EtNik programme; revision 2."
)


def _text(version: int, effective: datetime) -> dict[str, Any]:
    return {"scope": "personal_data", "version": version, "text": "т", "effective_from": effective}


def test_a_form_may_name_the_current_text_or_one_superseded_within_the_grace() -> None:
    now = datetime(2027, 1, 10, 12, tzinfo=UTC)
    texts = [
        _text(1, datetime(2022, 1, 1, tzinfo=UTC)),
        _text(2, now - timedelta(hours=2)),
        _text(3, now + timedelta(days=1)),  # published, not yet in force
    ]
    grace = timedelta(hours=3)
    assert shown_text(texts, None, now, grace)["version"] == 2
    assert shown_text(texts, 2, now, grace)["version"] == 2
    assert shown_text(texts, 1, now, grace)["version"] == 1  # superseded 2 h ago
    for refused in (3, 4):  # not in force yet; never published
        with pytest.raises(DomainError) as error:
            shown_text(texts, refused, now, grace)
        assert error.value.status_code == 409
        assert error.value.reason.startswith("the consent text changed")
    with pytest.raises(DomainError) as late:
        shown_text(texts, 1, now, timedelta(hours=1))  # superseded longer ago than the grace
    assert late.value.status_code == 409
    # Once version 3 is in force, version 2 was superseded only now: still accepted.
    later = now + timedelta(days=1, minutes=5)
    assert shown_text(texts, 2, later, grace)["version"] == 2
    assert shown_text(texts, None, later, grace)["version"] == 3
