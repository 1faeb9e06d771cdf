"""shared.auth: credentials, the clerk assertion, and the dependencies every route uses."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.auth import assertion
from shared.auth.credentials import (
    Credential,
    CredentialsError,
    CredentialsFile,
    CredentialStore,
    add_key,
    load,
    revoke,
    rotate,
    save,
)
from shared.auth.http import Authenticator, Caller, require, required_scopes
from shared.auth.scopes import ALL_SCOPES, UnknownScope, expand

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_patterns_expand_to_the_catalogue_and_a_typo_is_refused() -> None:
    assert expand(["invoicing:*"]) == {"invoicing:read", "invoicing:bill", "invoicing:replay", "invoicing:admin"}
    assert expand(["*:send"]) == {"dispatch:send"}
    assert expand(["*"]) == ALL_SCOPES - {"act-for-clerks"}  # acting for a clerk is only granted by name
    assert "act-for-clerks" in expand(["*", "act-for-clerks"])
    with pytest.raises(UnknownScope):
        expand(["invoicing:bil"])
    with pytest.raises(ValueError):
        Credential(name="x", scopes=["invocing:*"])


def _store(cred: Credential, now: datetime) -> CredentialStore:
    return CredentialStore(None, data=CredentialsFile(credentials=[cred]), clock=lambda: now)


def test_a_token_verifies_only_whole_and_only_while_valid() -> None:
    cred = Credential(name="order-system", scopes=["invoicing:bill"])
    token = add_key(cred, at=T0, expires=T0 + timedelta(days=1))
    p = _store(cred, T0).verify(token)
    assert (
        p is not None and p.subject == "order-system" and p.scopes == {"invoicing:bill"} and p.actor == "order-system"
    )
    assert _store(cred, T0).verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert _store(cred, T0).verify("bk_" + "0" * 12 + "_" + "x" * 43) is None
    assert _store(cred, T0 + timedelta(days=1)).verify(token) is None  # expired
    assert "hash" not in token and cred.keys[0].hash.startswith("sha256:")
    assert token not in cred.model_dump_json()


def test_rotation_overlaps_then_the_old_key_ends_and_revocation_is_immediate() -> None:
    cred = Credential(name="crm", scopes=["customers:read"])
    old = add_key(cred, at=T0)
    new = rotate(cred, at=T0, overlap=timedelta(hours=2))
    assert _store(cred, T0 + timedelta(hours=1)).verify(old) is not None
    assert _store(cred, T0 + timedelta(hours=1)).verify(new) is not None
    assert _store(cred, T0 + timedelta(hours=2)).verify(old) is None
    assert _store(cred, T0 + timedelta(hours=2)).verify(new) is not None
    assert revoke(cred, at=T0 + timedelta(hours=3)) == 2  # every key, the expired one too
    assert _store(cred, T0 + timedelta(hours=3)).verify(new) is None


def test_the_store_rereads_a_changed_file_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    cred = Credential(name="bank", scopes=["invoicing:bill"])
    token = add_key(cred, at=T0)
    save(path, CredentialsFile(credentials=[cred]))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    store = CredentialStore(path, recheck_s=0.0)
    assert store.verify(token) is not None
    data = load(path)
    revoke(data.credentials[0], at=datetime.now(UTC))
    save(path, data)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert store.verify(token) is None  # revoked without a restart
    path.write_text("{not json")
    assert store.verify(token) is None and store.last_error and "is not valid: Invalid JSON" in store.last_error
    with pytest.raises(CredentialsError):
        CredentialStore(path)  # at start a broken file stops the process


def test_an_assertion_is_bound_to_the_key_the_audience_and_its_lifetime() -> None:
    private, public = assertion.new_keypair()
    key = assertion.load_private_key(private)
    keys = assertion.load_public_keys([public.decode()])
    signed = assertion.sign(key, "anna", ["invoicing:read"])
    assert assertion.verify(signed, keys) == assertion.Clerk("anna", frozenset({"invoicing:read"}))
    other_private, other_public = assertion.new_keypair()
    forged = assertion.sign(assertion.load_private_key(other_private), "anna")
    with pytest.raises(assertion.AssertionRefused):
        assertion.verify(forged, keys)
    # rotation: both public keys configured, either private key works
    both = assertion.load_public_keys([public.decode(), other_public.decode()])
    assert assertion.verify(forged, both).name == "anna"
    stale = assertion.sign(key, "anna", now=time.time() - 3600)
    with pytest.raises(assertion.AssertionRefused):
        assertion.verify(stale, keys)


def _app(cred_scopes: dict[str, list[str]]) -> tuple[TestClient, dict[str, str], bytes]:
    creds, tokens = [], {}
    for name, scopes in cred_scopes.items():
        c = Credential(name=name, scopes=scopes)
        tokens[name] = add_key(c, at=T0)
        creds.append(c)
    private, public = assertion.new_keypair()
    app = FastAPI()
    app.state.authenticator = Authenticator(
        store=CredentialStore(None, data=CredentialsFile(credentials=creds)),
        assertion_keys=assertion.load_public_keys([public.decode()]),
    )

    @app.post("/runs", dependencies=[require("invoicing:bill")])
    async def run(caller: Caller) -> dict[str, str]:
        return {"actor": caller.actor, "kind": caller.kind}

    assert required_scopes(next(r for r in app.routes if getattr(r, "path", "") == "/runs")) == ["invoicing:bill"]
    return TestClient(app), tokens, private


def test_the_actor_is_the_authenticated_caller_never_a_header() -> None:
    client, tokens, private = _app(
        {
            "order-system": ["invoicing:bill"],
            "console": ["*:read", "invoicing:bill", "act-for-clerks"],
            "crm": ["customers:read"],
        }
    )
    bearer = {"Authorization": f"Bearer {tokens['order-system']}"}
    assert client.post("/runs").status_code == 401
    assert client.post("/runs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/runs", headers=bearer).json() == {"actor": "order-system", "kind": "system"}
    refused = client.post("/runs", headers={**bearer, "X-Actor": "anna"})
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "actor-header-refused"
    forbidden = client.post("/runs", headers={"Authorization": f"Bearer {tokens['crm']}"})
    assert forbidden.status_code == 403 and "invoicing:bill" in forbidden.json()["detail"]["message_en"]
    key = assertion.load_private_key(private)
    as_anna = {"Authorization": f"Bearer {tokens['console']}", assertion.HEADER: assertion.sign(key, "anna")}
    assert client.post("/runs", headers=as_anna).json() == {"actor": "anna", "kind": "person"}
    # a system credential cannot carry a clerk assertion, even a valid one
    stolen = {**bearer, assertion.HEADER: assertion.sign(key, "anna")}
    assert client.post("/runs", headers=stolen).json()["detail"]["code"] == "assertion-not-allowed"
    # the clerk's own scopes narrow the console's
    narrowed = {**as_anna, assertion.HEADER: assertion.sign(key, "anna", ["invoicing:read"])}
    assert client.post("/runs", headers=narrowed).status_code == 403


def test_the_consoles_credential_without_a_clerk_assertion_is_refused() -> None:
    """Whoever reads the console's token but lacks its private key gets nothing with it:
    a credential holding act-for-clerks acts only for a clerk whose assertion it carries."""
    client, tokens, private = _app({"console": ["*:read", "invoicing:bill", "act-for-clerks"]})
    bare = {"Authorization": f"Bearer {tokens['console']}"}
    refused = client.post("/runs", headers=bare)
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "assertion-required"
    assert refused.json()["detail"]["message_fi"]
    # an empty assertion header is no assertion either
    assert client.post("/runs", headers={**bare, assertion.HEADER: ""}).json()["detail"]["code"] == (
        "assertion-required"
    )
    signed = assertion.sign(assertion.load_private_key(private), "anna")
    assert client.post("/runs", headers={**bare, assertion.HEADER: signed}).json() == {
        "actor": "anna",
        "kind": "person",
    }
