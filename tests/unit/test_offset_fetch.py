"""The aiokafka OffsetFetch fix (shared/messaging/offset_fetch.py): a group-level error
with no topics, as Kafka 4.1 answered on the three-broker cluster right after a broker
returned, is asked again instead of being read as "no committed offset".

aiokafka's own GroupCoordinator methods run here on a stand-in coordinator whose client
returns the recorded answers (the wire format's response classes), so the test runs the
library's retry loop and offset parsing, not a copy of them."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.commit import OffsetFetchResponse_v3

import shared.messaging.broker  # noqa: F401  (installs the fix, as every service does)
from shared.messaging import offset_fetch

NOT_COORDINATOR = 16
LOADING = 14
TP = TopicPartition("billing.requests.v1", 0)


class Client:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.sent = 0

    async def send(self, node_id: int, request: Any, group: Any = None) -> Any:
        self.sent += 1
        return self.answers.pop(0)


class Coordinator:
    """What GroupCoordinator's offset-fetch path reads of ``self``."""

    def __init__(self, answers: list[Any]) -> None:
        self.group_id = "dispatch-email"
        self.coordinator_id: int | None = 2
        self._client = Client(answers)
        self._retry_backoff_ms = 1
        self.dead = 0

    def coordinator_dead(self, error: Any = None) -> None:
        self.dead += 1

    async def ensure_coordinator_known(self) -> None:
        self.coordinator_id = 3

    _send_req = GroupCoordinator._send_req
    _do_fetch_commit_offsets = GroupCoordinator._do_fetch_commit_offsets
    fetch_committed_offsets = GroupCoordinator.fetch_committed_offsets


def group_level(code: int) -> OffsetFetchResponse_v3:
    return OffsetFetchResponse_v3(0, [], code)


def committed(offset: int) -> OffsetFetchResponse_v3:
    return OffsetFetchResponse_v3(0, [(TP.topic, [(TP.partition, offset, "", 0)])], 0)


@pytest.mark.parametrize("code", [NOT_COORDINATOR, LOADING])
async def test_a_group_level_error_is_asked_again_not_taken_for_no_offset(code: int) -> None:
    before = sum(offset_fetch.retried.values())
    coordinator = Coordinator([group_level(code), committed(4711)])
    offsets = await coordinator.fetch_committed_offsets([TP])
    assert offsets[TP].offset == 4711
    assert coordinator._client.sent == 2
    assert sum(offset_fetch.retried.values()) == before + 1


async def test_not_coordinator_marks_the_coordinator_dead_so_it_is_looked_up_again() -> None:
    coordinator = Coordinator([group_level(NOT_COORDINATOR)])
    with pytest.raises(kafka_errors.NotCoordinatorForGroupError):
        await coordinator._do_fetch_commit_offsets([TP])
    assert coordinator.dead == 1


async def test_a_group_that_committed_nothing_still_reads_as_no_offset() -> None:
    answer = OffsetFetchResponse_v3(0, [(TP.topic, [(TP.partition, -1, "", 0)])], 0)
    assert await Coordinator([answer])._do_fetch_commit_offsets([TP]) == {}


async def test_an_authorization_error_for_the_group_is_raised_not_retried() -> None:
    coordinator = Coordinator([group_level(30), committed(1)])  # GROUP_AUTHORIZATION_FAILED
    with pytest.raises(kafka_errors.GroupAuthorizationFailedError):
        await coordinator.fetch_committed_offsets([TP])
    assert coordinator._client.sent == 1


def test_installing_twice_wraps_once() -> None:
    wrapped = GroupCoordinator._send_req
    offset_fetch.install()
    assert GroupCoordinator._send_req is wrapped
