"""After a restore, what the invoicing service consumed after the backup is not on the
invoice log: its consumer groups are rewound to the backup's time (what
``kafka-consumer-groups --reset-offsets --to-datetime`` does) and the inbox, the request
ids and the payment ids make the second reading safe (README "Backup and restore").

Requests R1, R2 arrive and are invoiced (1, 2) -> backup -> R3, R4 arrive, R3 is invoiced
(3), invoice 1 is paid -> restore, reconcile (rebuilds invoice 3 and the payment), the
groups rewound to a minute before the backup (reconcile also drops the backup's outbox
row of an event the log has already) -> the service starts: R1, R2 come again
and change nothing, R3 is stored invoiced on the rebuilt invoice 3, R4 is ready, the
payment is not taken twice -> a run over R3 and R4 bills R4 alone, as number 4.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.invoicing.app import SPEC
from services.invoicing.consumers import PAYMENTS_GROUP, REQUESTS_GROUP
from shared.db.migrations import upgrade
from shared.events import topics
from tests.integration.test_invoicing_flow import run
from tests.integration.test_invoicing_restore import (
    FIRST,
    db_numbers,
    pg_tool,
    published_numbers,
    reconcile,
    restore,
    service,
)
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, read_topic, wait_for
from tests.support.sales import Inbound, payment, profile, request

pytestmark = pytest.mark.integration


def _is_number(number: int) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
    def match(record: ConsumerRecord[bytes, bytes]) -> bool:
        body = json.loads(record.value or b"{}")
        return str(body.get("invoice", {}).get("invoice_number")) == str(number)

    return match


async def rewind(sandbox: Sandbox, group: str, topic: str, to: datetime) -> None:
    """Commit, for the (stopped) group, the first offset of each partition at or after
    ``to`` (its end when nothing is that new): ``--reset-offsets --to-datetime --execute``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=sandbox.bootstrap, group_id=sandbox.group(group), enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        name = sandbox.topic(topic)
        parts = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        assert parts, name
        consumer.assign(parts)
        found = await consumer.offsets_for_times({tp: int(to.timestamp() * 1000) for tp in parts})
        end = await consumer.end_offsets(parts)
        await consumer.commit({tp: found[tp].offset if found[tp] else end[tp] for tp in parts})
    finally:
        await consumer.stop()


async def test_consumers_rewound_to_the_backup_take_again_only_what_the_restore_lost(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    dump = tmp_path / "invoicing.dump"
    r = [request(f"R{i}", f"C-{i}") for i in range(1, 5)]
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        async with service(sandbox) as (_, api):
            await inbound.profiles(*(profile(f"C-{i}") for i in range(1, 5)))
            await inbound.requests(r[0], r[1])
            await wait_for(lambda: sandbox.has("SELECT count(*) FROM billing_requests", 2))
            await wait_for(lambda: sandbox.has("SELECT count(*) FROM billing_profiles", 4))
            await run(api, kind="subscription", mode="confirm", request_ids=["R1", "R2"])
            assert await published_numbers(sandbox, 2) == [FIRST, FIRST + 1]
            backup_at = datetime.now(UTC)
            await pg_tool("pg_dump", "-Fc", "-f", str(dump), "-d", sandbox.plain_db_url)

            await inbound.requests(r[2], r[3])
            await wait_for(lambda: sandbox.has("SELECT count(*) FROM billing_requests", 4))
            await run(api, kind="subscription", mode="confirm", request_ids=["R3"])
            await inbound.payment(payment("P-1", "10000000016", "33.00"))  # invoice 1 000 000 001, paid in full
            await wait_for(lambda: sandbox.has("SELECT count(*) FROM payments WHERE status = 'matched'", 1))
            assert await published_numbers(sandbox, 3) == [FIRST, FIRST + 1, FIRST + 2]

        await restore(sandbox, dump)
        # a backup taken before the relay had published invoice 2 still holds its outbox row
        [second] = await read_topic(
            sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=1, settle=0.2, where=_is_number(FIRST + 1)
        )
        await sandbox.fetch(
            "INSERT INTO outbox (topic, key, value, headers) VALUES ($1, $2, $3, CAST($4 AS jsonb))",
            second.topic,
            (second.key or b"").decode(),
            second.value,
            json.dumps([[k, v.decode()] for k, v in second.headers]),
        )
        out = await reconcile(sandbox)
        assert "1 rebuilt" in out and "payments: 1 rebuilt" in out, out
        assert "outbox: 1 row(s) already on the log removed" in out
        assert await sandbox.scalar("SELECT count(*) FROM outbox") == 0
        for group, topic in ((REQUESTS_GROUP, topics.BILLING_REQUESTS), (PAYMENTS_GROUP, topics.REFERENCE_PAYMENTS)):
            await rewind(sandbox, group, topic.name, backup_at - timedelta(minutes=1))

        async with service(sandbox) as (runtime, api):
            await wait_for(lambda: sandbox.has("SELECT count(*) FROM billing_requests", 4))
            third = await sandbox.scalar("SELECT id FROM invoices WHERE number = $1", FIRST + 2)
            await wait_for(
                lambda: sandbox.has(
                    "SELECT count(*) FROM billing_requests WHERE request_id = 'R3' AND status = 'invoiced' "
                    f"AND invoice_id = {int(third)}",
                    1,
                )
            )
            assert (await api.get("/readyz/all")).status_code == 200
            # the intake metric counts each rewound request once: R3 as already invoiced, not as stored too
            intake = {
                outcome: runtime.metrics.registry.get_sample_value(
                    "billing_invoicing_requests_total", {"outcome": outcome}
                )
                for outcome in ("stored", "stored-cancelled", "already-invoiced")
            }
            assert intake == {"stored": 1.0, "stored-cancelled": 0.0, "already-invoiced": 1.0}
            again = await run(api, kind="subscription", mode="confirm", request_ids=["R3", "R4"])
            assert again["summary"]["invoices"] == 1
            assert await db_numbers(sandbox) == [FIRST, FIRST + 1, FIRST + 2, FIRST + 3]
            assert await published_numbers(sandbox, 4) == [FIRST, FIRST + 1, FIRST + 2, FIRST + 3]
            # the rewound payment met its rebuilt copy: taken once, invoice 1 paid once
            assert await sandbox.fetch("SELECT payment_id, status FROM payments") == [("P-1", "matched")]
            paid = await sandbox.fetch("SELECT paid, payment_status FROM invoices WHERE number = $1", FIRST)
            assert [tuple(x) for x in paid] == [(33, "paid")]
    statuses = await sandbox.fetch("SELECT request_id, status FROM billing_requests ORDER BY 1")
    assert [tuple(x) for x in statuses] == [(f"R{i}", "invoiced") for i in range(1, 5)]
