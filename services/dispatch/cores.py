"""How many cores this process may use: the CPUs it may run on, capped by its cgroup's
CPU quota (a container's or a Kubernetes pod's CPU limit). ``os.cpu_count()`` counts
the node's cores: a pod limited to 1 CPU on a 32-core node would start render
processes for 31, each with its own memory, and be killed for its memory limit."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def available_cores(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """The CPUs this process may run on, at most its CPU quota rounded up (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    quota = cpu_quota(root, proc_cgroup)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The smallest CPU quota (in CPUs) of this process's cgroup and its parents, cgroup
    v2 (``cpu.max``) or v1 (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``); None: none."""
    quotas = [q for d in _cgroup_dirs(root, proc_cgroup) if (q := _quota(d)) is not None]
    return min(quotas) if quotas else None


def _cgroup_dirs(root: Path, proc_cgroup: Path) -> list[Path]:
    """The folders that may hold this process's CPU limit: its own cgroup's and its
    parents' (seen from the host), and the mount's root (a container's own cgroup)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    dirs = [root, root / "cpu", root / "cpu,cpuacct"]
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            base = root  # v2
        elif "cpu" in controllers.split(","):
            base = root / controllers  # v1
        else:
            continue
        here = base / path.strip("/")
        while here != base and base in here.parents:
            dirs.append(here)
            here = here.parent
    return dirs


def _quota(folder: Path) -> float | None:
    try:
        fields = (folder / "cpu.max").read_text().split()
        if len(fields) == 2 and fields[0] != "max":
            return _ratio(fields[0], fields[1])
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = (folder / "cpu.cfs_quota_us").read_text().strip()
        period = (folder / "cpu.cfs_period_us").read_text().strip()
        return _ratio(quota, period)
    except (OSError, ValueError):
        return None


def _ratio(quota: str, period: str) -> float | None:
    q, p = int(quota), int(period)
    return q / p if q > 0 and p > 0 else None
