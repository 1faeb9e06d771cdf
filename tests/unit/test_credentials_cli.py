"""`billing credentials …`: the file it writes, the tokens it prints, and what it refuses.
Most calls run the CLI in this process; the token-alone-on-stdout contract and the
concurrent edits run the real `billing` executable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billing_cli.main import app as cli
from shared.auth import assertion
from shared.auth.credentials import Credential, CredentialsError, CredentialStore, edit, load, lock_path
from shared.auth.scopes import ALL_SCOPES

BILLING = Path(sys.executable).with_name("billing")
TOKEN = re.compile(r"^bk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["credentials", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def store_at(path: Path, when: datetime) -> CredentialStore:
    return CredentialStore(path, clock=lambda: when)


def test_create_prints_only_the_token_and_the_file_holds_only_its_hash(tmp_path: Path) -> None:
    file = tmp_path / "credentials.json"
    before = datetime.now(UTC)
    proc = subprocess.run(
        [str(BILLING), "credentials", "create", "order-system", "--scopes", "invoicing:bill,*:read",
         "--expires-in", "90d", "--description", "the order system", "--file", str(file)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip()
    assert proc.stdout == token + "\n" and TOKEN.match(token)  # TOKEN=$(billing credentials create …)
    assert "shown only now" in proc.stderr and token not in proc.stderr
    assert oct(file.stat().st_mode & 0o777) == "0o600"
    text = file.read_text()
    assert token not in text and token.split("_", 2)[2] not in text
    cred = load(file).credentials[0]
    assert (cred.name, cred.kind, cred.scopes, cred.description) == (
        "order-system", "system", ["invoicing:bill", "*:read"], "the order system",
    )  # fmt: skip
    key = cred.keys[0]
    assert key.id == token.split("_")[1] and key.expires is not None
    assert before + timedelta(days=90) <= key.expires <= datetime.now(UTC) + timedelta(days=90)
    principal = store_at(file, datetime.now(UTC)).verify(token)
    assert principal is not None and principal.subject == "order-system" and principal.kind == "system"
    assert principal.scopes == {
        "invoicing:bill", "customers:read", "invoicing:read", "reminders:read", "dispatch:read",
    }  # fmt: skip
    assert store_at(file, key.expires).verify(token) is None  # the lifetime holds

    code, out, err = run("create", "order-system", "--scopes", "invoicing:read", "--file", str(file))
    assert code == 2 and out == "" and "exists already" in err
    assert len(load(file).credentials) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crm", "--scopes", "invocing:bill"], "unknown scope 'invocing:bill'"),
        (["crm", "--scopes", "customers:read,billing:*"], "unknown scope 'billing:*'"),
        (["crm", "--scopes", " , "], "--scopes is empty"),
        (["CRM system", "--scopes", "customers:read"], "name 'CRM system' refused"),
        (["crm", "--scopes", "customers:read", "--kind", "robot"], "--kind 'robot' refused"),
        (["crm", "--scopes", "customers:read", "--expires-in", "5y"], "--expires-in '5y' is not a duration"),
    ],
)
def test_bad_input_is_one_clear_line_exit_2_and_changes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    file = tmp_path / "credentials.json"
    code, out, err = run("create", *args, "--file", str(file))
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and message in err, err
    assert not file.exists()


def test_rotation_keeps_the_old_key_for_the_overlap_and_revocation_ends_keys(tmp_path: Path) -> None:
    file = tmp_path / "credentials.json"
    _, old, _ = run("create", "crm", "--scopes", "customers:*", "--file", str(file))
    old = old.strip()
    at = datetime.now(UTC)
    code, new, err = run("rotate", "crm", "--overlap", "7d", "--file", str(file))
    new = new.strip()
    assert code == 0 and TOKEN.match(new) and new != old and "valid until" in err
    keys = load(file).credentials[0].keys
    assert len(keys) == 2 and keys[1].expires is None
    old_end = keys[0].expires
    assert old_end is not None and at + timedelta(days=7) <= old_end <= datetime.now(UTC) + timedelta(days=7)
    during, after = old_end - timedelta(minutes=1), old_end
    assert store_at(file, during).verify(old) is not None and store_at(file, during).verify(new) is not None
    assert store_at(file, after).verify(old) is None and store_at(file, after).verify(new) is not None

    code, out, _ = run("revoke", "crm", "--key", keys[1].id, "--file", str(file))
    assert code == 0 and out.strip() == "revoked 1 key(s) of crm"
    assert store_at(file, during).verify(new) is None and store_at(file, during).verify(old) is not None
    code, out, _ = run("revoke", "crm", "--file", str(file))
    assert code == 0 and out.strip() == "revoked 1 key(s) of crm"  # the one left
    assert store_at(file, during).verify(old) is None
    code, _, err = run("revoke", "crm", "--key", "0123456789ab", "--file", str(file))
    assert code == 2 and "has no key '0123456789ab'" in err
    code, _, err = run("rotate", "nobody", "--file", str(file))
    assert code == 2 and "no credential named 'nobody'" in err
    # every key revoked: rotate does not quietly bring the credential back
    code, out, err = run("rotate", "crm", "--file", str(file))
    assert code == 2 and out == "" and "is revoked" in err
    assert all(k.revoked is not None for k in load(file).credentials[0].keys)


def test_rotation_keeps_the_lifetime_policy_of_the_last_key(tmp_path: Path) -> None:
    file = tmp_path / "credentials.json"
    run("create", "bank", "--scopes", "invoicing:bill", "--expires-in", "90d", "--file", str(file))
    code, _, _ = run("rotate", "bank", "--overlap", "1d", "--file", str(file))
    _old, new = load(file).credentials[0].keys
    assert code == 0 and new.expires is not None
    assert new.expires - new.created == timedelta(days=90)
    code, _, _ = run("rotate", "bank", "--overlap", "1d", "--expires-in", "30d", "--file", str(file))
    newest = load(file).credentials[0].keys[-1]
    assert newest.expires is not None and newest.expires - newest.created == timedelta(days=30)


def test_list_shows_keys_and_validity_but_never_a_token_or_hash(tmp_path: Path) -> None:
    file = tmp_path / "credentials.json"
    tokens = [run("create", "bank", "--scopes", "invoicing:bill", "--file", str(file))[1].strip()]
    tokens.append(run("create", "ops-anna", "--kind", "person", "--scopes", "*", "--file", str(file))[1].strip())
    tokens.append(run("rotate", "bank", "--overlap", "0", "--file", str(file))[1].strip())
    run("revoke", "ops-anna", "--file", str(file))
    data = load(file)
    hashes = [k.hash for c in data.credentials for k in c.keys]
    code, text, _ = run("list", "--file", str(file))
    code_json, raw, _ = run("list", "--json", "--file", str(file))
    assert code == 0 and code_json == 0
    for secret in [*tokens, *[t.split("_", 2)[2] for t in tokens], *hashes, *[h.split(":")[1] for h in hashes]]:
        assert secret not in text and secret not in raw
    assert "sha256" not in text and "sha256" not in raw
    listed = {c["name"]: c for c in json.loads(raw)["credentials"]}
    bank_keys = {k["id"]: k for k in listed["bank"]["keys"]}
    first, second = (k.id for k in data.credentials[0].keys)
    assert bank_keys[first]["state"] == "expired" and bank_keys[first]["valid"] is False
    assert bank_keys[second]["state"] == "valid" and bank_keys[second]["valid"] is True
    assert listed["ops-anna"]["kind"] == "person" and listed["ops-anna"]["keys"][0]["state"] == "revoked"
    assert "bank  system  scopes invoicing:bill  1 valid key(s)" in text
    assert f"key {first}" in text and "expired" in text and "revoked" in text


def test_broken_or_missing_files_are_one_line_exit_1(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    code, _, err = run("list", "--file", str(missing))
    assert code == 1 and "No such file" in err and err.count("\n") == 1
    broken = tmp_path / "broken.json"
    broken.write_text('{"credentials": [{"name": "x", "scopes": ["nope:*"]}]}')
    code, _, err = run("rotate", "x", "--file", str(broken))
    assert code == 1 and "is not valid" in err
    code, _, err = run("create", "y", "--scopes", "*", "--file", str(tmp_path / "no-such-dir" / "c.json"))
    assert code == 1 and "cannot lock" in err


def test_scopes_lists_the_whole_catalogue() -> None:
    code, out, _ = run("scopes")
    listed = {line.split()[0] for line in out.splitlines()}
    assert code == 0 and listed == ALL_SCOPES
    assert all(len(line.split(maxsplit=1)) == 2 for line in out.splitlines())  # each with its meaning


def test_assertion_keys_make_a_working_pair_and_refuse_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    code, printed, err = run("assertion-keys", "--out", str(out))
    assert code == 0 and "console" in err and "every service" in err
    private_path, public_path = (Path(p) for p in printed.split())
    assert oct(private_path.stat().st_mode & 0o777) == "0o600"
    key = assertion.load_private_key(private_path.read_bytes())
    keys = assertion.load_public_keys([public_path.read_text()])
    assert assertion.verify(assertion.sign(key, "anna"), keys).name == "anna"
    before = private_path.read_bytes()
    code, _, err = run("assertion-keys", "--out", str(out))
    assert code == 2 and "refusing to overwrite" in err and private_path.read_bytes() == before
    code, _, _ = run("assertion-keys", "--out", str(out), "--force")
    assert code == 0 and private_path.read_bytes() != before
    assert oct(private_path.stat().st_mode & 0o777) == "0o600"


def _waits_for_lock(pid: int, lock: Path) -> bool:
    """Whether process ``pid`` is blocked on a flock of ``lock`` (a ``->`` line in /proc/locks)."""
    inode = f":{lock.stat().st_ino} "
    return any(
        line.split()[1] == "->" and line.split()[5] == str(pid) and inode in line
        for line in Path("/proc/locks").read_text().splitlines()
    )


def test_an_edit_waits_for_the_lock_so_concurrent_edits_lose_nothing(tmp_path: Path) -> None:
    file = tmp_path / "credentials.json"
    run("create", "first", "--scopes", "customers:read", "--file", str(file))
    env = {**os.environ, "BILLING_CREDENTIALS_FILE": str(file)}  # the option's variable
    with edit(file) as data:  # another editor holds the file: read, then modify
        proc = subprocess.Popen(
            [str(BILLING), "credentials", "create", "second", "--scopes", "dispatch:send"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        for _ in range(1200):  # at most 60 s for the CLI to start and reach the lock
            if proc.poll() is not None or _waits_for_lock(proc.pid, lock_path(file)):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "billing credentials create wrote the file while another edit held it"
        assert _waits_for_lock(proc.pid, lock_path(file))
        data.credentials.append(Credential(name="held", scopes=["metrics"]))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    data = load(file)
    assert [c.name for c in data.credentials] == ["first", "held", "second"]
    found = store_at(file, datetime.now(UTC)).verify(out.strip())
    assert found is not None and found.subject == "second"


def test_an_edit_that_would_break_the_file_is_not_saved(tmp_path: Path) -> None:
    file = tmp_path / "credentials.json"
    run("create", "crm", "--scopes", "customers:read", "--file", str(file))
    before = file.read_bytes()
    with pytest.raises(CredentialsError, match="two credentials have one name"), edit(file) as data:
        data.credentials.append(Credential(name="crm", scopes=["metrics"]))
    assert file.read_bytes() == before
