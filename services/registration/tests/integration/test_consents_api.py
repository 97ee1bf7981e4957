"""Consent texts published as versions, re-acceptance of a newer text, and the publication
consent withdrawn on its own, through the API on real Kafka and FerretDB.

The tests publish new versions, which every later registration would have to show: they run
on a registration app and database of their own, not the session's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from etnik.common.contracts.registration import CONSENTS_TOPIC, REGISTRATIONS_TOPIC

if TYPE_CHECKING:
    from conftest import NewApp, RegistrationApp
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


@pytest.fixture(scope="module")
async def consenting(new_registration_app: NewApp) -> AsyncIterator[RegistrationApp]:
    """A registration app on a database of its own (the texts published here stay there)."""
    async with new_registration_app() as app:
        yield app


def _participant_token(app: RegistrationApp, person_id: str) -> dict[str, str]:
    """The header of a signed-in participant (the email-link sign-in is tested elsewhere)."""
    container = app.container
    token, _ = container.signing_key.issue(
        container.settings, subject=person_id, kind="participant", roles=[]
    )
    return app.auth(token)


async def _current(app: RegistrationApp, scope: str) -> int:
    response = await app.client.get(f"/consent-texts/{scope}")
    assert response.status_code == 200, response.text
    version: int = response.json()["version"]
    return version


async def _publish(app: RegistrationApp, scope: str, **body: Any) -> httpx.Response:
    return await app.client.post(
        f"/consent-texts/{scope}/versions",
        json={"text_ru": NEW_TEXT_RU, "text_en": NEW_TEXT_EN, **body},
        headers=app.auth(app.admin_token),
    )


def _by_scope(states: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {state["scope"]: state for state in states}


async def test_administrators_publish_versions_that_never_change(
    consenting: RegistrationApp,
) -> None:
    app = consenting
    before = await _current(app, "publication")
    first = (await app.client.get("/consent-texts/publication")).json()

    operator = app.auth(await app.operator(["operator"]))
    refusals = [
        # Only administrators publish; anonymous callers are not even known.
        (await app.client.post("/consent-texts/publication/versions", json={}), 401),
        (
            await app.client.post(
                "/consent-texts/publication/versions",
                json={"text_ru": NEW_TEXT_RU},
                headers=operator,
            ),
            403,
        ),
        (await _publish(app, "marketing"), 422),  # no such scope
        (
            await app.client.post(  # the Russian text is the binding one: it cannot be missing
                "/consent-texts/publication/versions",
                json={"text_en": NEW_TEXT_EN},
                headers=app.auth(app.admin_token),
            ),
            422,
        ),
        (await _publish(app, "publication", text_ru=NEW_TEXT_EN), 422),  # not Russian
        (await _publish(app, "publication", version=before), 409),  # published already
        (await _publish(app, "publication", version=before + 5), 422),  # not the next number
        (
            await _publish(
                app,
                "publication",
                effective_from=(datetime.now(UTC) - timedelta(days=1)).isoformat(),
            ),
            422,
        ),
        (await _publish(app, "publication", surprise=True), 422),  # unknown fields refused
    ]
    for response, status in refusals:
        assert response.status_code == status, response.text
        assert response.json()["detail"]
    # Nothing refused was stored, and the text in force did not move.
    listed = (await app.client.get("/consent-texts/publication/versions")).json()
    assert [v["version"] for v in listed] == list(range(before, 0, -1))
    assert (await app.client.get("/consent-texts/publication")).json() == first

    published = await _publish(app, "publication", version=before + 1)
    assert published.status_code == 201, published.text
    assert published.json()["version"] == before + 1
    assert published.json()["text_ru"] == NEW_TEXT_RU
    again = await _publish(app, "publication", version=before + 1, text_ru=NEW_TEXT_RU + " Иначе.")
    assert again.status_code == 409

    versions = (await app.client.get("/consent-texts/publication/versions")).json()
    assert [v["version"] for v in versions] == list(range(before + 1, 0, -1))
    assert versions[0]["text_ru"] == NEW_TEXT_RU  # the refused change did not land
    assert versions[-1]["text_ru"] == first["text"]  # version 1 is as it was
    current = (await app.client.get("/consent-texts/publication")).json()
    assert (current["version"], current["text"], current["locale"]) == (
        before + 1,
        NEW_TEXT_RU,
        "ru",
    )
    english = (await app.client.get("/consent-texts/publication", params={"locale": "en"})).json()
    assert (english["text"], english["locale"]) == (NEW_TEXT_EN, "en")
    old = await app.client.get("/consent-texts/publication", params={"version": before})
    assert old.json()["text"] == first["text"]
    for params, status in (
        ({"version": 99}, 404),
        ({"version": 0}, 422),
        ({"locale": "fr"}, 422),
    ):
        response = await app.client.get("/consent-texts/publication", params=params)
        assert response.status_code == status, (params, response.text)
    assert (await app.client.get("/consent-texts/marketing")).status_code == 422

    # A version published for later is listed but not in force until then.
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    scheduled = await _publish(app, "publication", effective_from=later)
    assert scheduled.status_code == 201, scheduled.text
    assert (await _current(app, "publication")) == before + 1


async def test_a_person_who_accepted_an_older_text_is_asked_to_accept_the_new_one(
    consenting: RegistrationApp,
) -> None:
    app = consenting
    shown = await _current(app, "personal_data")
    event = await app.event()
    registered = await app.register(event["id"], consent_version=shown)
    assert registered.status_code == 201, registered.text
    person_id = registered.json()["person_id"]
    me = _participant_token(app, person_id)

    state = _by_scope((await app.client.get("/me/consents", headers=me)).json())
    assert state["personal_data"]["accepted_version"] == shown
    assert state["personal_data"]["needs_acceptance"] is False

    published = await _publish(app, "personal_data")
    assert published.status_code == 201, published.text
    new = published.json()["version"]
    assert new == shown + 1

    asked = _by_scope((await app.client.get("/me/consents", headers=me)).json())
    assert asked["personal_data"]["needs_acceptance"] is True
    assert asked["personal_data"]["accepted_version"] == shown
    assert asked["personal_data"]["current"]["version"] == new
    assert asked["personal_data"]["current"]["text"] == NEW_TEXT_RU
    in_english = (await app.client.get("/me/consents", params={"locale": "en"}, headers=me)).json()
    assert _by_scope(in_english)["personal_data"]["current"]["text"] == NEW_TEXT_EN

    # A form opened before the new text took effect is still accepted, with what it showed.
    other = await app.event()
    late_form = await app.register(other["id"], consent_version=shown)
    assert late_form.status_code == 201, late_form.text
    [confirmed] = await app.published(
        REGISTRATIONS_TOPIC,
        lambda e: (
            e["subject"] == late_form.json()["id"]
            and e["type"] == "ru.etnik.registration.confirmed"
        ),
    )
    assert confirmed["data"]["consent_version"] == shown
    assert (await app.register(other["id"], consent_version=new + 3)).status_code == 409

    ledger_before = (
        await app.client.get(f"/people/{person_id}/consents", headers=app.auth(app.admin_token))
    ).json()["ledger"]
    refusals = [
        ({"action": "accept", "scope": "personal_data"}, 422),  # which version was shown?
        ({"action": "accept", "scope": "personal_data", "version": new + 4}, 409),
        ({"action": "withdraw", "scope": "personal_data"}, 422),  # that is an erasure
        ({"action": "withdraw", "scope": "publication", "version": 1}, 422),
        ({"action": "agree", "scope": "personal_data", "version": new}, 422),
    ]
    for body, status in refusals:
        response = await app.client.post("/me/consents", json=body, headers=me)
        assert response.status_code == status, (body, response.text)
    staff = await app.client.post(
        "/me/consents",
        json={"action": "accept", "scope": "personal_data", "version": new},
        headers=app.auth(app.admin_token),
    )
    assert staff.status_code == 403  # operators cannot consent for a person
    anonymous = await app.client.post(
        "/me/consents", json={"action": "accept", "scope": "personal_data", "version": new}
    )
    assert anonymous.status_code == 401
    ledger_after = (
        await app.client.get(f"/people/{person_id}/consents", headers=app.auth(app.admin_token))
    ).json()["ledger"]
    assert ledger_after == ledger_before  # nothing refused was recorded

    accept = {"action": "accept", "scope": "personal_data", "version": new}
    for _ in range(2):  # a repeat records nothing twice
        accepted = await app.client.post(
            "/me/consents", json=accept, headers={**me, "User-Agent": "portal-test/2.0"}
        )
        assert accepted.status_code == 200, accepted.text
        now_state = _by_scope(accepted.json())["personal_data"]
        assert (now_state["accepted_version"], now_state["needs_acceptance"]) == (new, False)
    ledger = (
        await app.client.get(f"/people/{person_id}/consents", headers=app.auth(app.admin_token))
    ).json()["ledger"]
    personal = [e for e in ledger if e["scope"] == "personal_data"]
    assert [(e["text_version"], e["source"]) for e in personal] == [
        (shown, "registration_form"),
        (new, "portal"),
    ]
    assert all(e["given_at"] and e["withdrawn_at"] is None for e in personal)
    stored = await app.container.repository.consents.find_one(
        {"person_id": person_id, "text_version": new}
    )
    assert stored is not None
    assert stored["user_agent"] == "portal-test/2.0"


async def test_the_publication_consent_is_withdrawn_alone_and_every_service_is_told(
    consenting: RegistrationApp,
) -> None:
    app = consenting
    event = await app.event()
    registered = await app.register(event["id"], consent_publication=True)
    assert registered.status_code == 201, registered.text
    person_id = registered.json()["person_id"]
    me = _participant_token(app, person_id)
    assert _by_scope((await app.client.get("/me/consents", headers=me)).json())["publication"][
        "accepted_version"
    ]

    withdraw = {"action": "withdraw", "scope": "publication"}
    withdrawn = await app.client.post("/me/consents", json=withdraw, headers=me)
    assert withdrawn.status_code == 200, withdrawn.text
    state = _by_scope(withdrawn.json())
    assert state["publication"]["accepted_version"] is None
    assert state["publication"]["withdrawn_at"]
    assert state["personal_data"]["accepted_version"]  # processing consent untouched
    [told] = await app.published(
        CONSENTS_TOPIC,
        lambda e: (
            e["subject"] == person_id and e["type"] == "ru.etnik.publication_consent.withdrawn"
        ),
    )
    assert told["data"]["by"] == "self"
    # The registration stays, and so does the person.
    mine = (await app.client.get("/me/registrations", headers=me)).json()
    assert [(r["id"], r["status"]) for r in mine] == [(registered.json()["id"], "confirmed")]
    person = await app.container.repository.people.find_one({"_id": person_id})
    assert person is not None
    assert not person.get("erased")
    first_withdrawal = person["publication_withdrawn_at"]

    # A repeat changes nothing: no second withdrawal.
    repeated = await app.client.post("/me/consents", json=withdraw, headers=me)
    assert repeated.status_code == 200
    person = await app.container.repository.people.find_one({"_id": person_id})
    assert person is not None
    assert person["publication_withdrawn_at"] == first_withdrawal

    # An operator withdraws it for someone on their written request.
    other = await app.register(event["id"], consent_publication=True)
    other_id = other.json()["person_id"]
    url = f"/people/{other_id}/consents/publication/withdraw"
    assert (await app.client.post(url, headers=me)).status_code == 403
    assert (await app.client.post(url)).status_code == 401
    unknown = await app.client.post(
        "/people/nobody/consents/publication/withdraw", headers=app.auth(app.admin_token)
    )
    assert unknown.status_code == 404
    operator = app.auth(await app.operator(["operator"]))
    by_operator = await app.client.post(url, headers=operator)
    assert by_operator.status_code == 200, by_operator.text
    body = by_operator.json()
    assert _by_scope(body["consents"])["publication"]["accepted_version"] is None
    [entry] = [e for e in body["ledger"] if e["scope"] == "publication"]
    assert entry["withdrawn_by"].startswith("operator:")
    [told_by_operator] = await app.published(CONSENTS_TOPIC, lambda e: e["subject"] == other_id)
    assert told_by_operator["data"]["by"] == "operator"

    # An erased person has nothing left to withdraw.
    erased = await app.client.post(f"/people/{other_id}/erase", headers=app.auth(app.admin_token))
    assert erased.status_code == 200, erased.text
    assert (await app.client.post(url, headers=operator)).status_code == 409
