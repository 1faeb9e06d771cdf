"""The three-broker cluster of deploy/cluster/compose.yml, driven as ops would: ``up``,
SIGKILL a broker's container (``docker kill --signal KILL``: no shutdown, no flush),
``docker start`` it again (the same container and volume), ``down -v``.

Everything it creates is the compose project's (containers, network, volumes: labelled
``org.billing.cluster=true`` besides compose's own project label); ``down -v`` removes
exactly that. A PostgreSQL password is made per run. Used by tests/cluster/run.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient

from tests.cluster.plan import BROKERS
from tests.support.compose_ps import parse_ps
from tests.support.servers import Servers

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "deploy" / "cluster" / "compose.yml"
LOCAL_ENV = REPO / "compose.local.env"
INTERNAL_TOPICS = ("__consumer_offsets", "__transaction_state")
PORT_DEFAULTS = {"CLUSTER_KAFKA_PORT_1": 29191, "CLUSTER_KAFKA_PORT_2": 29192, "CLUSTER_KAFKA_PORT_3": 29193}
PG_PORT_DEFAULT = 25432


class ClusterError(RuntimeError):
    pass


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Cluster:
    def __init__(self, project: str = "billing-cluster") -> None:
        self.project = project
        self.ports = {name: int(os.environ.get(name, default)) for name, default in PORT_DEFAULTS.items()}
        self.pg_port = int(os.environ.get("CLUSTER_PG_PORT", PG_PORT_DEFAULT))
        self.pg_password = secrets.token_hex(16)
        self.env = {
            **os.environ,
            **{k: str(v) for k, v in self.ports.items()},
            "CLUSTER_PG_PORT": str(self.pg_port),
            "CLUSTER_PG_PASSWORD": self.pg_password,
        }
        self._containers: dict[str, str] = {}

    # --- where the clients go ---------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """All three brokers' host listeners (a client reaches the cluster through any)."""
        return ",".join(f"127.0.0.1:{self.ports[f'CLUSTER_KAFKA_PORT_{i}']}" for i in (1, 2, 3))

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres:{self.pg_password}@127.0.0.1:{self.pg_port}/postgres"

    def servers(self) -> Servers:
        """The cluster as the tests' ``Servers`` (sandboxes, the system's processes)."""
        return Servers(
            "cluster",
            self.bootstrap,
            self.admin_url,
            f"three Apache Kafka brokers (KRaft, {COMPOSE_FILE.relative_to(REPO)}) at {self.bootstrap},"
            f" PostgreSQL at 127.0.0.1:{self.pg_port}",
        )

    # --- compose ------------------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        return ["docker", "compose", "-p", self.project, "-f", str(COMPOSE_FILE), "--env-file", str(LOCAL_ENV), *args]

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args), capture_output=True, text=True, timeout=timeout, env=self.env, check=False, cwd=REPO
        )
        if check and done.returncode != 0:
            raise ClusterError(f"docker compose {' '.join(args)}: exit {done.returncode}\n{done.stderr[-3000:]}")
        return done

    def ps(self) -> list[dict[str, Any]]:
        return parse_ps(self.run("ps", "-a", "--format", "json").stdout)

    def preflight(self) -> None:
        """Our images exist, our host ports are free (a project of ours left over from an
        interrupted run is taken down first: only ours)."""
        if self.ps():
            print(f"  a project {self.project} is left from an earlier run: down -v", flush=True)
            self.down()
        values = dict(
            line.split("=", 1)
            for line in LOCAL_ENV.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        for image in (values["KAFKA_IMAGE"], values["POSTGRES_IMAGE"]):
            if subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode:
                raise ClusterError(f"image {image} missing (make containers)")
        taken = [f"{k}={v}" for k, v in {**self.ports, "CLUSTER_PG_PORT": self.pg_port}.items() if not port_free(v)]
        if taken:
            raise ClusterError(f"host ports in use: {', '.join(taken)} (set these variables to free ports)")

    def up(self) -> None:
        self.run("up", "-d", "--no-build", timeout=300)
        self._containers = {r["Service"]: r["ID"] for r in self.ps()}

    def down(self) -> None:
        """``down -v``: the project's containers, network and volumes; never raises."""
        try:
            self.run("down", "-v", "--remove-orphans", "--timeout", "10", timeout=300)
        except Exception as exc:
            print(f"  tear-down: {exc}", flush=True)

    def logs(self, service: str, tail: int = 30) -> str:
        done = self.run("logs", "--no-color", "--tail", str(tail), service, check=False)
        return done.stdout + done.stderr

    # --- faults ---------------------------------------------------------------------------

    def kill(self, broker: str) -> int:
        """SIGKILL the broker's container (``docker kill --signal KILL``); its exit code."""
        container = self._containers[broker]
        subprocess.run(["docker", "kill", "--signal", "KILL", container], capture_output=True, check=True)
        for _ in range(100):
            state = self.state(broker)
            if not state["Running"]:
                return int(state["ExitCode"])
            time.sleep(0.1)
        raise ClusterError(f"{broker} still running after SIGKILL")

    def start(self, broker: str) -> None:
        """Start the killed broker's container again: the same volume, the same id."""
        subprocess.run(["docker", "start", self._containers[broker]], capture_output=True, check=True)

    def state(self, broker: str) -> dict[str, Any]:
        out = subprocess.run(
            ["docker", "inspect", "--format", "{{json .State}}", self._containers[broker]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        state: dict[str, Any] = json.loads(out)
        return state

    # --- what Kafka says ----------------------------------------------------------------

    async def admin(self) -> AIOKafkaAdminClient:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10_000)
        await asyncio.wait_for(admin.start(), 30)
        return admin

    async def live_brokers(self) -> set[int]:
        """Node ids in the cluster's metadata now (empty when no broker answers)."""
        try:
            admin = await self.admin()
        except Exception:
            return set()
        try:
            described = await asyncio.wait_for(admin.describe_cluster(), 10)
            return {int(b["node_id"]) for b in described["brokers"]}
        except Exception:
            return set()
        finally:
            await admin.close()

    async def answers(self, node: int) -> bool:
        """Does broker ``node`` itself answer a metadata request on its host port? (The
        cluster's metadata may still list a killed broker until its session times out.)"""
        client = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{self.ports[f'CLUSTER_KAFKA_PORT_{node}']}")
        try:
            await asyncio.wait_for(client.bootstrap(), 10)
            return True
        except Exception:
            return False
        finally:
            await client.close()

    async def under_replicated(self, prefix: str) -> int | None:
        """Partitions of the internal topics and of ``prefix``'s topics with fewer than
        three replicas in sync (None when the metadata cannot be read)."""
        try:
            admin = await self.admin()
        except Exception:
            return None
        try:
            names = [t for t in await admin.list_topics() if t.startswith(prefix) or t in INTERNAL_TOPICS]
            described = await asyncio.wait_for(admin.describe_topics(names), 20)
            return int(sum(len(p["isr"]) < 3 or p["leader"] < 0 for t in described for p in t["partitions"]))
        except Exception:
            return None
        finally:
            await admin.close()

    async def wait_healthy(self, prefix: str, timeout: float = 240) -> float:
        """Until each broker answers on its own port, the three are in the cluster's
        metadata and every partition (internal and ``prefix``'s) has three replicas in
        sync; the seconds it took."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            answering = all([await self.answers(n) for n in (1, 2, 3)])
            if answering and await self.live_brokers() == {1, 2, 3} and await self.under_replicated(prefix) == 0:
                return time.monotonic() - t0
            await asyncio.sleep(1)
        states = {b: self.state(b).get("Status") for b in BROKERS}
        raise ClusterError(f"the cluster is not whole after {timeout:.0f}s: containers {states}")

    async def wait_postgres(self, timeout: float = 120) -> None:
        import asyncpg

        t0 = time.monotonic()
        while True:
            try:
                conn = await asyncpg.connect(self.admin_url, timeout=5)
                await conn.close()
                return
            except Exception:
                if time.monotonic() - t0 > timeout:
                    raise
                await asyncio.sleep(1)
