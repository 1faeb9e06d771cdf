"""The run's topics on the cluster: made before any service starts (the services run
with ``kafka_create_topics=false``, as in production nothing creates topics at start),
then read back from Kafka: every partition with three replicas, every topic with
``min.insync.replicas=2``."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.cluster.cluster import Cluster
from tests.support.isolation import Sandbox
from tests.support.system import SERVICES

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = "2"


async def create_topics(sandbox: Sandbox, partitions: int) -> list[str]:
    """Every topic the four services produce and consume (and the dead-letter topics),
    under the sandbox's prefix; the names created."""
    # --- TOPICS: the one place to switch to `billing topics apply` at merge -------------
    # Once deploy/topics/cluster.toml and `billing topics apply` (the topics helper's
    # branch) are on main, this body becomes:
    #     subprocess.run([str(REPO / "bin" / "billing"), "topics", "apply",
    #                     "--file", "deploy/topics/cluster.toml", "--prefix", sandbox.prefix],
    #                    env={**os.environ, <the bootstrap as that command reads it>: sandbox.bootstrap},
    #                    check=True)
    # (and `partitions` comes from the file). Until then: the services' topic registry
    # through ensure_topics at replication factor 3; min.insync.replicas=2 is the brokers'
    # default (deploy/cluster/compose.yml). verify() below holds either to RF 3 / min ISR 2.
    from shared.messaging.topics_admin import ensure_topics

    created: list[str] = []
    for name in SERVICES:
        spec = importlib.import_module(f"services.{name}.app").SPEC
        settings = importlib.import_module(f"services.{name}.config").Settings(
            **sandbox.settings_kwargs(kafka_partitions=partitions, kafka_replication_factor=REPLICATION_FACTOR)
        )
        created += await ensure_topics(settings, spec.produces, spec.consumes)
    return sorted(created)


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
