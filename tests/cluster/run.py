"""``make cluster-test``: the whole pipeline on a three-broker Kafka cluster while brokers
are SIGKILLed, then the ``make chaos`` invariants, PASS/FAIL each (exit 1 on any FAIL).

    make cluster-test                                        # 3,000 requests, seed 1
    uv run python -m tests.cluster.run --requests 1000 --seed 7 --hold 20

1. ``docker compose up`` of deploy/cluster/compose.yml (project ``billing-cluster``):
   three KRaft brokers (RF 3, min ISR 2 by default, no unclean election) and PostgreSQL;
2. the topics of all four services at RF 3 / min ISR 2 by ``bin/billing topics apply
   --file deploy/topics/cluster.toml`` (tests/cluster/topics.py), read back from Kafka;
   the services read the same file;
3. the services, the channel workers and the SMTP sink as local processes pointed at
   all three brokers (tests/support/system.py), the workload of ``make bench`` and the
   clerk's day of ``make chaos`` (publish, billing run, reminder #1, sends);
4. meanwhile the faults of tests/cluster/plan.py: one broker SIGKILLed while the
   requests come in, restarted; another during the billing run; then two at once before
   the reminders, held while /readyz and /metrics are polled, then both started again;
5. once every document has an outcome: the outage checks (rows kept in the outbox,
   /readyz degraded and never 503, relays retrying, all drained and ready at the end)
   and the invariants of ``make chaos`` (tests/bench/invariants.py: from the databases,
   the delivery events on Kafka and the receivers);
6. ``docker compose down -v``, also on failure or interruption.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from billing_testkit.infrastructure import engine_env_defaults
from tests.bench.chaos import day
from tests.bench.invariants import REMINDER_DAY, checks, report, wait_for_outcomes
from tests.bench.workload import Expected
from tests.cluster.cluster import Cluster, ClusterError
from tests.cluster.outage import Probe, Watch, outage_checks, probe
from tests.cluster.plan import Fault, plan
from tests.cluster.topics import TOPICS_FILE, create_topics, verify
from tests.support.isolation import create_sandbox
from tests.support.system import SERVICES, System


class Faults:
    """Carries out the plan, step by step of the day (``before`` is the day's hook); one
    fault at a time: a fault waits until the cluster is whole again after the last."""

    def __init__(self, cluster: Cluster, system: System, prefix: str, faults: list[Fault]) -> None:
        self.cluster = cluster
        self.system = system
        self.prefix = prefix
        self.faults = {f.step: f for f in faults}
        self.log: list[tuple[float, str, str]] = []
        self.watch: Watch | None = None
        self._task: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None

    def say(self, text: str) -> None:
        at = time.monotonic() - self.system.started_at
        wall = datetime.now(UTC).strftime("%H:%M:%S")
        self.log.append((at, wall, text))
        print(f"  {at:7.1f}s  {wall}Z  {text}", flush=True)

    async def before(self, step: str) -> None:
        fault = self.faults.get(step)
        if fault is None:
            return
        await self.settle()
        if len(fault.brokers) == 1:
            self._task = asyncio.create_task(self._one(fault))
        else:
            await self._kill_two(fault)
            self._task = asyncio.create_task(self._hold_two(fault))

    async def settle(self) -> None:
        """Wait for the fault in progress (the cluster whole again); raise its error."""
        task, self._task = self._task, None
        if task is not None:
            await task

    async def _kill(self, broker: str) -> None:
        code = await asyncio.to_thread(self.cluster.kill, broker)
        self.say(f"SIGKILL {broker} (docker kill --signal KILL; exit code {code})")

    async def _start(self, broker: str) -> None:
        await asyncio.to_thread(self.cluster.start, broker)
        self.say(f"docker start {broker}")

    async def _whole(self, what: str) -> None:
        took = await self.cluster.wait_healthy(self.prefix)
        self.say(f"{what} back: 3 brokers, every partition with 3 replicas in sync ({took:.1f}s)")

    async def _one(self, fault: Fault) -> None:
        await asyncio.sleep(fault.after_s)
        broker = fault.brokers[0]
        await self._kill(broker)
        await asyncio.sleep(fault.down_s)
        await self._start(broker)
        await self._whole(broker)

    async def _kill_two(self, fault: Fault) -> None:
        for broker in fault.brokers:
            await self._kill(broker)
        self.say("two brokers down: no partition has 2 replicas in sync, no controller quorum; writes wait")
        self.watch = Watch(self.system)
        self._watching = asyncio.create_task(self.watch.run(t0=self.system.started_at))

    async def _hold_two(self, fault: Fault) -> None:
        assert self.watch is not None and self._watching is not None
        started = time.monotonic()
        give_up = started + fault.down_s + 180
        while time.monotonic() - started < fault.down_s or (
            not self.watch.showed_outage() and time.monotonic() < give_up
        ):
            await asyncio.sleep(1)
        self.watch.stop.set()
        await self._watching
        self.say(f"two brokers down for {time.monotonic() - started:.0f}s; starting both")
        for broker in fault.brokers:
            await self._start(broker)
        await self._whole(" and ".join(fault.brokers))


async def settled_probes(system: System, timeout: float = 120) -> list[Probe]:
    """One probe of every process, once all are ready with empty outboxes (or the last
    round when ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            found = list(await asyncio.gather(*(probe(client, system, n) for n in system.names())))
            if all(p.code == 200 and p.status == "ready" and not p.pending for p in found):
                return found
            if time.monotonic() > deadline:
                return found
            await asyncio.sleep(1)


def log_counts(system: System) -> dict[str, int]:
    """What the processes' logs say happened (for the record, not for a verdict)."""
    patterns = {
        "relay rounds failed and retried": r"outbox relay failed",
        "group-level OffsetFetch answers asked again (shared/messaging/offset_fetch.py)": r"OffsetFetch for group",
    }
    counts = dict.fromkeys(patterns, 0)
    for path in system.log_dir.glob("*.log"):
        text = path.read_text(errors="replace")
        for name, pattern in patterns.items():
            counts[name] += len(re.findall(pattern, text))
    return counts


async def scenario(cluster: Cluster, args: argparse.Namespace, t0: float) -> int:
    print(f"cluster-test: {args.requests:,} requests, seed {args.seed}, two brokers down >= {args.hold:.0f}s")
    faults = plan(args.seed, hold_s=args.hold)
    for f in faults:
        print(f"  planned: {f.describe()}")
    print(f"== docker compose up ({cluster.project}: 3 brokers + PostgreSQL)   [{time.monotonic() - t0:.0f} s]")
    cluster.preflight()
    await asyncio.to_thread(cluster.up)
    await cluster.wait_postgres()
    servers = cluster.servers()
    sandbox = await create_sandbox(servers)
    took = await cluster.wait_healthy(sandbox.prefix)
    print(f"  {servers.description}: whole in {time.monotonic() - t0:.0f}s (last wait {took:.1f}s)", flush=True)

    print(f"== topics at replication factor 3, min.insync.replicas 2   [{time.monotonic() - t0:.0f} s]")
    created = await create_topics(sandbox, cluster)
    topics_ok, topics_detail = await verify(cluster, sandbox.prefix, created)
    print(f"  {len(created)} created; {topics_detail}", flush=True)
    if not topics_ok:
        print("FAIL  topics at RF 3 / min ISR 2\n      " + topics_detail)
        return 1

    exp = Expected.of(args.requests, args.requests // 2)
    out = Path(tempfile.mkdtemp(prefix="cluster-"))
    cluster_settings: dict[str, Any] = {"kafka_topics_file": str(TOPICS_FILE)}
    overrides = {s: dict(cluster_settings) for s in SERVICES}
    overrides["reminders"]["today"] = REMINDER_DAY
    system = System(sandbox, out, workers={"email": args.email_workers}, overrides=overrides, keep_mail=True)
    print(f"== the services and workers as local processes (logs in {out / 'logs'})   [{time.monotonic() - t0:.0f} s]")
    try:
        await system.start()
        print(f"  {len(system.names())} processes ready: {', '.join(system.names())}", flush=True)
        print(f"== the clerk's day, with the broker faults   [{time.monotonic() - t0:.0f} s]", flush=True)
        injector = Faults(cluster, system, sandbox.prefix, faults)
        steps = await day(system, exp, before=injector.before)
        await injector.settle()
        died = [n for n in system.names() if not system.running(n)]
        print(f"== every document's outcome   [{time.monotonic() - t0:.0f} s]", flush=True)
        await wait_for_outcomes(system)
        after = await settled_probes(system)
        topics_line = "topics at replication factor 3, min.insync.replicas 2 (Kafka's own description, at the end)"
        results = [(topics_line, *await verify(cluster, sandbox.prefix, created))]
        results.append(
            (
                "no process died while brokers were killed",
                not died,
                f"{len(system.names())} processes; not running: {died or 'none'}",
            )
        )
        assert injector.watch is not None, "the two-brokers-down fault did not run"
        results += outage_checks(injector.watch.probes, after)
        results += await checks(system, exp)
        counts = log_counts(system)
    finally:
        await system.stop_all()

    print()
    print("broker faults (seconds since the processes started; UTC):")
    for at, wall, text in injector.log:
        print(f"  {at:7.1f}s  {wall}Z  {text}")
    print()
    run = steps["run"].get("result", {})
    print(
        f"clerk: run {steps['run']['state']} ({run.get('invoices', '?')} invoices), reminders #1"
        f" {steps['reminders']['state']}, sends {[s['state'] for s in steps['sends']]};"
        f" {steps['clerk_retries']} API calls retried"
    )
    print("from the processes' logs: " + "; ".join(f"{k}: {v}" for k, v in counts.items()))
    print()
    return 1 if report(results) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hold", type=float, default=30.0, help="least seconds two brokers stay down")
    parser.add_argument("--email-workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1500.0, help="the whole run's limit in seconds")
    parser.add_argument("--project", default="billing-cluster", help="the compose project's name")
    args = parser.parse_args()
    engine_env_defaults()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # brokers killed on purpose: no "Unable connect"
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))  # tear down on SIGTERM
    cluster = Cluster(args.project)
    t0 = time.monotonic()
    code = 1
    try:
        code = asyncio.run(asyncio.wait_for(scenario(cluster, args, t0), args.timeout))
    except (TimeoutError, ClusterError, AssertionError, SystemExit) as exc:
        print(f"\nFAIL: {type(exc).__name__}: {exc}", flush=True)
        for broker in ("kafka-1", "kafka-2", "kafka-3"):
            print(f"--- logs of {broker} ---\n{cluster.logs(broker, tail=15)}", flush=True)
    finally:
        t = time.monotonic()
        cluster.down()
        left = cluster.ps()
        print(f"\n== docker compose down -v: {time.monotonic() - t:.1f}s; left: {left or 'nothing'}")
        print(f"cluster-test: {'PASSED' if code == 0 else 'FAILED'} in {time.monotonic() - t0:.0f}s", flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
