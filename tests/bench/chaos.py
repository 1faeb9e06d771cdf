"""Chaos run: the whole pipeline while a random service or worker is SIGKILLed every few
seconds, then the invariants checked, PASS/FAIL each (exit 1 on any FAIL).

    make chaos                                                   # 20,000 requests, seed 1
    uv run python -m tests.bench.chaos --requests 4000 --seed 7 --interval 3

The system (tests/support/system.py: four services, two e-mail workers, one e-invoice,
one print, the SMTP sink) gets the workload of ``make bench`` (tests/bench/workload.py).
The clerk's steps go through the APIs, retried while the service does not answer: the
confirmed billing run, reminder #1 for every candidate (the reminders service's date is
``REMINDER_DAY``, well after the invoices' due date 2026-12-07), then a send per channel.
Meanwhile the killer follows a schedule drawn from ``random.Random(seed)`` alone (so a
seed names one schedule: which process, after how long, down for how long): SIGKILL,
a pause, restart (not waiting for it to be ready: the next kill may land on a process
still starting). The SMTP sink (the outside mail server) is never killed.

Once the sends are done the killer stops, every process is running again, and the run
waits until every document has an outcome. Then the checks (tests/bench/invariants.py,
shared with ``make cluster-test``), from each service's own
database, the delivery events on Kafka and what the receivers hold (the sink's .eml
files, the Finvoice drop folder, the print batches' manifests).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.invariants import REMINDER_DAY, checks, report, wait_for_outcomes
from tests.bench.pipeline import wait_until
from tests.bench.workload import Clerk, Expected, publish
from tests.support import servers as servers_mod
from tests.support.isolation import create_sandbox, drop_sandbox
from tests.support.system import CHANNELS, System

Step = Callable[[str], Awaitable[None]]
"""Called with the name of each step of the day before it starts."""


async def _no_step(name: str) -> None:
    return None


@dataclass(frozen=True)
class Planned:
    """One kill of the schedule: after ``gap`` seconds, ``name``, down ``down`` seconds."""

    gap: float
    name: str
    down: float


def schedule(seed: int, names: list[str], count: int, interval: float, pause: float) -> list[Planned]:
    """The first ``count`` kills for ``seed``: gaps uniform in [interval/2, 3*interval/2],
    the victim uniform over ``names``, down time uniform in [0.2, pause]."""
    rng = random.Random(seed)
    return [
        Planned(
            round(rng.uniform(interval / 2, 3 * interval / 2), 2),
            rng.choice(names),
            round(rng.uniform(0.2, pause), 2),
        )
        for _ in range(count)
    ]


@dataclass
class Killed:
    at: float
    name: str
    pid: int
    down: float
    new_pid: int | None = None
    ready_after: float | None = None


async def killer(system: System, plan: list[Planned], stop: asyncio.Event, log: list[Killed]) -> None:
    """Kill, pause, restart, wait until it is ready again; then the next gap. One process
    is down at a time, so the run makes progress between kills."""
    for step in plan:
        try:
            await asyncio.wait_for(stop.wait(), timeout=step.gap)
            break
        except TimeoutError:
            pass
        pid = system.kill(step.name)
        entry = Killed(time.monotonic() - system.started_at, step.name, pid, step.down)
        log.append(entry)
        print(f"  {entry.at:7.1f}s  SIGKILL {step.name} (pid {pid}), down {step.down:.1f}s", flush=True)
        await asyncio.sleep(step.down)
        restarted = time.monotonic()
        entry.new_pid = await system.restart(step.name, wait=False)
        try:
            await system.processes[step.name].wait_ready(timeout=180)
            entry.ready_after = time.monotonic() - restarted
        except AssertionError:
            if not system.running(step.name):  # it died on its own while starting: again
                entry.new_pid = await system.restart(step.name)


async def day(system: System, exp: Expected, before: Step = _no_step) -> dict[str, Any]:
    """Publish, then the clerk's steps, each once the previous one's effect is complete.
    ``before`` is awaited with each step's name first ("publish", "billing-run",
    "remind", "send"): a harness times its faults by the day's steps."""
    sandbox = system.sandbox
    await before("publish")
    await publish(sandbox.bootstrap, sandbox.prefix, exp.requests, exp.customers)
    clerk = Clerk(system)
    out: dict[str, Any] = {}
    try:

        async def settled() -> bool:
            rows = await system.fetch(
                "invoicing",
                """SELECT (SELECT count(*) FROM billing_requests), (SELECT count(*) FROM billing_profiles),
                          (SELECT count(*) FROM billing_requests WHERE status = 'cancelled')""",
            )
            stored, profiles, gone = rows[0]
            return bool(stored >= exp.requests and profiles >= exp.customers and gone >= exp.cancelled)

        await wait_until("requests, profiles and cancellations stored", settled)
        print("  clerk: requests settled; the billing run", flush=True)
        await before("billing-run")
        out["run"] = await clerk.billing_run()
        invoices = int(await system.scalar("invoicing", "SELECT count(*) FROM invoices"))

        async def projected() -> bool:
            return int(await system.scalar("reminders", "SELECT count(*) FROM open_items")) >= invoices

        await wait_until("invoices projected by reminders", projected)
        print(f"  clerk: {invoices:,} invoices issued and projected; reminder #1 for all candidates", flush=True)
        await before("remind")
        out["reminders"] = await clerk.remind(1)
        reminders = int(await system.scalar("reminders", "SELECT count(*) FROM reminders"))

        async def arrived() -> bool:
            return int(await system.scalar("dispatch", "SELECT count(*) FROM documents")) >= invoices + reminders

        await wait_until("invoices and reminders at dispatch", arrived)
        print(f"  clerk: {invoices + reminders:,} documents at dispatch; send e-mail, e-invoice, print", flush=True)
        await before("send")
        out["sends"] = await asyncio.gather(*(clerk.send(c) for c in CHANNELS))
    finally:
        out["clerk_retries"] = clerk.retries
        await clerk.close()
    return out


async def main(requests: int, seed: int, interval: float, pause: float, email_workers: int) -> int:
    exp = Expected.of(requests, requests // 2)
    servers = servers_mod.start()
    sandbox = await create_sandbox(servers)
    out = Path(tempfile.mkdtemp(prefix="chaos-"))
    system = System(
        sandbox,
        out,
        workers={"email": email_workers},
        overrides={"reminders": {"today": REMINDER_DAY}},
        keep_mail=True,
    )
    log: list[Killed] = []
    try:
        print(f"servers: {servers.kind}: {servers.description}; the machine is shared with other sessions")
        print(
            f"chaos: {requests:,} requests, seed {seed}, a kill every {interval / 2:.1f}-{3 * interval / 2:.1f}s,"
            f" down 0.2-{pause:.1f}s; output and logs in {out}"
        )
        await system.start()
        plan = schedule(seed, system.names(), 10_000, interval, pause)
        stop = asyncio.Event()
        chaos = asyncio.create_task(killer(system, plan, stop, log))
        started = time.monotonic()
        try:
            steps = await day(system, exp)
        finally:
            stop.set()
            await chaos
        for name in system.names():
            if not system.running(name):
                await system.restart(name)
        await asyncio.gather(*(system.processes[n].wait_ready(timeout=180) for n in system.names()))
        print("  the killer stopped; every process running again; waiting for the last outcomes", flush=True)
        await wait_for_outcomes(system)
        took = time.monotonic() - started
        results = await checks(system, exp)
    finally:
        await system.stop_all()
        await drop_sandbox(sandbox)

    print()
    print(f"kill log ({len(log)} kills in {took:.0f}s; seconds since the system started):")
    print(f"  {'at':>7}  {'process':<12}{'pid':>8}  {'down':>5}  {'new pid':>8}  ready after")
    for k in log:
        ready = f"{k.ready_after:.1f}s" if k.ready_after is not None else "not ready in 180s"
        print(f"  {k.at:7.1f}  {k.name:<12}{k.pid:>8}  {k.down:5.1f}  {k.new_pid or 0:>8}  {ready}")
    print()
    run = steps["run"].get("result", {})
    print(
        f"clerk: run {steps['run']['state']} ({run.get('invoices', '?')} invoices), reminders #1"
        f" {steps['reminders']['state']}, sends {[s['state'] for s in steps['sends']]};"
        f" {steps['clerk_retries']} API calls retried while a service did not answer"
    )
    print()
    return 1 if report(results) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interval", type=float, default=5.0, help="mean seconds between kills")
    parser.add_argument("--pause", type=float, default=3.0, help="longest time a killed process stays down")
    parser.add_argument("--email-workers", type=int, default=2)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))  # stop_all on SIGTERM
    raise SystemExit(asyncio.run(main(args.requests, args.seed, args.interval, args.pause, args.email_workers)))
