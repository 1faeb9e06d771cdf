"""The kit's pytest plugin is loaded in every pytest run that has the kit installed (ours
too): it starts nothing unless a test asks for ``billing_system``, and its options and
ini keys choose the images and settings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_pytest(folder: Path, test: str, *args: str, ini: str = "") -> subprocess.CompletedProcess[str]:
    (folder / "test_it.py").write_text(textwrap.dedent(test))
    (folder / "pytest.ini").write_text("[pytest]\n" + textwrap.dedent(ini))
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent/docker.sock", "HOME": str(folder)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_run_that_does_not_ask_for_the_system_starts_nothing(tmp_path: Path) -> None:
    # with no engine at all: were anything started, the run would fail
    result = run_pytest(tmp_path, "def test_plain():\n    assert True\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_images_and_settings_come_from_options_and_ini(tmp_path: Path) -> None:
    test = """
        from billing_testkit.pytest_plugin import images_from, settings_from

        def test_choice(pytestconfig):
            images = images_from(pytestconfig)
            assert images.billing == "registry.example/billing:1.2"
            assert images.kafka == "apache/kafka:4.1.1"
            assert images.postgres == "local/postgres:15"
            assert settings_from(pytestconfig) == {"REMINDERS_TODAY": "2026-03-01", "DISPATCH_AUTO_SEND": '["email"]'}
    """
    ini = """
        billing_kafka_image = apache/kafka:4.1.1
        billing_image = ignored/by-the-option:0
        billing_settings =
            REMINDERS_TODAY=2026-03-01
            DISPATCH_AUTO_SEND=["email"]
    """
    result = run_pytest(tmp_path, test, "--billing-image", "registry.example/billing:1.2", ini=ini)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_system_fixture_fails_clearly_without_an_engine(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "def test_uses(billing_system):\n    pass\n")
    assert result.returncode == 1
    assert "StartFailed: no container engine answers at unix:///nonexistent/docker.sock" in result.stdout
    assert "1 error" in result.stdout
