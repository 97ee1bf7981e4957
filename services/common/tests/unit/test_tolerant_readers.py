"""A consumer validates only what it reads: the handler is found by type first, then the data
is checked against the consumer's own reader. A value or field it does not read never parks
a message on the dead-letter topic; a missing field it does read still does, named."""

from __future__ import annotations

from etnik.common.contracts.registration import RegistrationConfirmed
from etnik.common.events import EventReader


class ConfirmedRead(EventReader, of=RegistrationConfirmed):
    """All this consumer needs of a confirmation."""

    registration_id: str
    person_id: str


def test_a_reader_takes_its_type_and_topic_from_the_contract_it_reads() -> None:
    assert ConfirmedRead.event_type == RegistrationConfirmed.event_type
    assert ConfirmedRead.topic == RegistrationConfirmed.topic
    assert ConfirmedRead.contract is RegistrationConfirmed
    assert set(ConfirmedRead.model_fields) == {"registration_id", "person_id"}
