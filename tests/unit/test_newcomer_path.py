"""Every command the README or `make demo` tells a newcomer to type works as printed
on a fresh machine, where `make` has put uv into ~/.local/bin but that folder is not
on the PATH: commands are `make <target>`, `bash <script>`, a script of the repo
(`bin/billing`, `deploy/local/…`), or plain shell; never a bare `uv` or `billing`."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHELL_WORDS = {"export", "eval", "cd", "cp", "cat", "echo"}
# Needs Docker, which the README says up front ("With Docker instead"); not our tool to find.
# kubectl: the release steps an operator types against their cluster (README "Kubernetes").
EXTERNAL = {"docker", "kubectl"}
# A command typed in another project (an integrating system installing our test kit with
# its own pip or uv) ends with this comment; it is not typed in this repository.
ELSEWHERE = "# in your project"
COMMAND_START = re.compile(r"^(make|bin/|uv|billing|python|deploy/|bash|docker|cp|eval|export|\./)\b")


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for raw in block.replace("\\\n", " ").splitlines():  # a line continued with \ is one command
            if raw.rstrip().endswith(ELSEWHERE):
                continue
            line = re.sub(r"\s+#.*$", "", raw).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    # inline: a command with its arguments (`make migrate`), not a name (`uv`, `deploy/local/kafka/pom.xml`)
    commands += [s for s in re.findall(r"`([^`\n]+)`", prose) if COMMAND_START.match(s) and " " in s]
    return commands


def demo_commands() -> list[str]:
    """The hints the demo's report prints (both forms: typed in the repo, or anywhere)
    and demo.sh's usage. (The walk itself runs every command as ``bin/billing …``.)"""
    from demo.day import next_commands

    commands = next_commands(REPO) + next_commands(Path("/"))
    text = (REPO / "deploy/local/demo.sh").read_text()
    commands += re.findall(r"^#\s+(deploy/local/demo\.sh \w+)", text, flags=re.M)
    return commands


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), flags=re.M))


def problems(command: str) -> list[str]:
    """Why ``command`` would not run as printed (empty: it would)."""
    found = []
    for inner in re.findall(r"\$\(([^)]*)\)", command):
        found += problems(inner)
    for part in re.split(r"&&|\|\||;|\|", re.sub(r"\$\([^)]*\)", "X", command)):
        words = shlex.split(part)
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value prefix
            words.pop(0)
        if not words:
            continue
        word = words[0]
        if word in SHELL_WORDS or word in EXTERNAL:
            continue
        if word == "make":
            args = words[1:]
            if args[:1] == ["-C"]:
                args = args[2:]
            targets = [a for a in args if not a.startswith("-") and "=" not in a]
            found += [f"{command!r}: no make target {t!r}" for t in targets if t not in make_targets()]
        elif word == "bash":
            if not (REPO / words[1]).is_file():
                found.append(f"{command!r}: no script {words[1]}")
        elif "/" in word:
            path = Path(word) if word.startswith("/") else REPO / word
            if not path.is_file() or not path.stat().st_mode & stat.S_IXUSR:
                found.append(f"{command!r}: {word} is not an executable file of the repo")
        else:
            found.append(f"{command!r}: {word!r} is not on a fresh machine's PATH (use bin/billing or make)")
    return found


def test_the_extractor_finds_the_commands_users_are_told_to_type() -> None:
    commands = readme_commands() + demo_commands()
    assert "make demo" in commands and "bin/billing customers invalid" in commands
    assert problems("uv run billing customers invalid") and problems("billing migrate")
    assert problems("make no-such-target") and not problems("make demo")
    assert not any(c.endswith("\\") for c in commands), "a continued line is read as one command"


@pytest.mark.parametrize("command", readme_commands() + demo_commands())
def test_every_printed_command_runs_as_printed(command: str) -> None:
    assert problems(command) == []


def path_without_uv() -> str:
    """The caller's PATH minus every folder that holds a ``uv`` (e.g. ~/.local/bin)."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "uv").exists()]
    return os.pathsep.join(dirs)


def test_bin_billing_runs_with_a_path_that_lacks_uv(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": path_without_uv(), "BILLING_LOCAL_DIR": str(tmp_path / "no-stack")}
    done = subprocess.run(
        [str(REPO / "bin/billing"), "--help"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Billing back-office command line" in done.stdout


def test_bin_billing_finds_uv_in_local_bin_and_passes_the_stacks_endpoints_and_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".local/bin").mkdir(parents=True)
    fake_uv = home / ".local/bin/uv"
    fake_uv.write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" > {tmp_path}/args\nenv > {tmp_path}/env\n')
    fake_uv.chmod(0o755)
    local = tmp_path / "local"
    (local / "secrets").mkdir(parents=True)
    for name in ("pg-postgres", "pg-customers", "pg-invoicing", "pg-reminders", "pg-dispatch"):
        (local / "secrets" / name).write_text(f"{name}-secret\n")
    (local / "secrets/auth").mkdir()
    (local / "secrets/auth/token-ops").write_text("ops-token\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if "DATABASE_URL" not in k and "KAFKA_BOOTSTRAP" not in k and "TOKEN" not in k
    }
    env.update(
        PATH=path_without_uv(),
        HOME=str(home),
        BILLING_LOCAL_DIR=str(local),
        INVOICING_DATABASE_URL="postgresql+asyncpg://mine",
    )
    done = subprocess.run(
        [str(REPO / "bin/billing"), "customers", "invalid"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "args").read_text().split() == [
        "run", "--quiet", "--frozen", "--project", str(REPO), "billing", "customers", "invalid"
    ]  # fmt: skip
    seen = dict(line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines() if "=" in line)
    assert seen["CUSTOMERS_DATABASE_URL"].startswith("postgresql+asyncpg://customers:pg-customers-secret@127.0.0.1:")
    assert seen["CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert seen["INVOICING_DATABASE_URL"] == "postgresql+asyncpg://mine"  # what the user set wins
    assert seen["BILLING_TOKEN"] == "ops-token"  # the local stack's ops credential
    assert "BILLING_API_TOKEN" not in seen


def test_bin_billing_without_uv_or_environment_says_what_to_run(tmp_path: Path) -> None:
    repo = tmp_path / "fresh-clone"
    (repo / "bin").mkdir(parents=True)
    (repo / "bin/billing").write_bytes((REPO / "bin/billing").read_bytes())
    (repo / "bin/billing").chmod(0o755)
    env = {"PATH": path_without_uv(), "HOME": str(tmp_path), "PYTHONUSERBASE": str(tmp_path / "nothing")}
    done = subprocess.run([str(repo / "bin/billing"), "--help"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 127
    assert "make deps" in done.stderr
