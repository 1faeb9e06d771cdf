"""The local-process backend: rows of the registry (:mod:`billing_testkit.processes`) run
as OS processes from a Python environment (a checkout's virtual environment).

    system = plan(["customers", "dispatch", "dispatch-email"], kafka_bootstrap=...,
                  database_urls={...}, credentials=issue(folder / "auth"), out=folder, ports=free_ports(),
                  smtp=("127.0.0.1", 2525), replicas={"dispatch-email": 2},
                  settings={"dispatch": {"jobs_poll_interval_s": 0.2}})
    with system:                 # start all at once, then wait until each is ready
        system.url("customers"); system.kill("dispatch-email-2"); system.restart(...)

Every instance has its own log file (``<log_dir>/<name>.log``, appended on a restart),
the environment :func:`~billing_testkit.processes.environment` gives its row plus the
caller's settings, and a port chosen by the caller's policy: :func:`demo_ports` (the
rows' ``local_port`` shifted by one offset, so two demos on one machine do not collide)
or :func:`free_ports` (tests). Readiness is the row's: an HTTP path answering 200, or a
listening TCP port. All start at once and are awaited under one deadline; a process that
died is reported at once with its log. They stop in reverse order (SIGTERM, SIGKILL
after a grace). With a ``run_dir`` the processes are detached (their own session) and
leave pid files, so ``python -m billing_testkit.local down`` stops them from another shell.

The system's code is never imported here: it runs as processes.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from billing_testkit.credentials import CONSOLE, Issued
from billing_testkit.local_run import Instance, LocalSystem, NotReady, PortInUse, free_port
from billing_testkit.processes import (
    PROCESSES,
    SERVICES,
    Endpoints,
    Process,
    environment,
    process,
    with_test_hooks,
)

__all__ = [
    "Instance",
    "LocalSystem",
    "NotReady",
    "PortInUse",
    "command_argv",
    "demo_ports",
    "free_port",
    "free_ports",
    "inherited_environment",
    "plan",
    "with_options",
]

PREFIXES: tuple[str, ...] = tuple(sorted({p.env_prefix for p in PROCESSES if p.env_prefix}))
REPLICA_STEP = 10
"""Replica ``n`` of a scalable row listens on its port + ``REPLICA_STEP * (n - 1)``
under :func:`demo_ports` (e-mail workers 8011, 8021, 8031 …)."""
MAIL_MODULE = "billing_testkit.smtp_sink"
MAIL_MODULE_BEFORE = "tests.support.smtp_sink"
"""Where the mail sink lived before it moved into the kit (a checkout of the repository)."""

PortPolicy = Callable[[Process, int], int]
"""(row, replica 1..n) -> the port that instance listens on."""


def demo_ports(offset: int = 0) -> PortPolicy:
    """The rows' own ports (``local_port``), all shifted by ``offset``."""
    return lambda proc, replica: proc.local_port + offset + REPLICA_STEP * (replica - 1)


def free_ports() -> PortPolicy:
    """A free port for every instance (tests: any number of systems side by side), never
    one this policy gave before: an instance binds its port only once it has started, and
    two instances given one port had one answer the other's readiness check."""
    given: set[int] = set()

    def pick(proc: Process, replica: int) -> int:
        port = free_port(avoid=given)
        given.add(port)
        return port

    return pick


def inherited_environment(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """``source`` (default: this process's environment) without any registry setting
    (``CUSTOMERS_`` …, ``CONSOLE_``): a process gets only the settings it is given."""
    env = os.environ if source is None else source
    return {k: v for k, v in env.items() if not k.startswith(PREFIXES)}


def command_argv(proc: Process, python: str) -> list[str]:
    """The row's command in the environment of ``python``: ``billing`` is its console
    script (or ``python -m billing_cli.main``), ``python`` the interpreter itself."""
    head, *rest = proc.command
    if head == "python":
        if rest[:2] == ["-m", MAIL_MODULE] and importlib.util.find_spec(MAIL_MODULE) is None:
            rest[1] = MAIL_MODULE_BEFORE
        return [python, *rest]
    if head == "billing":
        script = Path(python).parent / "billing"
        return [str(script), *rest] if script.exists() else [python, "-m", "billing_cli.main", *rest]
    return list(proc.command)


def with_options(argv: Sequence[str], options: Mapping[str, str | None]) -> list[str]:
    """``argv`` with each ``--option``'s value replaced (appended when absent, removed with
    its value when None)."""
    out = list(argv)
    for option, value in options.items():
        if option in out:
            i = out.index(option)
            del out[i : i + 2]
            if value is not None:
                out[i:i] = [option, value]
        elif value is not None:
            out += [option, value]
    return out


def plan(
    names: Iterable[str],
    *,
    kafka_bootstrap: str,
    database_urls: Mapping[str, str],
    credentials: Issued | None,
    out: Path,
    ports: PortPolicy,
    log_dir: Path | None = None,
    replicas: Mapping[str, int] | None = None,
    smtp: tuple[str, int] | None = None,
    service_urls: Mapping[str, str] | None = None,
    keep_mail: bool = True,
    mail_from: str = "laskutus@billing.invalid",
    settings: Mapping[str, Mapping[str, object]] | None = None,
    extra_env: Mapping[str, str] | None = None,
    options: Mapping[str, Mapping[str, str | None]] | None = None,
    inherited: Mapping[str, str] | None = None,
    python: str = sys.executable,
    cwd: Path | None = None,
    run_dir: Path | None = None,
) -> LocalSystem:
    """The instances of registry rows ``names`` (in the registry's order), not started.

    - ``database_urls``: each service's database, and ``console``'s when it has one
      (its sessions and sign-in failures; without it the console keeps them in its
      process, development only).
    - ``credentials``: the callers' credentials file and the console's key pair
      (:func:`billing_testkit.credentials.issue`); the services check every call against
      it, the console calls with its own token. None only for a plan without services
      and console.
    - ``out``: ``mail/`` (the sink's .eml files, unless ``keep_mail`` is false),
      ``einvoice/``, ``print/`` and (default ``log_dir``) ``logs/``.
    - ``smtp``: where the e-mail workers send when the plan has no ``mailcatcher``;
      ``service_urls``: the console's services that are not in the plan.
    - ``settings``: per row name, settings by field name (``{"invoicing":
      {"daily_run_enabled": False}}``) under the row's prefix; a worker takes its
      database owner's (``dispatch``) first, then its own row's.
    - ``extra_env``: variables for every instance, a registry setting only for the rows
      with its prefix (``DISPATCH_MAIL_FROM`` goes to dispatch and its workers).
    - ``options``: per row, command-line options to set (``{"mailcatcher": {"--stats": path}}``).
    - ``inherited``: the environment the rest comes from (default this process's, without
      registry settings, see :func:`inherited_environment`).
    """
    wanted = set(names)
    rows = [p for p in PROCESSES if p.name in wanted]
    unknown = wanted - {p.name for p in rows}
    if unknown:
        raise KeyError(f"no process {sorted(unknown)}; one of {', '.join(p.name for p in PROCESSES)}")
    log_dir = log_dir or out / "logs"
    counts = {p.name: (replicas or {}).get(p.name, 1) for p in rows}
    for name, n in counts.items():
        if n != 1 and not process(name).scalable:
            raise ValueError(f"{name} does not scale (only one instance)")
    chosen = {(p.name, r): ports(p, r) for p in rows for r in range(1, counts[p.name] + 1)}
    urls = {s: f"http://127.0.0.1:{chosen[(s, 1)]}" for s in SERVICES if (s, 1) in chosen}
    missing = [s for s in SERVICES if s not in urls and "console" in counts]
    if missing and not service_urls:
        raise ValueError(f"the console needs service_urls for {missing}")
    urls = {**(service_urls or {}), **urls}
    if ("mailcatcher", 1) in chosen:
        smtp = ("127.0.0.1", chosen[("mailcatcher", 1)])
    if smtp is None and any(p.env_prefix == "DISPATCH_" for p in rows):
        raise ValueError("dispatch needs an SMTP server: plan the mailcatcher or give smtp=(host, port)")
    if credentials is None and any(p.role in ("service", "worker", "console") for p in rows):
        raise ValueError("the services and the console need credentials (billing_testkit.credentials.issue)")
    where = Endpoints(
        kafka_bootstrap=kafka_bootstrap,
        database_urls=database_urls,
        credentials_file=str(credentials.credentials_file) if credentials else "",
        assertion_public_keys_file=str(credentials.assertion_public_keys) if credentials else "",
        console_token_file=str(credentials.token_file(CONSOLE)) if credentials else "",
        console_assertion_key_file=str(credentials.assertion_private_key) if credentials else "",
        service_urls=urls,
        smtp_host=(smtp or ("", 0))[0],
        smtp_port=(smtp or ("", 0))[1],
        einvoice_folder=str(out / "einvoice"),
        print_folder=str(out / "print"),
        mail_from=mail_from,
    )
    base = inherited_environment(inherited)
    instances = []
    for p in rows:
        own = {**(settings or {}).get(p.database or p.name, {}), **(settings or {}).get(p.name, {})}
        extra = {k: v for k, v in (extra_env or {}).items() if _for(p, k)}
        opts: dict[str, str | None] = {**(options or {}).get(p.name, {})}
        for r in range(1, counts[p.name] + 1):
            port = chosen[(p.name, r)]
            env = {**base, **extra, **environment(p, where, port)}
            env |= {f"{p.env_prefix}{k.upper()}": _text(v) for k, v in own.items()}
            env = with_test_hooks(env)
            argv = command_argv(p, python)
            if p.role == "mail":
                mail = {"--port": str(port), "--folder": str(out / "mail") if keep_mail else None}
                argv = with_options(argv, {**mail, **opts})
            elif opts:
                argv = with_options(argv, opts)
            name = p.name if counts[p.name] == 1 else f"{p.name}-{r}"
            instances.append(Instance(name, p, port, argv, env, log_dir / f"{name}.log", cwd))
    for folder in ("einvoice", "print", *(("mail",) if keep_mail and "mailcatcher" in counts else ())):
        (out / folder).mkdir(parents=True, exist_ok=True)
    return LocalSystem(instances, run_dir)


def _for(proc: Process, variable: str) -> bool:
    """Is ``variable`` for ``proc``: not a registry setting, or one of its own prefix."""
    return not variable.startswith(PREFIXES) or bool(proc.env_prefix and variable.startswith(proc.env_prefix))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


if __name__ == "__main__":
    from billing_testkit.local_cli import main

    sys.exit(main(sys.argv[1:]))
