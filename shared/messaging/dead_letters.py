"""Dead letters: inbound records a service could not use, kept to be fixed and replayed.

A bad record is stored once (unique by topic, partition, offset) with its code and
reason, and forwarded once to ``<topic>.dlq`` through the outbox, in the same
transaction as the rest of its batch; then the consumer moves on. The reason names the
fault (missing header, field path and error kind, the rule that refused it) and never
echoes the payload's values.

**Replay** (``POST /dead-letters/replay``, ``billing dlq replay``): once the cause is
fixed (a new release that knows the event type, a VAT table with the missing rate), the
original record (key, value, CloudEvents headers, so the same ``ce_id``) is published
again to its topic through the outbox, and the dead letter is marked replayed (when, by
whom, how many times). A dead-lettered record was never claimed in the inbox, so the
replayed copy is handled like a new one, once. If it fails again it comes back as a new
dead letter. Replaying an old *upsert* after newer ones is safe where the consumer
keeps the time of the last one it applied per key (customers does: an older upsert
changes nothing and is recorded as stale).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import InvalidEvent, header_map
from shared.events.topics import dead_letter_name
from shared.messaging.outbox import OutboxWriter
from shared.messaging.tables import MessagingTables

MAX_SHOWN_VALUE = 64 * 1024


def _text(value: str) -> str:
    """PostgreSQL text and jsonb refuse NUL: a key or header with one is still kept."""
    return value.replace("\x00", "\ufffd")


class DeadLetters:
    def __init__(self, session: AsyncSession, tables: MessagingTables, outbox: OutboxWriter) -> None:
        self._session = session
        self._table = tables.dead_letters
        self._outbox = outbox

    async def add(self, record: Any, error: InvalidEvent) -> bool:
        """Store and forward ``record``; False if this position was dead-lettered before."""
        headers = [[_text(k), _text(v)] for k, v in header_map(record.headers).items()]
        key = _text(record.key.decode(errors="replace")) if record.key is not None else None
        inserted = await self._session.scalar(
            insert(self._table)
            .values(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=key,
                value=record.value,
                headers=headers,
                error_code=error.code,
                reason=_text(error.reason),
            )
            .on_conflict_do_nothing(constraint="uq_dead_letters_position")
            .returning(self._table.c.id)
        )
        if inserted is None:
            return False
        dlq_headers = [h for h in headers if not h[0].startswith("dlq_")] + [
            ["dlq_error_code", error.code],
            ["dlq_reason", _text(error.reason)],
            ["dlq_topic", record.topic],
            ["dlq_partition", str(record.partition)],
            ["dlq_offset", str(record.offset)],
        ]
        self._outbox.add_raw(dead_letter_name(record.topic), key=key, value=record.value, headers=dlq_headers)
        return True

    def _summary_columns(self) -> list[Any]:
        t = self._table.c
        return [
            t.id,
            t.topic,
            t.partition,
            t.offset,
            t.error_code,
            t.reason,
            t.received_at,
            t.replays,
            t.replayed_at,
            t.replayed_by,
        ]

    async def list(
        self,
        limit: int = 100,
        offset: int = 0,
        *,
        topic: str | None = None,
        error_code: str | None = None,
        replayed: bool | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """Newest first, with the total that matches the filters."""
        t = self._table.c
        conditions: builtins.list[ColumnElement[bool]] = []
        if topic is not None:
            conditions.append(t.topic == topic)
        if error_code is not None:
            conditions.append(t.error_code == error_code)
        if replayed is not None:
            conditions.append(t.replays > 0 if replayed else t.replays == 0)
        total = await self._session.scalar(select(func.count()).select_from(self._table).where(*conditions))
        rows = await self._session.execute(
            select(*self._summary_columns()).where(*conditions).order_by(t.id.desc()).limit(limit).offset(offset)
        )
        return int(total or 0), [dict(r._mapping) for r in rows]

    async def get(self, dead_letter_id: int) -> dict[str, Any] | None:
        """One dead letter with its key, headers and value (as text, cut at 64 KiB)."""
        t = self._table.c
        row = (
            await self._session.execute(
                select(*self._summary_columns(), t.key, t.headers, t.value).where(t.id == dead_letter_id)
            )
        ).first()
        if row is None:
            return None
        out = dict(row._mapping)
        value: bytes | None = out.pop("value")
        out["value_bytes"] = len(value) if value is not None else 0
        out["value"] = value[:MAX_SHOWN_VALUE].decode(errors="replace") if value is not None else None
        return out

    async def replay(
        self,
        *,
        ids: Sequence[int] = (),
        topic: str | None = None,
        error_code: str | None = None,
        include_replayed: bool = False,
        actor: str,
        now: datetime | None = None,
        limit: int = 10_000,
    ) -> tuple[builtins.list[int], builtins.list[int]]:
        """Publish the chosen dead letters again to their topic (through the outbox, in
        the caller's transaction) and mark them replayed. Choose by ``ids``, or by
        ``topic``/``error_code`` for all that match. Returns (replayed ids, ids skipped
        because they were replayed before and ``include_replayed`` is off)."""
        t = self._table.c
        conditions: builtins.list[ColumnElement[bool]] = []
        if ids:
            conditions.append(t.id.in_(list(ids)))
        if topic is not None:
            conditions.append(t.topic == topic)
        if error_code is not None:
            conditions.append(t.error_code == error_code)
        if not conditions:
            raise ValueError("choose dead letters by id, topic or error code")
        rows = (
            await self._session.execute(
                select(t.id, t.topic, t.key, t.value, t.headers, t.replays)
                .where(*conditions)
                .order_by(t.id)  # received order: per-key order is kept
                .limit(limit)
                .with_for_update()
            )
        ).all()
        replayed: builtins.list[int] = []
        skipped: builtins.list[int] = []
        for row in rows:
            if row.replays > 0 and not include_replayed:
                skipped.append(row.id)
                continue
            headers = [[k, v] for k, v in row.headers if not k.startswith("dlq_")]
            self._outbox.add_raw(row.topic, key=row.key, value=row.value, headers=headers)
            replayed.append(row.id)
        if replayed:
            await self._session.execute(
                update(self._table)
                .where(t.id.in_(replayed))
                .values(replays=t.replays + 1, replayed_at=now or func.now(), replayed_by=actor)
            )
        return replayed, skipped
