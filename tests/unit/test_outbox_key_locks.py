"""Which advisory locks an outbox flush takes (the ordering proof is an integration
test on real PostgreSQL and Kafka: tests/integration/test_key_order.py)."""

from shared.messaging.outbox import flush_locks, key_stripe


def test_the_stripe_of_a_key_is_stable_and_within_range() -> None:
    # CRC-32 of "C-1001" is fixed by the algorithm, not by this code or the process
    import zlib

    assert key_stripe("C-1001", 4096) == zlib.crc32(b"C-1001") % 4096
    assert all(0 <= key_stripe(f"C-{i}", 64) < 64 for i in range(1000))


def test_a_small_flush_locks_each_stripe_once_in_ascending_order() -> None:
    keys = ["C-3", "C-1", "C-3", None, "C-2"]
    exclusive, stripes = flush_locks(keys, stripes=4096, max_locks=64)
    assert exclusive is False
    assert stripes == sorted({key_stripe(k, 4096) for k in ("C-1", "C-2", "C-3")})


def test_a_flush_over_many_keys_takes_one_exclusive_lock_instead() -> None:
    keys = [f"C-{i}" for i in range(50_000)]
    exclusive, stripes = flush_locks(keys, stripes=4096, max_locks=64)
    assert exclusive is True
    assert stripes == []


def test_rows_without_a_key_take_no_lock() -> None:
    assert flush_locks([None, None], stripes=4096, max_locks=64) == (False, [])
