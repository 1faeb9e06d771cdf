"""The local-process backend (testkit/billing_testkit/local.py): what it plans for each
registry row (environment, ports, command), and real processes of the one row that
needs no servers (the mail sink): ready, SIGKILL, restart on the same port with its log
appended, a process that dies reported at once, and the detached CLI the demo runs."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from billing_testkit import processes
from billing_testkit.credentials import issue
from billing_testkit.local import NotReady, demo_ports, free_port, free_ports, plan
from billing_testkit.local_run import LocalSystem

REPO = Path(__file__).resolve().parents[2]
ALL = [p.name for p in processes.PROCESSES]
DATABASES = {s: f"postgresql+asyncpg://u:p@db:5432/{s}" for s in processes.SERVICES}


def planned(tmp_path: Path, names: list[str] = ALL, **kwargs: object) -> LocalSystem:
    values: dict[str, object] = {
        "kafka_bootstrap": "kafka:1",
        "database_urls": DATABASES,
        "out": tmp_path,
        "ports": demo_ports(0),
        "inherited": {"PATH": "/usr/bin", "CUSTOMERS_DATABASE_URL": "postgresql://stale", "DISPATCH_X": "1"},
    }
    values.update(kwargs)
    if "credentials" not in values:
        values["credentials"] = issue(tmp_path / "auth")
    return plan(names, **values)  # type: ignore[arg-type]


def test_the_demo_ports_are_the_registry_ports_shifted_by_one_offset(tmp_path: Path) -> None:
    plain = {n: i.port for n, i in planned(tmp_path).instances.items()}
    shifted = {n: i.port for n, i in planned(tmp_path, ports=demo_ports(500)).instances.items()}
    assert plain["customers"] == 8001 and plain["dispatch-print"] == 8013 and plain["console"] == 8080
    assert plain["mailcatcher"] == 1025
    assert {n: p + 500 for n, p in plain.items()} == shifted
    assert len(set(plain.values())) == len(plain)  # no two processes on one port


def test_each_process_gets_its_rows_environment_and_nothing_stale(tmp_path: Path) -> None:
    system = planned(tmp_path, ports=demo_ports(7))
    customers = system.instances["customers"].env
    assert customers["CUSTOMERS_DATABASE_URL"] == DATABASES["customers"]  # not the inherited one
    assert customers["CUSTOMERS_HTTP_PORT"] == "8008"
    assert customers["CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:1"
    assert "DISPATCH_X" not in customers and customers["PATH"] == "/usr/bin"
    email = system.instances["dispatch-email"].env
    assert email["DISPATCH_WORKER_HTTP_PORT"] == "8018"
    assert (email["DISPATCH_SMTP_HOST"], email["DISPATCH_SMTP_PORT"]) == ("127.0.0.1", "1032")  # the sink's port
    assert email["DISPATCH_DATABASE_URL"] == DATABASES["dispatch"]
    assert email["DISPATCH_EINVOICE_FOLDER"] == str(tmp_path / "einvoice")
    console = system.instances["console"].env
    assert console["CONSOLE_INVOICING_URL"] == "http://127.0.0.1:8009"
    assert console["CONSOLE_HTTP_PORT"] == "8087" and "CONSOLE_DATABASE_URL" not in console
    mail = system.instances["mailcatcher"]
    assert mail.argv[-4:] == ["--port", "1032", "--folder", str(tmp_path / "mail")]


def test_settings_go_under_the_rows_prefix_and_a_worker_takes_its_services(tmp_path: Path) -> None:
    system = planned(
        tmp_path,
        settings={"dispatch": {"retry_base_s": 0.5}, "dispatch-print": {"retry_base_s": 2}, "invoicing": {"a": False}},
        extra_env={"DISPATCH_MAIL_SENDER_NAME": "Laskutus", "BILLING_LOG_LEVEL": "DEBUG"},
    )
    env = {n: i.env for n, i in system.instances.items()}
    assert env["dispatch"]["DISPATCH_RETRY_BASE_S"] == "0.5"
    assert env["dispatch-email"]["DISPATCH_RETRY_BASE_S"] == "0.5"
    assert env["dispatch-print"]["DISPATCH_RETRY_BASE_S"] == "2"
    assert env["invoicing"]["INVOICING_A"] == "false"
    assert env["dispatch-einvoice"]["DISPATCH_MAIL_SENDER_NAME"] == "Laskutus"
    assert "DISPATCH_MAIL_SENDER_NAME" not in env["customers"]
    assert all(e["BILLING_LOG_LEVEL"] == "DEBUG" for e in env.values())


def test_replicas_of_a_scalable_row_get_their_own_names_and_ports(tmp_path: Path) -> None:
    system = planned(tmp_path, replicas={"dispatch-email": 3})
    ports = {n: i.port for n, i in system.instances.items() if n.startswith("dispatch-email")}
    assert ports == {"dispatch-email-1": 8011, "dispatch-email-2": 8021, "dispatch-email-3": 8031}
    assert system.instances["dispatch-email-2"].argv[-2:] == ["worker", "email"]
    with pytest.raises(ValueError, match="does not scale"):
        planned(tmp_path, replicas={"customers": 2})


def test_the_command_is_the_registrys_in_the_given_environment(tmp_path: Path) -> None:
    system = planned(tmp_path, python=sys.executable)
    assert system.instances["customers"].argv == [str(Path(sys.executable).parent / "billing"), "serve", "customers"]
    assert system.instances["mailcatcher"].argv[0] == sys.executable
    elsewhere = planned(tmp_path, python="/nowhere/bin/python")
    assert elsewhere.instances["console"].argv == ["/nowhere/bin/python", "-m", "billing_cli.main", "console", "serve"]


def test_what_the_plan_cannot_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no process"):
        planned(tmp_path, names=["customer"])
    with pytest.raises(ValueError, match="SMTP"):
        planned(tmp_path, names=["dispatch"])
    with pytest.raises(ValueError, match="service_urls"):
        planned(tmp_path, names=["console"])


def send_mail(port: int, subject: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.invalid", "b@example.invalid", subject
    msg.set_content("hello")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)


def test_a_process_is_ready_killed_and_restarted_on_its_port_with_its_log(tmp_path: Path) -> None:
    system = planned(tmp_path, names=["mailcatcher"], ports=free_ports(), inherited=None, cwd=REPO)
    with system:
        sink = system.instances["mailcatcher"]
        send_mail(sink.port, "first")
        first = system.pid("mailcatcher")
        assert system.kill("mailcatcher") == first
        assert not system.running("mailcatcher")
        with pytest.raises(OSError):
            send_mail(sink.port, "lost")
        second = system.restart("mailcatcher")
        assert second != first and system.running("mailcatcher")
        send_mail(sink.port, "second")
    assert not system.running("mailcatcher")
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2  # the restarted sink numbered on
    assert sink.log_path == tmp_path / "logs" / "mailcatcher.log"
    assert sink.log_path.read_text().count("SMTP sink on") == 2  # appended, not truncated


def test_a_process_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    system = planned(
        tmp_path,
        names=["mailcatcher"],
        ports=free_ports(),
        inherited=None,
        cwd=REPO,
        options={"mailcatcher": {"--no-such-option": "x"}},
    )
    with pytest.raises(NotReady) as err:
        system.up(timeout=600)
    assert "mailcatcher exited (2)" in str(err.value)
    assert str(tmp_path / "logs" / "mailcatcher.log") in str(err.value)
    assert "unrecognized arguments" in str(err.value)  # the end of its log


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "billing_testkit.local", *args],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def alive(pid: int) -> bool:
    """Running (a zombie left to a parent that does not reap it is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_demos_detached_start_status_and_down(tmp_path: Path) -> None:
    offset = str(free_port() - processes.MAIL_PORT)
    run = tmp_path / "run"
    common = ["--out", str(tmp_path / "out"), "--only", "mailcatcher", "--port-offset", offset]
    started = cli("start", "--run-dir", str(run), *common, "--timeout", "120")
    assert started.returncode == 0, started.stderr
    assert "mailcatcher" in started.stdout and "ready" in started.stdout
    pid = int((run / "mailcatcher.pid").read_text())
    try:
        assert cli("status", "--run-dir", str(run)).stdout.startswith(f"mailcatcher: running (pid {pid}")
        again = cli("start", "--run-dir", str(run), *common)  # what runs is kept, not started twice
        assert again.returncode == 0 and int((run / "mailcatcher.pid").read_text()) == pid
        other = cli("start", "--run-dir", str(tmp_path / "other"), *common)  # a second system, same ports
        assert other.returncode == 1 and "already answers" in other.stderr
    finally:
        down = cli("down", "--run-dir", str(run))
    assert down.stdout.strip() == "stopped mailcatcher"
    assert not alive(pid)
    assert cli("status", "--run-dir", str(run)).returncode == 1


def test_the_local_stacks_credentials_are_made_once_and_required_for_the_services(tmp_path: Path) -> None:
    folder = tmp_path / "secrets" / "auth"
    made = cli("credentials", "--dir", str(folder))
    assert made.returncode == 0 and made.stdout.strip() == str(folder)
    ops = (folder / "token-ops").read_text()
    assert cli("credentials", "--dir", str(folder)).returncode == 0
    assert (folder / "token-ops").read_text() == ops  # kept, not made again
    servers = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "kafka:1", "CUSTOMERS_DATABASE_URL": DATABASES["customers"]}
    refused = cli(
        "start", "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path), "--only", "customers", env=servers
    )
    assert refused.returncode != 0 and "--credentials-dir" in refused.stderr
    with pytest.raises(ValueError, match="credentials"):
        planned(tmp_path, credentials=None)


def test_every_service_gets_the_credentials_file_and_the_console_its_own_token(tmp_path: Path) -> None:
    issued = issue(tmp_path / "auth")
    system = planned(tmp_path, credentials=issued)
    for name, inst in system.instances.items():
        prefix = inst.process.env_prefix
        assert not any(k.endswith("API_TOKEN") for k in inst.env), name
        if inst.process.role in ("service", "worker"):
            assert inst.env[f"{prefix}CREDENTIALS_FILE"] == str(issued.credentials_file), name
            assert inst.env[f"{prefix}ACTOR_ASSERTION_PUBLIC_KEYS_FILE"] == str(issued.assertion_public_keys)
    console = system.instances["console"].env
    assert console["CONSOLE_SERVICE_TOKEN_FILE"] == str(issued.token_file("console"))
    assert issued.token_file("console").read_text().strip() == issued.token("console")
    assert console["CONSOLE_ACTOR_ASSERTION_KEY_FILE"] == str(issued.assertion_private_key)
    assert "BILLING_TEST_HOOKS" not in system.instances["reminders"].env
    hooked = planned(tmp_path, credentials=issued, settings={"reminders": {"today": "2026-03-01"}})
    assert hooked.instances["reminders"].env["BILLING_TEST_HOOKS"] == "on"  # the clock is a test hook
    assert "BILLING_TEST_HOOKS" not in hooked.instances["invoicing"].env


def test_the_urls_the_cli_gets_follow_the_offset() -> None:
    out = cli("urls", "--port-offset", "100").stdout.splitlines()
    assert "export BILLING_CUSTOMERS_URL=http://127.0.0.1:8101" in out
    assert "export BILLING_CONSOLE_URL=http://127.0.0.1:8180" in out


def test_free_ports_never_gives_one_port_to_two_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel may offer a port again until its first taker listens (a cluster run once
    gave reminders and an e-mail worker one port; the worker answered reminders' readiness)."""
    from billing_testkit import local, local_run

    offered = iter([15001, 15001, 15001, 15002, 15001, 15003])
    monkeypatch.setattr(local_run.random, "randint", lambda low, high: next(offered))
    pick = local.free_ports()
    row = processes.process("customers")
    assert [pick(row, 1), pick(row, 2), pick(row, 3)] == [15001, 15002, 15003]


def test_free_ports_stay_out_of_the_ephemeral_and_container_ranges() -> None:
    from billing_testkit import infrastructure, local_run

    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = {local_run.free_port() for _ in range(50)}
    assert all(local_run.LISTEN_PORTS[0] <= p <= local_run.LISTEN_PORTS[1] for p in ports)
    assert not any(low <= p <= high for p in ports)
    assert not any(infrastructure.PORTS[0] <= p <= infrastructure.PORTS[1] for p in ports)


def test_the_console_gets_its_own_database_when_given_one(tmp_path: Path) -> None:
    """Local mode: ``database_urls["console"]`` is the console's (sessions, sign-in
    failures); without it the console keeps them in its process (development)."""
    console_db = "postgresql+asyncpg://console:p@db:5432/console"
    given = planned(tmp_path, database_urls={**DATABASES, "console": console_db}).instances
    assert given["console"].env["CONSOLE_DATABASE_URL"] == console_db
    assert given["customers"].env["CUSTOMERS_DATABASE_URL"] == DATABASES["customers"]
    assert not any(k.startswith("CONSOLE_") for k in given["customers"].env)
    assert "CONSOLE_DATABASE_URL" not in planned(tmp_path).instances["console"].env
