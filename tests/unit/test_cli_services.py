"""The CLI's service registry: ``billing migrate`` finds a service's migrations without
importing the service's app (issue 20: a migrate process loads the database stack only)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from billing_cli import services
from tests.support.servers import REPO


@pytest.mark.parametrize("name", services.SERVICES)
def test_the_migrations_folder_is_the_one_the_service_runs(name: str) -> None:
    assert services.migrations_dir(name) == services.load(name).SPEC.migrations_dir
    assert (services.migrations_dir(name) / "env.py").is_file()


def test_an_unknown_service_has_no_migrations_folder() -> None:
    with pytest.raises(KeyError):
        services.migrations_dir("billing")


def test_finding_the_folder_imports_no_service_app() -> None:
    probe = (
        "import sys; from billing_cli import services; "
        "[services.migrations_dir(n) for n in services.SERVICES]; "
        "print(sorted(m for m in sys.modules if m.endswith('.app') and m.startswith('services.')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
