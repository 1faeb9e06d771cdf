"""A real local OIDC provider for the console's sign-in tests, and a console to sign in to.

The provider is ``oidc-provider-mock`` (Authlib's authorization server in a Flask app):
its authorize page is a form where the person signing in types a subject or clicks one of
the preset users; it signs id tokens with its own RSA key and serves discovery and JWKS.
It is served on 127.0.0.1 and named ``localhost`` in its issuer URL, so its cookies and the
console's (on 127.0.0.1) never mix, as with a real provider on another host.

:class:`Provider` records every form the token endpoint received, so a test can check
what the console sent there (the PKCE verifier) even though the mock does not check it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import oidc_provider_mock
import werkzeug.serving

CLIENT_ID = "billing-console"
CLIENT_SECRET = "console-secret-for-tests-only"  # the mock accepts any; signs nothing real
GROUP = "billing-clerks"

ANNA = oidc_provider_mock.User(
    sub="sub-anna", claims={"preferred_username": "anna", "name": "Anna Virtanen", "groups": [GROUP]}
)
BERTTA = oidc_provider_mock.User(sub="sub-bertta", claims={"preferred_username": "bertta", "groups": []})
OLLI = oidc_provider_mock.User(sub="sub-olli", claims={"preferred_username": "olli", "groups": ["sales"]})
MALLORY = oidc_provider_mock.User(sub="sub-mallory", claims={"preferred_username": "bertta", "groups": []})
"""Someone who set her (user-editable) username to Bertta's at the provider."""
VEERA = oidc_provider_mock.User(sub="sub-veera", claims={"email": "veera@example.org", "email_verified": True})
UNVERIFIED = oidc_provider_mock.User(
    sub="sub-unverified", claims={"email": "veera.v@example.org", "email_verified": False}
)
COLON = oidc_provider_mock.User(sub="sub-colon", claims={"preferred_username": "oidc:order-system", "groups": [GROUP]})
USERS = (ANNA, BERTTA, OLLI, MALLORY, VEERA, UNVERIFIED, COLON)


@dataclass
class Provider:
    issuer: str
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)


@contextmanager
def oidc_provider(users: Sequence[oidc_provider_mock.User] = USERS) -> Iterator[Provider]:
    """The mock provider on a free port; ``require_nonce``: an authorize request without a
    nonce is refused, as strict providers do."""
    app = oidc_provider_mock.app(require_nonce=True, user_claims=users)
    provider = Provider(issuer="")

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/oauth2/token":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            provider.token_requests.append(parse_qs(body.decode()))
            environ["wsgi.input"] = io.BytesIO(body)  # read again by the app
        return app(environ, start_response)

    server = werkzeug.serving.make_server("127.0.0.1", 0, recording, threaded=True)
    provider.issuer = f"http://localhost:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def oidc_settings(issuer: str, **overrides: Any) -> dict[str, Any]:
    """Console settings for OIDC sign-in at ``issuer``: the group lets Anna in, the list Bertta."""
    values: dict[str, Any] = {
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_provider_name": "Testi-IdP",
        "oidc_allowed_users": ["bertta"],
        "oidc_required_group": GROUP,
    }
    values.update(overrides)
    return values
