"""The authenticated caller of a service's API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["system", "person"]


@dataclass(frozen=True)
class Principal:
    subject: str
    """The credential's name (``order-system``, ``console``, ``ops-anna``) or an OIDC
    token's client/subject."""
    kind: Kind
    scopes: frozenset[str]
    """What this call may do (with a clerk assertion: the credential's scopes that the
    clerk also has)."""
    credential_id: str
    """The key that authenticated (a credential key id, or ``oidc:<issuer>``): for logs."""
    on_behalf_of: str | None = None
    """The clerk the console acted for (from a verified assertion), else None."""

    @property
    def actor(self) -> str:
        """Who acted, for audit trails: the clerk when the console acted for one, otherwise
        the caller itself (a system acts as itself)."""
        return self.on_behalf_of or self.subject

    def allows(self, scope: str) -> bool:
        return scope in self.scopes
