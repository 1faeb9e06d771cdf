"""The :class:`~shared.auth.http.Authenticator` a service builds from its settings."""

from __future__ import annotations

import re

from shared.auth.assertion import load_public_keys
from shared.auth.credentials import CredentialStore
from shared.auth.http import Authenticator
from shared.settings import ServiceSettings

_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def build_authenticator(settings: ServiceSettings) -> Authenticator:
    """Credentials from ``credentials_file`` (none: every call is refused), the console's
    assertion keys from ``actor_assertion_public_keys_file``. A file that cannot be read
    stops the start with a message naming it."""
    store = CredentialStore(settings.credentials_file)
    keys = []
    if settings.actor_assertion_public_keys_file is not None:
        text = settings.actor_assertion_public_keys_file.read_text(encoding="ascii")
        keys = load_public_keys(_PEM.findall(text))
        if not keys:
            raise ValueError(f"{settings.actor_assertion_public_keys_file} holds no PEM public key")
    return Authenticator(store=store, assertion_keys=keys)
