"""Participation certificates: who gets one, its verification code and hours (pure rules), and
the use cases that issue, find and verify them.

A certificate is its own aggregate, one per registration (a unique index on registration_id),
issued in bulk by an operator once the event is completed and attendance is final. Its
random code is public: anyone holding the paper can check it at `/certificates/<code>`, which
shows the name printed on it and nothing else about the person. When the person is erased,
the name is withheld (removed from the stored certificate) and the certificate stays
verifiable.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.registration import CertificateIssued, RegistrationStatus
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.attendance import Attendance
from etnik.registration.catalogue import DEFAULT_PROGRAMME, CatalogueService
from etnik.registration.domain import CHECK_IN_ALPHABET, EventStatus
from etnik.registration.errors import DomainError
from etnik.registration.queries import ManageLinks
from etnik.registration.repository import WITHOUT_OUTBOX, RegistrationRepository, new_id, now_utc
from etnik.registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

# --- Verification codes --------------------------------------------------------------------

# The check-in alphabet (no 0/O, no 1/I): 5 bits a symbol, 12 symbols, 60 random bits.
CODE_GROUPS = 3
CODE_GROUP_LENGTH = 4
CODE_LENGTH = CODE_GROUPS * CODE_GROUP_LENGTH
CODE_EXAMPLE = "ABCD-EFGH-JKLM"
# A code typed on a Russian keyboard: Cyrillic letters that look like the Latin ones printed.
_LOOKALIKES = str.maketrans("АВЕКМНОРСТУХ", "ABEKMHOPCTYX")
# Tries at a fresh code when one clashes (60 bits: practically never).
CODE_ATTEMPTS = 5


class NotACode(ValueError):
    """A string that cannot be a certificate's verification code."""


def new_certificate_code() -> str:
    """A random, unguessable verification code in groups: «7KQM-3XHF-ZP9W»."""
    symbols = "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(CODE_LENGTH))
    return _grouped(symbols)


def _grouped(symbols: str) -> str:
    return "-".join(
        symbols[start : start + CODE_GROUP_LENGTH]
        for start in range(0, CODE_LENGTH, CODE_GROUP_LENGTH)
    )


def normalise_code(value: str) -> str:
    """A typed code in its printed form (any case, with or without dashes or spaces, Cyrillic
    lookalikes read as Latin); NotACode when it cannot be one."""
    symbols = value.upper().translate(_LOOKALIKES).replace("-", "").replace(" ", "")
    if len(symbols) != CODE_LENGTH or any(ch not in CHECK_IN_ALPHABET for ch in symbols):
        raise NotACode(
            f"not a certificate code: it has {CODE_LENGTH} Latin letters and digits, "
            f"e.g. {CODE_EXAMPLE}"
        )
    return _grouped(symbols)


# --- Who gets one, and what it states -------------------------------------------------------

# A default number of hours is given only for an event within one working day; for longer
# ones (internships, field programmes) the operator says how many hours to state.
MAX_DEFAULT_HOURS = 12.0
MAX_HOURS = 500.0


def counts_as_attended(registration: Document) -> bool:
    """Whether a registration earns a certificate: confirmed, and attended by the event's rule
    (checked in at the door, or enough online minutes, as recorded when it was measured)."""
    attendance = registration.get("attendance") or {}
    return (
        registration.get("status") == RegistrationStatus.CONFIRMED
        and attendance.get("status") == "attended"
    )


def default_hours(starts_at: datetime, ends_at: datetime) -> float | None:
    """The event's length rounded to the nearest half hour (at least half an hour); None when
    it is longer than a working day and the operator must give the hours."""
    minutes = (ends_at - starts_at).total_seconds() / 60
    halves = max(1, int(minutes / 30 + 0.5))
    hours = halves / 2
    return hours if hours <= MAX_DEFAULT_HOURS else None


def outcome_hours(registration: Document) -> float | None:
    """The hours of a participant's recorded internship outcome, if any."""
    hours = (registration.get("outcome") or {}).get("hours")
    return float(hours) if hours else None


def hours_text(hours: float) -> str:
    """«1 час», «3 часа», «1,5 часа», «12 часов»: the number and the Russian noun that fits."""
    if hours != int(hours):
        # A fraction takes the genitive singular: «1,5 часа», «0,5 часа».
        return f"{hours:g}".replace(".", ",") + " часа"
    whole = int(hours)
    if whole % 10 == 1 and whole % 100 != 11:
        noun = "час"
    elif whole % 10 in (2, 3, 4) and whole % 100 not in (12, 13, 14):
        noun = "часа"
    else:
        noun = "часов"
    return f"{whole} {noun}"


def event_days(event: Document) -> tuple[date, date]:
    """The first and last day of an event, in its own time zone (Moscow if it names none)."""
    try:
        zone = ZoneInfo(str(event.get("timezone") or "Europe/Moscow"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Europe/Moscow")
    first = event["starts_at"].astimezone(zone).date()
    last = (event.get("ends_at") or event["starts_at"]).astimezone(zone).date()
    return first, max(first, last)


def public_view(certificate: Document) -> dict[str, Any]:
    """What anyone holding a code may see: the certificate as printed, with the name withheld
    once the person was erased."""
    withheld = bool(certificate.get("name_withheld"))
    return {
        "code": certificate["code"],
        "full_name": None if withheld else certificate.get("full_name"),
        "name_withheld": withheld,
        "event_title": certificate["event_title"],
        "programme_title": certificate["programme_title"],
        "event_date": certificate["event_date"],
        "event_end_date": certificate.get("event_end_date"),
        "hours": certificate["hours"],
        "issued_at": certificate["issued_at"],
    }


# --- Use cases -----------------------------------------------------------------------------


async def withhold_names(repository: RegistrationRepository, person_id: str) -> None:
    """Erasure: the person's certificates keep verifying, without their name."""
    await repository.certificates.update_many(
        {"person_id": person_id}, {"$set": {"full_name": None, "name_withheld": True}}
    )


@dataclass(frozen=True)
class IssueOutcome:
    """What one bulk issue did."""

    attended: int
    issued: int
    already_issued: int
    skipped_erased: int
    hours: float


class CertificateService:
    """Issuing certificates for a completed event, and finding them by code or registration."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        catalogue: CatalogueService,
        attendance: Attendance,
        links: ManageLinks,
        settings: RegistrationSettings,
    ) -> None:
        self._repo = repository
        self._certificates = repository.certificates
        self._staging = staging
        self._catalogue = catalogue
        self._attendance = attendance
        self._links = links
        self._settings = settings

    async def ensure_indexes(self) -> None:
        """One certificate per registration; codes unique; an event's and a person's lists."""
        await self._certificates.create_index("registration_id", unique=True)
        await self._certificates.create_index("code", unique=True)
        await self._certificates.create_index("event_id")
        await self._certificates.create_index("person_id")

    async def issue_for_event(
        self, event_id: str, operator: str, hours: float | None = None
    ) -> IssueOutcome:
        """Issue a certificate to every attended participant of a completed event who has none
        yet; repeating it issues nothing twice. 409 unless the event is completed."""
        event = await self._catalogue.get_event(event_id, include_drafts=True)
        if event["status"] != EventStatus.COMPLETED:
            raise DomainError(
                409,
                "certificates are issued once the event is completed and attendance is final; "
                f"this event is {event['status'].replace('_', ' ')}",
            )
        stated = hours if hours is not None else default_hours(event["starts_at"], event["ends_at"])
        # An internship's certificates state each participant's hours as their recorded
        # outcome has them, unless the operator gives the hours for everyone.
        own_hours = hours is None and bool(event.get("internship"))
        if stated is None and not own_hours:
            raise DomainError(
                422,
                f"the event lasts longer than {MAX_DEFAULT_HOURS:g} hours: "
                "give the hours the certificates state",
            )
        # Completing the event finalised attendance; should that have stopped half way, the
        # rest is finished here, so that nobody unmarked is left out unnoticed.
        await self._attendance.mark_no_shows(event_id, operator)
        attended = [
            r
            for r in await self._repo.find(
                self._repo.registrations,
                {
                    "event_id": event_id,
                    "status": RegistrationStatus.CONFIRMED.value,
                    "attendance.status": "attended",
                },
            )
            if counts_as_attended(r)
        ]
        holding = {
            c["registration_id"]
            async for c in self._certificates.find({"event_id": event_id}, {"registration_id": 1})
        }
        if own_hours and stated is None:
            unrecorded = [r for r in attended if r["_id"] not in holding and not outcome_hours(r)]
            if unrecorded:
                raise DomainError(
                    422,
                    f"{len(unrecorded)} participants have no hours in a recorded outcome: "
                    "record their outcomes, or give the hours the certificates state",
                )
        programme_title = await self._programme_title(event)
        first_day, last_day = event_days(event)
        issued = already = erased = 0
        for registration in attended:
            if registration["_id"] in holding:
                already += 1
                continue
            person = await self._repo.get(self._repo.people, registration["person_id"])
            if person is None or person.get("erased"):
                erased += 1  # nobody left to give it to
                continue
            certificate: Document = {
                "registration_id": registration["_id"],
                "event_id": event_id,
                "person_id": registration["person_id"],
                "full_name": person["full_name"],
                "event_title": event["title"],
                "programme_title": programme_title,
                "event_date": first_day.isoformat(),
                "event_end_date": last_day.isoformat() if last_day != first_day else None,
                "hours": (outcome_hours(registration) if own_hours else None) or stated,
                "issued_at": now_utc(),
                "issued_by": operator,
            }
            if await self._insert(certificate):
                issued += 1
            else:
                already += 1
        return IssueOutcome(
            attended=len(attended),
            issued=issued,
            already_issued=already,
            skipped_erased=erased,
            hours=stated if stated is not None else 0.0,
        )

    async def _insert(self, fields: Document) -> bool:
        """Store one certificate with its CertificateIssued; False when the registration got
        one meanwhile (another operator's issue running at once)."""
        for _ in range(CODE_ATTEMPTS):
            certificate = {"_id": new_id(), "code": new_certificate_code(), **fields}
            staged = self._staging.stage(
                CertificateIssued(
                    certificate_id=certificate["_id"],
                    registration_id=certificate["registration_id"],
                    event_id=certificate["event_id"],
                    person_id=certificate["person_id"],
                    code=certificate["code"],
                    hours=certificate["hours"],
                    issued_at=certificate["issued_at"],
                    issued_by=certificate["issued_by"],
                )
            )
            try:
                await self._repo.insert(self._certificates, certificate, staged)
            except DuplicateKeyError:
                # Which unique index refused it (not every server names it): the registration
                # has one already, or (most unlikely) the code was taken: try a new one.
                if await self.for_registration(fields["registration_id"]) is not None:
                    return False
                continue
            await self._staging.flush(self._certificates, certificate["_id"], staged)
            await self._withhold_if_erased_meanwhile(certificate)
            return True
        raise DomainError(503, "could not draw a free certificate code; retry shortly")

    async def _withhold_if_erased_meanwhile(self, certificate: Document) -> None:
        """An erasure that ran between reading the person and storing the certificate found
        nothing to withhold: do it now."""
        person = await self._repo.get(self._repo.people, certificate["person_id"])
        if person is None or person.get("erased"):
            await withhold_names(self._repo, certificate["person_id"])

    async def _programme_title(self, event: Document) -> str:
        programme_id = event.get("programme_id") or DEFAULT_PROGRAMME["_id"]
        programme = await self._repo.get(self._repo.programmes, programme_id)
        title = (programme or {}).get("title") or DEFAULT_PROGRAMME["title"]
        return str(title)

    # --- Reading ---------------------------------------------------------------------------

    async def by_code(self, code: str) -> Document:
        """The certificate with this code; 422 for what cannot be a code, 404 when unknown."""
        try:
            printed = normalise_code(code)
        except NotACode as error:
            raise DomainError(422, str(error)) from None
        found = await self._certificates.find_one({"code": printed}, WITHOUT_OUTBOX)
        if found is None:
            raise DomainError(404, "unknown certificate: no certificate has this code")
        return found

    async def for_registration(self, registration_id: str) -> Document | None:
        """The certificate of a registration, if one was issued."""
        return await self._certificates.find_one(
            {"registration_id": registration_id}, WITHOUT_OUTBOX
        )

    async def of_registration(self, registration: Document) -> Document:
        """The certificate of a registration for its owner; 404 or 410 with why there is none."""
        certificate = await self.for_registration(registration["_id"])
        if certificate is None:
            raise DomainError(404, "no certificate has been issued for this registration")
        if certificate.get("name_withheld"):
            raise DomainError(
                410, "the participant's data was erased: the certificate can only be verified"
            )
        return certificate

    async def for_person(self, person_id: str) -> list[Document]:
        """A person's certificates, newest first."""
        return await self._repo.find(
            self._certificates, {"person_id": person_id}, sort=(("issued_at", -1),)
        )

    async def download_url(self, registration: Document) -> str | None:
        """The owner's link to the PDF through the gateway, signed like the management link;
        None while no certificate was issued (or its name is withheld)."""
        certificate = await self.for_registration(registration["_id"])
        if certificate is None or certificate.get("name_withheld"):
            return None
        base = self._settings.public_base_url.rstrip("/")
        token = self._links.token(registration)
        return f"{base}/api/registration/registrations/by-link/certificate.pdf?token={token}"

    def verification_url(self, code: str) -> str:
        """The portal's public page that verifies a code (printed on the certificate)."""
        return f"{self._settings.public_base_url.rstrip('/')}/certificates/{code}"
