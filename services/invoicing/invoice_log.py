"""Reading ``invoicing.invoices.v1`` back: the numbers it holds (the start-up check, from
the tail) and the issued documents (``billing invoicing reconcile``, the whole topic).

Both read committed records only (the outbox relay publishes in transactions), with a
consumer of no group: nothing is committed, no group offset moves.

The tail: each partition is read backwards from its end (the last stable offset) in
windows of ``numbering_check_window`` records, and stops as soon as it has seen an
issued document of every series (numbers of a series grow with the offset in a
partition: the series row is locked from allocation to commit, and the relay publishes
in outbox order), or at the floor: the first offset published after ``since`` (the
newest invoice in the database, minus a margin). An invoice the database lacks was
published after that, so a start reads minutes of the log, not all of it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.invoicing.domain.numbering import SERIES_PREFIX, highest_numbers
from shared.events import topics
from shared.events.envelope import Envelope, InvalidEvent, decode, event_types, header_map
from shared.events.invoicing import CorrectiveInvoiceIssued, InvoiceIssued, PaymentRecorded, PaymentReversed
from shared.messaging.connection import aiokafka_kwargs
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

ISSUED_TYPES = frozenset({InvoiceIssued.EVENT_TYPE, CorrectiveInvoiceIssued.EVENT_TYPE})
REBUILT = event_types(InvoiceIssued, CorrectiveInvoiceIssued, PaymentRecorded, PaymentReversed)
"""What reconcile rebuilds from (the topic's other events are skipped)."""
FETCH_RECORDS = 500


def invoices_topic(settings: ServiceSettings) -> str:
    return settings.kafka_topic_prefix + topics.INVOICES.name


def issued_number(record: ConsumerRecord[bytes, bytes]) -> int | None:
    """The invoice number an issued document carries; None for the topic's other events
    (payments, settlements) and for a record that does not parse."""
    if header_map(record.headers).get("ce_type") not in ISSUED_TYPES or record.value is None:
        return None
    try:
        return int(json.loads(record.value)["invoice"]["invoice_number"])
    except (ValueError, KeyError, TypeError):
        log.warning("invoices topic: an issued-invoice record at offset %d has no number", record.offset)
        return None


@dataclass
class _Reader:
    consumer: AIOKafkaConsumer
    deadline: float

    async def read(self, tp: TopicPartition, start: int, end: int) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
        """The committed records of ``tp`` in ``[start, end)`` (``end`` at most the LSO)."""
        self.consumer.assign([tp])
        self.consumer.seek(tp, start)
        while await self.consumer.position(tp) < end:
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"reading {tp.topic}[{tp.partition}] took too long")
            batch = await self.consumer.getmany(tp, timeout_ms=500, max_records=FETCH_RECORDS)
            for record in batch.get(tp, []):
                if record.offset < end:
                    yield record


async def _open(settings: ServiceSettings, timeout_s: float) -> tuple[_Reader, list[TopicPartition]]:
    consumer = AIOKafkaConsumer(
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="none",
        **aiokafka_kwargs(settings),
    )
    await consumer.start()
    try:
        topic = invoices_topic(settings)
        await consumer._client.force_metadata_update()
        numbers = consumer.partitions_for_topic(topic) or set()
        return _Reader(consumer, time.monotonic() + timeout_s), [TopicPartition(topic, p) for p in sorted(numbers)]
    except BaseException:
        await consumer.stop()
        raise


async def tail_highest(
    settings: ServiceSettings, *, since: datetime | None, window: int, timeout_s: float
) -> tuple[dict[str, int], int]:
    """The highest number of each series on the topic, from its tail (see the module
    doc); and how many records were read. ``since`` None: no floor (an empty database)."""
    reader, parts = await _open(settings, timeout_s)
    read = 0
    highest: dict[str, int] = {}
    try:
        if not parts:
            return {}, 0
        consumer = reader.consumer
        begin = await consumer.beginning_offsets(parts)
        end = await consumer.end_offsets(parts)  # read_committed: the last stable offsets
        floor = dict(begin)
        if since is not None:
            found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in parts})
            for tp in parts:
                at = found.get(tp)
                floor[tp] = end[tp] if at is None else max(begin[tp], at.offset)
        for tp in parts:
            seen: set[str] = set()
            high = end[tp]
            while high > floor[tp] and len(seen) < len(SERIES_PREFIX):
                low = max(floor[tp], high - window)
                numbers = []
                async for record in reader.read(tp, low, high):
                    read += 1
                    number = issued_number(record)
                    if number is not None:
                        numbers.append(number)
                found_here = highest_numbers(numbers)
                seen.update(found_here)
                _merge(highest, found_here.items())
                high = low
    finally:
        await reader.consumer.stop()
    return highest, read


def _merge(into: dict[str, int], items: Iterable[tuple[str, int]]) -> None:
    for series, number in items:
        if number > into.get(series, 0):
            into[series] = number


async def read_all(
    settings: ServiceSettings, *, timeout_s: float, on_event_id: Callable[[str], None] | None = None
) -> AsyncIterator[Envelope[Any]]:
    """Every issued document and recorded payment on the topic, committed ones only,
    partition by partition in offset order (a record that does not parse is skipped
    with a warning). ``on_event_id`` is called with the ``ce_id`` of every record read."""
    reader, parts = await _open(settings, timeout_s)
    try:
        if not parts:
            return
        begin = await reader.consumer.beginning_offsets(parts)
        end = await reader.consumer.end_offsets(parts)
        for tp in parts:
            async for record in reader.read(tp, begin[tp], end[tp]):
                headers = header_map(record.headers)
                if on_event_id is not None and "ce_id" in headers:
                    on_event_id(headers["ce_id"])
                if headers.get("ce_type") not in REBUILT:
                    continue
                try:
                    yield decode(record, REBUILT)
                except InvalidEvent as exc:
                    log.warning("invoices topic: record %d:%d skipped (%s)", tp.partition, record.offset, exc.code)
    finally:
        await reader.consumer.stop()
