"""Post-event feedback surveys: an operator's versioned questions, the invitation of each
participant who attended, and anonymous answers.

Race safety without multi-document transactions (and FerretDB v1 applies no conditional
update atomically): an invitation and an answer are each one inserted document keyed by the
registration id, which carries its event in its own outbox. A second insert with that key is
refused by the `_id` index, so a participant is invited once and answers once, whatever runs
concurrently, and an accepted answer is never lost (the relay republishes a staged event).

Anonymity: the answer's event names no person and no registration and carries only the day;
the receipt (`survey_receipts`) records only that a registration answered, and when. The
receipt holds the answer's staged event until Kafka has it, then only the receipt remains.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.registration import (
    RegistrationStatus,
    SurveyAnswer,
    SurveyAnswered,
    SurveyRequested,
)
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, with_outbox
from etnik.registration.catalogue import CatalogueService
from etnik.registration.domain import EventStatus
from etnik.registration.errors import DomainError
from etnik.registration.queries import ManageLinks, RegistrationQueries
from etnik.registration.repository import (
    SURVEY_RECEIPTS,
    SURVEY_REQUESTS,
    WITHOUT_OUTBOX,
    RegistrationRepository,
    now_utc,
)
from etnik.registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

SURVEYS = "surveys"
# Earlier versions are kept in the survey's document, and read by nobody yet.
WITHOUT_HISTORY = {"history": 0}
RATING_MIN, RATING_MAX = 1, 5
TEXT_ANSWER_MAX = 2000
QuestionKind = Literal["rating", "text"]

NOT_ATTENDED = "only participants who attended can answer"
ALREADY_ANSWERED = "this survey has already been answered"
NO_SURVEY = "this event has no survey"


# --- Rules (no I/O) -------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyQuestion:
    """One question of a feedback survey, as stored with its version."""

    id: str
    kind: QuestionKind
    label: str
    required: bool = False

    @classmethod
    def stored(cls, document: Mapping[str, Any]) -> SurveyQuestion:
        """A question from its stored form."""
        return cls(
            id=str(document["id"]),
            kind=document["kind"],
            label=str(document["label"]),
            required=bool(document.get("required", False)),
        )


def attended(registration: Mapping[str, Any]) -> bool:
    """Whether a registration counts as attended: confirmed and recorded as present."""
    presence = (registration.get("attendance") or {}).get("status")
    return registration.get("status") == RegistrationStatus.CONFIRMED and presence == "attended"


def checked_answers(
    questions: Sequence[SurveyQuestion], answers: Mapping[str, Any]
) -> list[SurveyAnswer]:
    """The answers checked against the survey, in its order; ValueError naming every problem.

    A blank text or a null is no answer (refused only where one is required)."""
    problems = [
        f"{key}: not a question of this survey"
        for key in answers
        if key not in {q.id for q in questions}
    ]
    accepted: list[SurveyAnswer] = []
    for question in questions:
        value = answers.get(question.id)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if question.required:
                problems.append(f"{question.id}: an answer is required")
            continue
        if question.kind == "rating":
            # bool is an int in Python: true is not a rating.
            if type(value) is not int or not RATING_MIN <= value <= RATING_MAX:
                problems.append(
                    f"{question.id}: a rating is a whole number from {RATING_MIN} to {RATING_MAX}"
                )
                continue
            accepted.append(_answer(question, rating=value))
        else:
            if not isinstance(value, str):
                problems.append(f"{question.id}: expected text")
                continue
            if len(value) > TEXT_ANSWER_MAX:
                problems.append(
                    f"{question.id}: too long ({len(value)} characters, at most {TEXT_ANSWER_MAX})"
                )
                continue
            accepted.append(_answer(question, text=value))
    if problems:
        raise ValueError("; ".join(problems))
    if not accepted:
        raise ValueError("answer at least one question")
    return accepted


def _answer(
    question: SurveyQuestion, *, rating: int | None = None, text: str | None = None
) -> SurveyAnswer:
    return SurveyAnswer(
        question_id=question.id, kind=question.kind, label=question.label, rating=rating, text=text
    )


def survey_view(event_id: str, survey: Mapping[str, Any]) -> dict[str, Any]:
    """A survey version as the API shows it."""
    return {
        "event_id": event_id,
        "version": int(survey["version"]),
        "questions": list(survey["questions"]),
        "updated_at": survey.get("created_at"),
    }


# --- Use cases --------------------------------------------------------------------------


class SurveyService:
    """Surveys of events, their invitations and their anonymous answers."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        catalogue: CatalogueService,
        queries: RegistrationQueries,
        links: ManageLinks,
        settings: RegistrationSettings,
    ) -> None:
        db = repository.registrations.database
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        self._queries = queries
        self._links = links
        self._settings = settings
        self.surveys = db[SURVEYS]
        self.requests = db[SURVEY_REQUESTS]
        self.receipts = db[SURVEY_RECEIPTS]

    async def ensure_indexes(self) -> None:
        """The attended participants of an event, whom a survey is sent to."""
        await self._repo.registrations.create_index([("event_id", 1), ("attendance.status", 1)])

    # --- The operator's survey -------------------------------------------------------------

    async def current(self, event_id: str) -> Document:
        """The event's current survey; 404 when it has none."""
        survey = await self.surveys.find_one({"_id": event_id}, WITHOUT_HISTORY)
        if survey is None:
            raise DomainError(404, NO_SURVEY)
        return survey

    async def put(self, event_id: str, questions: list[Document]) -> Document:
        """A new version of the event's survey; sent at once if the event is already over."""
        event = await self._catalogue.get_event(event_id, include_drafts=True)
        if event["status"] == EventStatus.CANCELLED:
            raise DomainError(409, "the event is cancelled: it gets no survey")
        existing = await self.surveys.find_one({"_id": event_id}, WITHOUT_HISTORY)
        version = int(existing["version"]) + 1 if existing else 1
        survey = {"version": version, "questions": questions, "created_at": now_utc()}
        if existing is None:
            try:
                await self.surveys.insert_one({"_id": event_id, **survey, "history": []})
            except DuplicateKeyError:
                raise DomainError(409, "the survey changed meanwhile; reload it") from None
        else:
            earlier = {k: existing[k] for k in ("version", "questions", "created_at")}
            updated = await self.surveys.find_one_and_update(
                {"_id": event_id, "version": existing["version"]},
                {"$set": survey, "$push": {"history": earlier}},
            )
            if updated is None:
                raise DomainError(409, "the survey changed meanwhile; reload it")
        if event["status"] == EventStatus.COMPLETED:
            await self.request_answers(event_id)
        return {"_id": event_id, **survey}

    # --- Invitations -------------------------------------------------------------------------

    async def request_answers(self, event_id: str) -> int:
        """Invite every participant of a completed event who attended and has not been
        invited yet; how many were invited now. Safe to repeat and to run concurrently."""
        event = await self._catalogue.get_event(event_id, include_drafts=True)
        survey = await self.surveys.find_one({"_id": event_id}, {"version": 1})
        if survey is None or event["status"] != EventStatus.COMPLETED:
            return 0
        present = await self._repo.registrations.find(
            {"event_id": event_id, "attendance.status": "attended"},
            {"status": 1, "attendance": 1, "person_id": 1, "event_id": 1},
        ).to_list()
        invited = 0
        for registration in filter(attended, present):
            now = now_utc()
            staged = self._staging.stage(
                SurveyRequested(
                    registration_id=registration["_id"],
                    event_id=event_id,
                    person_id=registration["person_id"],
                    survey_version=int(survey["version"]),
                    requested_at=now,
                )
            )
            document = {
                "_id": registration["_id"],
                "event_id": event_id,
                "person_id": registration["person_id"],
                "survey_version": int(survey["version"]),
                "requested_at": now,
            }
            try:
                await self.requests.insert_one(with_outbox(document, staged))
            except DuplicateKeyError:
                continue  # invited before: once is enough
            await self._staging.flush(self.requests, registration["_id"], staged)
            invited += 1
        if invited:
            log.info("survey of event %s sent to %d participants", event_id, invited)
        return invited

    def survey_url(self, registration: Document) -> str:
        """The participant's link to the survey, on the portal (the manage token opens it)."""
        base = self._settings.public_base_url.rstrip("/")
        token = self._links.token(registration)
        return f"{base}/registrations/survey?token={token}"

    async def delivery_url(self, registration: Document) -> str | None:
        """The survey link a message may carry: only while the participant may still answer."""
        if not attended(registration):
            return None
        if await self.surveys.find_one({"_id": registration["event_id"]}, {"_id": 1}) is None:
            return None
        if await self.receipts.find_one({"_id": registration["_id"]}, {"_id": 1}) is not None:
            return None
        return self.survey_url(registration)

    # --- The participant's answer ------------------------------------------------------------

    async def for_participant(self, token: str) -> dict[str, Any]:
        """The survey as the participant behind a signed link sees it, and whether they
        answered; 403 unless they attended, 404 when the event has no survey."""
        registration, event, survey = await self._answerable(token)
        receipt = await self.receipts.find_one({"_id": registration["_id"]}, WITHOUT_OUTBOX)
        return survey_view(event["_id"], survey) | {
            "event_title": event["title"],
            "starts_at": event["starts_at"],
            "answered": receipt is not None,
            "answered_at": receipt["answered_at"] if receipt else None,
        }

    async def answer(
        self, token: str, answers: Mapping[str, Any], version: int | None
    ) -> dict[str, Any]:
        """Accept one participant's answers, once; the stored answer names nobody."""
        registration, event, survey = await self._answerable(token)
        if await self.receipts.find_one({"_id": registration["_id"]}, {"_id": 1}) is not None:
            raise DomainError(409, ALREADY_ANSWERED)
        if version is not None and version != int(survey["version"]):
            raise DomainError(409, "the survey has changed since it was opened; reload it")
        questions = [SurveyQuestion.stored(q) for q in survey["questions"]]
        try:
            accepted = checked_answers(questions, answers)
        except ValueError as error:
            raise DomainError(422, str(error)) from None
        now = now_utc()
        staged = self._staging.stage(
            SurveyAnswered(
                answer_id=uuid.uuid4().hex,
                event_id=event["_id"],
                track=event.get("track"),
                survey_version=int(survey["version"]),
                answered_on=now.date(),
                answers=accepted,
            )
        )
        receipt = {
            "_id": registration["_id"],
            "event_id": event["_id"],
            "survey_version": int(survey["version"]),
            "answered_at": now,
        }
        try:
            await self.receipts.insert_one(with_outbox(receipt, staged))
        except DuplicateKeyError:
            # Another request of the same participant got there first: theirs is kept.
            raise DomainError(409, ALREADY_ANSWERED) from None
        await self._staging.flush(self.receipts, registration["_id"], staged)
        return {
            "event_id": event["_id"],
            "version": int(survey["version"]),
            "answered_at": now,
            "answers": len(accepted),
        }

    async def _answerable(self, token: str) -> tuple[Document, Document, Document]:
        """The registration behind a link, its event and survey, if its owner may answer."""
        registration = await self._queries.by_link(token)
        event = await self._catalogue.get_event(registration["event_id"], include_drafts=True)
        survey = await self.surveys.find_one({"_id": event["_id"]}, WITHOUT_HISTORY)
        if survey is None:
            raise DomainError(404, NO_SURVEY)
        if not attended(registration):
            raise DomainError(403, NOT_ATTENDED)
        if event["status"] != EventStatus.COMPLETED:
            raise DomainError(409, "the survey opens once the event is completed")
        return registration, event, survey
