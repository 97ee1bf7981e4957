"""Reporting on the whole stack: events on Kafka, the live consumer, the console's API.

The scenario is published straight to the registration and notification topics (as their
producers would), on days long past, so that its period holds nothing but these events.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from openpyxl import load_workbook
from pypdf import PdfReader

from etnik.common.contracts.content import (
    MaterialDownloaded,
    MaterialPublished,
    MediaMentionRecorded,
    StrategyUpdated,
)
from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.contracts.registration import (
    AttendanceRecorded,
    EventChanged,
    EventCreated,
    EventFormat,
    ParticipantCategory,
    PersonErased,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationWaitlisted,
)
from etnik.common.contracts.reporting import REPORTS_TOPIC
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.devstack import Stack
from helpers import metric, read_topic, staff_token, wait_until

UNKNOWN_TYPE = "ru.etnik.test.unheard_of"


@dataclass(frozen=True)
class Scenario:
    """What was published, for the tests to query."""

    day: date
    track: str
    district: str
    events: tuple[str, str]
    people: dict[str, str]

    @property
    def period(self) -> dict[str, str]:
        return {"start": self.day.isoformat(), "end": (self.day + timedelta(days=30)).isoformat()}


def on(day: date, days: int = 0, hour: int = 10) -> datetime:
    return datetime.combine(day + timedelta(days=days), time(hour), UTC)


def publish(stack: Stack, items: list[tuple[IntegrationEvent | bytes, datetime]]) -> None:
    """Publish in this order, each to its contract's topic, keyed by aggregate id."""

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for item, moment in items:
                if isinstance(item, bytes):
                    await producer.send_and_wait(RegistrationConfirmed.topic, item, key=b"x")
                    continue
                body = CloudEvent.wrap(item, source="/etnik/registration", time=moment)
                await producer.send_and_wait(
                    item.topic,
                    json.dumps(body.model_dump(mode="json")).encode(),
                    key=item.key.encode(),
                )
        finally:
            await producer.stop()

    asyncio.run(send())


@pytest.fixture(scope="module")
def scenario(platform: Stack) -> Scenario:
    """Two events of one track, five registrations, attendance, an erasure, three messages."""
    tag = uuid.uuid4().hex[:6]
    day = date(2001, 1, 1) + timedelta(days=random.randrange(365 * 18))
    track, district = f"track-{tag}", f"FO-{tag}"
    held, upcoming = f"e-held-{tag}", f"e-next-{tag}"
    people = {name: f"person-{name}-{tag}" for name in ("p1", "p2", "p3", "p4")}
    base: dict[str, Any] = {
        "track": track,
        "format": EventFormat.ONLINE,
        "timezone": "Europe/Moscow",
        "federal_district": district,
    }

    def reg(rid: str, event_id: str, person: str, category: str, region: str) -> dict[str, Any]:
        return {
            "registration_id": f"{rid}-{tag}",
            "event_id": event_id,
            "person_id": people[person],
            "category": ParticipantCategory(category),
            "region_code": region,
            "federal_district": district,
        }

    r1 = reg("r1", held, "p1", "ngo_leader", "41")
    r2 = reg("r2", held, "p2", "expert", "77")
    r3 = reg("r3", held, "p3", "ngo_activist", "41")
    r4 = reg("r4", upcoming, "p1", "ngo_leader", "41")
    r5 = reg("r5", upcoming, "p4", "media", "41")
    message = {"kind": "registration_confirmed", "channel": "email", "person_id": people["p1"]}
    demo_event = f"e-demo-{tag}"
    material = {
        "material_id": f"mat-{tag}",
        "kind": "methodological_collection",
        "title": "Сборник лучших практик этнокультурных НКО",
        "access": "public",
        "language": "ru",
    }

    def download(partial: bool, hours: int) -> MaterialDownloaded:
        return MaterialDownloaded(
            material_id=material["material_id"],
            file_version=1,
            kind=material["kind"],
            reader=f"reader-{hours}",
            reader_kind="participant",
            partial=partial,
            downloaded_at=on(day, 3, hours),
        )

    def mention(name: str, days: int, reach: int | None) -> MediaMentionRecorded:
        return MediaMentionRecorded(
            mention_id=f"{name}-{tag}",
            url=f"https://news.example/{name}-{tag}",
            outlet="Российская газета",
            title=f"Публикация {name}",
            type="online",
            published_on=day + timedelta(days=days),
            audience_reach=reach,
            event_ids=[held],
            recorded_at=on(day, days),
        )

    full_download = download(partial=False, hours=9)
    unknown = CloudEvent(
        id=str(uuid.uuid4()),
        source="/etnik/elsewhere",
        type=UNKNOWN_TYPE,
        time=on(day),
        data={"anything": tag},
    )
    publish(
        platform,
        [
            (
                EventCreated(
                    event_id=held,
                    title="Стратегическая онлайн-сессия по округу",
                    starts_at=on(day, 5, 11),
                    ends_at=on(day, 5, 14),
                    status="registration_open",
                    **base,
                ),
                on(day),
            ),
            (
                EventCreated(
                    event_id=upcoming,
                    title="Стажировка лидеров НКО",
                    starts_at=on(day, 20),
                    ends_at=on(day, 21),
                    status="registration_open",
                    **base,
                ),
                on(day),
            ),
            (RegistrationConfirmed(**r1, registered_at=on(day)), on(day)),
            (RegistrationConfirmed(**r2, registered_at=on(day)), on(day)),
            # The cancel overtakes its create.
            (RegistrationCancelled(**r3, cancelled_at=on(day, 2)), on(day, 2)),
            (RegistrationConfirmed(**r3, registered_at=on(day)), on(day)),
            (RegistrationConfirmed(**r4, registered_at=on(day, 1)), on(day, 1)),
            (unknown.model_dump_json().encode(), on(day)),
            (RegistrationWaitlisted(**r5, registered_at=on(day, 1)), on(day, 1)),
            (
                EventChanged(
                    event_id=held,
                    title="Стратегическая онлайн-сессия по округу",
                    starts_at=on(day, 6, 11),
                    ends_at=on(day, 6, 14),
                    status="completed",
                    changes=["starts_at", "ends_at", "status"],
                    **base,
                ),
                on(day, 7),
            ),
            (
                AttendanceRecorded(
                    registration_id=r1["registration_id"],
                    event_id=held,
                    person_id=people["p1"],
                    attended=True,
                    method="online",
                    minutes_attended=170,
                    recorded_at=on(day, 6, 15),
                ),
                on(day, 6),
            ),
            (PersonErased(person_id=people["p2"], erased_at=on(day, 8)), on(day, 8)),
            (NotificationSent(message_id=f"m1-{tag}", trigger_event_id="t", sent_at=on(day, 1),
                              **message), on(day, 1)),
            (NotificationFailed(message_id=f"m2-{tag}", trigger_event_id="t", reason="timeout",
                                failed_at=on(day, 1), **message), on(day, 1)),
            (NotificationSent(message_id=f"m2-{tag}", trigger_event_id="t", sent_at=on(day, 2),
                              **message), on(day, 2)),
            (NotificationFailed(message_id=f"m3-{tag}", trigger_event_id="t", reason="550",
                                failed_at=on(day, 2), **{**message, "kind": "invitation"}),
             on(day, 2)),
            # A demo event and its registration stay out of the Fund's report.
            (EventCreated(event_id=demo_event, title="Демо", starts_at=on(day, 4),
                          ends_at=on(day, 4, 12), status="completed", demo=True,
                          **{**base, "track": f"demo-{tag}", "federal_district": f"demo-{tag}"}),
             on(day)),
            (RegistrationConfirmed(**{**reg("r6", demo_event, "p4", "media", "41"),
                                      "federal_district": f"demo-{tag}"},
                                   registered_at=on(day)), on(day)),
            # Content: one material published in two versions, downloads (one only a range),
            # a strategy in two versions, media mentions inside and outside the period.
            (MaterialPublished(**material, version=1, published_at=on(day, 2)), on(day, 2)),
            (MaterialPublished(**material, version=2, published_at=on(day, 9)), on(day, 9)),
            (full_download, on(day, 3)),
            (download(partial=True, hours=10), on(day, 3)),
            (StrategyUpdated(strategy_id=f"s-{tag}", organisation_id=f"org-{tag}", version=2,
                             sections=["goals"], updated_at=on(day, 5)), on(day, 5)),
            (StrategyUpdated(strategy_id=f"s-{tag}", organisation_id=f"org-{tag}", version=1,
                             sections=["goals"], updated_at=on(day, 4)), on(day, 4)),
            (mention("late", 40, 5000), on(day, 40)),
            (mention("tv", 3, 120000), on(day, 3)),
            (mention("blog", 4, None), on(day, 4)),
        ],
    )  # fmt: skip
    return Scenario(day, track, district, (held, upcoming), people)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(gateway: httpx.Client, token: str, path: str, **params: Any) -> Any:
    response = gateway.get(f"/api/reporting{path}", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def by_event(gateway: httpx.Client, token: str, scenario: Scenario) -> dict[str, Any]:
    rows = get(gateway, token, "/dashboard/breakdown", by="event", track=scenario.track)["rows"]
    return {row["key"]: row for row in rows}


def settled(gateway: httpx.Client, token: str, scenario: Scenario) -> dict[str, Any]:
    """Wait until the live consumer has applied the whole scenario."""

    def applied() -> dict[str, Any] | None:
        report = get(gateway, token, "/reports/grant", **scenario.period)
        results = report["results"]
        done = (
            results["attendance"]["registrations"] == 5
            and results["attendance"]["attended"] == 1
            and results["events_held"] == 1
            and results["notifications"] == {"sent": 2, "failed": 1}
            and len(results["publications"]) == 2
            and results["strategies_prepared"] == 1
            and results["materials"]["downloads"] == 1
        )
        return report if done else None

    report: dict[str, Any] = wait_until(applied, timeout=60, what="the scenario to be projected")
    return report


def test_the_live_projections_are_right_despite_the_order_of_arrival(
    gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    settled(gateway, operator_token, scenario)
    held, upcoming = scenario.events
    rows = by_event(gateway, operator_token, scenario)
    assert rows[held] == {
        "key": held,
        "participants": 2,
        "registrations": 3,
        "confirmed": 2,
        "waitlisted": 0,
        "cancelled": 1,  # its cancel came before its confirmation
        "attended": 1,
        "no_shows": 1,  # confirmed for a held event, never seen there
    }
    assert (rows[upcoming]["confirmed"], rows[upcoming]["waitlisted"]) == (1, 1)
    assert rows[upcoming]["no_shows"] == 0  # not held yet


def test_messages_are_counted_by_outcome_and_kind_on_the_day_of_the_outcome(
    gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    settled(gateway, operator_token, scenario)
    stats = get(gateway, operator_token, "/stats/notifications", **scenario.period)
    # m2 failed once, then was delivered: it counts as sent.
    assert stats == {
        "sent": 2,
        "failed": 1,
        "by_kind": {
            "registration_confirmed": {"sent": 2, "failed": 0},
            "invitation": {"sent": 0, "failed": 1},
        },
    }
    the_day_before = (scenario.day - timedelta(days=1)).isoformat()
    earlier = get(
        gateway, operator_token, "/stats/notifications", start=the_day_before, end=the_day_before
    )
    assert earlier == {"sent": 0, "failed": 0, "by_kind": {}}


def test_an_unknown_event_type_is_counted_and_skipped(
    platform: Stack, gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    settled(gateway, operator_token, scenario)
    # Its partition (key "x") may be read a moment after the others the scenario settles on.
    wait_until(
        lambda: (
            metric(
                platform,
                "reporting",
                "etnik_events_consumed_total",
                type=UNKNOWN_TYPE,
                outcome="skipped",
            )
            >= 1
        ),
        timeout=30,
        what="the unknown event counted as skipped",
    )
    dead = read_topic(
        platform, "etnik.reporting.deadletter.v1", lambda r: UNKNOWN_TYPE.encode() in r.value, 3
    )
    assert dead == []


def test_the_dashboard_series_and_breakdowns_follow_the_filters(
    gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    settled(gateway, operator_token, scenario)
    day = scenario.day
    series = get(
        gateway,
        operator_token,
        "/dashboard/registrations-per-day",
        start=day.isoformat(),
        end=(day + timedelta(days=2)).isoformat(),
        district=scenario.district,
    )["series"]
    assert [(row["day"], row["registrations"], row["cancelled"]) for row in series] == [
        (day.isoformat(), 3, 1),
        ((day + timedelta(days=1)).isoformat(), 2, 0),
        ((day + timedelta(days=2)).isoformat(), 0, 0),
    ]
    held = scenario.events[0]
    by_category = get(
        gateway, operator_token, "/dashboard/breakdown", by="category", event_id=held
    )["rows"]
    assert {row["key"]: row["participants"] for row in by_category} == {
        "ngo_leader": 1,
        "expert": 1,
        "ngo_activist": 0,  # cancelled: registered, but not a participant
    }
    by_district = get(
        gateway, operator_token, "/dashboard/breakdown", by="district", district=scenario.district
    )["rows"]
    assert [(row["key"], row["registrations"]) for row in by_district] == [(scenario.district, 5)]
    first_day_only = get(
        gateway,
        operator_token,
        "/dashboard/breakdown",
        by="track",
        district=scenario.district,
        start=day.isoformat(),
        end=day.isoformat(),
    )["rows"]
    assert [(row["key"], row["registrations"]) for row in first_day_only] == [(scenario.track, 3)]


def test_a_period_that_ends_before_it_starts_is_refused(
    gateway: httpx.Client, operator_token: str
) -> None:
    backwards = {"start": "2026-03-10", "end": "2026-03-01"}
    for path in ("/dashboard/registrations-per-day", "/dashboard/breakdown", "/reports/grant"):
        response = gateway.get(
            f"/api/reporting{path}", params=backwards, headers=auth(operator_token)
        )
        assert response.status_code == 422, path
        [error] = response.json()["errors"]
        assert "ends (2026-03-01) before it starts (2026-03-10)" in error["reason"]
    frozen_before = len(get(gateway, operator_token, "/reports/frozen"))
    refused = gateway.post(
        "/api/reporting/reports/frozen", json=backwards, headers=auth(operator_token)
    )
    assert refused.status_code == 422
    assert "before it starts" in refused.json()["errors"][0]["reason"]
    assert len(get(gateway, operator_token, "/reports/frozen")) == frozen_before


def test_the_dashboard_needs_an_operator_or_a_moderator(gateway: httpx.Client) -> None:
    for path in ("/dashboard/breakdown", "/reports/grant?start=2026-01-01&end=2026-01-31"):
        assert gateway.get(f"/api/reporting{path}").status_code == 401
    assert gateway.post("/api/reporting/rebuild").status_code == 401


def test_moderators_read_reports_and_only_operators_change_them(
    gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    moderator = staff_token(gateway, operator_token, "moderator")
    checker = staff_token(gateway, operator_token, "check_in")
    assert get(gateway, moderator, "/reports/grant", **scenario.period)["period"]["start"]
    assert get(gateway, moderator, "/dashboard/breakdown", by="district")["by"] == "district"
    refused = [
        gateway.put("/api/reporting/reports/grant/qualitative",
                    json={**scenario.period, "text": "x"}, headers=auth(moderator)),
        gateway.post("/api/reporting/reports/frozen", json=scenario.period,
                     headers=auth(moderator)),
        gateway.post("/api/reporting/rebuild", headers=auth(moderator)),
        gateway.get("/api/reporting/reports/grant", params=scenario.period,
                    headers=auth(checker)),
    ]  # fmt: skip
    assert [response.status_code for response in refused] == [403, 403, 403, 403]


def test_the_grant_report_and_its_files(
    gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    text = "Сформировано сообщество руководителей этнокультурных НКО."
    saved = gateway.put(
        "/api/reporting/reports/grant/qualitative",
        json={**scenario.period, "text": text},
        headers=auth(operator_token),
    )
    assert saved.status_code == 200, saved.text
    report = settled(gateway, operator_token, scenario)
    results = report["results"]
    assert results["events_planned"] == 2
    assert results["participants"] == 2  # p1 twice, p2 erased but still counted
    assert results["participants_by_category"] == {"expert": 1, "ngo_leader": 1}
    assert results["participants_by_region"] == {"41": 1, "77": 1}
    assert results["participants_by_district"] == {scenario.district: 2}
    assert results["attendance"] == {
        "registrations": 5,
        "confirmed": 3,
        "waitlisted": 1,
        "cancelled": 1,
        "attended": 1,
        "no_shows": 1,
    }
    [held] = [row for row in report["events"] if row["held"]]
    assert held["planned_starts_at"].startswith((scenario.day + timedelta(days=5)).isoformat())
    assert held["actual_starts_at"].startswith((scenario.day + timedelta(days=6)).isoformat())
    assert report["qualitative"] == text
    assert [m["track"] for m in report["milestones"]] == [scenario.track]
    assert all("Демо" not in row["title"] for row in report["events"])
    materials = results["materials"]
    assert (materials["published"], materials["downloads"], materials["unique_readers"]) == (
        1,
        1,
        1,
    )
    assert materials["published_by_kind"] == {"methodological_collection": 1}
    assert [m["published_at"][:10] for m in materials["titles"]] == [
        (scenario.day + timedelta(days=2)).isoformat()
    ]
    assert [(p["title"], p["audience_reach"]) for p in results["publications"]] == [
        ("Публикация tv", 120000),
        ("Публикация blog", None),
    ]
    assert results["publications"][0]["url"].startswith("https://news.example/tv-")
    assert results["media_reach"] == 120000
    assert results["strategies_prepared"] == 1

    def download(kind: str) -> httpx.Response:
        response = gateway.get(
            "/api/reporting/reports/grant/export",
            params={**scenario.period, "format": kind},
            headers=auth(operator_token),
        )
        assert response.status_code == 200, response.text
        return response

    rows = list(csv.DictReader(io.StringIO(download("csv").content.decode("utf-8-sig"))))
    values = {(r["section"], r["row"], r["column"]): r["value"] for r in rows}
    assert values[("results", "Не явились", "Значение")] == "1"
    assert values[("qualitative", "Текст", "Текст")] == text
    workbook = load_workbook(io.BytesIO(download("xlsx").content))
    sheet = workbook["Участники по категориям"]
    assert sorted(sheet.iter_rows(min_row=2, values_only=True)) == [
        ("Руководитель НКО", 1),
        ("Эксперт", 1),
    ]
    pdf = download("pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    extracted = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Количественные результаты" in extracted
    assert "Публикации в СМИ" in extracted
    assert "Российская газета" in extracted
    assert values[("results", "Суммарный охват публикаций", "Значение")] == "120000"
    assert "руководителей этнокультурных НКО" in extracted


def test_a_frozen_report_keeps_its_offsets_and_reads_back_unchanged(
    platform: Stack, gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    settled(gateway, operator_token, scenario)
    key = uuid.uuid4().hex
    response = gateway.post(
        "/api/reporting/reports/frozen",
        json=scenario.period,
        headers={**auth(operator_token), "Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text
    frozen = response.json()
    again = gateway.post(
        "/api/reporting/reports/frozen",
        json=scenario.period,
        headers={**auth(operator_token), "Idempotency-Key": key},
    )
    assert again.json()["id"] == frozen["id"]  # a retry does not freeze a second one
    topics = {offset["topic"] for offset in frozen["offsets"]}
    assert "etnik.registration.registrations.v1" in topics
    assert frozen["report"]["results"]["attendance"]["registrations"] == 5

    # Later events change the live report, not the frozen one.
    gateway.put(
        "/api/reporting/reports/grant/qualitative",
        json={**scenario.period, "text": "изменено после заморозки"},
        headers=auth(operator_token),
    )
    assert get(gateway, operator_token, f"/reports/frozen/{frozen['id']}") == frozen
    assert frozen["id"] in [row["id"] for row in get(gateway, operator_token, "/reports/frozen")]

    [record] = wait_until(
        lambda: read_topic(platform, REPORTS_TOPIC, lambda r: r.key == frozen["id"].encode(), 5),
        timeout=30,
        what="the ReportFrozen event",
    )
    announced = json.loads(record.value)
    assert announced["type"] == "ru.etnik.report.frozen"
    assert announced["data"]["digest"] == frozen["digest"]
    assert announced["data"]["offsets"] == frozen["offsets"]
    xlsx = gateway.get(
        f"/api/reporting/reports/frozen/{frozen['id']}/export",
        params={"format": "xlsx"},
        headers=auth(operator_token),
    )
    assert xlsx.status_code == 200
    missing = gateway.get("/api/reporting/reports/frozen/nope", headers=auth(operator_token))
    assert missing.status_code == 404


def test_a_frozen_report_is_reproduced_exactly_from_its_offsets(
    platform: Stack, gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    settled(gateway, operator_token, scenario)
    frozen = gateway.post(
        "/api/reporting/reports/frozen", json=scenario.period, headers=auth(operator_token)
    ).json()
    assert frozen["report"]["results"]["materials"]["published"] == 1
    # A material published in the period after freezing: the live report moves on...
    late = MaterialPublished(
        material_id=f"late-{uuid.uuid4().hex[:6]}", kind="presentation", title="Позже",
        access="public", language="ru", version=1, published_at=on(scenario.day, 12),
    )  # fmt: skip
    publish(platform, [(late, on(scenario.day, 12))])
    wait_until(
        lambda: (
            get(gateway, operator_token, "/reports/grant", **scenario.period)["results"][
                "materials"
            ]["published"]
            == 2
        ),
        timeout=30,
        what="the late material in the live report",
    )
    # ...while replaying to the frozen offsets gives the frozen report, digest and all.
    reproduced = gateway.post(
        f"/api/reporting/reports/frozen/{frozen['id']}/reproduce", headers=auth(operator_token)
    )
    assert reproduced.status_code == 200, reproduced.text
    assert reproduced.json() == {
        "id": frozen["id"],
        "digest": frozen["digest"],
        "reproduced_digest": frozen["digest"],
        "identical": True,
        "differences": [],
    }
    unknown = gateway.post(
        "/api/reporting/reports/frozen/nope/reproduce", headers=auth(operator_token)
    )
    assert unknown.status_code == 404


def test_lag_and_freshness_are_on_the_metrics(
    platform: Stack, gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    settled(gateway, operator_token, scenario)
    topic = "etnik.registration.registrations.v1"
    wait_until(
        lambda: (
            metric(
                platform, "reporting", "etnik_reporting_projection_last_applied_age_seconds",
                topic=topic,
            ) > 0
        ),
        timeout=30,
        what="the freshness gauge",
    )  # fmt: skip
    wait_until(
        lambda: (
            metric(platform, "reporting", "etnik_reporting_projection_lag_messages", topic=topic)
            == 0
        ),
        timeout=30,
        what="the lag to reach zero",
    )
    text = httpx.get(f"{platform.service_url('reporting')}/metrics", timeout=5).text
    assert f'etnik_reporting_projection_lag_messages{{partition="0",topic="{topic}"}}' in text


def test_a_rebuild_gives_the_same_numbers_as_the_live_projections(
    gateway: httpx.Client, operator_token: str, scenario: Scenario
) -> None:
    before_report = settled(gateway, operator_token, scenario)
    before_events = get(gateway, operator_token, "/dashboard/breakdown", by="event")["rows"]
    before_stats = get(gateway, operator_token, "/stats/registrations")
    generation = get(gateway, operator_token, "/rebuild")["active_generation"]

    started = gateway.post("/api/reporting/rebuild", headers=auth(operator_token))
    assert started.status_code == 202, started.text
    assert started.json()["generation"] == generation + 1
    busy = gateway.post("/api/reporting/rebuild", headers=auth(operator_token))
    assert busy.status_code == 409

    def finished() -> dict[str, Any] | None:
        state = get(gateway, operator_token, "/rebuild")
        return state if state["rebuild"]["status"] == "completed" else None

    state = wait_until(finished, timeout=120, what="the rebuild to complete")
    assert state["active_generation"] == generation + 1
    assert all(p["consumed"] == p["end"] for p in state["rebuild"]["partitions"])
    assert state["rebuild"]["applied"] > 0

    assert get(gateway, operator_token, "/reports/grant", **scenario.period) == before_report
    assert get(gateway, operator_token, "/dashboard/breakdown", by="event")["rows"] == (
        before_events
    )
    assert get(gateway, operator_token, "/stats/registrations") == before_stats
