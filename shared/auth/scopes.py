"""The scopes a credential can hold: ``<service>:<operation>``, plus ``metrics`` (scrape
any service's ``/metrics``) and ``act-for-clerks`` (only the console: it may carry a
signed clerk assertion, :mod:`shared.auth.assertion`).

A credential lists patterns: ``*`` (every scope but ``act-for-clerks``, which is only ever
granted by name: a credential that may name someone else as the actor says so),
``invoicing:*`` (every operation of one service), ``*:read`` (one operation of every
service that has it), or one scope.
"""

from __future__ import annotations

from collections.abc import Iterable

SERVICES: tuple[str, ...] = ("customers", "invoicing", "reminders", "dispatch")

OPERATIONS: dict[str, tuple[str, ...]] = {
    "customers": ("read", "write", "replay", "admin"),
    "invoicing": ("read", "bill", "replay", "admin"),
    "reminders": ("read", "remind", "replay", "admin"),
    "dispatch": ("read", "send", "replay", "admin"),
}
"""Each service's operations: ``read`` every GET; ``write`` customer card edits; ``bill``
billing runs, confirming, corrective invoices, payments; ``remind`` reminders, disputes,
handover to collection; ``send`` sending and re-sending documents, moving them between
channels; ``replay`` replaying or discarding dead letters; ``admin`` erasure,
republishing, rates and other operator actions."""

METRICS = "metrics"
ACT_FOR_CLERKS = "act-for-clerks"

ALL_SCOPES: frozenset[str] = frozenset(
    [f"{service}:{op}" for service, ops in OPERATIONS.items() for op in ops] + [METRICS, ACT_FOR_CLERKS]
)

CLERK_SCOPES: frozenset[str] = frozenset(
    f"{service}:{op}" for service, ops in OPERATIONS.items() for op in ops if op not in ("admin",)
)
"""What a billing clerk does in the console: everything but the operator's ``admin``."""


class UnknownScope(ValueError):
    """A pattern that names no scope (a typo must not silently grant nothing)."""


def scope(service: str, operation: str) -> str:
    """``service:operation``, checked against :data:`OPERATIONS`."""
    name = f"{service}:{operation}"
    if name not in ALL_SCOPES:
        raise UnknownScope(name)
    return name


def expand(patterns: Iterable[str]) -> frozenset[str]:
    """The scopes a list of patterns grants. Raises :class:`UnknownScope` for a pattern
    that matches nothing."""
    granted: set[str] = set()
    for raw in patterns:
        pattern = raw.strip()
        if pattern == "*":
            matched = set(ALL_SCOPES - {ACT_FOR_CLERKS})
        elif pattern.endswith(":*"):
            service = pattern[:-2]
            matched = {f"{service}:{op}" for op in OPERATIONS.get(service, ())}
        elif pattern.startswith("*:"):
            op = pattern[2:]
            matched = {f"{s}:{op}" for s, ops in OPERATIONS.items() if op in ops}
        else:
            matched = {pattern} & ALL_SCOPES
        if not matched:
            raise UnknownScope(pattern)
        granted |= matched
    return frozenset(granted)
