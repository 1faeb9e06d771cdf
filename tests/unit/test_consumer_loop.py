"""The batch consumer loop with an in-memory unit of work: dead letters, duplicates,
retries, poison isolation and stopped partitions. (Real delivery, offsets and crashes
are proven in tests/integration.)"""

import json
from collections.abc import Sequence
from typing import Any

import pytest

from shared.events.customers import CustomerUpserted
from shared.events.envelope import Envelope, event_types
from shared.messaging.consumer import ConsumerLoop, PartitionStalled
from shared.messaging.poison import is_poison
from shared.rejections import EventRejected
from tests.support.fakes import FakeRecord, FakeStore, FakeUnitOfWork


def upsert_record(
    offset: int, event_id: str, number: str = "C-1", value: bytes | None = None, partition: int = 0
) -> FakeRecord:
    body = (
        value
        if value is not None
        else json.dumps({"customer_number": number, "customer": {"customer_type": "person"}}).encode()
    )
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_type", CustomerUpserted.EVENT_TYPE.encode()),
        ("ce_source", b"crm"),
    ]
    return FakeRecord("upserts", partition, offset, number.encode(), body, headers)


async def record_effects(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
    uow.pending_effects.extend(e.data.customer_number for e in events)


class FakeControl:
    """Records which partitions the loop stopped, as the Kafka consumer would."""

    def __init__(self) -> None:
        self.stalls: list[tuple[int, int]] = []

    def stall(self, topic: str, partition: int, offset: int, delay: float) -> bool:
        self.stalls.append((partition, offset))
        return True


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_: float) -> None:
        return None

    monkeypatch.setattr("shared.messaging.consumer.asyncio.sleep", instant)


def make_loop(store: FakeStore, handler: Any = record_effects, consumer: str = "customers:upserts") -> ConsumerLoop:
    return ConsumerLoop(
        topic="upserts",
        consumer=consumer,
        types=event_types(CustomerUpserted),
        handler=handler,
        uow_factory=lambda: FakeUnitOfWork(store),  # type: ignore[arg-type,return-value]
        attempts=4,
    )


async def test_bad_record_is_dead_lettered_and_the_rest_of_the_batch_is_handled() -> None:
    store = FakeStore()
    loop = make_loop(store)
    await loop.process(
        [upsert_record(0, "a", "C-1"), upsert_record(1, "b", value=b"nope"), upsert_record(2, "c", "C-2")]
    )
    assert store.effects == ["C-1", "C-2"]
    assert store.dead_letters == {("upserts", 0, 1): "bad-json"}
    assert (loop.stats.records, loop.stats.handled, loop.stats.dead_lettered) == (3, 2, 1)


async def test_duplicates_within_a_batch_and_across_batches_have_one_effect() -> None:
    store = FakeStore()
    loop = make_loop(store)
    await loop.process([upsert_record(0, "a", "C-1"), upsert_record(1, "a", "C-1")])
    await loop.process([upsert_record(0, "a", "C-1"), upsert_record(1, "a", "C-1")])  # redelivery
    assert store.effects == ["C-1"]
    assert loop.stats.duplicates == 3


async def test_two_consumers_of_one_service_each_handle_the_same_event_once() -> None:
    store = FakeStore()
    first, second = make_loop(store, consumer="invoicing:a"), make_loop(store, consumer="invoicing:b")
    await first.process([upsert_record(0, "same-id", "C-1")])
    await second.process([upsert_record(0, "same-id", "C-1")])
    await second.process([upsert_record(0, "same-id", "C-1")])
    assert store.effects == ["C-1", "C-1"]
    assert store.inbox == {("invoicing:a", "crm", "same-id"), ("invoicing:b", "crm", "same-id")}


async def test_redelivered_dead_letter_is_stored_once() -> None:
    store = FakeStore()
    loop = make_loop(store)
    bad = upsert_record(5, "x", value=b"{")
    await loop.process([bad])
    await loop.process([bad])
    assert len(store.dead_letters) == 1
    assert loop.stats.dead_lettered == 1


async def test_failed_commit_is_retried_and_nothing_is_skipped() -> None:
    store = FakeStore(fail_next_commits=3)
    loop = make_loop(store)
    await loop.process([upsert_record(0, "a", "C-1")], FakeControl())
    assert store.effects == ["C-1"]
    assert loop.stats.retries == 3
    assert loop.stats.stalled == {}


async def test_a_rejected_record_is_dead_lettered_alone_unclaimed_and_the_rest_handled() -> None:
    async def refuse_c2(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        if any(e.data.customer_number == "C-2" for e in events):
            raise EventRejected("unknown-vat-rate", "line 1: no VAT rate 24 % on 2026-01-01")
        uow.pending_effects.extend(e.data.customer_number for e in events)

    store = FakeStore()
    loop = make_loop(store, refuse_c2)
    records = [upsert_record(0, "a", "C-1"), upsert_record(1, "b", "C-2"), upsert_record(2, "c", "C-3")]
    await loop.process(records, FakeControl())
    assert store.effects == ["C-1", "C-3"]
    assert store.dead_letters == {("upserts", 0, 1): "unknown-vat-rate"}
    assert ("customers:upserts", "crm", "b") not in store.inbox  # a replay of it is handled
    assert (loop.stats.records, loop.stats.handled, loop.stats.dead_lettered) == (3, 2, 1)


@pytest.mark.parametrize(
    "bug",
    [AttributeError("'NoneType' object has no attribute 'x'"), KeyError("k"), TypeError("t"), ValueError("v")],
)
async def test_a_handler_bug_stops_the_partition_and_dead_letters_nothing(bug: Exception) -> None:
    async def buggy(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        raise bug

    store, control = FakeStore(), FakeControl()
    loop = make_loop(store, buggy)
    await loop.process([upsert_record(7, "a", "C-1"), upsert_record(8, "b", "C-2")], control)
    assert store.dead_letters == {}
    assert store.inbox == set()
    assert control.stalls == [(0, 7)]  # rewound to its first unhandled record
    assert set(loop.stats.stalled) == {0}
    assert loop.stats.stalled[0].error == type(bug).__name__


async def test_only_the_failing_partition_stops_the_others_flow() -> None:
    async def fails_on_partition_1(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        if any(e.data.customer_number.startswith("P1") for e in events):
            raise RuntimeError("a bug that only this partition's data reaches")
        uow.pending_effects.extend(e.data.customer_number for e in events)

    store, control = FakeStore(), FakeControl()
    loop = make_loop(store, fails_on_partition_1)
    batch = [
        upsert_record(0, "a", "P0-a", partition=0),
        upsert_record(10, "b", "P1-a", partition=1),
        upsert_record(1, "c", "P0-b", partition=0),
        upsert_record(11, "d", "P1-b", partition=1),
        upsert_record(5, "e", "P2-a", partition=2),
    ]
    await loop.process(batch, control)
    assert sorted(store.effects) == ["P0-a", "P0-b", "P2-a"]
    assert control.stalls == [(1, 10)]
    assert set(loop.stats.stalled) == {1}


async def test_a_stopped_partition_resumes_where_it_stopped_once_the_cause_is_fixed() -> None:
    broken = True

    async def until_fixed(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        if broken:
            raise AttributeError("missing migration")
        uow.pending_effects.extend(e.data.customer_number for e in events)

    store, control = FakeStore(), FakeControl()
    loop = make_loop(store, until_fixed)
    batch = [upsert_record(0, "a", "C-1"), upsert_record(1, "b", "C-2")]
    await loop.process(batch, control)
    await loop.process(batch, control)  # redelivered after the pause: still broken
    assert loop.stats.stalled[0].attempts == 2
    broken = False
    await loop.process(batch, control)
    assert store.effects == ["C-1", "C-2"]
    assert loop.stats.stalled == {}


async def test_without_partition_control_a_stopped_batch_is_handed_back_whole() -> None:
    async def database_away(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        raise ConnectionResetError("server closed the connection")

    store = FakeStore()
    loop = make_loop(store, database_away)
    with pytest.raises(PartitionStalled):
        await loop.process([upsert_record(0, "a", "C-1")], None)
    assert store.dead_letters == {}
    assert store.inbox == set()


async def test_a_rejection_after_a_stall_point_keeps_earlier_records_handled() -> None:
    async def mixed(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        numbers = [e.data.customer_number for e in events]
        if "C-2" in numbers:
            raise EventRejected("bad", "refused")
        if "C-3" in numbers:
            raise OSError("disk")
        uow.pending_effects.extend(numbers)

    store, control = FakeStore(), FakeControl()
    loop = make_loop(store, mixed)
    await loop.process(
        [upsert_record(0, "a", "C-1"), upsert_record(1, "b", "C-2"), upsert_record(2, "c", "C-3")], control
    )
    assert store.effects == ["C-1"]
    assert store.dead_letters == {("upserts", 0, 1): "bad"}
    assert control.stalls == [(0, 2)]


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "poison"),
    [
        ("22021", True),  # character not in repertoire (a NUL in text)
        ("22003", True),  # numeric value out of range
        ("23505", True),  # unique violation
        ("42703", False),  # undefined column: a missing migration, not the record's fault
        ("42P01", False),  # undefined table
        ("08006", False),  # connection failure
        ("40001", False),  # serialization failure
        ("40P01", False),  # deadlock
        ("57P01", False),  # admin shutdown (database restarting)
        ("53300", False),  # too many connections
    ],
)
def test_database_errors_are_classified_by_sqlstate_class(sqlstate: str, poison: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    wrapped = DBAPIError("INSERT ...", {}, _PgError(sqlstate))
    assert is_poison(wrapped) is poison


def test_only_explicit_rejections_and_data_errors_are_poison() -> None:
    assert is_poison(EventRejected("x", "y"))
    for not_the_records_fault in (
        ValueError("bad"),
        KeyError("missing"),
        AttributeError("a"),
        TypeError("t"),
        LookupError("l"),
        ConnectionRefusedError(),
        TimeoutError(),
        RuntimeError("unknown"),
    ):
        assert not is_poison(not_the_records_fault), not_the_records_fault


async def test_a_partition_moved_to_another_member_is_no_longer_reported_stalled() -> None:
    async def buggy(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        raise AttributeError("bug")

    store, control = FakeStore(), FakeControl()
    loop = make_loop(store, buggy)
    await loop.process([upsert_record(0, "a", "C-1", partition=2)], control)
    assert set(loop.stats.stalled) == {2}
    loop.forget_stalls(keep={0, 1})  # a rebalance gave partition 2 to another member
    assert loop.stats.stalled == {}


class _Consumer:
    """Just enough of an aiokafka consumer for the partition control."""

    def __init__(self, revoked: bool = False) -> None:
        self.revoked = revoked
        self.paused: list[Any] = []
        self.seeks: list[tuple[Any, int]] = []

    def assignment(self) -> set[Any]:
        from aiokafka import TopicPartition

        return set() if self.revoked else {TopicPartition("upserts", 0)}

    def seek(self, tp: Any, offset: int) -> None:
        if self.revoked:
            raise RuntimeError("IllegalStateError: no current assignment for partition")
        self.seeks.append((tp, offset))

    def pause(self, tp: Any) -> None:
        self.paused.append(tp)

    def resume(self, tp: Any) -> None:
        self.paused.remove(tp)


async def test_the_kafka_control_rewinds_pauses_and_keeps_one_resume_timer_per_partition() -> None:
    from shared.messaging.consumer import KafkaPartitionControl

    consumer = _Consumer()
    control = KafkaPartitionControl().bind(consumer)
    assert control.stall("upserts", 0, 7, delay=60)
    assert control.stall("upserts", 0, 7, delay=60)
    assert [offset for _, offset in consumer.seeks] == [7, 7]
    assert len(control._timers) == 1  # the newer stall replaced the older timer
    for timer in control._timers.values():
        timer.cancel()


async def test_the_kafka_control_leaves_a_revoked_partition_to_its_new_owner() -> None:
    from shared.messaging.consumer import KafkaPartitionControl

    control = KafkaPartitionControl().bind(_Consumer(revoked=True))
    assert control.stall("upserts", 0, 7, delay=60)  # nothing to pause here; not an error
    assert control._timers == {}


async def test_a_database_outage_stops_every_partition_of_the_batch_at_once() -> None:
    attempts: list[int] = []

    async def database_away(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        attempts.append(len(events))
        raise ConnectionRefusedError("connection refused")

    store, control = FakeStore(), FakeControl()
    loop = make_loop(store, database_away)
    batch = [upsert_record(3, "a", "P0", partition=0), upsert_record(9, "b", "P1", partition=1)]
    await loop.process(batch, control)
    assert sorted(control.stalls) == [(0, 3), (1, 9)]
    assert attempts == [2, 2, 2, 2]  # the batch's attempts only: no partition tried alone


@pytest.mark.parametrize(
    ("exc", "outage"),
    [
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (AttributeError("bug"), False),
        (EventRejected("x", "y"), False),
    ],
)
def test_outages_are_told_from_bugs(exc: Exception, outage: bool) -> None:
    from shared.messaging.poison import is_outage

    assert is_outage(exc) is outage


@pytest.mark.parametrize(
    ("sqlstate", "outage"),
    [("08006", True), ("57P01", True), ("53300", True), ("57014", False), ("40001", False), ("42703", False)],
)
def test_database_outages_are_told_by_sqlstate(sqlstate: str, outage: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    from shared.messaging.poison import is_outage

    assert is_outage(DBAPIError("SELECT 1", {}, _PgError(sqlstate))) is outage
