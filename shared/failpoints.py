"""Crash injection for the crash-recovery tests (off unless the env var is set).

``BILLING_FAILPOINTS=consumer.after_commit`` makes the process SIGKILL itself at that
point, the way a power cut or OOM kill would, so a test can prove recovery with a real
process rather than a simulated one. Nothing else reads this variable.
"""

from __future__ import annotations

import os
import signal


def hit(name: str) -> None:
    armed = os.environ.get("BILLING_FAILPOINTS", "")
    if armed and name in armed.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
