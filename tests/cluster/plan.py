"""The broker faults of ``make cluster-test``, drawn from the seed alone (so a seed names
one run's faults), each tied to a step of the clerk's day (tests/bench/chaos.py ``day``):

1. ``publish``: one broker SIGKILLed a moment after the outside systems start
   publishing (the requests are being published and consumed), down 10-20 s (longer
   than the brokers' 9 s session timeout, so the controller fences it and its partitions
   get new leaders), restarted; the next fault waits until every partition has its
   three replicas in sync again;
2. ``billing-run``: another broker, the same, while the billing run issues invoices;
3. ``remind``: two brokers SIGKILLed together before the clerk creates the reminders:
   no partition has two in-sync replicas, the controller quorum is lost, every write
   waits. The reminders are written to the database and their events stay in the
   outbox. Both return after ``hold_s`` at the least (and once the services have shown
   the outage in /readyz and /metrics), then the day goes on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BROKERS = ("kafka-1", "kafka-2", "kafka-3")
STEPS = ("publish", "billing-run", "remind")


@dataclass(frozen=True)
class Fault:
    """SIGKILL ``brokers`` ``after_s`` seconds into ``step``; start them again after
    ``down_s`` seconds (two down: at the least, see the module's docstring)."""

    step: str
    brokers: tuple[str, ...]
    after_s: float
    down_s: float

    def describe(self) -> str:
        what = " and ".join(self.brokers)
        return f"{self.step}: SIGKILL {what} {self.after_s:.1f}s into the step, down {self.down_s:.0f}s"


def plan(
    seed: int,
    brokers: tuple[str, ...] = BROKERS,
    down: tuple[float, float] = (10.0, 20.0),
    hold_s: float = 30.0,
) -> list[Fault]:
    """The three faults for ``seed``: two single kills of different brokers (down
    uniform in ``down``), then two brokers at once for at least ``hold_s``."""
    if len(brokers) != 3:
        raise ValueError(f"the plan is for three brokers, not {len(brokers)}")
    rng = random.Random(seed)
    first = rng.choice(brokers)
    second = rng.choice([b for b in brokers if b != first])
    pair = tuple(sorted(rng.sample(brokers, 2)))
    return [
        Fault("publish", (first,), round(rng.uniform(1.0, 4.0), 1), round(rng.uniform(*down), 1)),
        Fault("billing-run", (second,), round(rng.uniform(0.5, 3.0), 1), round(rng.uniform(*down), 1)),
        Fault("remind", pair, 0.0, hold_s),
    ]
