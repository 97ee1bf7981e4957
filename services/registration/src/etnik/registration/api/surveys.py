"""HTTP entrypoints of post-event feedback surveys: the operator's questions, and the
participant's answer through the signed link in their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter
from pydantic import Field, StrictInt, StrictStr, model_validator

from etnik.registration.api.dependencies import LinkToken, Operator, Staff
from etnik.registration.container import Container
from etnik.registration.schemas import ResponseBody, StrictBody
from etnik.registration.surveys import TEXT_ANSWER_MAX, QuestionKind, survey_view

router = APIRouter(tags=["surveys"])

QUESTIONS_MAX = 30


class SurveyQuestionIn(StrictBody):
    """One question: a rating from 1 to 5, or free text."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    kind: QuestionKind
    label: str = Field(min_length=1, max_length=500, description="The wording, in Russian")
    required: bool = False


class SurveyIn(StrictBody):
    """A new version of an event's feedback survey."""

    questions: list[SurveyQuestionIn] = Field(min_length=1, max_length=QUESTIONS_MAX)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [question.id for question in self.questions]
        if len(ids) != len(set(ids)):
            raise ValueError("question ids must be unique")
        return self


class SurveyQuestionOut(ResponseBody):
    """A question as stored with its version."""

    id: str
    kind: QuestionKind
    label: str
    required: bool = False


class SurveyOut(ResponseBody):
    """The current version of an event's survey."""

    event_id: str
    version: int
    questions: list[SurveyQuestionOut]
    updated_at: datetime | None = None


class ParticipantSurveyOut(SurveyOut):
    """The survey as the participant behind a link sees it."""

    event_title: str
    starts_at: datetime
    answered: bool
    answered_at: datetime | None = None


class SurveyAnswersIn(StrictBody):
    """Answers by question id: a whole number 1-5 for a rating, text for a text question."""

    answers: dict[
        Annotated[str, Field(max_length=40)],
        StrictInt | Annotated[StrictStr, Field(max_length=TEXT_ANSWER_MAX * 4)] | None,
    ] = Field(max_length=QUESTIONS_MAX)
    version: int | None = Field(
        default=None, ge=1, description="The version answered; 409 if the survey changed since"
    )


class SurveyAnswerOut(ResponseBody):
    """What was accepted: no answer is given back."""

    event_id: str
    version: int
    answered_at: datetime
    answers: int = Field(description="How many questions were answered")


class SurveySent(ResponseBody):
    """How many participants were invited to answer by this request."""

    invited: int


@router.get("/events/{event_id}/survey", response_model=SurveyOut)
async def get_survey(event_id: str, container: Container, staff: Staff) -> dict[str, Any]:
    """The event's current feedback survey (operators and moderators); 404 when it has none."""
    return survey_view(event_id, await container.surveys.current(event_id))


@router.put("/events/{event_id}/survey", response_model=SurveyOut)
async def put_survey(
    event_id: str, body: SurveyIn, container: Container, operator: Operator
) -> dict[str, Any]:
    """Publish a new version of the event's survey (operators); if the event is already
    completed, everyone who attended and was not asked yet is asked now."""
    questions = [question.model_dump(mode="json") for question in body.questions]
    return survey_view(event_id, await container.surveys.put(event_id, questions))


@router.post("/events/{event_id}/survey/send", response_model=SurveySent)
async def send_survey(event_id: str, container: Container, operator: Operator) -> dict[str, int]:
    """Ask whoever attended the completed event and was not asked yet (attendance recorded
    late); nobody is asked twice."""
    return {"invited": await container.surveys.request_answers(event_id)}


@router.get(
    "/registrations/by-link/survey",
    response_model=ParticipantSurveyOut,
    responses={
        403: {"description": "The link is not valid, or its owner did not attend"},
        404: {"description": "The event has no survey"},
        409: {"description": "The event is not completed yet"},
        410: {"description": "The link has expired"},
    },
)
async def survey_by_link(token: LinkToken, container: Container) -> dict[str, Any]:
    """The survey of one's event through the signed link, and whether one has answered."""
    return await container.surveys.for_participant(token)


@router.post(
    "/registrations/by-link/survey",
    status_code=201,
    response_model=SurveyAnswerOut,
    responses={
        403: {"description": "The link is not valid, or its owner did not attend"},
        404: {"description": "The event has no survey"},
        409: {"description": "Already answered, the survey changed, or the event is not over"},
        410: {"description": "The link has expired"},
        422: {"description": "Unknown questions, ratings outside 1-5, missing or long answers"},
    },
)
async def answer_survey(
    token: LinkToken, body: SurveyAnswersIn, container: Container
) -> dict[str, Any]:
    """Answer the survey once, through the signed link; the answer is stored without the
    person or the registration. A second answer is refused (409) and the first one kept."""
    return await container.surveys.answer(token, body.answers, body.version)
