"""Crash injection for the crash-recovery tests (off unless the env var is set).

``BILLING_FAILPOINTS=consumer.after_commit`` makes the process SIGKILL itself at that
point, the way a power cut or OOM kill would, so a test can prove recovery with a real
process rather than a simulated one. Nothing else reads this variable. It is a test hook:
a service's settings refuse to load (the process does not start) when it is set without
``BILLING_TEST_HOOKS=on`` (:meth:`shared.settings.ServiceSettings.refuse_test_hook`).
"""

from __future__ import annotations

import os
import signal


def hit(name: str) -> None:
    armed = os.environ.get("BILLING_FAILPOINTS", "")
    if armed and name in armed.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
