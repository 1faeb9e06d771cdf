"""FastStream broker with safe defaults for business topics, broker-wide.

FastStream's own defaults lose or skip records on business topics: ``ACK_FIRST``
commits the offset before the handler ran (at most once), ``ACK`` and
``REJECT_ON_ERROR`` commit it even when the handler failed, ``auto_offset_reset``
is ``latest`` (a new group skips what was published before it started) and
``read_uncommitted`` would show records of an aborted outbox-relay transaction (a
fenced leader's stale copy). :class:`SafeKafkaBroker` makes the safe choice the
default for *every* subscriber, including one added later with a plain
``@broker.subscriber(...)``, and refuses the unsafe ones:

- ``ack_policy``: ``NACK_ON_ERROR`` (commit after the handler returned; rewind every
  partition of the batch on an error; requires ``faststream>=0.7.8``) or ``MANUAL``;
- ``auto_offset_reset="earliest"``, ``isolation_level="read_committed"``;
- a ``group_id`` (without one there is no committed offset to resume from).

The producer side: ``acks="all"`` and idempotence.
"""

from __future__ import annotations

import logging
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared.messaging import offset_fetch
from shared.messaging.connection import bootstrap_servers, faststream_security
from shared.settings import ServiceSettings

# aiokafka 0.14 takes a group-level OffsetFetch error for "no committed offset"
# (a reset to auto_offset_reset); every consumer of ours goes through this module.
offset_fetch.install()

SAFE_ACK_POLICIES = frozenset({AckPolicy.NACK_ON_ERROR, AckPolicy.MANUAL})


class UnsafeSubscriber(ValueError):
    """A subscriber asked for a policy that can lose or skip business records."""


class SafeKafkaBroker(KafkaBroker):
    def subscriber(self, *topics: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("auto_offset_reset", "earliest")
        kwargs.setdefault("isolation_level", "read_committed")
        policy = kwargs.setdefault("ack_policy", AckPolicy.NACK_ON_ERROR)
        where = ", ".join(str(t) for t in topics) or kwargs.get("pattern", "?")
        if policy not in SAFE_ACK_POLICIES:
            raise UnsafeSubscriber(f"{where}: ack_policy {policy} can lose records; use NACK_ON_ERROR or MANUAL")
        if kwargs["auto_offset_reset"] != "earliest":
            raise UnsafeSubscriber(f"{where}: auto_offset_reset must be 'earliest' (a new group reads from the start)")
        if kwargs["isolation_level"] != "read_committed":
            raise UnsafeSubscriber(f"{where}: isolation_level must be 'read_committed' (the relay is transactional)")
        if not kwargs.get("group_id") and not kwargs.get("partitions"):
            raise UnsafeSubscriber(f"{where}: a group_id is required (committed offsets to resume from)")
        return super().subscriber(*topics, **kwargs)


def make_broker(settings: ServiceSettings) -> SafeKafkaBroker:
    return SafeKafkaBroker(
        bootstrap_servers(settings),
        acks="all",
        enable_idempotence=True,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        security=faststream_security(settings),
        client_id=settings.service_name,
        graceful_timeout=30.0,
        logger=logging.getLogger(f"{settings.service_name}.broker"),
        log_level=logging.DEBUG,
    )
