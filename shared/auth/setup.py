"""The :class:`~shared.auth.http.Authenticator` a service builds from its settings."""

from __future__ import annotations

import re

from shared.auth.assertion import load_public_keys
from shared.auth.credentials import CredentialStore
from shared.auth.http import Authenticator, TokenVerifier
from shared.auth.oidc import from_settings as oidc_from_settings
from shared.settings import ServiceSettings

_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def build_authenticator(settings: ServiceSettings) -> Authenticator:
    """Credentials from ``credentials_file`` (none: every call is refused), the console's
    assertion keys from ``actor_assertion_public_keys_file``, and OIDC access tokens when
    ``oidc_issuer`` is set (:func:`shared.auth.oidc.from_settings`). A file that cannot be
    read, or OIDC settings that cannot work, stop the start with a message naming them."""
    store = CredentialStore(settings.credentials_file)
    keys = []
    if settings.actor_assertion_public_keys_file is not None:
        where = settings.actor_assertion_public_keys_file
        try:
            text = where.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not a PEM text file"
            raise ValueError(f"ACTOR_ASSERTION_PUBLIC_KEYS_FILE {where}: {reason}") from None
        keys = load_public_keys(_PEM.findall(text))
        if not keys:
            raise ValueError(f"{settings.actor_assertion_public_keys_file} holds no PEM public key")
    verifiers: list[TokenVerifier] = []
    oidc = oidc_from_settings(settings)
    if oidc is not None:
        verifiers.append(oidc)
    return Authenticator(store=store, assertion_keys=keys, token_verifiers=verifiers)
