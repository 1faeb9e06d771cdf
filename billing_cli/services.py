"""Which services exist and how to load them (the CLI is the one place that knows all)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

SERVICES = ("customers", "invoicing", "reminders", "dispatch")


def load(name: str) -> Any:
    """The service's ``app`` module (``services.<name>.app``)."""
    if name not in SERVICES:
        raise KeyError(name)
    return importlib.import_module(f"services.{name}.app")


def migrations_dir(name: str) -> Path:
    """The service's Alembic folder (its ``SPEC.migrations_dir``) without importing the
    service's app: ``billing migrate`` needs only the folder, not the web and messaging
    stack a service loads to run."""
    if name not in SERVICES:
        raise KeyError(name)
    spec = importlib.util.find_spec(f"services.{name}")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "migrations"


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
