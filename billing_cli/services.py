"""Which services exist and how to load them (the CLI is the one place that knows all)."""

from __future__ import annotations

import importlib
from typing import Any

SERVICES = ("customers", "invoicing", "reminders", "dispatch")


def load(name: str) -> Any:
    """The service's ``app`` module (``services.<name>.app``)."""
    if name not in SERVICES:
        raise KeyError(name)
    return importlib.import_module(f"services.{name}.app")


def settings(name: str) -> Any:
    """The service's settings from its environment; exits with the names of the
    variables that are missing (no server address has a default)."""
    from shared.settings import MissingSettings, StartRefused

    try:
        return importlib.import_module(f"services.{name}.config").Settings()
    except MissingSettings as missing:
        raise SystemExit(f"billing: {missing}") from None
    except StartRefused as refused:  # a test hook outside a test system: one line, no trace
        raise SystemExit(f"billing: {name}: {refused}") from None
