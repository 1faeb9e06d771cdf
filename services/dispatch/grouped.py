"""A worker's batch delivered in groups, for a channel that makes a group durable at
once (the e-invoice drop folder: every file fsynced, then the folder once; see
:meth:`services.dispatch.channels.einvoice.EInvoiceChannel.deliver_groups`).

The channel yields each group with its outcomes once the group is on disk; the group
is then recorded in one transaction (its outcomes and their events in the outbox)
while the channel writes the next. So a document is recorded delivered only after its
file is durable, and at most two groups (one being recorded, the next being written:
the e-invoice channel's groups are half its concurrency, so at most its concurrency)
are between "written" and "recorded" when a worker dies (a channel whose
``groups_overlap`` is False, the e-invoice channel at a concurrency of 1, has each group
recorded before the next is written: one group): their documents stay
``sending`` under a lease nobody holds, and the redelivered job takes them over
(``resumed``): a file already there is not written again, only made durable.

What stops the batch, as in :class:`services.dispatch.delivery.Deliverer`'s one-by-one
path: the channel unavailable (a file that cannot be written: the documents not yet
written go back to ``queued`` and the partition waits), or an error (a render process
died, a bug: the rest go back to ``queued`` and the batch is retried). A document the
render refuses fails alone with its reason; the others go on. A group whose record
fails stops the batch the same way; its documents, and those of a group written
meanwhile, stay ``sending`` (their files are in the folder): the retry takes them over
as ``resumed`` and does not write those files again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeGuard

from services.dispatch.domain.outcomes import ChannelUnavailable, Delivered, Outcome, Staged
from services.dispatch.records import Claim
from shared.events.customers import Channel

log = logging.getLogger(__name__)

Group = list[tuple[Claim, Outcome | ChannelUnavailable]]
Record = Callable[[Group, float], Coroutine[Any, Any, None]]
"""Records a group's outcomes in one transaction (and the seconds since the group began)."""


class GroupedChannel(Protocol):
    name: Channel

    @property
    def grouped(self) -> bool: ...

    def deliver_groups(self, claims: Sequence[Claim]) -> AsyncGenerator[Group, None]: ...


def _overlap(channel: object) -> bool:
    """Whether the next group is written while one is recorded (default: yes)."""
    return bool(getattr(channel, "groups_overlap", True))


def delivers_in_groups(channel: object) -> TypeGuard[GroupedChannel]:
    return bool(getattr(channel, "grouped", False)) and hasattr(channel, "deliver_groups")


async def deliver_in_groups(
    channel: GroupedChannel, claims: Sequence[Claim], *, record: Record, sent: Callable[[], None]
) -> None:
    """Deliver ``claims`` group by group (see the module); ``sent`` is called for each
    document delivered (or staged), once its group is durable and before it is recorded."""
    done: set[str] = set()
    down: ChannelUnavailable | None = None
    crash: Exception | None = None
    recording: asyncio.Task[None] | None = None
    overlap = _overlap(channel)
    try:
        async with contextlib.aclosing(channel.deliver_groups(claims)) as groups:
            started = time.monotonic()
            async for group in groups:
                for claim, outcome in group:
                    done.add(claim.id)
                    if isinstance(outcome, Delivered | Staged):
                        sent()
                    elif isinstance(outcome, ChannelUnavailable):
                        down = down or outcome
                if recording is not None:
                    pending, recording = recording, None  # a failed record is raised once, here
                    await pending  # one group recorded at a time, in order
                recording = asyncio.create_task(record(group, time.monotonic() - started))
                if not overlap:  # recorded before the next group is written
                    pending, recording = recording, None
                    await pending
                started = time.monotonic()
                if down is not None:
                    break
    except Exception as exc:  # a render process died, a bug: the batch is retried
        crash = exc
    if recording is not None:
        await recording
    rest = [c for c in claims if c.id not in done]
    if rest:
        why = down or ChannelUnavailable("worker-error", type(crash).__name__, type(crash).__name__)
        await record([(c, why) for c in rest], 0.0)
    if crash is not None:
        log.error(
            "%s: delivering failed with %s; the partition stops until it is fixed", channel.name, type(crash).__name__
        )
        raise crash
    if down is not None:
        log.error("%s: channel unavailable (%s); the partition waits and retries", channel.name, down.code)
        raise down
