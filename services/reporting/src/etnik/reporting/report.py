"""The grant report (the Fund's analytical report) for a period, from the projections' facts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from etnik.reporting import counts, domain
from etnik.reporting.columnar import ColumnarTable
from etnik.reporting.experts import expert_summary
from etnik.reporting.feedback import feedback_summary
from etnik.reporting.internships import internship_summary
from etnik.reporting.mechanisms import mechanism_summary
from etnik.reporting.partnerships import partnership_summary
from etnik.reporting.video import video_views_summary

NO_CONTENT = domain.ContentFacts()


def grant_report(
    *,
    period: domain.Period,
    registrations: Iterable[domain.Fact] | ColumnarTable,
    events: Sequence[domain.Fact],
    notifications: Iterable[domain.Fact] | ColumnarTable,
    qualitative: str,
    content: domain.ContentFacts = NO_CONTENT,
    survey_answers: Iterable[domain.Fact] = (),
    partnerships: Iterable[domain.Fact] = (),
    internships: Iterable[domain.Fact] = (),
    internship_applications: Iterable[domain.Fact] = (),
    internship_outcomes: Iterable[domain.Fact] = (),
    experts: Iterable[domain.Fact] = (),
    video_views: Iterable[domain.Fact] = (),
    strategy_versions: Iterable[domain.Fact] = (),
    mechanisms: Iterable[domain.Fact] = (),
    organisations: Iterable[domain.Fact] = (),
) -> dict[str, Any]:
    """The Fund's analytical report for a period, as plain JSON-ready data."""
    real_events = [event for event in events if not domain.is_demo(event)]
    events_by_id = {str(event["_id"]): event for event in real_events}
    demo_ids = {str(event["_id"]) for event in events if domain.is_demo(event)}
    in_period = [event for event in real_events if domain.event_in_period(event, period)]
    counted = counts.report_counts(registrations, period, events_by_id, frozenset(demo_ids))
    outcomes = counts.outcome_counts(notifications, period)
    publications = domain.publication_rows(content, period)
    report: dict[str, Any] = {
        "period": {
            "start": period.start.isoformat() if period.start else None,
            "end": period.end.isoformat() if period.end else None,
        },
        "milestones": domain.milestones(in_period),
        "events": sorted(
            (domain.event_row(event) for event in in_period),
            key=lambda row: (row["planned_starts_at"] or "", row["event_id"]),
        ),
        "results": {
            "events_planned": len(in_period),
            "events_held": sum(1 for event in in_period if domain.is_held(event)),
            "participants": counted.participants,
            "participants_by_category": counted.by_category,
            "participants_by_region": counted.by_region,
            "participants_by_district": counted.by_district,
            "attendance": counted.totals,
            "attendance_by_event": counted.by_event,
            "notifications": {"sent": outcomes["sent"], "failed": outcomes["failed"]},
            "materials": domain.material_results(content, period),
            "publications": publications,
            "media_reach": sum(row["audience_reach"] or 0 for row in publications),
            "strategies_prepared": domain.strategies_prepared(content, period),
        },
        "qualitative": qualitative,
    }
    # Participants' feedback on the period's events, part of the qualitative results; left
    # out when there is none, so that reports frozen before surveys existed reproduce as such.
    feedback = feedback_summary(
        survey_answers, events_by_id, event_ids={str(event["_id"]) for event in in_period}
    )
    if feedback["answers"]:
        report["feedback"] = feedback
    # Partnerships formed in the period; left out when there are none, like feedback.
    formed = partnership_summary(partnerships, period, events_by_id, demo_event_ids=demo_ids)
    if formed["formed"]:
        report["partnerships"] = formed
    # The roster's experts at the period's events; left out when there are none, likewise.
    at_events = expert_summary(
        experts, events_by_id, event_ids={str(event["_id"]) for event in in_period}
    )
    if at_events["experts"]:
        report["experts"] = at_events
    # Views of the programme's videos in the period; left out when there are none, likewise.
    viewed = video_views_summary(video_views, content.materials, period)
    if viewed["views"]:
        report["video_views"] = viewed
    # The Strategy's mechanisms NGOs chose, by district; left out when none, like feedback.
    chosen = mechanism_summary(strategy_versions, mechanisms, organisations, period)
    if chosen["organisations"]:
        report["mechanisms"] = chosen
    # Internships and field programmes of the period; left out when none, like feedback.
    practised = internship_summary(
        internships, internship_applications, internship_outcomes, events_by_id, period
    )
    if practised["internships"]:
        report["internships"] = practised
    return report
