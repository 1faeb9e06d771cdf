"""The run's topics on the cluster: made before any service starts by ``billing topics
apply --file deploy/topics/cluster.toml`` (the services read the same file and find
nothing missing), then read back from Kafka: every partition with three replicas, every topic with
``min.insync.replicas=2``."""

from __future__ import annotations

import asyncio
import os
import subprocess
from typing import Any

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.cluster.cluster import Cluster
from tests.support.isolation import Sandbox
from tests.support.servers import REPO

TOPICS_FILE = REPO / "deploy" / "topics" / "cluster.toml"

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = "2"


async def create_topics(sandbox: Sandbox, cluster: Cluster) -> list[str]:
    """The topics as deploy/topics/cluster.toml declares them (RF 3, min ISR 2), under the
    sandbox's prefix, made as an operator makes them: ``bin/billing topics apply``. The
    names of the prefix's topics afterwards."""
    env = {**os.environ, "CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS": sandbox.bootstrap}
    command = [str(REPO / "bin" / "billing"), "topics", "apply", "--file", str(TOPICS_FILE), "--prefix", sandbox.prefix]
    done = await asyncio.to_thread(subprocess.run, command, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"billing topics apply failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    print("  " + "\n  ".join(line for line in done.stdout.splitlines() if line.strip()), flush=True)
    admin = await cluster.admin()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(sandbox.prefix))
    finally:
        await admin.close()


async def verify(cluster: Cluster, prefix: str, created: list[str], patience: int = 60) -> tuple[bool, str]:
    """Do the prefix's topics (and the internal ones, once Kafka made them) have three
    replicas per partition and min.insync.replicas=2, as Kafka describes them? A new
    topic reaches each broker's metadata and configs a moment after it was made (an
    answer then lists it without its config): asked again, once a second, until the
    answer holds or ``patience`` seconds passed; the last answer counts."""
    for _ in range(patience):
        ok, detail = await _verify_once(cluster, prefix, created)
        if ok:
            break
        await asyncio.sleep(1)
    return ok, detail


async def _verify_once(cluster: Cluster, prefix: str, created: list[str]) -> tuple[bool, str]:
    admin = await cluster.admin()
    try:
        existing = await admin.list_topics()
        names = sorted(t for t in existing if t.startswith(prefix))
        # made by Kafka on first use (a group's first commit, a relay's first transaction)
        internal = [t for t in ("__consumer_offsets", "__transaction_state") if t in existing]
        described = await admin.describe_topics(names + internal)
        short = {
            t["topic"]: [p["partition"] for p in t["partitions"] if len(p["replicas"]) != REPLICATION_FACTOR]
            for t in described
        }
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, {"min.insync.replicas": None}) for n in names + internal]
        )
        min_isr: dict[str, Any] = {}
        for response in configs:
            for resource in response.resources:
                entries = {e[0]: e[1] for e in resource[4]}
                min_isr[resource[3]] = entries.get("min.insync.replicas")
    finally:
        await admin.close()
    partitions = sum(len(t["partitions"]) for t in described)
    wrong_rf = {t: ps for t, ps in short.items() if ps}
    wrong_isr = {t: v for t, v in min_isr.items() if v != MIN_INSYNC_REPLICAS}
    missing = sorted(set(created) - set(names))
    ok = bool(names) and not missing and not wrong_rf and not wrong_isr and set(min_isr) == set(names + internal)
    detail = (
        f"{len(names)} topics of the run + {', '.join(internal) or 'no internal topic yet'}: {partitions} partitions;"
        f"{f' not listed: {missing};' if missing else ''}"
        f" replication factor {REPLICATION_FACTOR} everywhere: {not wrong_rf}"
        f"{f' (short: {wrong_rf})' if wrong_rf else ''}; min.insync.replicas {MIN_INSYNC_REPLICAS} everywhere:"
        f" {not wrong_isr}{f' (other: {wrong_isr})' if wrong_isr else ''}"
    )
    return ok, detail
