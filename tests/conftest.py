"""Test fixtures. Integration tests run against real Kafka and PostgreSQL, picked by
``tests.support.servers`` (environment -> testcontainers -> local stack); the run
says which in its header and in its summary.

Tiers: every test carries the marker of its folder (``unit``, ``integration``, ``e2e``,
``browser``, ``containers``), so ``pytest -m unit`` is the fast tier (no servers) and
``-m "not browser"`` leaves Chromium out. With pytest-xdist (``make test`` runs
``-n 4 --dist load``) each worker is a session of its own: its own servers (its own
containers), so a test that stops Kafka or PostgreSQL stops only its worker's. A
module-scoped fixture (the browser tests' Playwright) is torn down whenever a worker
moves on to another module's test, so it never stays open under an async test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import servers as servers_mod
from tests.support.isolation import Sandbox, create_sandbox, drop_sandbox

_used: dict[str, servers_mod.Servers] = {}
_workers_used: list[str] = []
HERE = Path(__file__).parent
TIERS = ("unit", "integration", "e2e", "browser", "containers")
"""Folders under tests/ whose name is also the marker every test in them carries."""


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"integration servers: {servers_mod.planned_description()} "
        f"(environment -> testcontainers -> local stack; {servers_mod.SWITCH}=environment|containers|local forces one)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.path)).relative_to(HERE).parts
        if parts and parts[0] in TIERS:
            item.add_marker(parts[0])
            if parts[0] in ("e2e", "browser"):
                item.add_marker("integration")


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)  # an xdist worker: tell the controller
    if workeroutput is not None and (used := _used.get("servers")):
        workeroutput["billing_servers"] = f"{used.kind}: {used.description}"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:  # xdist's controller: a worker finished
    if described := getattr(node, "workeroutput", {}).get("billing_servers"):
        _workers_used.append(described)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if used := _used.get("servers"):
        terminalreporter.write_line(f"integration tests ran against real servers: {used.kind}: {used.description}")
    for described in _workers_used:
        terminalreporter.write_line(f"integration tests ran against real servers (an xdist worker's): {described}")


@pytest.fixture(scope="session")
def servers() -> Iterator[servers_mod.Servers]:
    started = _used["servers"] = servers_mod.start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
async def sandbox(servers: servers_mod.Servers) -> AsyncIterator[Sandbox]:
    box = await create_sandbox(servers)
    try:
        yield box
    finally:
        await drop_sandbox(box)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path
