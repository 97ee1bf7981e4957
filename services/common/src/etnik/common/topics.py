"""The platform's Kafka topics and their retention: the one definition every deployment uses.

Services create and correct their topics from it (`etnik.common.kafka.ensure_topics`, under
the local stack and compose); `scripts/generate_specs.py` writes it for the Helm chart
(`deploy/helm/etnik/files/topics.yaml`), whose KafkaTopic resources read it, and a test fails
when the two disagree. Topic names and keys come from the event contracts; what is defined
here is only how long each topic keeps what it carries.

Personal data on topics (names, e-mail addresses) is only ever keyed by the person it
belongs to, on compacted topics: a person's erasure appends an erasure record under the same
key, and compaction removes every earlier record of that key within `max.compaction.lag.ms`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from etnik.common import contracts  # importing it registers every contract
from etnik.common.contracts import content, notification, registration, reporting
from etnik.common.events import EVENT_TYPES

log = logging.getLogger(__name__)

# The services that own a dead-letter topic each.
SERVICES = ("registration", "notification", "content", "reporting")

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

# Retention profiles, by the name the Helm chart's values use. Kafka reads every value as text.
PROFILES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        # State topics, one record per key kept for ever: a new consumer (or a rebuild of
        # reporting) reads the current state of everything. An erased person's record is
        # replaced by the erasure record under the same key, and compaction removes the old
        # one within max.compaction.lag.ms (segments roll daily so that it can).
        "compacted": MappingProxyType(
            {
                "cleanup.policy": "compact",
                "min.compaction.lag.ms": str(HOUR_MS),
                "max.compaction.lag.ms": str(7 * DAY_MS),
                "segment.ms": str(DAY_MS),
                "delete.retention.ms": str(DAY_MS),
            }
        ),
        # Streams of facts (ids and categories, no contacts): kept long enough to rebuild
        # reporting for a programme year (400 days).
        "history": MappingProxyType(
            {"cleanup.policy": "delete", "retention.ms": str(400 * DAY_MS)}
        ),
        # Invitations carry a signed registration link, valid 30 days: kept just past that.
        # A person's invitation names no address (notification knows it); an organisation's
        # carries the organisation's contact address.
        "invitations": MappingProxyType(
            {
                "cleanup.policy": "delete",
                "retention.ms": str(31 * DAY_MS),
                "segment.ms": str(DAY_MS),
            }
        ),
        # One-time sign-in links and the address they go to, keyed by person: useless after a
        # day (the longest link lifetime) and secret, so deleted after it; compacted too, so
        # that a person's erasure record removes their last link and address within
        # max.compaction.lag.ms instead of waiting for the day to pass.
        "oneTimeLinks": MappingProxyType(
            {
                "cleanup.policy": "compact,delete",
                "retention.ms": str(DAY_MS),
                "segment.ms": str(HOUR_MS),
                "min.compaction.lag.ms": str(HOUR_MS),
                "max.compaction.lag.ms": str(DAY_MS),
                "delete.retention.ms": str(HOUR_MS),
            }
        ),
        # Dead letters: copies of events that failed, personal data included; two weeks to
        # look at them and replay, then gone.
        "deadLetter": MappingProxyType(
            {"cleanup.policy": "delete", "retention.ms": str(14 * DAY_MS)}
        ),
    }
)

# The profile of every topic the contracts name. Streams that reporting rebuilds and
# reproduces frozen reports from keep their whole history: compaction would keep only each
# key's latest event (an event's creation with its planned dates, a registration's
# confirmation with its date, a material's downloads would be lost).
TOPIC_PROFILES: Mapping[str, str] = MappingProxyType(
    {
        registration.EVENTS_TOPIC: "history",
        registration.PROGRAMMES_TOPIC: "compacted",
        registration.REFERENCE_TOPIC: "compacted",
        registration.PEOPLE_TOPIC: "compacted",
        registration.ORGANISATIONS_TOPIC: "compacted",
        registration.REGISTRATIONS_TOPIC: "history",
        registration.ATTENDANCE_TOPIC: "history",
        registration.CAMPAIGNS_TOPIC: "compacted",
        registration.OPERATORS_TOPIC: "history",
        registration.CERTIFICATES_TOPIC: "history",
        registration.SURVEY_REQUESTS_TOPIC: "history",
        registration.SURVEY_ANSWERS_TOPIC: "history",
        registration.INVITATIONS_TOPIC: "invitations",
        registration.SIGN_IN_LINKS_TOPIC: "oneTimeLinks",
        # Consent withdrawals (ids and times, no contacts): part of the ledger's history.
        registration.CONSENTS_TOPIC: "history",
        # Partnership snapshots that reporting folds (parties are organisations).
        registration.PARTNERSHIPS_TOPIC: "history",
        # Internship details, applications, decisions and outcomes (ids, counts, no text).
        registration.INTERNSHIPS_TOPIC: "history",
        # Roster snapshots that reporting folds (ids, roles and statuses; no names or photos).
        registration.EXPERTS_TOPIC: "history",
        notification.MESSAGES_TOPIC: "history",
        notification.RECIPIENTS_TOPIC: "compacted",
        content.MATERIALS_TOPIC: "history",
        content.STRATEGIES_TOPIC: "history",
        content.MEDIA_TOPIC: "compacted",
        # The mechanisms catalogue: few entries, whole history, so that a frozen report
        # reproduces with the titles it was built with.
        content.MECHANISMS_TOPIC: "history",
        reporting.REPORTS_TOPIC: "compacted",
    }
)

_DEAD_LETTER = re.compile(r"etnik\.[a-z_]+\.deadletter\.v\d+")


def dead_letter_topic(service: str) -> str:
    """Where a service's consumers put the messages they could not handle."""
    return f"etnik.{service}.deadletter.v1"


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its name, what its records are keyed by, its retention profile."""

    name: str
    keys: tuple[str, ...]
    profile: str
    # Dead-letter topics have one partition (nobody consumes them in parallel); the others
    # take the deployment's partition count.
    partitions: int | None = None

    @property
    def config(self) -> Mapping[str, str]:
        """The topic-level Kafka configuration of its profile."""
        return PROFILES[self.profile]

    @property
    def compacted(self) -> bool:
        """Whether Kafka compacts it (keeps the latest record per key)."""
        return "compact" in self.config["cleanup.policy"].split(",")


class UndefinedTopic(LookupError):
    """A contract names a topic that has no retention profile here."""


def contract_topics() -> dict[str, tuple[str, ...]]:
    """Every topic the platform's contracts name, with the fields its records are keyed by."""
    keys: dict[str, set[str]] = {}
    for contract in EVENT_TYPES.values():
        if contract.__module__.startswith(contracts.__name__ + "."):
            keys.setdefault(contract.topic, set()).add(contract.key_field)
    return {name: tuple(sorted(fields)) for name, fields in keys.items()}


def platform_topics(*, strict: bool = True) -> list[TopicSpec]:
    """Every topic of the platform with its profile, sorted by name.

    Strict (the generator, the tests): a contract's topic without a profile is an error. A
    running service is not strict: such a topic gets the broker's defaults (and a warning)
    rather than a service that cannot start.
    """
    keys = contract_topics()
    undefined = sorted(set(keys) - set(TOPIC_PROFILES))
    if undefined and strict:
        raise UndefinedTopic(
            f"no retention profile for {', '.join(undefined)}:"
            " add it to TOPIC_PROFILES in etnik.common.topics"
        )
    specs = [
        TopicSpec(name, keys.get(name, ()), profile) for name, profile in TOPIC_PROFILES.items()
    ]
    specs += [
        TopicSpec(dead_letter_topic(service), ("origin key",), "deadLetter", partitions=1)
        for service in SERVICES
    ]
    return sorted(specs, key=lambda spec: spec.name)


def topic_config(name: str, compacted_overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The configuration a topic must have; empty for a topic the platform does not define.

    `compacted_overrides` replaces values on compacted topics only (the test stack's short
    lags, so that compaction runs within a test).
    """
    defined = {spec.name: spec for spec in platform_topics(strict=False)}
    spec = defined.get(name)
    if spec is None:
        if not _DEAD_LETTER.fullmatch(name):
            if name in contract_topics():
                log.warning("topic %s has no retention profile: broker defaults apply", name)
            return {}
        spec = TopicSpec(name, ("origin key",), "deadLetter", partitions=1)
    config = dict(spec.config)
    if spec.compacted and compacted_overrides:
        config.update(compacted_overrides)
    return config


def helm_topics_document() -> dict[str, object]:
    """The definition as the Helm chart reads it (`files/topics.yaml`)."""
    return {
        "retention": {name: dict(config) for name, config in PROFILES.items()},
        "topics": [
            {
                "name": spec.name,
                "retention": spec.profile,
                **({"partitions": spec.partitions} if spec.partitions else {}),
            }
            for spec in platform_topics()
        ],
    }
