"""Settings read from the environment, shared by every service."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The notification service's client secret outside production when none is set (registration
# and notification agree on it), so that a development stack works without setup.
DEVELOPMENT_NOTIFICATION_CLIENT_SECRET = "etnik-development-notification-client-secret"  # noqa: S105
MIN_CLIENT_SECRET_LENGTH = 32


def notification_client_secret(configured: SecretStr | None, *, production: bool) -> str:
    """The configured NOTIFICATION_CLIENT_SECRET; outside production a development value."""
    if configured is not None:
        return configured.get_secret_value()
    if production:
        raise ValueError("in production NOTIFICATION_CLIENT_SECRET must be set")
    return DEVELOPMENT_NOTIFICATION_CLIENT_SECRET


def check_client_secret(configured: SecretStr | None, *, production: bool) -> None:
    """Refuse a missing secret in production and a short one anywhere."""
    if configured is None:
        if production:
            raise ValueError("in production NOTIFICATION_CLIENT_SECRET must be set")
        return
    if len(configured.get_secret_value()) < MIN_CLIENT_SECRET_LENGTH:
        raise ValueError(
            f"NOTIFICATION_CLIENT_SECRET must have at least {MIN_CLIENT_SECRET_LENGTH} characters"
        )


# Compacted topics in tests: a segment rolls a second after its first record, and the cleaner
# may compact it at once and must within a second, so that a test sees an erasure record
# replace what came before it (the broker's cleaner must also look often: etnik.devstack).
TEST_COMPACTION = {
    "segment.ms": "1000",
    "min.compaction.lag.ms": "0",
    "max.compaction.lag.ms": "1000",
    "min.cleanable.dirty.ratio": "0.01",
    "delete.retention.ms": "1000",
}


class Environment(StrEnum):
    """Where a process runs; development alone may fall back to convenient defaults."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Settings every service needs; services subclass it for their own."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    service_name: str = "etnik"
    log_level: str = "INFO"

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    # Whether a service brings the topics it uses to the configuration etnik.common.topics
    # defines (retention, compaction), existing ones included. Off where something else owns
    # the topics' configuration (the Helm chart: Strimzi's Topic Operator).
    kafka_manage_topic_configs: bool = True
    # Settings that replace the defined ones on compacted topics, e.g. {"segment.ms": "1000"}.
    # Unset, ENVIRONMENT=test uses TEST_COMPACTION (so that every process of a test run agrees,
    # and compaction runs within a test); other environments use the definition as it is.
    kafka_compacted_topic_overrides: dict[str, str] = Field(default_factory=dict)
    # How long a request waits for Kafka before it relies on the outbox relay instead.
    kafka_publish_timeout_s: float = Field(default=3.0, gt=0)
    # How long the producer gathers events before a request to Kafka, so that concurrent
    # requests' events share one produce request. Off by default: its gain was not shown
    # apart from the machine's noise, and a run of the suite with 5 ms hung once in a burst
    # (aiokafka 0.14 reworked lingering); measure before turning it on.
    kafka_linger_ms: int = Field(default=0, ge=0, le=1000)
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_s: float = Field(default=0.2, ge=0)
    # Records a consumer takes from Kafka at once: one duplicate look-up and one write of
    # the handled marks per batch instead of per event (etnik.common.consumer). Off: with
    # Kafka's batch subscription on, the campaign benchmark stalled (2026-12-06); find why
    # before turning it on anywhere.
    consumer_batch_max: int = Field(default=1, ge=1, le=10_000)
    # Handled events are remembered this long for deduplication (redelivery comes within
    # minutes), and forgotten by a sweep this often.
    processed_events_retention_s: float = Field(default=7 * 86_400, gt=0)
    processed_events_prune_interval_s: float = Field(default=3_600, gt=0)

    mongodb_url: str = "mongodb://127.0.0.1:27017/"
    mongodb_database: str = ""
    mongodb_timeout_ms: int = Field(default=3000, ge=100)
    # Tests only: a folder where each query shape the service sends is recorded once, for the
    # check that an index serves it (etnik.common.query_log).
    mongodb_query_log: str = ""

    outbox_relay_interval_s: float = Field(default=1.0, gt=0)
    # Entries younger than this are left to the request that wrote them.
    outbox_relay_grace_s: float = Field(default=2.0, ge=0)

    registration_url: str = "http://127.0.0.1:8001"
    public_base_url: str = "http://127.0.0.1:8080"
    jwt_issuer: str = "etnik-registration"
    jwt_audience: str = "etnik"

    @property
    def database_name(self) -> str:
        """The service's own database: each service owns one and reads no other."""
        return self.mongodb_database or f"etnik_{self.service_name}"

    @property
    def compacted_topic_overrides(self) -> dict[str, str]:
        """What replaces the defined settings of compacted topics in this environment."""
        if "kafka_compacted_topic_overrides" in self.model_fields_set:
            return dict(self.kafka_compacted_topic_overrides)
        return dict(TEST_COMPACTION) if self.environment is Environment.TEST else {}

    @property
    def is_production(self) -> bool:
        """Whether development conveniences (generated keys, demo data) must stay off."""
        return self.environment is Environment.PRODUCTION

    @model_validator(mode="after")
    def _production_needs_explicit_infrastructure(self) -> Self:
        if self.is_production:
            unset = [
                name
                for name in ("kafka_bootstrap_servers", "mongodb_url", "registration_url")
                if name not in self.model_fields_set
            ]
            if unset:
                names = ", ".join(n.upper() for n in unset)
                raise ValueError(f"in production these must be set explicitly: {names}")
        return self
