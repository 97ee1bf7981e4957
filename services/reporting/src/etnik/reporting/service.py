"""Use cases of the reporting service: dashboard views, the grant report, freezing, rebuild."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from etnik.common.contracts.reporting import PartitionOffset, ReportFrozen
from etnik.common.errors import Refused
from etnik.common.outbox import Outbox
from etnik.reporting import counts, domain
from etnik.reporting.experts import expert_summary
from etnik.reporting.feedback import feedback_summary
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.partnerships import partnership_summary
from etnik.reporting.projections import Generations
from etnik.reporting.rebuild import Rebuilder, RebuildProgress
from etnik.reporting.report import grant_report
from etnik.reporting.repository import ReportRepository
from etnik.reporting.view import ReportView

Answer = TypeVar("Answer")


class UnknownReport(Refused):
    """No frozen report has this id: 404."""

    def __init__(self, report_id: str) -> None:
        super().__init__(404, "no frozen report has this id")
        self.report_id = report_id


class ReportingService:
    """Reads the active projections and writes what operators add to them."""

    def __init__(
        self,
        generations: Generations,
        reports: ReportRepository,
        *,
        outbox: Outbox,
        rebuilder: Rebuilder,
        view: ReportView,
        report_wait_s: float = 20.0,
    ) -> None:
        self._generations = generations
        self._reports = reports
        self._outbox = outbox
        self._rebuilder = rebuilder
        self._view = view
        self._report_wait_s = report_wait_s
        self._rebuild_task: asyncio.Task[RebuildProgress] | None = None

    async def _counted(self, compute: Callable[[ProjectionFold], Answer]) -> Answer:
        """An answer counted from the report view as it stands (what it holds, if Kafka is away)."""
        answer, _ = await self._view.report(compute, timeout_s=self._report_wait_s, current=False)
        return answer

    async def registration_counts(self, event_id: str | None) -> dict[str, Any]:
        """Registrations in total and by status, for one event or for all."""

        def count(fold: ProjectionFold) -> dict[str, int]:
            events = list(fold.collection("events"))
            return counts.status_counts(fold.tables["registrations"], events, event_id)

        by_status = await self._counted(count)
        return {"event_id": event_id, "total": sum(by_status.values()), "by_status": by_status}

    async def notification_counts(self, period: domain.Period) -> dict[str, Any]:
        """Messages by outcome, in total and per kind, whose outcome fell within the period."""

        def count(fold: ProjectionFold) -> dict[str, Any]:
            messages = fold.tables["notifications"]
            by_kind = counts.outcome_counts_by_kind(messages, period)
            return {**counts.outcome_counts(messages, period), "by_kind": by_kind}

        return await self._counted(count)

    async def time_series(self, filters: domain.Filters) -> dict[str, Any]:
        """Registrations per day."""

        def series(fold: ProjectionFold) -> list[dict[str, Any]]:
            events = list(fold.collection("events"))
            return counts.daily_series(fold.tables["registrations"], events, filters)

        return {"series": await self._counted(series)}

    async def breakdown(self, filters: domain.Filters, by: str) -> dict[str, Any]:
        """Registrations, attendance and unique participants per slice."""

        def rows(fold: ProjectionFold) -> list[dict[str, Any]]:
            events = list(fold.collection("events"))
            return counts.breakdown(fold.tables["registrations"], events, by, filters)

        return {"by": by, "rows": await self._counted(rows)}

    async def feedback(self, event_id: str | None, track: str | None) -> dict[str, Any]:
        """Survey answers per event and per track (all events, one, or one track's)."""

        def summary(fold: ProjectionFold) -> dict[str, Any]:
            events = {str(event["_id"]): event for event in fold.collection("events")}
            return feedback_summary(
                fold.collection("survey_answers"),
                events,
                event_ids={event_id} if event_id else None,
                track=track,
            )

        return await self._counted(summary)

    async def partnerships(self, filters: domain.Filters) -> dict[str, Any]:
        """Partnerships formed within the filters' period and district."""

        def summary(fold: ProjectionFold) -> dict[str, Any]:
            events = list(fold.collection("events"))
            return partnership_summary(
                fold.collection("partnerships"),
                filters.period,
                {str(event["_id"]): event for event in events},
                demo_event_ids={str(event["_id"]) for event in events if domain.is_demo(event)},
                federal_district=filters.district,
            )

        return await self._counted(summary)

    async def experts(self, filters: domain.Filters) -> dict[str, Any]:
        """The roster's experts at the real events of the filters' period, district and track."""

        def summary(fold: ProjectionFold) -> dict[str, Any]:
            events = [e for e in fold.collection("events") if not domain.is_demo(e)]
            chosen = {
                str(e["_id"])
                for e in events
                if domain.event_in_period(e, filters.period)
                and (filters.event_id is None or str(e["_id"]) == filters.event_id)
            }
            return expert_summary(
                fold.collection("experts"),
                {str(event["_id"]): event for event in events},
                chosen,
                federal_district=filters.district,
                track=filters.track,
            )

        return await self._counted(summary)

    async def grant_report(self, period: domain.Period) -> dict[str, Any]:
        """The grant report for a period, counted from the report view as Kafka holds it now.

        If Kafka cannot be asked how far its topics go, the view's last state is used.
        """
        qualitative = await self._reports.qualitative_text(period)
        return await self._counted(lambda fold: report_from_fold(period, qualitative, fold))

    async def _replayed(
        self, period: domain.Period, qualitative: str, until: dict[tuple[str, int], int]
    ) -> dict[str, Any]:
        """The report from the topics replayed from their beginning up to end offsets."""
        store = await self._generations.active()
        fold = await self._rebuilder.fold_until(store, until)
        return report_from_fold(period, qualitative, fold)

    async def save_qualitative(self, period: domain.Period, text: str) -> dict[str, Any]:
        """Store the operators' qualitative results for a period."""
        saved_at = await self._reports.save_qualitative_text(period, text)
        return {"period": _period_json(period), "text": text, "updated_at": saved_at.isoformat()}

    async def freeze(self, period: domain.Period) -> dict[str, Any]:
        """Store the report as the topics hold it now, with the offsets it was built at.

        The report view counts it at exact offsets (the live projections move while they
        are read), so `reproduce`, replaying the topics to the same offsets, gives the same
        report byte for byte.
        """
        qualitative = await self._reports.qualitative_text(period)
        # Current: counted once the view holds everything Kafka holds now, at exact offsets.
        report, ends = await self._view.report(
            lambda fold: report_from_fold(period, qualitative, fold),
            timeout_s=self._report_wait_s,
        )
        generation = (await self._generations.active()).generation
        report_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        # MongoDB keeps milliseconds: cut here, so the stored snapshot reads back the same.
        frozen_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        offsets = [
            PartitionOffset(topic=topic, partition=partition, offset=end - 1)
            for (topic, partition), end in sorted(ends.items())
            if end > 0
        ]
        digest = domain.report_digest(report)
        event = ReportFrozen(
            report_id=report_id,
            period_start=period.start or frozen_at.date(),
            period_end=period.end or frozen_at.date(),
            generation=generation,
            offsets=offsets,
            digest=digest,
            frozen_at=frozen_at,
        )
        staged = self._outbox.stage(event)
        snapshot = {
            "_id": report_id,
            "period": _period_json(period),
            "generation": generation,
            "offsets": [offset.model_dump() for offset in offsets],
            "digest": digest,
            "frozen_at": frozen_at,
            # Kept as text: stored and returned byte for byte, whatever the keys contain.
            "report_json": json.dumps(report, ensure_ascii=False, sort_keys=True),
        }
        await self._reports.insert_frozen(snapshot, staged)
        await self._outbox.flush(self._reports.frozen, report_id, staged)
        return _frozen_json(snapshot)

    async def reproduce(self, report_id: str) -> dict[str, Any]:
        """Replay the topics to a frozen report's offsets and compare the result with it."""
        snapshot = await self._reports.frozen_report(report_id)
        if snapshot is None:
            raise UnknownReport(report_id)
        stored = json.loads(snapshot["report_json"])
        period = domain.Period(
            start=date.fromisoformat(p) if (p := snapshot["period"]["start"]) else None,
            end=date.fromisoformat(p) if (p := snapshot["period"]["end"]) else None,
        )
        until = {(str(o["topic"]), int(o["partition"])): int(o["offset"]) + 1
                 for o in snapshot["offsets"]}  # fmt: skip
        # The qualitative text is the operators' words, not the streams': taken as frozen.
        report = await self._replayed(period, str(stored.get("qualitative", "")), until)
        digest = domain.report_digest(report)
        return {
            "id": report_id,
            "digest": snapshot["digest"],
            "reproduced_digest": digest,
            "identical": digest == snapshot["digest"],
            "differences": sorted(
                key for key in {*stored, *report} if stored.get(key) != report.get(key)
            )
            + sorted(
                f"results.{key}"
                for key in {*stored.get("results", {}), *report["results"]}
                if stored.get("results", {}).get(key) != report["results"].get(key)
            ),
        }

    async def frozen(self, report_id: str) -> dict[str, Any]:
        """A frozen report exactly as it was stored."""
        snapshot = await self._reports.frozen_report(report_id)
        if snapshot is None:
            raise UnknownReport(report_id)
        return _frozen_json(snapshot)

    async def frozen_list(self) -> list[dict[str, Any]]:
        """The latest frozen reports, without their contents."""
        return [_frozen_json(row) for row in await self._reports.frozen_reports()]

    async def start_rebuild(self) -> dict[str, Any]:
        """Claim a new generation and replay into it in the background."""
        progress = await self._rebuilder.claim()
        # Held here so the task is not collected while it runs.
        self._rebuild_task = asyncio.create_task(
            self._rebuilder.run(progress), name=f"rebuild-g{progress.generation}"
        )
        return progress.as_document()

    async def rebuild_progress(self) -> dict[str, Any] | None:
        """The latest rebuild's progress and which generation reads use."""
        progress = await self._rebuilder.progress()
        state = await self._generations.read_state(fresh=True)
        return {"active_generation": int(state["active"]), "rebuild": progress}


def report_from_fold(
    period: domain.Period, qualitative: str, fold: ProjectionFold
) -> dict[str, Any]:
    """The grant report from a fold of the topics (the view's, or a replay's)."""
    return grant_report(
        period=period,
        registrations=fold.tables["registrations"],
        events=list(fold.collection("events")),
        notifications=fold.tables["notifications"],
        qualitative=qualitative,
        content=domain.ContentFacts(
            materials=list(fold.collection("materials")),
            downloads=fold.tables["downloads"],
            strategies=list(fold.collection("strategies")),
            mentions=list(fold.collection("mentions")),
        ),
        survey_answers=fold.collection("survey_answers"),
        partnerships=fold.collection("partnerships"),
        internships=fold.collection("internships"),
        internship_applications=fold.collection("internship_applications"),
        internship_outcomes=fold.collection("internship_outcomes"),
        experts=fold.collection("experts"),
        video_views=fold.collection("video_views"),
        strategy_versions=fold.collection("strategy_versions"),
        mechanisms=fold.collection("mechanisms"),
        organisations=fold.collection("organisations"),
    )


def _period_json(period: domain.Period) -> dict[str, str | None]:
    return {
        "start": period.start.isoformat() if period.start else None,
        "end": period.end.isoformat() if period.end else None,
    }


def _frozen_json(snapshot: dict[str, Any]) -> dict[str, Any]:
    body = {
        "id": snapshot["_id"],
        "period": snapshot["period"],
        "generation": snapshot["generation"],
        "offsets": snapshot["offsets"],
        "digest": snapshot["digest"],
        "frozen_at": _utc(snapshot["frozen_at"]).isoformat(),
    }
    if "report_json" in snapshot:
        body["report"] = json.loads(snapshot["report_json"])
    return body


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
