"""The kit's credential plan: every caller its own credential, with the scopes it needs,
in a file the services read (checked here with the services' own reader)."""

from __future__ import annotations

import stat
from pathlib import Path

from billing_testkit import credentials as kit
from shared.auth import assertion
from shared.auth.credentials import CredentialStore, load
from shared.auth.scopes import ACT_FOR_CLERKS, ALL_SCOPES, CLERK_SCOPES, METRICS, expand


def test_every_caller_has_its_own_credential_and_only_the_console_acts_for_clerks(tmp_path: Path) -> None:
    issued = kit.issue(tmp_path / "auth")
    names = [c.name for c in kit.PLAN]
    assert len(set(names)) == len(names)
    assert {"console", "testkit-clerk", "ops", "crm", "order-system", "bank", "prometheus"} <= set(names)
    tokens = [issued.token(n) for n in names]
    assert len(set(tokens)) == len(tokens)  # distinct tokens, one a caller
    store = CredentialStore(issued.credentials_file)
    scopes = {}
    for name in names:
        principal = store.verify(issued.token(name))
        assert principal is not None and principal.subject == name, name
        scopes[name] = principal.scopes
    assert [n for n, s in scopes.items() if ACT_FOR_CLERKS in s] == ["console"]
    assert scopes["console"] == CLERK_SCOPES | {ACT_FOR_CLERKS}
    assert scopes["testkit-clerk"] == CLERK_SCOPES  # the kit's clerk: what a clerk may do
    assert expand(kit.CLERK_SCOPES) == CLERK_SCOPES
    assert scopes["ops"] == ALL_SCOPES - {ACT_FOR_CLERKS}
    assert scopes["prometheus"] == {METRICS}
    for system in ("crm", "order-system", "notice-system", "bank"):  # outside systems: read only, no admin
        assert scopes[system] and all(s.endswith(":read") for s in scopes[system]), system
    assert load(issued.credentials_file).find("testkit-clerk").kind == "person"  # type: ignore[union-attr]
    # only hashes in the file
    text = issued.credentials_file.read_text()
    assert not any(t in text for t in tokens) and "sha256:" in text
    assert stat.S_IMODE(issued.credentials_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(issued.assertion_private_key.stat().st_mode) == 0o600


def test_the_consoles_key_pair_signs_what_the_services_verify(tmp_path: Path) -> None:
    issued = kit.issue(tmp_path)
    key = assertion.load_private_key(issued.assertion_private_key.read_bytes())
    public = assertion.load_public_keys([issued.assertion_public_keys.read_text()])
    assert assertion.verify(assertion.sign(key, "anna"), public).name == "anna"
    other = kit.issue(tmp_path / "other")  # another system's key is not accepted
    assert other.assertion_public_keys.read_bytes() != issued.assertion_public_keys.read_bytes()


def test_a_local_stack_keeps_its_credentials_and_what_was_added(tmp_path: Path) -> None:
    first = kit.ensure(tmp_path / "auth")
    assert stat.S_IMODE((tmp_path / "auth").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "auth" / "token-ops").stat().st_mode) == 0o600
    again = kit.ensure(tmp_path / "auth")
    assert dict(again.tokens) == dict(first.tokens)
    assert CredentialStore(again.credentials_file).verify(again.token("ops")) is not None
    (tmp_path / "auth" / "token-ops").unlink()  # a lost token: a new set, the old ones no longer valid
    renewed = kit.ensure(tmp_path / "auth")
    assert renewed.token("ops") != first.token("ops")
    assert CredentialStore(renewed.credentials_file).verify(first.token("console")) is None
