"""``docker compose`` of the repository's ``docker-compose.yml``, driven as ops would:
one project per run (its own containers, network and volumes), its secrets made at run
time, its host ports free ones, reading files out of its volumes with ``exec``.

Used by :mod:`tests.compose.run` (``make compose-test``)."""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.support.compose_ps import parse_ps

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
LOCAL_ENV = REPO / "compose.local.env"

ONE_SHOTS = ("migrate", "dispatch-folders", "credentials")
LONG_RUNNING = (
    "kafka",
    "postgres",
    "mailcatcher",
    "customers",
    "invoicing",
    "reminders",
    "dispatch",
    "dispatch-email",
    "dispatch-einvoice",
    "dispatch-print",
    "console",
)
PORTS = ("KAFKA_PORT", "CUSTOMERS_PORT", "INVOICING_PORT", "REMINDERS_PORT", "DISPATCH_PORT", "CONSOLE_PORT")
PORTS_ALSO = ("MAIL_UI_PORT",)
UP_TIMEOUT_S = 420


class ComposeError(RuntimeError):
    pass


def _free_port(taken: set[int]) -> int:
    """A free port below the ephemeral range (32768-60999 may be taken any moment by
    outgoing connections)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise ComposeError("no free port found in 20000-32000")


def console_hash(password: str) -> str:
    """An argon2 hash for CONSOLE_USERS, made as the README says (`billing console hash-password`)."""
    done = subprocess.run(
        [str(REPO / "bin" / "billing"), "console", "hash-password"],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


class Compose:
    """One compose project of the system: ``up``, ``down``, ``ps``, ``exec``."""

    def __init__(self, project: str, env_files: Iterable[Path] = (LOCAL_ENV,)) -> None:
        self.project = project
        self._dir = Path(tempfile.mkdtemp(prefix=f"{project}-"))
        self.password = secrets.token_urlsafe(12)
        self.user = "clerk"
        taken: set[int] = set()
        self.ports = {name: _free_port(taken) for name in PORTS + PORTS_ALSO}
        self.values = {
            "POSTGRES_PASSWORD": secrets.token_hex(16),
            "BILLING_DB_PASSWORD": secrets.token_hex(16),
            **{k: str(v) for k, v in self.ports.items()},
        }
        users = json.dumps([f"{self.user}:{console_hash(self.password)}"])
        secret_env = self._dir / "run.env"
        fd = os.open(secret_env, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            for key, value in self.values.items():
                f.write(f"{key}={value}\n")
            f.write(f"CONSOLE_USERS='{users}'\n")  # single quotes: the hash has '$'
        self.env_files = [*env_files, secret_env]

    def create_credential(self, name: str, kind: str, scopes: str) -> str:
        """A caller's own credential, made as the README says (the one-shot ``credentials``
        with ``billing credentials create``): its token (printed once, alone on stdout)."""
        done = self.run(
            "run", "--rm", "--no-deps", "credentials",
            "billing", "credentials", "create", name, "--kind", kind, "--scopes", scopes,
        )  # fmt: skip
        token: str = done.stdout.strip().splitlines()[-1]
        if not token.startswith("bk_"):
            raise ComposeError(f"billing credentials create {name}: no token in its output")
        return token

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[f'{service.upper()}_PORT']}"

    @property
    def kafka(self) -> str:
        return f"127.0.0.1:{self.ports['KAFKA_PORT']}"

    # ------------------------------------------------------------------ commands
    def command(self, *args: str) -> list[str]:
        files = [a for f in self.env_files for a in ("--env-file", str(f))]
        return ["docker", "compose", "-p", self.project, "-f", str(COMPOSE_FILE), *files, *args]

    def run(self, *args: str, timeout: float = 600, check: bool = True, binary: bool = False) -> Any:
        done = subprocess.run(
            self.command(*args), capture_output=True, text=not binary, timeout=timeout, check=False, cwd=REPO
        )
        if check and done.returncode != 0:
            err = done.stderr if not binary else done.stderr.decode(errors="replace")
            raise ComposeError(f"docker compose {' '.join(args)}: exit {done.returncode}\n{err[-3000:]}")
        return done

    def up(self, *extra: str) -> None:
        """``up -d``: returns once what every service depends on is healthy (compose waits
        for that without a time limit, so this gives it one)."""
        try:
            self.run("up", "-d", "--no-build", *extra, timeout=UP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stuck = [f"{r['Service']} {r['State']}/{r['Health'] or '-'}" for r in self.ps() if r["Health"] != "healthy"]
            raise ComposeError(
                f"docker compose up did not finish in {UP_TIMEOUT_S} s; not healthy: {', '.join(stuck)}"
                " (podman 4.3 runs no health checks by itself: deploy/containers/engine.sh up starts the loop)"
            ) from None

    def down(self, volumes: bool = False) -> None:
        self.run("down", *(["-v"] if volumes else []), "--remove-orphans", "--timeout", "30", timeout=600)

    def cleanup(self) -> None:
        """``down -v`` and the run's secret file; never raises."""
        try:
            self.down(volumes=True)
        except Exception as exc:
            print(f"  tear-down: {exc}", flush=True)
        for f in self._dir.iterdir():
            f.unlink()
        self._dir.rmdir()

    def ps(self) -> list[dict[str, Any]]:
        return parse_ps(self.run("ps", "-a", "--format", "json").stdout)

    def wait_healthy(self, replicas: dict[str, int] | None = None, timeout: float = 300) -> float:
        """Wait until every long-running service has its replicas running and healthy
        and the one-shots have exited 0; returns the seconds waited."""
        want = {name: 1 for name in LONG_RUNNING} | (replicas or {})
        t0 = time.monotonic()
        while True:
            rows = self.ps()
            problems = []
            for shot in ONE_SHOTS:
                mine = [r for r in rows if r["Service"] == shot]
                if any(r["State"] == "exited" and r.get("ExitCode", 0) != 0 for r in mine):
                    raise ComposeError(f"{shot} failed:\n{self.logs(shot)}")
                if not mine or any(r["State"] != "exited" for r in mine):
                    problems.append(f"{shot} not done")
            for name, n in want.items():
                healthy = [
                    r for r in rows if r["Service"] == name and r["State"] == "running" and r["Health"] == "healthy"
                ]
                if len(healthy) != n:
                    states = [f"{r['State']}/{r['Health'] or '-'}" for r in rows if r["Service"] == name]
                    problems.append(f"{name} {len(healthy)}/{n} healthy {states}")
                    dead = [r for r in rows if r["Service"] == name and r["State"] in ("exited", "dead")]
                    if dead and time.monotonic() - t0 > 30:
                        raise ComposeError(f"{name} stopped:\n{self.logs(name)}")
            if not problems:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise ComposeError(f"not healthy after {timeout:.0f} s: {'; '.join(problems)}")
            time.sleep(1)

    def logs(self, service: str, tail: int = 40) -> str:
        done = self.run("logs", "--no-color", "--tail", str(tail), service, check=False)
        return str(done.stdout + done.stderr)

    def exec(self, service: str, *cmd: str, index: int | None = None, env: dict[str, str] | None = None) -> str:
        where = ["--index", str(index)] if index else []
        envs = [a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")]
        out: str = self.run("exec", "-T", *where, *envs, service, *cmd, timeout=120).stdout
        return out

    def files(self, service: str, folder: str, suffix: str) -> list[str]:
        """Names of the files in ``folder`` of ``service``'s container ending in ``suffix``."""
        out = self.exec(service, "sh", "-c", f"ls -1 {folder} 2>/dev/null || true")
        return sorted(n for n in out.split() if n.endswith(suffix))

    def read(self, service: str, path: str) -> bytes:
        data: bytes = self.run("exec", "-T", service, "cat", path, binary=True, timeout=120).stdout
        return data

    def psql(self, database: str, sql: str) -> str:
        return self.exec(
            "postgres",
            "psql", "-U", "postgres", "-h", "127.0.0.1", "-d", database, "-tAc", sql,
            env={"PGPASSWORD": self.values["POSTGRES_PASSWORD"]},
        ).strip()  # fmt: skip

    def kafka_tool(self, tool: str, *args: str) -> str:
        return self.exec("kafka", f"/opt/kafka/bin/{tool}", "--bootstrap-server", "localhost:9092", *args)
