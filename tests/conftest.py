"""Test fixtures. Integration tests run against real Kafka and PostgreSQL, picked by
``tests.support.servers`` (environment -> testcontainers -> local stack); the run
says which in its header and in its summary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support import servers as servers_mod
from tests.support.isolation import Sandbox, create_sandbox, drop_sandbox

_used: dict[str, servers_mod.Servers] = {}


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"integration servers: {servers_mod.planned_description()} "
        f"(environment -> testcontainers -> local stack; {servers_mod.SWITCH}=environment|containers|local forces one)"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if used := _used.get("servers"):
        terminalreporter.write_line(f"integration tests ran against real servers: {used.kind}: {used.description}")


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
