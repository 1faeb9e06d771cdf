"""The batch consumer loop with an in-memory unit of work: dead letters, duplicates,
retries. (Real delivery, offsets and crashes are proven in tests/integration.)"""

import json
from collections.abc import Sequence
from typing import Any

import pytest

from shared.events.customers import CustomerUpserted
from shared.events.envelope import Envelope
from shared.messaging.consumer import ConsumerStats, process_batch
from tests.support.fakes import FakeRecord, FakeStore, FakeUnitOfWork


def upsert_record(offset: int, event_id: str, number: str = "C-1", value: bytes | None = None) -> FakeRecord:
    body = (
        value
        if value is not None
        else json.dumps({"customer_number": number, "customer": {"customer_type": "person"}}).encode()
    )
    headers = [("ce_id", event_id.encode()), ("ce_type", CustomerUpserted.EVENT_TYPE.encode()), ("ce_source", b"crm")]
    return FakeRecord("upserts", 0, offset, number.encode(), body, headers)


async def record_effects(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
    uow.pending_effects.extend(e.data.customer_number for e in events)


async def run(store: FakeStore, records: list[FakeRecord], stats: ConsumerStats, **kw: Any) -> None:
    await process_batch(
        records,
        topic="upserts",
        event_cls=CustomerUpserted,
        handler=record_effects,
        uow_factory=lambda: FakeUnitOfWork(store),  # type: ignore[arg-type,return-value]
        stats=stats,
        **kw,
    )


async def test_bad_record_is_dead_lettered_and_the_rest_of_the_batch_is_handled() -> None:
    store, stats = FakeStore(), ConsumerStats("upserts")
    await run(
        store, [upsert_record(0, "a", "C-1"), upsert_record(1, "b", value=b"nope"), upsert_record(2, "c", "C-2")], stats
    )
    assert store.effects == ["C-1", "C-2"]
    assert store.dead_letters == {("upserts", 0, 1): "bad-json"}
    assert (stats.records, stats.handled, stats.dead_lettered) == (3, 2, 1)


async def test_duplicates_within_a_batch_and_across_batches_have_one_effect() -> None:
    store, stats = FakeStore(), ConsumerStats("upserts")
    await run(store, [upsert_record(0, "a", "C-1"), upsert_record(1, "a", "C-1")], stats)
    await run(store, [upsert_record(0, "a", "C-1"), upsert_record(1, "a", "C-1")], stats)  # redelivery
    assert store.effects == ["C-1"]
    assert stats.duplicates == 3


async def test_redelivered_dead_letter_is_stored_once() -> None:
    store, stats = FakeStore(), ConsumerStats("upserts")
    bad = upsert_record(5, "x", value=b"{")
    await run(store, [bad], stats)
    await run(store, [bad], stats)
    assert len(store.dead_letters) == 1
    assert stats.dead_lettered == 1


async def test_failed_commit_is_retried_and_nothing_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("shared.messaging.consumer.asyncio.sleep", no_sleep)
    store, stats = FakeStore(fail_next_commits=3), ConsumerStats("upserts")
    await run(store, [upsert_record(0, "a", "C-1")], stats)
    assert store.effects == ["C-1"]
    assert stats.retries == 3


async def test_after_max_attempts_the_error_propagates_so_the_batch_is_redelivered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("shared.messaging.consumer.asyncio.sleep", no_sleep)
    store, stats = FakeStore(fail_next_commits=10), ConsumerStats("upserts")
    with pytest.raises(ConnectionRefusedError):
        await run(store, [upsert_record(0, "a", "C-1")], stats, max_attempts=4)
    assert store.effects == []
    assert store.inbox == set()


async def test_poison_record_is_dead_lettered_alone_and_the_rest_of_the_batch_is_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("shared.messaging.consumer.asyncio.sleep", no_sleep)

    async def choke_on_c2(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        if any(e.data.customer_number == "C-2" for e in events):
            raise ValueError("the handler cannot use this record")
        uow.pending_effects.extend(e.data.customer_number for e in events)

    store, stats = FakeStore(), ConsumerStats("upserts")
    records = [upsert_record(0, "a", "C-1"), upsert_record(1, "b", "C-2"), upsert_record(2, "c", "C-3")]
    await process_batch(
        records,
        topic="upserts",
        event_cls=CustomerUpserted,
        handler=choke_on_c2,
        uow_factory=lambda: FakeUnitOfWork(store),  # type: ignore[arg-type,return-value]
        stats=stats,
    )
    assert store.effects == ["C-1", "C-3"]
    assert store.dead_letters == {("upserts", 0, 1): "handler-error"}
    assert ("crm", "b") in store.inbox  # a redelivery of the poison record is skipped
    assert (stats.records, stats.handled, stats.dead_lettered) == (3, 2, 1)


async def test_a_transient_failure_is_never_turned_into_a_dead_letter(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr("shared.messaging.consumer.asyncio.sleep", no_sleep)

    async def database_away(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        raise ConnectionResetError("server closed the connection")

    store, stats = FakeStore(), ConsumerStats("upserts")
    with pytest.raises(ConnectionResetError):
        await process_batch(
            [upsert_record(0, "a", "C-1")],
            topic="upserts",
            event_cls=CustomerUpserted,
            handler=database_away,
            uow_factory=lambda: FakeUnitOfWork(store),  # type: ignore[arg-type,return-value]
            stats=stats,
        )
    assert store.dead_letters == {}
    assert store.inbox == set()


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "poison"),
    [
        ("22021", True),  # character not in repertoire (a NUL in text)
        ("23505", True),  # unique violation
        ("42703", True),  # undefined column
        ("08006", False),  # connection failure
        ("40001", False),  # serialization failure
        ("40P01", False),  # deadlock
        ("57P01", False),  # admin shutdown (database restarting)
        ("53300", False),  # too many connections
    ],
)
def test_database_errors_are_classified_by_sqlstate_class(sqlstate: str, poison: bool) -> None:
    from sqlalchemy.exc import DBAPIError

    from shared.messaging.consumer import is_poison

    wrapped = DBAPIError("INSERT ...", {}, _PgError(sqlstate))
    assert is_poison(wrapped) is poison


def test_python_errors_from_the_data_are_poison_and_network_errors_are_not() -> None:
    from shared.messaging.consumer import is_poison

    assert is_poison(ValueError("bad"))
    assert is_poison(KeyError("missing"))
    assert not is_poison(ConnectionRefusedError())
    assert not is_poison(TimeoutError())
    assert not is_poison(RuntimeError("unknown: retried, never skipped"))
