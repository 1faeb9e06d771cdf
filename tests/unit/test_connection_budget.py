"""README "Database connections: the budget" is what the manifests and settings add up
to (deploy/k8s/budget.py), and the premises of that sum hold in the code: every
connection a process opens comes from its one engine, whose cap is pool size + overflow
from settings, and the relay, the job runner and the worker lease hold *session*
advisory locks (so a pooler must be in session mode)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from shared.db.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"k8s_{name}", K8S / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def docs() -> list[dict]:  # type: ignore[type-arg]
    validate = load("validate")
    return [doc for _, doc in validate.documents(K8S)]


def test_the_readme_table_is_the_computed_budget(docs: list[dict]) -> None:  # type: ignore[type-arg]
    budget = load("budget")
    readme = (REPO / "README.md").read_text()
    assert budget.table(docs) in readme
    assert budget.problems(docs) == []


def test_the_budget_counts_every_deployment_at_its_largest(docs: list[dict]) -> None:  # type: ignore[type-arg]
    """Counted here from the manifests alone: pods = KEDA's maxReplicaCount or replicas,
    plus maxSurge; each pod's cap from its env (the settings' defaults otherwise)."""
    budget = load("budget")
    scaled = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["maxReplicaCount"] for d in docs if d["kind"] == "ScaledObject"
    }
    total = 0
    for dep in (d for d in docs if d["kind"] == "Deployment"):
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        pool = [int(v) for k, v in env.items() if k.endswith("_DATABASE_POOL_SIZE")]
        overflow = [int(v) for k, v in env.items() if k.endswith("_DATABASE_MAX_OVERFLOW")]
        assert len(pool) == len(overflow) == 1, dep["metadata"]["name"]  # set explicitly for every database user
        name = dep["metadata"]["name"]
        pods = scaled.get(name, dep["spec"].get("replicas")) + dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
        total += pods * (pool[0] + overflow[0])
    rows = budget.rows(docs)
    assert sum(r.total for r in rows) == total
    # every Deployment uses a database: the console its own (sessions, sign-in failures)
    assert {r.deployment for r in rows} == {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    (console,) = [r for r in rows if r.deployment == "console"]
    assert (console.role, console.dedicated) == ("console", 0)
    assert total + budget.jobs_total(docs) <= budget.MAX_CONNECTIONS - budget.SUPERUSER_RESERVED


def test_a_process_cap_is_pool_size_plus_overflow_from_settings(docs: list[dict]) -> None:  # type: ignore[type-arg]
    from services.dispatch.config import Settings

    (worker,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "dispatch-email"]
    env = {e["name"]: e["value"] for e in worker["spec"]["template"]["spec"]["containers"][0]["env"] if "value" in e}
    settings = Settings(
        kafka_bootstrap_servers="kafka:9092",
        database_url="postgresql+asyncpg://u@h/db",
        database_pool_size=int(env["DISPATCH_DATABASE_POOL_SIZE"]),
        database_max_overflow=int(env["DISPATCH_DATABASE_MAX_OVERFLOW"]),
    )
    engine = make_engine(
        "postgresql+asyncpg://u@h/db",
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    pool = engine.sync_engine.pool
    assert pool.size() == 5
    assert pool._max_overflow == 2  # type: ignore[attr-defined]  # (no public reader)


def test_no_process_opens_a_connection_outside_its_engine() -> None:
    """The budget counts one engine per process: nothing else may open connections
    (the migrations' engine and the schema verdict of `billing migrate` run in the
    migrate Job or, in development, at start)."""
    # schema_check.verdict_for: `billing migrate` (the Job), never a serving process
    allowed = {REPO / "shared/db/engine.py", REPO / "shared/db/migrations.py", REPO / "shared/db/schema_check.py"}
    pattern = re.compile(r"create_async_engine\(|create_engine\(|asyncpg\.connect\(|psycopg\.connect\(")
    found = [
        str(path.relative_to(REPO))
        for folder in ("shared", "services", "billing_cli", "console")
        for path in (REPO / folder).rglob("*.py")
        if path not in allowed and "/migrations/" not in str(path) and pattern.search(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize(
    ("path", "holder"),
    [
        ("shared/messaging/outbox.py", "the outbox relay's leader"),
        ("shared/jobs/runner.py", "a job's runner"),
        ("services/dispatch/lease.py", "a channel worker's lease"),
    ],
)
def test_session_advisory_locks_are_held_so_a_pooler_must_be_in_session_mode(path: str, holder: str) -> None:
    """pg_try_advisory_lock (not ..._xact_): the lock belongs to the server session and
    outlives the transaction; a transaction-mode pooler would hand that session to
    another client between statements (README: session mode only)."""
    text = (REPO / path).read_text()
    assert re.search(r"pg_try_advisory_lock\b(?!_)", text), holder
    assert 'isolation_level="AUTOCOMMIT"' in text, holder  # held outside any transaction


def test_max_overflow_is_read_from_the_environment_and_never_negative(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from services.customers.config import Settings

    monkeypatch.setenv("CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("CUSTOMERS_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("CUSTOMERS_DATABASE_MAX_OVERFLOW", "3")
    assert Settings().database_max_overflow == 3
    monkeypatch.setenv("CUSTOMERS_DATABASE_MAX_OVERFLOW", "-1")
    with pytest.raises(ValidationError, match="database_max_overflow"):
        Settings()
