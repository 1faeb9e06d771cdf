"""The one way a handler says "this event itself is wrong": :class:`EventRejected`.

A handler raises it for an event it can never apply, whoever retries: a billing
request with a VAT rate that is not valid on its date, a re-sent request id with other
content. The consumer dead-letters that one record with the code and reason (visible
in ``/dead-letters``, replayable once the cause is fixed) and goes on with the rest.

Anything else a handler raises is *not* the event's fault (a bug, a missing migration,
the database away) and is retried; see :mod:`shared.messaging.consumer`.

Pure Python on purpose: a service's domain rules may raise it without importing any
framework.
"""

from __future__ import annotations


class EventRejected(Exception):
    """An explicit, permanent refusal of one event. ``reason`` must not hold personal
    data (it is logged, stored and sent as a Kafka header)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
