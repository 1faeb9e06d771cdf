"""The callers' credentials of a test system (the built-in issuer, shared.auth.credentials).

One credentials file per test process (written once, in a temporary folder removed at
exit), given to every service of every sandbox (``credentials_file``), with:

- ``tests`` (:data:`SYSTEM`): a system credential holding ``*``; a plain call acts as
  ``tests`` (what :data:`tests.support.isolation.API_TOKEN` is);
- ``console`` (:data:`CONSOLE`): ``*`` including ``act-for-clerks``; with a clerk's signed
  assertion (:func:`as_clerk`) a call acts as that clerk;
- ``only-<service>-<op>`` for every scope of ``ALL_SCOPES`` (:meth:`CallerCredentials.only`):
  a credential holding that one scope (the authorization matrix uses them).

The console's assertion key pair is made here too; its public key is the services'
``actor_assertion_public_keys_file``.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import assertion
from shared.auth.credentials import Credential, CredentialsFile, add_key, save
from shared.auth.scopes import ACT_FOR_CLERKS, ALL_SCOPES

SYSTEM = "tests"
CONSOLE = "console"


def only_name(scope: str) -> str:
    """The name of the credential that holds just ``scope``."""
    return "only-" + scope.replace(":", "-")


@dataclass(frozen=True)
class CallerCredentials:
    folder: Path
    file: Path
    """The credentials file (hashes only)."""
    public_keys_file: Path
    """The console's assertion public key (PEM): the services' setting."""
    private_key_file: Path
    """The console's assertion private key (PEM): the console's setting."""
    tokens: dict[str, str]
    """Credential name -> its token."""
    assertion_key: Ed25519PrivateKey

    def token(self, name: str = SYSTEM) -> str:
        return self.tokens[name]

    def only(self, scope: str) -> str:
        """The token of a credential holding only ``scope``."""
        return self.tokens[only_name(scope)]

    def bearer(self, name: str = SYSTEM) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def as_clerk(self, clerk: str, scopes: Iterable[str] | None = None) -> dict[str, str]:
        """Headers of a console call made for ``clerk`` (optionally narrowed to ``scopes``)."""
        signed = assertion.sign(self.assertion_key, clerk, None if scopes is None else list(scopes))
        return {**self.bearer(CONSOLE), assertion.HEADER: signed}

    def settings(self) -> dict[str, str]:
        """A service's settings that make it check callers against these credentials."""
        return {"credentials_file": str(self.file), "actor_assertion_public_keys_file": str(self.public_keys_file)}


def write(folder: Path) -> CallerCredentials:
    """Credentials and the assertion key pair in ``folder``."""
    at = datetime.now(UTC)
    wanted: dict[str, tuple[str, list[str]]] = {
        SYSTEM: ("system", ["*"]),
        CONSOLE: ("system", ["*", ACT_FOR_CLERKS]),
        **{only_name(s): ("system", [s]) for s in sorted(ALL_SCOPES)},
    }
    creds, tokens = [], {}
    for name, (kind, scopes) in wanted.items():
        cred = Credential(name=name, kind=kind, scopes=scopes)  # type: ignore[arg-type]
        tokens[name] = add_key(cred, at=at)
        creds.append(cred)
    file = folder / "credentials.json"
    save(file, CredentialsFile(credentials=creds))
    private, public = assertion.new_keypair()
    public_file = folder / "console-assertion.pub.pem"
    public_file.write_bytes(public)
    private_file = folder / "console-assertion.pem"
    private_file.touch(0o600)
    private_file.write_bytes(private)
    return CallerCredentials(folder, file, public_file, private_file, tokens, assertion.load_private_key(private))


@functools.cache
def credentials() -> CallerCredentials:
    """This test process's credentials (made on first use, removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="billing-test-credentials-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return write(folder)


def as_clerk(clerk: str, scopes: Iterable[str] | None = None) -> dict[str, str]:
    """Headers of a console call for ``clerk`` (see :meth:`CallerCredentials.as_clerk`)."""
    return credentials().as_clerk(clerk, scopes)
