"""Identity and bad input through the API: forged tokens, sign-in links, refresh and
sign-out, roles, invitations, other people's registrations, and requests refused with a
clear 4xx that lose nothing already accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pymongo.errors import AutoReconnect, OperationFailure

from etnik.common.contracts.registration import (
    INVITATIONS_TOPIC,
    OPERATORS_TOPIC,
    REFERENCE_TOPIC,
    SIGN_IN_LINKS_TOPIC,
)

if TYPE_CHECKING:
    from conftest import RegistrationApp

EVENT_BODY = {
    "title": "Стратегическая сессия",
    "format": "online",
    "starts_at": "2027-03-01T11:00:00Z",
    "ends_at": "2027-03-01T14:00:00Z",
}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "etnik-registration",
        "aud": "etnik",
        "sub": "attacker",
        "kind": "operator",
        "roles": ["admin"],
        "iat": now,
        "exp": now + 600,
        **overrides,
    }


def _signed(key: ec.EllipticCurvePrivateKey, kid: str, **overrides: Any) -> str:
    return jwt.encode(_claims(**overrides), key, algorithm="ES256", headers={"kid": kid})


def _forgeries(registration: RegistrationApp) -> dict[str, str]:
    key, kid = registration.private_key, registration.container.signing_key.key_id
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "alg none": f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(_claims())}.",
        # HS/RS confusion: an HMAC "signed" with the public key that everyone can read.
        # (PyJWT itself refuses to HMAC with a PEM key, so the token is built by hand.)
        "hs256 with the public key": _hs256(public_pem, kid),
        "expired": _signed(key, kid, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
        "wrong audience": _signed(key, kid, aud="another-system"),
        "wrong issuer": _signed(key, kid, iss="https://evil.example.org"),
        "another key": _signed(other_key, kid),
        "garbage": "not.a.token",
    }


def _hs256(secret: bytes, kid: str) -> str:
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": kid})
    payload = _b64(_claims())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    "forgery",
    [
        "alg none",
        "hs256 with the public key",
        "expired",
        "wrong audience",
        "wrong issuer",
        "another key",
        "garbage",
    ],
)
async def test_forged_tokens_are_refused(registration: RegistrationApp, forgery: str) -> None:
    token = _forgeries(registration)[forgery]
    before = await registration.container.repository.count(
        registration.container.repository.events, {}
    )
    response = await registration.client.post(
        "/events", json=EVENT_BODY, headers=registration.auth(token)
    )
    assert response.status_code == 401, response.text
    assert response.json()["detail"]
    after = await registration.container.repository.count(
        registration.container.repository.events, {}
    )
    assert after == before
    assert (await registration.client.post("/events", json=EVENT_BODY)).status_code == 401


async def test_a_well_signed_token_passes_the_same_check(registration: RegistrationApp) -> None:
    key, kid = registration.private_key, registration.container.signing_key.key_id
    response = await registration.client.post(
        "/events", json=EVENT_BODY, headers=registration.auth(_signed(key, kid))
    )
    assert response.status_code == 201


async def _sign_in_as_participant(registration: RegistrationApp, email: str) -> dict[str, Any]:
    asked = await registration.client.post("/auth/sign-in-link", json={"email": email})
    assert asked.status_code == 202
    person = await registration.container.repository.people.find_one({"email": email})
    assert person is not None
    [event] = await registration.published(
        SIGN_IN_LINKS_TOPIC,
        lambda e: e["subject"] == person["_id"] and e["type"] == "ru.etnik.sign_in_link.requested",
    )
    link = event["data"]["link"]
    assert link.startswith("https://etnik.test/sign-in?token=")
    token = link.split("token=", 1)[1]
    signed_in = await registration.client.post("/auth/sign-in", json={"token": token})
    assert signed_in.status_code == 200, signed_in.text
    reused = await registration.client.post("/auth/sign-in", json={"token": token})
    assert reused.status_code == 401  # one-time
    tokens: dict[str, Any] = signed_in.json()
    return tokens


async def test_participants_sign_in_by_link_refresh_and_sign_out(
    registration: RegistrationApp,
) -> None:
    event = await registration.event()
    email = f"link.{uuid.uuid4().hex[:8]}@example.org"
    await registration.register(event["id"], email)
    unknown = await registration.client.post(
        "/auth/sign-in-link", json={"email": "nobody.here@example.org"}
    )
    assert unknown.status_code == 202  # the same answer: no way to learn who is registered

    tokens = await _sign_in_as_participant(registration, email)
    me = await registration.client.get("/me", headers=registration.auth(tokens["access_token"]))
    assert me.json()["email"] == email
    refreshed = await registration.client.post(
        "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    spent = await registration.client.post(
        "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert spent.status_code == 401
    new_refresh = refreshed.json()["refresh_token"]
    signed_out = await registration.client.post(
        "/auth/sign-out", json={"refresh_token": new_refresh}
    )
    assert signed_out.status_code == 204
    revoked = await registration.client.post("/auth/refresh", json={"refresh_token": new_refresh})
    assert revoked.status_code == 401
    # A participant holds no operator role.
    denied = await registration.client.post(
        "/events", json=EVENT_BODY, headers=registration.auth(tokens["access_token"])
    )
    assert denied.status_code == 403


async def test_only_an_admin_creates_operator_accounts(registration: RegistrationApp) -> None:
    operator = await registration.operator(["operator"])
    body = {"email": "new.op@example.org", "password": "long-enough-password", "roles": ["admin"]}
    refused = await registration.client.post(
        "/operators", json=body, headers=registration.auth(operator)
    )
    assert refused.status_code == 403
    weak = await registration.client.post(
        "/operators",
        json=body | {"password": "short"},
        headers=registration.auth(registration.admin_token),
    )
    assert weak.status_code == 422
    signed_in = await registration.client.post(
        "/auth/token", json={"email": "admin@example.org", "password": "wrong"}
    )
    assert signed_in.status_code == 401


async def test_admins_change_roles_and_deactivate_accounts_and_each_change_is_an_event(
    registration: RegistrationApp,
) -> None:
    email = f"staff.{uuid.uuid4().hex[:8]}@example.org"
    password = "first-password-" + uuid.uuid4().hex[:8]
    admin = registration.auth(registration.admin_token)
    created = await registration.client.post(
        "/operators", json={"email": email, "password": password, "roles": ["check_in"]},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    promoted = await registration.client.patch(
        f"/operators/{account_id}", json={"roles": ["operator", "moderator"]}, headers=admin
    )
    assert promoted.status_code == 200, promoted.text
    assert sorted(promoted.json()["roles"]) == ["moderator", "operator"]

    # Their own password: the current one is required, then only the new one works.
    token = (
        await registration.client.post("/auth/token", json={"email": email, "password": password})
    ).json()["access_token"]
    new_password = "second-password-" + uuid.uuid4().hex[:8]
    wrong = await registration.client.post(
        "/auth/password", json={"current_password": "nope", "new_password": new_password},
        headers=registration.auth(token),
    )  # fmt: skip
    assert wrong.status_code == 403
    changed = await registration.client.post(
        "/auth/password", json={"current_password": password, "new_password": new_password},
        headers=registration.auth(token),
    )  # fmt: skip
    assert changed.status_code == 204
    for attempt, expected in ((password, 401), (new_password, 200)):
        answer = await registration.client.post(
            "/auth/token", json={"email": email, "password": attempt}
        )
        assert answer.status_code == expected

    by_operator = await registration.client.patch(
        f"/operators/{account_id}", json={"active": False}, headers=registration.auth(token)
    )
    assert by_operator.status_code == 403
    deactivated = await registration.client.patch(
        f"/operators/{account_id}", json={"active": False}, headers=admin
    )
    assert deactivated.json()["active"] is False
    refused = await registration.client.post(
        "/auth/token", json={"email": email, "password": new_password}
    )
    assert refused.status_code == 401
    admin_id = jwt.decode(registration.admin_token, options={"verify_signature": False})["sub"]
    demote_self = await registration.client.patch(
        f"/operators/{admin_id}", json={"roles": ["operator"]}, headers=admin
    )
    assert demote_self.status_code == 409
    unknown = await registration.client.patch(
        "/operators/nobody", json={"active": False}, headers=admin
    )
    assert unknown.status_code == 404

    events = await registration.published(
        OPERATORS_TOPIC,
        lambda e: e["data"]["account_id"] == account_id and "active" in e["data"]["changes"],
    )
    history = await registration.published(
        OPERATORS_TOPIC, lambda e: e["data"]["account_id"] == account_id
    )
    assert [e["data"]["changes"] for e in history] == [
        ["created"],
        ["roles"],
        ["password"],
        ["active"],
    ]
    assert events[0]["data"]["active"] is False
    assert email not in json.dumps(history)  # an audit of roles, not a staff directory
    assert "password_hash" not in json.dumps(history)


async def test_admins_correct_a_federal_district_and_the_change_is_published(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    districts = (await registration.client.get("/reference/districts")).json()
    dfo = next(d for d in districts if d["key"] == "ДФО")
    centre = "Владивосток" if dfo["centre_ru"] != "Владивосток" else "Хабаровск"
    updated = await registration.client.put(
        "/reference/districts/ДФО", json={"centre_ru": centre}, headers=admin
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["centre_ru"] == centre
    [changed] = await registration.published(
        REFERENCE_TOPIC,
        lambda e: (
            e["type"] == "ru.etnik.federal_district.changed" and e["data"]["centre_ru"] == centre
        ),
    )
    assert changed["data"]["changes"] == ["centre_ru"]
    operator = await registration.operator(["operator"])
    refused = await registration.client.put(
        "/reference/districts/ДФО", json={"centre_ru": "Чита"}, headers=registration.auth(operator)
    )
    assert refused.status_code == 403
    unknown = await registration.client.put(
        "/reference/districts/НФО", json={"centre_ru": "Нигде"}, headers=admin
    )
    assert unknown.status_code == 404
    blank = await registration.client.put(
        "/reference/districts/ДФО", json={"name_ru": ""}, headers=admin
    )
    assert blank.status_code == 422
    extra = await registration.client.put(
        "/reference/districts/ДФО", json={"key": "XXX"}, headers=admin
    )
    assert extra.status_code == 422


async def test_another_persons_registration_is_out_of_reach(
    registration: RegistrationApp,
) -> None:
    event = await registration.event()
    anna = (
        await registration.register(event["id"], f"anna.{uuid.uuid4().hex[:6]}@example.org")
    ).json()
    boris_email = f"boris.{uuid.uuid4().hex[:6]}@example.org"
    boris = (await registration.register(event["id"], boris_email)).json()
    boris_tokens = await _sign_in_as_participant(registration, boris_email)
    as_boris = registration.auth(boris_tokens["access_token"])

    assert (await registration.client.get(f"/registrations/{anna['id']}")).status_code == 401
    peek = await registration.client.get(f"/registrations/{anna['id']}", headers=as_boris)
    assert peek.status_code == 404
    cancel = await registration.client.post(f"/registrations/{anna['id']}/cancel", headers=as_boris)
    assert cancel.status_code == 404
    own = await registration.client.get(f"/registrations/{boris['id']}", headers=as_boris)
    assert own.status_code == 200
    # Boris's signed link opens only Boris's registration; a forged one opens nothing.
    forged = boris["manage_token"][:-4] + "AAAA"
    denied = await registration.client.get("/registrations/by-link", params={"token": forged})
    assert denied.status_code == 403
    still = await registration.client.get(
        "/registrations/by-link",
        params={"token": anna["manage_token"]},
    )
    assert still.json()["status"] == "confirmed"  # Anna's registration is untouched


async def test_an_invitation_is_used_only_once_its_registration_is_stored(
    registration: RegistrationApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = await registration.event(requires_approval=True)
    invited = await _invited(registration, event["id"], "Приглашённый Гость")
    email, token = invited.email, invited.token
    repository = registration.container.repository
    store = repository.insert_registration

    async def database_away(*args: Any, **kwargs: Any) -> Any:
        raise AutoReconnect("the database went away")

    monkeypatch.setattr(repository, "insert_registration", database_away)
    failed = await registration.register(event["id"], email, invitation_token=token)
    assert failed.status_code == 503, failed.text
    monkeypatch.setattr(repository, "insert_registration", store)

    retried = await registration.register(event["id"], email, invitation_token=token)
    assert retried.status_code == 201, retried.text  # the failure did not burn the invitation
    assert retried.json()["status"] == "confirmed"
    stored = await repository.invitations.find_one({"_id": invited.invitation_id})
    assert stored is not None
    assert stored["used_by"] == invited.person_id


async def test_invitation_tokens_expired_reused_or_forged_are_refused(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event(requires_approval=True)
    invited = await _invited(registration, event["id"], "Приглашённая Гостья")
    email, person_id, token = invited.email, invited.person_id, invited.token

    forged = await registration.register(event["id"], email, invitation_token=token[:-3] + "abc")
    assert forged.status_code == 400
    assert "not valid" in forged.json()["detail"]
    expired_token = registration.container.signing_key.sign_link(
        purpose="invitation", subject=invited.invitation_id, ttl_s=-60, event_id=event["id"]
    )
    expired = await registration.register(event["id"], email, invitation_token=expired_token)
    assert expired.status_code == 410
    someone_else = await registration.register(event["id"], invitation_token=token)
    assert someone_else.status_code == 403

    used = await registration.register(event["id"], email, invitation_token=token)
    assert used.status_code == 201, used.text
    assert used.json()["status"] == "confirmed"  # invited: no approval needed
    other_event = await registration.event()
    wrong_event = await registration.register(other_event["id"], invitation_token=token)
    assert wrong_event.status_code == 422
    another = await registration.event(requires_approval=True)
    second = await registration.client.post(
        f"/events/{another['id']}/invitations", json={"person_id": person_id}, headers=admin
    )
    [sent_again] = await registration.published(
        INVITATIONS_TOPIC,
        lambda e: e["subject"] == second.json()["id"] and e["type"] == "ru.etnik.invitation.issued",
    )
    second_token = sent_again["data"]["link"].split("invitation=", 1)[1]
    assert (
        await registration.register(another["id"], email, invitation_token=second_token)
    ).status_code == 201
    reused = await registration.register(
        another["id"], f"x.{uuid.uuid4().hex[:6]}@example.org", invitation_token=second_token
    )
    assert reused.status_code == 409


BAD_FORMS: list[tuple[dict[str, Any], int, str]] = [
    ({"email": "not-an-email"}, 422, "email"),
    ({"phone": "+7 123"}, 422, "phone"),
    ({"phone": "позвоните мне"}, 422, "phone"),
    ({"organisation_inn": "7707083894", "organisation_name": "НКО"}, 422, "organisation_inn"),
    ({"role": "admin"}, 422, "role"),
    ({"status": "confirmed"}, 422, "status"),
    ({"consent_personal_data": False}, 422, ""),
    ({"region_code": "7"}, 422, "region_code"),
    ({"region_code": "00"}, 422, ""),
]


@pytest.mark.parametrize(("override", "status", "field"), BAD_FORMS)
async def test_bad_forms_get_a_clear_4xx_and_lose_nothing(
    registration: RegistrationApp, override: dict[str, Any], status: int, field: str
) -> None:
    event = await registration.event()
    accepted = await registration.register(event["id"])
    assert accepted.status_code == 201
    response = await registration.register(event["id"], **override)
    assert response.status_code == status, response.text
    body = response.json()
    if field:
        assert field in {error["field"] for error in body["errors"]}
        assert all(error["reason"] for error in body["errors"])
    else:
        assert body["detail"]
    page = await registration.client.get(
        "/registrations",
        params={"event_id": event["id"]},
        headers=registration.auth(registration.admin_token),
    )
    assert page.json()["total"] == 1
    assert page.json()["items"][0]["id"] == accepted.json()["id"]


async def test_missing_consent_unknown_event_closed_window_and_oversized_body(
    registration: RegistrationApp,
) -> None:
    event = await registration.event()
    form = {"full_name": "Без Согласия", "email": "no.consent@example.org", "category": "other"}
    missing = await registration.client.post(f"/events/{event['id']}/registrations", json=form)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "consent_personal_data"

    unknown = await registration.register(uuid.uuid4().hex)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "unknown event"

    closed = await registration.event(
        registration_opens_at="2020-01-01T00:00:00Z", registration_closes_at="2020-02-01T00:00:00Z"
    )
    late = await registration.register(closed["id"])
    assert late.status_code == 409
    assert late.json()["detail"] == "registration for this event has closed"

    huge = await registration.client.post(
        f"/events/{event['id']}/registrations",
        content=b'{"full_name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"inn": "7707083894"}, "inn"),
        ({"ogrn": "1027700132196"}, "ogrn"),
        ({"inn": "12345"}, "inn"),
    ],
)
async def test_organisations_with_wrong_check_digits_are_refused(
    registration: RegistrationApp, override: dict[str, str], field: str
) -> None:
    response = await registration.client.post(
        "/organisations",
        json={"name": "НКО", "kind": "ngo", **override},
        headers=registration.auth(registration.admin_token),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_a_storage_error_asks_for_a_retry_and_the_retry_succeeds(
    registration: RegistrationApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = await registration.event()
    catalogue = registration.container.catalogue
    real_get_event = catalogue.get_event

    async def busy(event_id: str, *, include_drafts: bool = False) -> dict[str, Any]:
        raise OperationFailure("database is locked")

    body = {
        "full_name": "Повтор Запроса",
        "email": f"retry.{uuid.uuid4().hex[:6]}@example.org",
        "category": "expert",
        "consent_personal_data": True,
    }
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    url = f"/events/{event['id']}/registrations"
    monkeypatch.setattr(catalogue, "get_event", busy)
    refused = await registration.client.post(url, json=body, headers=headers)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert "same Idempotency-Key" in refused.json()["detail"]
    monkeypatch.setattr(catalogue, "get_event", real_get_event)
    retried = await registration.client.post(url, json=body, headers=headers)
    assert retried.status_code == 201, retried.text


async def test_an_invitation_only_event_is_seen_and_joined_through_an_invitation_alone(
    registration: RegistrationApp,
) -> None:
    admin = registration.auth(registration.admin_token)
    event = await registration.event(invitation_only=True)
    assert event["invitation_only"] is True
    listed = await registration.client.get("/events", params={"limit": 200})
    assert event["id"] not in {shown["id"] for shown in listed.json()}
    assert (await registration.client.get(f"/events/{event['id']}")).status_code == 404
    assert (await registration.client.get(f"/events/{event['id']}/form")).status_code == 404

    refused = await registration.register(event["id"])
    assert refused.status_code == 403
    assert refused.json()["detail"] == "registration for this event is by invitation only"
    nobody = await registration.client.get(
        "/registrations", headers=admin, params={"event_id": event["id"]}
    )
    assert nobody.json()["total"] == 0  # nothing was stored for the refused form

    invited = await _invited(registration, event["id"], "Приглашённая Гостья")
    email, token = invited.email, invited.token
    shown = await registration.client.get(f"/events/{event['id']}", params={"invitation": token})
    assert shown.status_code == 200, shown.text
    form = await registration.client.get(
        f"/events/{event['id']}/form", params={"invitation": token}
    )
    assert form.status_code == 200, form.text
    forged = await registration.client.get(
        f"/events/{event['id']}", params={"invitation": token[:-3] + "abc"}
    )
    assert forged.status_code == 400
    other = await registration.event(invitation_only=True)
    elsewhere = await registration.client.get(
        f"/events/{other['id']}", params={"invitation": token}
    )
    assert elsewhere.status_code == 422  # an invitation shows only its own event

    joined = await registration.register(event["id"], email, invitation_token=token)
    assert joined.status_code == 201, joined.text
    again = await registration.client.get(f"/events/{event['id']}", params={"invitation": token})
    assert again.status_code == 409
    assert again.json()["detail"] == "this invitation has already been used"
    changed = await registration.client.patch(
        f"/events/{event['id']}", json={"invitation_only": False}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert (await registration.client.get(f"/events/{event['id']}")).status_code == 200
    cleared = await registration.client.patch(
        f"/events/{event['id']}", json={"invitation_only": None}, headers=admin
    )
    assert cleared.status_code == 422


@dataclass(frozen=True)
class Invited:
    """A person invited to an event and the token of their invitation's link."""

    email: str
    person_id: str
    invitation_id: str
    token: str


async def _invited(registration: RegistrationApp, event_id: str, full_name: str) -> Invited:
    """A new person invited to the event, and the token of the link their invitation carries."""
    admin = registration.auth(registration.admin_token)
    email = f"invited.{uuid.uuid4().hex[:6]}@example.org"
    person = await registration.client.post(
        "/people",
        json={"full_name": full_name, "email": email, "category": "expert"},
        headers=admin,
    )
    assert person.status_code == 201, person.text
    issued = await registration.client.post(
        f"/events/{event_id}/invitations", json={"person_id": person.json()["id"]}, headers=admin
    )
    assert issued.status_code == 201, issued.text
    [sent] = await registration.published(
        INVITATIONS_TOPIC,
        lambda e: e["subject"] == issued.json()["id"] and e["type"] == "ru.etnik.invitation.issued",
    )
    token = sent["data"]["link"].split("invitation=", 1)[1]
    return Invited(email, person.json()["id"], issued.json()["id"], token)
