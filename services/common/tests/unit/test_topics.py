"""One definition of the topics and their retention, applied by the services to the broker:
new topics are created with it, topics of an earlier version are brought to it, and on a
compacted topic an erasure record leaves no earlier copy of a person's record."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from etnik.common import topics
from etnik.common.events import EVENT_TYPES
from etnik.common.settings import TEST_COMPACTION, Environment, ServiceSettings

# Fields that hold a person's name or contact.
PERSONAL_FIELDS = {"email", "full_name", "phone"}
# Contracts that carry such a field off a person-keyed compacted topic, and why that is right.
NOT_KEYED_BY_PERSON = {
    # An organisation's contact address (its invitation); a person's invitation names none.
    # Deleted with the invitation topic after 31 days.
    "ru.etnik.invitation.issued",
}


def personal_fields(contract: type[BaseModel]) -> set[str]:
    return PERSONAL_FIELDS & set(contract.model_fields)


def test_every_topic_the_contracts_name_has_a_retention_profile() -> None:
    defined = {spec.name for spec in topics.platform_topics()}
    assert set(topics.contract_topics()) <= defined
    assert {topics.dead_letter_topic(name) for name in topics.SERVICES} <= defined
    assert {spec.profile for spec in topics.platform_topics()} <= set(topics.PROFILES)


def test_a_contract_topic_without_a_profile_is_refused_where_it_is_generated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profiles = dict(topics.TOPIC_PROFILES)
    del profiles["etnik.registration.people.v1"]
    monkeypatch.setattr(topics, "TOPIC_PROFILES", profiles)
    with pytest.raises(topics.UndefinedTopic, match=r"etnik\.registration\.people\.v1"):
        topics.platform_topics()
    # A running service is not stopped by it: the broker's defaults apply.
    assert topics.topic_config("etnik.registration.people.v1") == {}


def test_names_and_addresses_travel_only_on_person_keyed_compacted_topics_with_an_erasure() -> None:
    specs = {spec.name: spec for spec in topics.platform_topics()}
    checked = []
    for event_type, contract in EVENT_TYPES.items():
        if not contract.__module__.startswith("etnik.common.contracts.") or not personal_fields(
            contract
        ):
            continue
        if event_type in NOT_KEYED_BY_PERSON:
            continue
        spec = specs[contract.topic]
        assert spec.compacted, f"{event_type}: {contract.topic} is not compacted"
        assert contract.key_field == "person_id", f"{event_type}: not keyed by the person"
        erasures = [
            other
            for other in EVENT_TYPES.values()
            if other.topic == contract.topic
            and other.key_field == "person_id"
            and other.event_type.endswith(".erased")
            and not personal_fields(other)
        ]
        assert erasures, f"{contract.topic}: no erasure record replaces {event_type}"
        checked.append(event_type)
    assert {"ru.etnik.person.registered", "ru.etnik.sign_in_link.requested"} <= set(checked)
    # The exception is deleted with its topic, within the invitation's lifetime and a day.
    invitations = specs[EVENT_TYPES["ru.etnik.invitation.issued"].topic].config
    assert invitations["cleanup.policy"] == "delete"
    assert int(invitations["retention.ms"]) <= 31 * topics.DAY_MS


def test_compacted_topics_remove_an_erased_record_within_a_week() -> None:
    for spec in topics.platform_topics():
        if spec.compacted:
            config = spec.config
            assert int(config["max.compaction.lag.ms"]) <= 7 * topics.DAY_MS, spec.name
            # The active segment is never compacted: it must roll within the lag.
            assert int(config["segment.ms"]) <= int(config["max.compaction.lag.ms"]), spec.name


def test_overrides_change_compacted_topics_only() -> None:
    people = topics.topic_config("etnik.registration.people.v1", {"segment.ms": "1000"})
    assert people["segment.ms"] == "1000"
    assert people["cleanup.policy"] == "compact"
    history = topics.topic_config("etnik.registration.registrations.v1", {"segment.ms": "1000"})
    assert "segment.ms" not in history
    assert history == {"cleanup.policy": "delete", "retention.ms": str(400 * topics.DAY_MS)}
    links = topics.topic_config("etnik.registration.sign_in_links.v1", {"segment.ms": "1000"})
    assert links["segment.ms"] == "1000"
    assert links["retention.ms"] == str(topics.DAY_MS)
    # A dead-letter topic of any service; a topic the platform does not know: broker defaults.
    assert topics.topic_config("etnik.x.deadletter.v1")["cleanup.policy"] == "delete"
    assert topics.topic_config("etnik.unknown.things.v1") == {}


def test_the_test_environment_gets_short_compaction_and_production_the_definition() -> None:
    assert ServiceSettings(environment=Environment.TEST).compacted_topic_overrides == dict(
        TEST_COMPACTION
    )
    assert ServiceSettings(environment=Environment.DEVELOPMENT).compacted_topic_overrides == {}
    explicit = ServiceSettings(
        environment=Environment.TEST, kafka_compacted_topic_overrides={"segment.ms": "5000"}
    )
    assert explicit.compacted_topic_overrides == {"segment.ms": "5000"}
