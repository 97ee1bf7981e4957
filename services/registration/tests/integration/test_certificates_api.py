"""Participation certificates on the real stack: issued in bulk by an operator once an event is
completed, only to those who attended by the event's rule and never twice; verified publicly
by code; downloaded as a PDF by the participant; the name withheld once the person is erased."""

from __future__ import annotations

import io
import uuid
from typing import TYPE_CHECKING, Any

import httpx
from pypdf import PdfReader

from etnik.common.contracts.registration import CERTIFICATES_TOPIC
from etnik.common.settings import DEVELOPMENT_NOTIFICATION_CLIENT_SECRET

if TYPE_CHECKING:
    from conftest import RegistrationApp

CREDENTIALS = {"client_id": "notification", "client_secret": DEVELOPMENT_NOTIFICATION_CLIENT_SECRET}
NO_CERTIFICATE = "no certificate has been issued for this registration"


def _pdf_text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


async def _person(registration: RegistrationApp, event_id: str, name: str) -> dict[str, Any]:
    answer = await registration.register(event_id, full_name=name)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _check_in(registration: RegistrationApp, event_id: str, person: dict[str, Any]) -> None:
    view = await registration.client.get(
        "/registrations/by-link", params={"token": person["manage_token"]}
    )
    door = registration.auth(await registration.operator(["check_in"]))
    checked = await registration.client.post(
        f"/events/{event_id}/check-in", json={"code": view.json()["check_in_code"]}, headers=door
    )
    assert checked.status_code == 200, checked.text


async def _complete(registration: RegistrationApp, event_id: str) -> None:
    admin = registration.auth(registration.admin_token)
    for action in ("close-registration", "complete"):
        moved = await registration.client.post(f"/events/{event_id}/{action}", headers=admin)
        assert moved.status_code == 200, moved.text


async def _issue(
    registration: RegistrationApp, event_id: str, token: str, body: Any = None, key: str = ""
) -> httpx.Response:
    headers = registration.auth(token) | ({"Idempotency-Key": key} if key else {})
    return await registration.client.post(
        f"/events/{event_id}/certificates", json=body, headers=headers
    )


async def _own(registration: RegistrationApp, person: dict[str, Any]) -> httpx.Response:
    return await registration.client.get(
        "/registrations/by-link/certificate", params={"token": person["manage_token"]}
    )


async def _attended_one(registration: RegistrationApp, name: str) -> tuple[dict[str, Any], str]:
    """A completed in-person event that one person attended, their certificate issued; the
    person's registration and the certificate's code."""
    event = await registration.event(
        title="Очная стратегическая сессия в Якутске",
        format="in_person",
        venue="Якутск, ул. Ленина, 1",
        online_link=None,
    )
    person = await _person(registration, event["id"], name)
    await _check_in(registration, event["id"], person)
    await _complete(registration, event["id"])
    issued = await _issue(registration, event["id"], await registration.operator(["operator"]))
    assert issued.status_code == 200, issued.text
    assert issued.json()["issued"] == 1
    own = await _own(registration, person)
    assert own.status_code == 200, own.text
    return person, own.json()["code"]


async def test_certificates_are_issued_only_once_the_event_is_completed(
    registration: RegistrationApp,
) -> None:
    event = await registration.event()
    await _person(registration, event["id"], "Айаал Николаев")
    operator = await registration.operator(["operator"])

    early = await _issue(registration, event["id"], operator)
    assert early.status_code == 409, early.text
    assert early.json()["detail"] == (
        "certificates are issued once the event is completed and attendance is final; "
        "this event is registration open"
    )
    closed = await registration.client.post(
        f"/events/{event['id']}/close-registration",
        headers=registration.auth(registration.admin_token),
    )
    assert closed.status_code == 200, closed.text
    assert (await _issue(registration, event["id"], operator)).status_code == 409
    unknown = await _issue(registration, uuid.uuid4().hex, operator)
    assert unknown.status_code == 404


async def test_only_operators_issue_certificates(registration: RegistrationApp) -> None:
    event = await registration.event()
    await _complete(registration, event["id"])
    url = f"/events/{event['id']}/certificates"

    assert (await registration.client.post(url)).status_code == 401
    for roles in (["check_in"], ["moderator"]):
        refused = await _issue(registration, event["id"], await registration.operator(roles))
        assert refused.status_code == 403, refused.text
    allowed = await _issue(registration, event["id"], await registration.operator(["operator"]))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["issued"] == 0  # nobody registered


async def test_only_those_who_attended_by_the_rule_get_one_and_never_twice(
    registration: RegistrationApp,
) -> None:
    # 11:00-14:00 UTC, three hours; online, attended means at least 60 minutes.
    event = await registration.event(
        title="Гибридная стратегическая сессия",
        format="hybrid",
        venue="Казань, ул. Пушкина, 86",
        capacity=5,
        attendance_rule={"min_share": None, "min_minutes": 60},
    )
    event_id = event["id"]
    at_door = await _person(registration, event_id, "Ирина Васильева")
    online_long = await _person(registration, event_id, "Пётр Семёнов")
    online_short = await _person(registration, event_id, "Ольга Кузнецова")
    no_show = await _person(registration, event_id, "Мария Иванова")
    cancelled = await _person(registration, event_id, "Никита Орлов")
    gone = await registration.client.post(
        "/registrations/by-link/cancel", params={"token": cancelled["manage_token"]}
    )
    assert gone.status_code == 200, gone.text
    await _person(registration, event_id, "Заполнивший Место")  # the place cancelled frees
    waitlisted = await _person(registration, event_id, "Анна Ждущая")
    assert waitlisted["status"] == "waitlisted"
    await _check_in(registration, event_id, at_door)
    sessions = [
        {
            "registration_id": online_long["id"],
            "joined_at": "2027-03-01T11:00:00Z",
            "left_at": "2027-03-01T12:10:00Z",
        },
        {
            "registration_id": online_short["id"],
            "joined_at": "2027-03-01T11:00:00Z",
            "left_at": "2027-03-01T11:20:00Z",
        },
    ]
    recorded = await registration.client.post(
        f"/events/{event_id}/attendance/online",
        json={"sessions": sessions},
        headers=registration.auth(await registration.operator(["check_in"])),
    )
    assert recorded.status_code == 200, recorded.text
    await _complete(registration, event_id)
    operator = await registration.operator(["operator"])

    key = uuid.uuid4().hex
    first = await _issue(registration, event_id, operator, key=key)

    assert first.status_code == 200, first.text
    assert first.json() == {
        "event_id": event_id,
        "attended": 2,
        "issued": 2,
        "already_issued": 0,
        "skipped_erased": 0,
        "hours": 3.0,
    }
    again = await _issue(registration, event_id, operator)
    assert again.json()["issued"] == 0
    assert again.json()["already_issued"] == 2
    # A retry of the first request (its answer lost) gets that answer again.
    retried = await _issue(registration, event_id, operator, key=key)
    assert retried.json() == first.json()
    codes = set()
    for person in (at_door, online_long):
        own = await _own(registration, person)
        assert own.status_code == 200, own.text
        assert own.json()["registration_id"] == person["id"]
        codes.add(own.json()["code"])
    assert len(codes) == 2
    for person in (online_short, no_show, cancelled, waitlisted):
        none = await _own(registration, person)
        assert none.status_code == 404, none.text
        assert none.json()["detail"] == NO_CERTIFICATE
    # Each issued one is published once, with ids and the public code but no name.
    [published] = await registration.published(
        CERTIFICATES_TOPIC, lambda e: e["data"]["registration_id"] == at_door["id"]
    )
    assert published["type"] == "ru.etnik.certificate.issued"
    assert published["data"]["code"] in codes
    assert "Ирина" not in str(published)


async def test_a_certificate_code_that_does_not_exist(registration: RegistrationApp) -> None:
    unknown = await registration.client.get("/certificates/ABCD-EFGH-JKLM")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "unknown certificate: no certificate has this code"
    malformed = await registration.client.get("/certificates/not-a-code")
    assert malformed.status_code == 422
    assert malformed.json()["detail"] == (
        "not a certificate code: it has 12 Latin letters and digits, e.g. ABCD-EFGH-JKLM"
    )


async def test_the_participant_downloads_the_pdf_and_anyone_verifies_it(
    registration: RegistrationApp,
) -> None:
    person, code = await _attended_one(registration, "Сардаана Егорова")

    answer = await registration.client.get(
        "/registrations/by-link/certificate.pdf", params={"token": person["manage_token"]}
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="etnik-certificate-2027-03-01.pdf"'
    )
    text = _pdf_text(answer.content)
    for expected in (
        "ЭтНик: стратегия в практике",
        "СЕРТИФИКАТ УЧАСТНИКА",
        "Сардаана Егорова",
        "Очная стратегическая сессия в Якутске",
        "1 марта 2027 г.",
        "3 часа",
        code,
        f"https://etnik.test/certificates/{code}",
    ):
        assert expected in text, f"{expected!r} is not on the certificate: {text}"
    verified = await registration.client.get(f"/certificates/{code}")
    assert verified.status_code == 200, verified.text
    shown = verified.json()
    assert shown["full_name"] == "Сардаана Егорова"
    assert shown["name_withheld"] is False
    assert shown["event_title"] == "Очная стратегическая сессия в Якутске"
    assert shown["programme_title"] == "ЭтНик: стратегия в практике"
    assert shown["event_date"] == "2027-03-01"
    assert shown["hours"] == 3.0
    # Nothing about the person beyond the name shown on the paper.
    assert not {"email", "person_id", "registration_id", "phone"} & set(shown)
    # Typed from paper: lower case, no dashes, Cyrillic lookalikes for Latin letters.
    typed = code.translate(str.maketrans("ABEKMHPCTYX", "АВЕКМНРСТУХ")).lower().replace("-", "")
    assert (await registration.client.get(f"/certificates/{typed}")).json()["code"] == code
    # Notification reads the download link with the other delivery details.
    service = (await registration.client.post("/auth/service-token", json=CREDENTIALS)).json()
    delivery = await registration.client.get(
        f"/registrations/{person['id']}/delivery",
        headers=registration.auth(service["access_token"]),
    )
    url = delivery.json()["certificate_url"]
    assert url.startswith("https://etnik.test/api/registration/registrations/by-link/")
    followed = await registration.client.get(
        "/registrations/by-link/certificate.pdf", params={"token": url.split("token=", 1)[1]}
    )
    assert followed.status_code == 200


async def test_hours_are_the_events_length_or_what_the_operator_says(
    registration: RegistrationApp,
) -> None:
    operator = await registration.operator(["operator"])
    long_event = await registration.event(
        title="Стажировка для лидеров", ends_at="2027-03-03T14:00:00Z"
    )
    await _complete(registration, long_event["id"])

    refused = await _issue(registration, long_event["id"], operator)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        "the event lasts longer than 12 hours: give the hours the certificates state"
    )
    odd = await _issue(registration, long_event["id"], operator, {"hours": 0.3})
    assert odd.status_code == 422
    given = await _issue(registration, long_event["id"], operator, {"hours": 16})
    assert given.status_code == 200, given.text
    assert given.json()["hours"] == 16.0


async def test_a_signed_in_participant_finds_and_downloads_their_certificate(
    registration: RegistrationApp,
) -> None:
    person, code = await _attended_one(registration, "Туйаара Петрова")
    other, _ = await _attended_one(registration, "Чужой Участник")
    view = await registration.client.get(
        "/registrations/by-link", params={"token": person["manage_token"]}
    )
    email = (
        await registration.client.get(
            f"/people/{view.json()['person_id']}",
            headers=registration.auth(registration.admin_token),
        )
    ).json()["email"]
    await registration.client.post("/auth/sign-in-link", json={"email": email})
    [link] = await registration.published(
        "etnik.registration.sign_in_links.v1", lambda e: e["subject"] == person["person_id"]
    )
    tokens = await registration.client.post(
        "/auth/sign-in", json={"token": link["data"]["link"].split("token=")[1]}
    )
    as_me = registration.auth(tokens.json()["access_token"])

    mine = await registration.client.get("/me/certificates", headers=as_me)

    assert mine.status_code == 200, mine.text
    assert [(c["code"], c["registration_id"]) for c in mine.json()] == [(code, person["id"])]
    own_pdf = await registration.client.get(
        f"/registrations/{person['id']}/certificate.pdf", headers=as_me
    )
    assert own_pdf.status_code == 200, own_pdf.text
    assert "Туйаара Петрова" in _pdf_text(own_pdf.content)
    others = await registration.client.get(
        f"/registrations/{other['id']}/certificate.pdf", headers=as_me
    )
    assert others.status_code == 404
    assert (
        await registration.client.get(f"/registrations/{person['id']}/certificate.pdf")
    ).status_code == 401


async def test_erasure_withholds_the_name_and_the_certificate_stays_verifiable(
    registration: RegistrationApp,
) -> None:
    person, code = await _attended_one(registration, "Стёртая Участница")
    admin = registration.auth(registration.admin_token)
    exported = await registration.client.get(f"/people/{person['person_id']}/export", headers=admin)
    assert [c["code"] for c in exported.json()["certificates"]] == [code]

    erased = await registration.client.post(f"/people/{person['person_id']}/erase", headers=admin)
    assert erased.status_code == 200, erased.text

    verified = await registration.client.get(f"/certificates/{code}")
    assert verified.status_code == 200, verified.text
    assert verified.json()["full_name"] is None
    assert verified.json()["name_withheld"] is True
    assert verified.json()["event_title"] == "Очная стратегическая сессия в Якутске"
    assert "Стёртая" not in verified.text
    pdf = await registration.client.get(
        "/registrations/by-link/certificate.pdf", params={"token": person["manage_token"]}
    )
    assert pdf.status_code == 410
    assert pdf.json()["detail"] == (
        "the participant's data was erased: the certificate can only be verified"
    )
    exported = await registration.client.get(f"/people/{person['person_id']}/export", headers=admin)
    assert "Стёртая" not in str(exported.json()["certificates"])
