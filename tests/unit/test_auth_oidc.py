"""OIDC access tokens (shared/auth/oidc.py) against a real JWKS served over HTTP on
127.0.0.1: a discovery document and a key set, tokens signed with the matching private
keys, and every way a token must be refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.auth.credentials import CredentialsFile, CredentialStore
from shared.auth.http import Authenticator, Caller, require
from shared.auth.oidc import OidcSettingsError, OidcTokenVerifier, from_settings
from shared.auth.setup import build_authenticator
from shared.settings import ServiceSettings

AUDIENCE = "billing-api"
PUBLISHED_SECRET = b"a-published-secret-32-bytes-long!"

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_RSA_OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_EC = ec.generate_private_key(ec.SECP256R1())
_ED = ed25519.Ed25519PrivateKey.generate()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk(kid: str, key: Any, alg: str) -> dict[str, Any]:
    public = key.public_key()
    if alg.startswith("RS"):
        data = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    elif alg.startswith("ES"):
        data = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        data = jwt.algorithms.OKPAlgorithm.to_jwk(public, as_dict=True)
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


@dataclass
class Provider:
    """A local identity provider's public side: discovery document and JWKS."""

    base: str = ""
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    jwks_requests: int = 0
    down: bool = False
    garbage: bool = False

    @property
    def issuer(self) -> str:
        return self.base + "/realms/billing"

    def add(self, kid: str, key: Any, alg: str) -> None:
        self.keys[kid] = _jwk(kid, key, alg)


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider()
    state.add("rsa-1", _RSA, "RS256")
    state.add("ec-1", _EC, "ES256")
    state.add("ed-1", _ED, "EdDSA")
    # a (misconfigured) provider publishing a symmetric key: anyone could sign with it
    state.keys["oct-1"] = {"kty": "oct", "k": _b64(PUBLISHED_SECRET), "kid": "oct-1", "alg": "HS256"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/realms/billing/.well-known/openid-configuration":
                body: Any = {"issuer": state.issuer, "jwks_uri": state.base + "/realms/billing/certs"}
            elif self.path == "/realms/billing/certs":
                state.jwks_requests += 1
                if state.down:
                    self.send_error(503)
                    return
                if state.garbage:
                    self._send(b"<html>maintenance</html>", "text/html")
                    return
                body = {"keys": list(state.keys.values())}
            else:
                self.send_error(404)
                return
            self._send(json.dumps(body).encode(), "application/json")

        def _send(self, data: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _claims(provider: Provider, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "sub": "5f0c1e2a-service-account",
        "client_id": "order-system",
        "scope": "openid profile invoicing:bill dispatch:read invoicing:*",
    }
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims: dict[str, Any], key: Any = _RSA, kid: str = "rsa-1", alg: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _verifier(provider: Provider, **options: Any) -> OidcTokenVerifier:
    return OidcTokenVerifier(provider.issuer, AUDIENCE, **options)


def test_a_valid_token_found_by_discovery_gives_its_client_and_the_catalogue_scopes(provider: Provider) -> None:
    principal = _verifier(provider).verify(_sign(_claims(provider)))
    assert principal is not None
    # recorded as oidc:<client>: never equal to a built-in credential's name (order-system) in an audit trail
    assert principal.subject == "oidc:order-system" and principal.kind == "system"
    assert principal.actor == "oidc:order-system"
    # openid/profile are the provider's, and a pattern is not a scope name: both ignored
    assert principal.scopes == {"invoicing:bill", "dispatch:read"}
    assert principal.credential_id == f"oidc:{provider.issuer}"


def test_ec_and_eddsa_keys_the_scp_list_and_the_subject_fallbacks(provider: Provider) -> None:
    verifier = _verifier(provider)
    es = _sign(_claims(provider, client_id=None, azp="crm", scope=None, scp=["customers:read"]), _EC, "ec-1", "ES256")
    p = verifier.verify(es)
    assert p is not None and p.subject == "oidc:crm" and p.scopes == {"customers:read"}
    ed = _sign(_claims(provider, client_id=None, scope="reminders:remind"), _ED, "ed-1", "EdDSA")
    p = verifier.verify(ed)
    assert p is not None and p.subject == "oidc:5f0c1e2a-service-account" and p.scopes == {"reminders:remind"}
    custom = _verifier(provider, scope_claim="roles")
    p = custom.verify(_sign(_claims(provider, scope=None, roles=["invoicing:read", "admin"])))
    assert p is not None and p.scopes == {"invoicing:read"}


def test_a_persons_token_names_the_person_who_cannot_act_for_clerks(provider: Provider) -> None:
    token = _sign(_claims(provider, preferred_username="ops-anna", scope="invoicing:admin act-for-clerks"))
    p = _verifier(provider).verify(token)
    assert p is not None and p.kind == "person" and p.actor == "oidc:ops-anna" and p.scopes == {"invoicing:admin"}
    # a person's token naming a built-in credential (a user-editable username) is still not it
    console = _verifier(provider).verify(_sign(_claims(provider, preferred_username="console")))
    assert console is not None and console.actor == "oidc:console"
    # with its prefix a subject still fits an event's actor (100 characters)
    longest = _verifier(provider).verify(_sign(_claims(provider, client_id="c" * 95)))
    assert longest is not None and len(longest.actor) == 100
    assert _verifier(provider).verify(_sign(_claims(provider, client_id="c" * 96))) is None


def _hs256_with_public_key_as_secret(claims: dict[str, Any]) -> str:
    """The classic key-confusion forgery: HMAC "signed" with the provider's public key."""
    secret = _RSA.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def test_every_wrong_token_is_refused(provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    verifier = _verifier(provider)
    now = int(time.time())
    good = _claims(provider)
    assert verifier.verify(_sign(good)) is not None
    refused = {
        "wrong issuer": _sign({**good, "iss": provider.base + "/realms/other"}),
        "wrong audience": _sign({**good, "aud": "another-app"}),
        "expired": _sign({**good, "iat": now - 3600, "exp": now - 600}),
        "not yet valid": _sign({**good, "nbf": now + 600}),
        "issued in the future": _sign({**good, "iat": now + 600, "exp": now + 900}),
        "no exp": _sign({k: v for k, v in good.items() if k != "exp"}),
        "alg none": jwt.encode(good, None, algorithm="none", headers={"kid": "rsa-1"}),
        "HS256 with the public key": _hs256_with_public_key_as_secret(good),
        "HS256 with a published symmetric key": _sign(good, PUBLISHED_SECRET, "oct-1", "HS256"),
        "unknown kid": _sign(good, kid="rsa-9"),
        "another key under a known kid": _sign(good, _RSA_OTHER, "rsa-1"),
        "EC key named as RSA": _sign(good, _EC, "rsa-1", "ES256"),
        "tampered payload": ".".join(
            [_sign(good).split(".")[0], _b64(json.dumps({**good, "scope": "invoicing:admin"}).encode()), "x"]
        ),
        "not a JWT": "bk_0123456789ab_" + "x" * 43,
    }
    with caplog.at_level(logging.DEBUG):
        for why, token in refused.items():
            assert verifier.verify(token) is None, why
    for why, token in refused.items():
        assert token not in caplog.text, why  # no token in any log line


def test_a_made_up_kid_never_hammers_the_provider_but_a_new_key_is_fetched(provider: Provider) -> None:
    guarded = _verifier(provider)  # the default refresh cooldown (30 s)
    assert guarded.verify(_sign(_claims(provider))) is not None
    for n in range(5):
        assert guarded.verify(_sign(_claims(provider), kid=f"made-up-{n}")) is None
    assert provider.jwks_requests == 1  # the key set was fetched once, then cached

    fresh = _verifier(provider, refresh_cooldown_s=0)
    assert fresh.verify(_sign(_claims(provider))) is not None
    before = provider.jwks_requests
    provider.add("rsa-2", _RSA_OTHER, "RS256")  # the provider rotates its signing key
    p = fresh.verify(_sign(_claims(provider), _RSA_OTHER, "rsa-2"))
    assert p is not None and p.subject == "oidc:order-system"
    assert provider.jwks_requests == before + 1  # refreshed once for the unknown kid


def test_keys_that_cannot_be_fetched_refuse_the_call_with_a_log_line(
    provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    token = _sign(_claims(provider))
    provider.down = True
    verifier = _verifier(provider, retry_s=3600)
    with caplog.at_level(logging.WARNING, logger="shared.auth.oidc"):
        assert verifier.verify(token) is None
        assert verifier.verify(token) is None  # inside the retry window: not fetched again
    assert provider.jwks_requests == 1
    assert "cannot fetch the provider's keys" in caplog.text and "/realms/billing/certs" in caplog.text
    assert token not in caplog.text

    provider.down = False
    recovering = _verifier(provider, retry_s=0)
    provider.garbage = True  # an HTML maintenance page instead of a key set
    assert recovering.verify(token) is None
    provider.garbage = False
    assert recovering.verify(token) is not None  # the next call after the window fetches again

    unreachable = OidcTokenVerifier("http://127.0.0.1:9/realms/billing", AUDIENCE, timeout_s=2)
    gone = _sign({**_claims(provider), "iss": "http://127.0.0.1:9/realms/billing"})
    with caplog.at_level(logging.WARNING, logger="shared.auth.oidc"):
        assert unreachable.verify(gone) is None
    assert "cannot read the discovery document of http://127.0.0.1:9/realms/billing" in caplog.text


def _app(verifier: OidcTokenVerifier) -> TestClient:
    app = FastAPI()
    app.state.authenticator = Authenticator(
        store=CredentialStore(None, data=CredentialsFile()), token_verifiers=[verifier]
    )

    @app.post("/runs", dependencies=[require("invoicing:bill")])
    async def run(caller: Caller) -> dict[str, str]:
        return {"actor": caller.actor, "kind": caller.kind}

    return TestClient(app)


def test_through_a_route_401_403_200_and_a_provider_outage_is_a_401(provider: Provider) -> None:
    client = _app(_verifier(provider, retry_s=3600))
    assert client.post("/runs").status_code == 401
    assert client.post("/runs", headers={"Authorization": "Bearer a.b.c"}).status_code == 401
    reader = _sign(_claims(provider, scope="invoicing:read"))
    answer = client.post("/runs", headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 403 and "invoicing:bill" in answer.json()["detail"]["message_en"]
    biller = _sign(_claims(provider))
    answer = client.post("/runs", headers={"Authorization": f"Bearer {biller}"})
    assert answer.status_code == 200 and answer.json() == {"actor": "oidc:order-system", "kind": "system"}
    expired = _sign(_claims(provider, iat=int(time.time()) - 900, exp=int(time.time()) - 600))
    answer = client.post("/runs", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401 and answer.json()["detail"]["code"] == "unauthorized"

    provider.down = True
    down = _app(_verifier(provider, retry_s=3600))
    assert down.post("/runs", headers={"Authorization": f"Bearer {biller}"}).status_code == 401


def _settings(**oidc: Any) -> ServiceSettings:
    return ServiceSettings(
        database_url="postgresql+asyncpg://unused@unused/unused", kafka_bootstrap_servers="unused:9092", **oidc
    )


def test_settings_off_by_default_and_an_issuer_needs_an_audience(provider: Provider) -> None:
    assert from_settings(_settings()) is None
    assert build_authenticator(_settings()).token_verifiers == []
    with pytest.raises(OidcSettingsError, match="OIDC_AUDIENCE"):
        build_authenticator(_settings(oidc_issuer=provider.issuer))
    with pytest.raises(OidcSettingsError, match="need"):
        from_settings(_settings(oidc_audience=AUDIENCE))
    with pytest.raises(OidcSettingsError, match="https"):
        from_settings(_settings(mode="production", oidc_issuer="http://idp.example.fi/realms/x", oidc_audience="a"))
    with pytest.raises(OidcSettingsError, match="not an http"):
        from_settings(_settings(oidc_issuer="file:///etc/passwd", oidc_audience="a"))

    auth = build_authenticator(_settings(oidc_issuer=provider.issuer, oidc_audience=AUDIENCE))
    p = asyncio.run(auth.principal(_sign(_claims(provider))))
    assert p is not None and p.subject == "oidc:order-system"
    jwks = build_authenticator(
        _settings(
            oidc_issuer=provider.issuer,
            oidc_audience=AUDIENCE,
            oidc_jwks_url=provider.base + "/realms/billing/certs",
            oidc_scope_claim="roles",
        )
    )
    p = asyncio.run(jwks.principal(_sign(_claims(provider, scope=None, roles="dispatch:send"))))
    assert p is not None and p.scopes == {"dispatch:send"}
