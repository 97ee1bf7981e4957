"""What messages carry, read by the notification service through its own identity: client
credentials buy a short-lived service token; GET /registrations/{id}/delivery answers only
such tokens, and gives the session link and check-in code to confirmed registrations alone."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from etnik.common.settings import DEVELOPMENT_NOTIFICATION_CLIENT_SECRET

if TYPE_CHECKING:
    from conftest import RegistrationApp

LINK = "https://telemost.yandex.ru/j/123456"
CREDENTIALS = {"client_id": "notification", "client_secret": DEVELOPMENT_NOTIFICATION_CLIENT_SECRET}


async def _service_token(registration: RegistrationApp) -> str:
    response = await registration.client.post("/auth/service-token", json=CREDENTIALS)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _delivery(registration: RegistrationApp, registration_id: str, token: str) -> Any:
    return await registration.client.get(
        f"/registrations/{registration_id}/delivery", headers=registration.auth(token)
    )


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _service_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "etnik-registration",
        "aud": "etnik",
        "sub": "notification",
        "kind": "service",
        "roles": [],
        "iat": now,
        "exp": now + 300,
        **overrides,
    }


def _signed(key: ec.EllipticCurvePrivateKey, kid: str, **claims: Any) -> str:
    return jwt.encode(_service_claims(**claims), key, algorithm="ES256", headers={"kid": kid})


async def test_client_credentials_buy_a_short_lived_service_token(
    registration: RegistrationApp,
) -> None:
    answer = await registration.client.post("/auth/service-token", json=CREDENTIALS)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["refresh_token"] is None
    claims = await registration.container.runtime.jwt_verifier.verify(body["access_token"])
    assert (claims["kind"], claims["sub"], claims["roles"]) == ("service", "notification", [])
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 300


@pytest.mark.parametrize(
    "credentials",
    [
        {"client_id": "notification", "client_secret": "wrong-" + "x" * 40},
        {"client_id": "content", "client_secret": DEVELOPMENT_NOTIFICATION_CLIENT_SECRET},
        {"client_id": "notification", "client_secret": ""},
    ],
    ids=["wrong secret", "unknown client", "empty secret"],
)
async def test_wrong_client_credentials_get_nothing(
    registration: RegistrationApp, credentials: dict[str, str]
) -> None:
    answer = await registration.client.post("/auth/service-token", json=credentials)
    assert answer.status_code in {401, 422}
    assert "access_token" not in answer.text


async def test_a_confirmed_online_participant_is_given_the_link_and_the_owner_link(
    registration: RegistrationApp,
) -> None:
    event = await registration.event(capacity=1)
    confirmed = (await registration.register(event["id"])).json()
    waiting = (await registration.register(event["id"])).json()
    token = await _service_token(registration)

    answer = await _delivery(registration, confirmed["id"], token)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["status"] == "confirmed"
    assert body["online_link"] == LINK
    assert body["check_in_code"] is None  # online: nothing to show at a door
    owner = await registration.client.get(
        "/registrations/by-link", params={"token": body["manage_url"].split("token=")[1]}
    )
    assert body["manage_url"].startswith("https://etnik.test/registrations/manage?token=")
    assert owner.json()["id"] == confirmed["id"]

    listed = (await _delivery(registration, waiting["id"], token)).json()
    assert listed["status"] == "waitlisted"
    assert listed["manage_url"].startswith("https://etnik.test/registrations/manage?token=")
    assert listed["online_link"] is listed["check_in_code"] is listed["qr_value"] is None


async def test_hybrid_participants_get_the_check_in_code_too(registration: RegistrationApp) -> None:
    event = await registration.event(format="hybrid", venue="Москва, Дом народов России")
    confirmed = (await registration.register(event["id"])).json()
    body = (
        await _delivery(registration, confirmed["id"], await _service_token(registration))
    ).json()
    stored = await registration.container.queries.registration(confirmed["id"])
    assert body["online_link"] == LINK
    assert body["check_in_code"] == stored["check_in_code"]
    assert body["qr_value"] == f"ETNIK1:{stored['check_in_code']}"


async def test_pending_and_rejected_registrations_get_no_link(
    registration: RegistrationApp,
) -> None:
    event = await registration.event(requires_approval=True)
    pending = (await registration.register(event["id"])).json()
    token = await _service_token(registration)
    assert (await _delivery(registration, pending["id"], token)).json()["online_link"] is None
    rejected = await registration.client.post(
        f"/registrations/{pending['id']}/reject",
        json={"reason": "мест нет"},
        headers=registration.auth(registration.admin_token),
    )
    assert rejected.status_code == 200, rejected.text
    body = (await _delivery(registration, pending["id"], token)).json()
    assert (body["status"], body["online_link"]) == ("rejected", None)


async def test_an_unknown_registration_is_404(registration: RegistrationApp) -> None:
    answer = await _delivery(
        registration, "no-such-registration", await _service_token(registration)
    )
    assert answer.status_code == 404
    assert answer.json()["detail"] == "unknown registration"


async def test_people_and_forged_tokens_are_refused(registration: RegistrationApp) -> None:
    event = await registration.event()
    confirmed = (await registration.register(event["id"])).json()
    key, kid = registration.private_key, registration.container.signing_key.key_id
    settings = registration.container.settings
    participant, _ = registration.container.signing_key.issue(
        settings, subject=confirmed["person_id"], kind="participant", roles=[]
    )
    other_key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    refused = {
        # People, whatever their roles, even the registration's own participant.
        "administrator": (registration.admin_token, 403),
        "operator": (await registration.operator(["operator", "check_in"]), 403),
        "participant": (participant, 403),
        # Well signed, but for another service.
        "another service": (_signed(key, kid, sub="content"), 403),
        "another key": (_signed(other_key, kid), 401),
        "alg none": (f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(_service_claims())}.", 401),
        "expired": (_signed(key, kid, iat=now - 900, exp=now - 600), 401),
        "wrong audience": (_signed(key, kid, aud="other"), 401),
    }
    for name, (token, status) in refused.items():
        answer = await _delivery(registration, confirmed["id"], token)
        assert answer.status_code == status, name
        assert LINK not in answer.text, name
    anonymous = await registration.client.get(f"/registrations/{confirmed['id']}/delivery")
    assert anonymous.status_code == 401


async def test_a_service_token_opens_nothing_meant_for_people(
    registration: RegistrationApp,
) -> None:
    token = await _service_token(registration)
    event = await registration.event()
    confirmed = (await registration.register(event["id"])).json()
    for method, path in (
        ("GET", "/registrations"),
        ("GET", "/me"),
        ("GET", "/operators"),
        ("POST", f"/registrations/{confirmed['id']}/cancel"),
    ):
        answer = await registration.client.request(method, path, headers=registration.auth(token))
        assert answer.status_code in {403, 404}, (method, path, answer.text)
    stored = await registration.container.queries.registration(confirmed["id"])
    assert stored["status"] == "confirmed"
