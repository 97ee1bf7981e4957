"""Attendance: check-in at the door, minutes online from join/leave records, and the no-shows
marked once an event is completed (whose participants are then asked for feedback)."""

from __future__ import annotations

from etnik.common.contracts.registration import AttendanceRecorded, RegistrationStatus
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.catalogue import CatalogueService
from etnik.registration.domain import (
    AttendanceRule,
    EventStatus,
    check_in_code_from_scan,
    minutes_attended,
)
from etnik.registration.errors import DomainError
from etnik.registration.repository import RegistrationRepository, now_utc
from etnik.registration.schemas import OnlineSessionIn
from etnik.registration.surveys import SurveyService


class Attendance:
    """Who attended, recorded by staff, the video platform, or the event's completion."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        catalogue: CatalogueService,
        surveys: SurveyService,
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        self._surveys = surveys

    async def transition_event(
        self, event_id: str, target: EventStatus, by: str
    ) -> tuple[Document, str]:
        """Move an event along its lifecycle; (event after, previous status). Completing it
        makes its attendance final."""
        event, previous = await self._catalogue.transition(event_id, target)
        if target is EventStatus.COMPLETED:
            await self._make_final(event_id, by)
        return event, previous

    async def finalise(self, event_id: str, by: str) -> int:
        """Make an event's attendance final, again for records that came late; how many
        no-shows were marked now."""
        await self._catalogue.get_event(event_id, include_drafts=True)  # 404 when unknown
        return await self._make_final(event_id, by)

    async def _make_final(self, event_id: str, by: str) -> int:
        """Whoever has no attendance by now is a no-show, kept apart from the registered; who
        attended is asked for feedback, if the event has a survey (once each)."""
        no_shows = await self.mark_no_shows(event_id, by)
        await self._surveys.request_answers(event_id)
        return no_shows

    async def mark_no_shows(self, event_id: str, recorded_by: str) -> int:
        """Mark confirmed participants with no attendance as no-shows; how many."""
        unmarked = await self._repo.find(
            self._repo.registrations,
            {
                "event_id": event_id,
                "status": RegistrationStatus.CONFIRMED.value,
                "attendance": {"$exists": False},
            },
        )
        for registration in unmarked:
            await self._record(registration, False, "operator", None, recorded_by)
        return len(unmarked)

    async def check_in(self, event_id: str, scanned: str, operator: str) -> tuple[Document, bool]:
        """Mark a confirmed participant as attended by QR or typed code; (registration, new)."""
        try:
            code = check_in_code_from_scan(scanned)
        except ValueError as error:
            raise DomainError(422, str(error)) from None
        registration = await self._repo.registrations.find_one(
            {"event_id": event_id, "check_in_code": code}, {"outbox": 0, "outbox_since": 0}
        )
        if registration is None:
            raise DomainError(404, "no registration for this event has this code")
        if registration["status"] != RegistrationStatus.CONFIRMED:
            raise DomainError(409, f"this registration is {registration['status']}, not confirmed")
        if (registration.get("attendance") or {}).get("status") == "attended":
            return registration, False
        method = "qr" if scanned.strip().upper().startswith("ETNIK1:") else "code"
        return await self._record(registration, True, method, None, operator), True

    async def record_online(
        self, event_id: str, sessions: list[OnlineSessionIn], recorded_by: str
    ) -> list[Document]:
        """Add join/leave records; each registration's minutes and attendance are recomputed."""
        event = await self._catalogue.get_event(event_id, include_drafts=True)
        rule = AttendanceRule(**(event.get("attendance_rule") or {}))
        event_minutes = int((event["ends_at"] - event["starts_at"]).total_seconds() // 60)
        by_registration: dict[str, list[OnlineSessionIn]] = {}
        for session in sessions:
            by_registration.setdefault(session.registration_id, []).append(session)
        results = []
        for registration_id, new_sessions in by_registration.items():
            registration = await self._repo.get(self._repo.registrations, registration_id)
            if registration is None or registration["event_id"] != event_id:
                raise DomainError(404, f"registration {registration_id} is not for this event")
            if registration["status"] != RegistrationStatus.CONFIRMED:
                raise DomainError(409, f"registration {registration_id} is not confirmed")
            stored = list(registration.get("online_sessions") or [])
            known = {(s["joined_at"], s["left_at"]) for s in stored}
            # A resent record is not counted twice.
            stored += [
                {"joined_at": s.joined_at, "left_at": s.left_at}
                for s in new_sessions
                if (s.joined_at, s.left_at) not in known
            ]
            minutes = minutes_attended(
                ((s["joined_at"], s["left_at"]) for s in stored),
                event["starts_at"],
                event["ends_at"],
            )
            attended = rule.attended(minutes, event_minutes)
            results.append(
                await self._record(
                    registration,
                    attended,
                    "online",
                    minutes,
                    recorded_by,
                    {"online_sessions": stored},
                )
            )
        return results

    async def _record(
        self,
        registration: Document,
        attended: bool,
        method: str,
        minutes: int | None,
        recorded_by: str,
        extra: Document | None = None,
    ) -> Document:
        """Store one registration's attendance with its AttendanceRecorded."""
        now = now_utc()
        attendance = {
            "status": "attended" if attended else "no_show",
            "method": method,
            "minutes": minutes,
            "recorded_at": now,
            "recorded_by": recorded_by,
        }
        staged = self._staging.stage(
            AttendanceRecorded(
                registration_id=registration["_id"],
                event_id=registration["event_id"],
                person_id=registration["person_id"],
                attended=attended,
                method=method,
                minutes_attended=minutes,
                recorded_at=now,
            )
        )
        updated = await self._repo.update(
            self._repo.registrations,
            {"_id": registration["_id"], "version": registration.get("version", 1)},
            {"$set": {"attendance": attendance, **(extra or {})}, "$inc": {"version": 1}},
            staged,
        )
        if updated is None:
            raise DomainError(409, "the registration changed meanwhile; send the records again")
        await self._staging.flush(self._repo.registrations, registration["_id"], staged)
        return updated
