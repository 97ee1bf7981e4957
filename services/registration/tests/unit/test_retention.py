"""Retention: people with no registration for the retention period are erased by a scheduled
job that operators preview and audit, through the API on real Kafka and FerretDB.

Each test runs its own registration app on a database of its own, with the programme ended
long ago and a retention period of seconds, so that people become due within the test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from etnik.registration.retention import RetentionRule

if TYPE_CHECKING:
    pass
ADMIN_EMAIL = "retention-admin@example.org"
ADMIN_PASSWORD = "retention-admin-password-1"  # these test apps only
PERIOD_S = 4.0
# Longer than any test: the job's first pass (on an empty database) is its only one.
NEVER_S = 1e9


def test_nobody_is_due_before_the_programme_end_plus_the_period() -> None:
    rule = RetentionRule(date(2026, 12, 31), timedelta(days=3 * 365 + 1))
    assert rule.cutoff(datetime(2029, 12, 31, 23, 59, tzinfo=UTC)) is None
    # Three years after the end of the programme's last day, activity before its end is due.
    assert rule.cutoff(datetime(2030, 1, 1, 0, 0, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    moment = datetime(2031, 5, 2, 0, 0, tzinfo=UTC)
    assert rule.cutoff(moment) == moment - timedelta(days=3 * 365 + 1)
