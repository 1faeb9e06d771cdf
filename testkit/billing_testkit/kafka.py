"""Kafka as an outside system uses it: publish CloudEvents records and read our outbound
topics (``read_committed``: the services publish in transactions)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from billing_testkit.contract import Event


@dataclass(frozen=True)
class Received:
    """One record read from our outbound topics."""

    topic: str
    partition: int
    offset: int
    key: str | None
    type: str
    id: str
    source: str
    time: str
    data: Any
    """The event data (JSON decoded)."""
    headers: dict[str, str]

    def __str__(self) -> str:
        return f"{self.type} key={self.key} ({self.topic}@{self.partition}:{self.offset})"


def publish(bootstrap: str, events: Sequence[Event], timeout_s: float = 30.0) -> None:
    """Publish ``events`` in order and wait until Kafka has acknowledged every one."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    errors: list[str] = []

    def delivered(err: KafkaError | None, msg: Any) -> None:
        if err is not None:
            errors.append(f"{msg.topic()}: {err}")

    for e in events:
        headers: list[tuple[str, str | bytes | None]] = list(e.headers())
        producer.produce(e.topic, e.value(), key=e.key.encode(), headers=headers, on_delivery=delivered)
    left = producer.flush(timeout_s)
    if left or errors:
        raise RuntimeError(f"publishing failed: {left} record(s) not acknowledged in {timeout_s:.0f} s; {errors}")


def _decode(msg: Any) -> Received:
    headers = {k: (v.decode(errors="replace") if isinstance(v, bytes) else str(v)) for k, v in msg.headers() or []}
    value = msg.value()
    try:
        data = json.loads(value) if value is not None else None
    except ValueError:
        data = value
    key = msg.key()
    return Received(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        key=key.decode(errors="replace") if key is not None else None,
        type=headers.get("ce_type", ""),
        id=headers.get("ce_id", ""),
        source=headers.get("ce_source", ""),
        time=headers.get("ce_time", ""),
        data=data,
        headers=headers,
    )


class OutboundLog:
    """Every record of ``topics`` from the beginning, kept in memory by a background
    consumer (no group: assigned to every partition), for waits to look through."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self.topics = list(topics)
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "billing-testkit-reader",  # required by the client; nothing is committed
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
            }
        )
        self._records: list[Received] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._error: str | None = None
        metadata = self._consumer.list_topics(timeout=30)
        parts = [
            TopicPartition(t, p, OFFSET_BEGINNING)
            for t in self.topics
            if t in metadata.topics
            for p in metadata.topics[t].partitions
        ]
        missing = [t for t in self.topics if t not in metadata.topics]
        if missing:
            self._consumer.close()
            raise RuntimeError(f"outbound topics missing (is the system up?): {missing}")
        self._consumer.assign(parts)
        self._thread = threading.Thread(target=self._run, name="billing-testkit-outbound", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = self._consumer.consume(num_messages=500, timeout=0.2)
            except Exception as exc:  # the client closed under us
                self._error = f"{type(exc).__name__}: {exc}"
                return
            fresh = []
            for msg in batch:
                err = msg.error()
                if err is None:
                    fresh.append(_decode(msg))
                elif err.code() != KafkaError._PARTITION_EOF:
                    self._error = str(err)
            if fresh:
                with self._changed:
                    self._records.extend(fresh)
                    self._changed.notify_all()

    def records(self, *types: str) -> list[Received]:
        with self._changed:
            return [r for r in self._records if not types or r.type in types]

    def wait(self, find: Callable[[list[Received]], Any], timeout_s: float) -> Any:
        """Call ``find`` on all records so far, and again on each change, until it
        returns something other than None (returned) or ``timeout_s`` passes (None)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                found = find(list(self._records))
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(min(left, 0.5))

    @property
    def error(self) -> str | None:
        return self._error

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self._consumer.close()
