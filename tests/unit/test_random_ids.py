"""Event ids and trace ids come from a generator of their own: seeding the global
``random`` module (hypothesis does, for every example) cannot make them repeat, and a
forked child draws other ids than its parent."""

from __future__ import annotations

import os
import random

from shared import tracing
from shared.events.envelope import new_event_id


def _draws() -> tuple[str, str, str]:
    trace = tracing.new_trace()
    return new_event_id(), trace.trace_id, trace.span_id


def test_seeding_the_global_random_module_does_not_repeat_ids() -> None:
    state = random.getstate()
    try:
        random.seed(1)
        first = _draws()
        random.seed(1)
        second = _draws()
    finally:
        random.setstate(state)
    for a, b in zip(first, second, strict=True):
        assert a != b


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids to the parent, then out
        try:
            os.close(reader)
            os.write(writer, "|".join(_draws()).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        child = tuple(pipe.read().split("|"))
    os.waitpid(pid, 0)
    parent = _draws()  # the parent's next ids: what the child would repeat without a reseed
    assert len(child) == 3
    for a, b in zip(parent, child, strict=True):
        assert a != b
