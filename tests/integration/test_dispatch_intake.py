"""Dispatch's intake of issued documents on real Kafka and PostgreSQL (issue 20: one
array statement per batch): each document stored once per channel however often its
event comes, in arrival order, queued at once for an automatic channel and waiting for
the clerk's send otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import documents as d
from tests.support.dispatch import dispatch_stack, publish
from tests.support.isolation import Sandbox
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration


async def test_documents_stored_once_in_arrival_order_queued_only_on_automatic_channels(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # one customer (one partition, so one order), four invoices on alternating channels
    by_mail = d.customer("C-900", d.PERSON)
    by_print = d.customer("C-900", d.PERSON.model_copy(update={"delivery_channel": "print"}))
    docs = [d.invoice(1000000901 + i, who=by_mail if i % 2 == 0 else by_print) for i in range(4)]
    async with dispatch_stack(sandbox, tmp_path, auto_send=frozenset({"email"})) as stack:
        await publish(sandbox, docs)
        await stack.wait_arrived(len(docs))
        await publish(sandbox, docs)  # the same invoices again (another event id each)
        await publish(sandbox, [*docs[:1], d.invoice(1000000999, who=by_print)])  # and a marker after them
        await stack.wait_arrived(len(docs) + 1)

        async def marker_last() -> bool:
            rows = await sandbox.fetch("SELECT number FROM documents ORDER BY seq DESC LIMIT 1")
            return bool(rows) and rows[0][0] == "1000000999"

        await wait_for(marker_last, timeout=60)
    rows = await sandbox.fetch("SELECT number, channel, state, queued_at IS NOT NULL FROM documents ORDER BY seq")
    assert [tuple(r) for r in rows] == [
        ("1000000901", "email", "queued", True),
        ("1000000902", "print", "waiting", False),
        ("1000000903", "email", "queued", True),
        ("1000000904", "print", "waiting", False),
        ("1000000999", "print", "waiting", False),
    ]
