"""The generator behind event ids (:func:`shared.events.envelope.new_event_id`) and
trace ids (:mod:`shared.tracing`): a ``random.Random`` of this module's own, seeded
from ``os.urandom`` when the module is imported and again in every forked child.

Not the ``random`` module's global generator: anything in the process that seeds that
one (hypothesis does, for every example; a library's test helper might) would make the
ids repeat, and a consumer's inbox (``consumer, source, event_id``) would then drop
every event after the first as a duplicate. Not ``os.urandom`` per id either: one system
call per id cost a consumer that emits an event per record a few per cent of its time.

The ids are unique, not secrets: a Mersenne Twister's state can be recovered from a few
hundred of its outputs, and event and trace ids travel in Kafka headers. Nothing relies
on them being unguessable (the inbox key includes the event's source, and only our
services publish to internal topics).
"""

from __future__ import annotations

import os
import random

_RNG = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_RNG.seed)  # a child never repeats its parent's ids

getrandbits = _RNG.getrandbits
"""``getrandbits(k)``: ``k`` random bits from this module's generator."""
