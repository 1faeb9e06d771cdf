"""The cores a worker may use (``services/dispatch/cores.py``): its CPU affinity capped by
its cgroup's CPU quota (v2 ``cpu.max``, v1 CFS quota), read from fake cgroup folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.dispatch import cores
from services.dispatch.cores import available_cores, cpu_quota


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def many_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(32)), raising=False)


def test_a_container_limited_to_one_cpu_has_one_core_on_a_big_node(tmp_path: Path, many_cpus: None) -> None:
    write(tmp_path / "cpu.max", "100000 100000\n")  # cgroup v2, the container's own cgroup at the root
    proc = tmp_path / "proc-cgroup"
    write(proc, "0::/\n")
    assert cpu_quota(tmp_path, proc) == 1.0
    assert available_cores(tmp_path, proc) == 1


def test_a_fractional_limit_is_rounded_up_and_no_limit_leaves_the_affinity(tmp_path: Path, many_cpus: None) -> None:
    proc = tmp_path / "proc-cgroup"
    write(proc, "0::/\n")
    write(tmp_path / "cpu.max", "250000 100000\n")
    assert available_cores(tmp_path, proc) == 3
    write(tmp_path / "cpu.max", "max 100000\n")
    assert cpu_quota(tmp_path, proc) is None
    assert available_cores(tmp_path, proc) == 32


def test_the_limit_of_a_parent_cgroup_seen_from_the_host_counts(tmp_path: Path, many_cpus: None) -> None:
    proc = tmp_path / "proc-cgroup"
    write(proc, "0::/kubepods/pod1/ctr\n")
    write(tmp_path / "kubepods/pod1/ctr/cpu.max", "max 100000\n")
    write(tmp_path / "kubepods/pod1/cpu.max", "200000 100000\n")
    write(tmp_path / "kubepods/cpu.max", "1600000 100000\n")
    assert cpu_quota(tmp_path, proc) == 2.0
    assert available_cores(tmp_path, proc) == 2


def test_cgroup_v1_cfs_quota(tmp_path: Path, many_cpus: None) -> None:
    proc = tmp_path / "proc-cgroup"
    write(proc, "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n")
    write(tmp_path / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n")
    write(tmp_path / "cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    assert cpu_quota(tmp_path, proc) == 1.5
    assert available_cores(tmp_path, proc) == 2
    write(tmp_path / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n")  # unlimited
    assert available_cores(tmp_path, proc) == 32


def test_the_affinity_caps_a_larger_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    proc = tmp_path / "proc-cgroup"
    write(proc, "0::/\n")
    write(tmp_path / "cpu.max", "800000 100000\n")
    assert available_cores(tmp_path, proc) == 2


def test_no_cgroup_files_leave_the_affinity(tmp_path: Path, many_cpus: None) -> None:
    assert cpu_quota(tmp_path / "none", tmp_path / "none") is None
    assert available_cores(tmp_path / "none", tmp_path / "none") == 32
    assert cores.available_cores() >= 1  # this machine, whatever it is
