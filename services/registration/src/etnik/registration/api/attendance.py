"""HTTP entrypoints of attendance: check-in at the door, online minutes from the video
platform, and making an event's attendance final."""

from __future__ import annotations

from fastapi import APIRouter, Response

from etnik.common.mongo import Document
from etnik.registration.api.dependencies import AttendanceRecorder, CheckIn, Operator
from etnik.registration.container import Container
from etnik.registration.schemas import AttendanceOut, CheckInIn, OnlineAttendanceIn

router = APIRouter(tags=["attendance"])


def _attendance(registration: Document) -> AttendanceOut:
    """A registration's attendance as a response body."""
    attendance = registration.get("attendance") or {}
    return AttendanceOut(
        registration_id=registration["_id"],
        attendance=attendance.get("status", "registered"),
        method=attendance.get("method"),
        minutes_attended=attendance.get("minutes"),
    )


@router.post("/events/{event_id}/check-in", response_model=AttendanceOut)
async def check_in(
    event_id: str, body: CheckInIn, container: Container, staff: CheckIn, response: Response
) -> AttendanceOut:
    """Check a participant in by a scanned QR value or a typed code (check-in role)."""
    registration, new = await container.attendance.check_in(event_id, body.code, staff.subject)
    if not new:
        response.status_code = 200
        response.headers["X-Already-Checked-In"] = "true"
    return _attendance(registration)


@router.post("/events/{event_id}/attendance/online", response_model=list[AttendanceOut])
async def online_attendance(
    event_id: str, body: OnlineAttendanceIn, container: Container, recorder: AttendanceRecorder
) -> list[AttendanceOut]:
    """Join/leave records from the video platform or an operator; minutes are recomputed."""
    updated = await container.attendance.record_online(event_id, body.sessions, recorder.subject)
    return [_attendance(r) for r in updated]


@router.post("/events/{event_id}/attendance/finalise")
async def finalise_attendance(
    event_id: str, container: Container, operator: Operator
) -> dict[str, int]:
    """Mark confirmed participants without attendance as no-shows (operators)."""
    return {"no_shows": await container.attendance.finalise(event_id, operator.subject)}
