"""A fix for aiokafka 0.14: committed offsets lost to a group-level OffsetFetch error.

Since OffsetFetch v2 a broker may answer for the whole group: a top-level
``error_code`` and *no* topics. Kafka 4.x does so while the group's coordinator moves
(``NOT_COORDINATOR``: the offsets partition's leadership changed, e.g. a broker left or
returned) or loads (``COORDINATOR_LOAD_IN_PROGRESS``). aiokafka's
``GroupCoordinator._do_fetch_commit_offsets`` reads only the per-partition errors, so
it takes that answer for "this group has no committed offset": a consumer that starts
or is assigned partitions at that moment falls back to ``auto_offset_reset``: with
``earliest`` it reads the topic again from the start (the inbox drops the copies, at a
cost), with ``latest`` it would skip records. Seen on the three-broker cluster
(``make cluster-test``): ``NOT_COORDINATOR`` with an empty topic list right after a
restarted broker took its partitions' leadership back.

:func:`install` wraps the coordinator's request sending: an OffsetFetch answer with a
top-level error raises that error as aiokafka raises the per-partition ones
(``NOT_COORDINATOR`` / ``COORDINATOR_NOT_AVAILABLE`` mark the coordinator dead first),
so its own retry loop asks again (the coordinator rediscovered) instead of resetting.
Idempotent; applied when :mod:`shared.messaging.broker` is imported, before any consumer
starts. :data:`retried` counts the answers turned into retries (a test's evidence).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from aiokafka import errors as kafka_errors
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.commit import OffsetFetchRequest

log = logging.getLogger(__name__)

retried: dict[str, int] = {}
"""Error name -> group-level OffsetFetch errors retried since the process started."""

_MARK = "_billing_offset_fetch_fix"
_COORDINATOR_MOVED = (kafka_errors.NotCoordinatorForGroupError, kafka_errors.GroupCoordinatorNotAvailableError)


def group_error(response: Any) -> type[kafka_errors.KafkaError] | None:
    """The error class of an OffsetFetch answer's top-level ``error_code`` (v2+), or None."""
    code = getattr(response, "error_code", 0) or 0
    if code == 0:
        return None
    error: type[kafka_errors.KafkaError] = kafka_errors.for_code(code)
    return error


def install() -> None:
    """Wrap ``GroupCoordinator._send_req`` once (see the module's docstring)."""
    original = GroupCoordinator._send_req
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    async def _send_req(self: GroupCoordinator, request: Any) -> Any:
        response = await original(self, request)
        if isinstance(request, OffsetFetchRequest):
            error = group_error(response)
            if error is not None:
                retried[error.__name__] = retried.get(error.__name__, 0) + 1
                log.warning(
                    "OffsetFetch for group %s answered %s for the whole group: asking again",
                    self.group_id,
                    error.__name__,
                )
                if issubclass(error, _COORDINATOR_MOVED):
                    self.coordinator_dead()
                raise error()
        return response

    setattr(_send_req, _MARK, True)
    GroupCoordinator._send_req = _send_req
