"""Video views, hand-counted: two published videos and their views around March, one
delivered twice (the unit tests count them; the integration tests store them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from etnik.common.contracts.content import MaterialPublished, MaterialViewed
from etnik.common.events import CloudEvent
from etnik.reporting import domain

T0 = datetime(2026, 3, 12, 11, tzinfo=UTC)
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))

FILM = "Методический видеоролик «ЭтНик»"
RECORDING = "Запись онлайн-сессии ПФО"


def _published(material_id: str, title: str, kind: str = "video") -> CloudEvent:
    event = MaterialPublished(
        material_id=material_id,
        version=3,
        kind=kind,
        title=title,
        access="public",
        language="ru",
        published_at=T0 - timedelta(days=20),
    )
    return CloudEvent.wrap(event, source="/etnik/test", time=T0 - timedelta(days=20))


def _viewed(material_id: str, viewer: str, at: datetime, title: str = "") -> CloudEvent:
    event = MaterialViewed(
        material_id=material_id,
        version=3,
        kind="video",
        title=title or "Старое название",
        viewer=viewer,
        viewer_kind="anonymous" if viewer.startswith("anon") else "participant",
        viewed_at=at,
    )
    return CloudEvent.wrap(event, source="/etnik/test", time=at)


# Hand-counted for March:
#   film: v1 twice (two windows), v2 once, anon-a once  -> 4 views, 3 unique viewers;
#         v3 on 1 April is not March's, v1 on 28 February neither.
#   recording: v2 once -> 1 view, 1 unique viewer; its title comes from its publication.
#   A repeated delivery of one event (the same CloudEvent id) counts once.
#   In all: 5 views by 3 unique viewers (v1, v2, anon-a).
FIRST_VIEW = _viewed("film", "v1", T0)
HISTORY = [
    _published("film", FILM),
    _published("rec", RECORDING, kind="session_recording"),
    FIRST_VIEW,
    FIRST_VIEW,
    _viewed("film", "v1", T0 + timedelta(hours=2)),
    _viewed("film", "v2", T0 + timedelta(days=3)),
    _viewed("film", "anon-a", datetime(2026, 3, 31, 23, 59, tzinfo=UTC)),
    _viewed("film", "v3", datetime(2026, 4, 1, 0, 0, tzinfo=UTC)),
    _viewed("film", "v1", datetime(2026, 2, 28, 23, 59, tzinfo=UTC)),
    _viewed("rec", "v2", T0 + timedelta(days=1), title=RECORDING),
]
