"""``python -m billing_testkit.local start|down|status|urls``: the whole system as
detached local processes (what ``deploy/local/demo.sh`` runs), stopped later from
another shell.

    start   --run-dir R --out O [--log-dir L] [--port-offset N] [--only a,b] [--env K=V …]
            start what is not running, wait until all are ready (one deadline); a table
    down    --run-dir R         stop what ``start`` left in R (reverse order)
    status  --run-dir R         which run (exit 1 when one does not)
    urls    [--port-offset N]   ``export BILLING_<SERVICE>_URL=…`` (and the console's) for the CLI
    credentials --dir D         make the callers' credentials in D unless they are there
                                (billing_testkit.credentials.ensure); print D

Where the servers are comes from the environment, as ``deploy/local/stack.sh env``
prints it: ``KAFKA_BOOTSTRAP_SERVERS``, ``<SERVICE>_DATABASE_URL`` (and, when set,
``CONSOLE_DATABASE_URL``: the console's sessions in that database); the callers'
credentials from ``--credentials-dir`` (made there when missing: the credentials file,
the console's key pair, one ``token-<caller>`` file a caller). The port offset defaults
to ``BILLING_DEMO_PORT_OFFSET`` (0).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from billing_testkit.credentials import Issued, ensure
from billing_testkit.local import NotReady, PortInUse, demo_ports, plan
from billing_testkit.local_run import LocalSystem
from billing_testkit.processes import PROCESSES, SERVICES


def _offset(value: str | None) -> int:
    raw = value if value is not None else os.environ.get("BILLING_DEMO_PORT_OFFSET", "0")
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"port offset {raw!r} is not a whole number") from None


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f'{name} is not set (eval "$(deploy/local/stack.sh env)" gives the local stack\'s)')
    return value


def _start(args: argparse.Namespace) -> int:
    names = args.only.split(",") if args.only else [p.name for p in PROCESSES]
    rows = [p for p in PROCESSES if p.name in names]
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not kafka and any(p.uses_kafka for p in rows):
        kafka = _required("CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS")
    planned = {p.database for p in rows if p.database}
    env = dict(item.split("=", 1) for item in args.env)
    databases = {s: _required(f"{s.upper()}_DATABASE_URL") for s in SERVICES if s in planned}
    if os.environ.get("CONSOLE_DATABASE_URL") and any(p.role == "console" for p in rows):
        databases["console"] = os.environ["CONSOLE_DATABASE_URL"]  # else its sessions stay in its process
    system = plan(
        names,
        kafka_bootstrap=kafka,
        database_urls=databases,
        credentials=_credentials_of(args.credentials_dir) if any(p.env_prefix for p in rows) else None,
        out=args.out,
        log_dir=args.log_dir,
        ports=demo_ports(_offset(args.port_offset)),
        extra_env=env,
        mail_from=env.get("DISPATCH_MAIL_FROM", "laskutus@billing.invalid"),
        run_dir=args.run_dir,
    )
    running = LocalSystem.attach(args.run_dir)
    for name, inst in system.instances.items():  # already running from an earlier start: keep it
        earlier = running.instances.get(name)
        if earlier is not None and earlier.alive():
            inst.pid = earlier.pid
    try:
        system.start()
    except PortInUse as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return 1
    error = None
    try:
        system.wait_ready(args.timeout)
    except NotReady as exc:
        error = exc
    print(f"{'process':<18} {'ready-at':<32} state")
    for inst in system.instances.values():
        at = f"tcp:{inst.port}" if inst.process.readiness == "tcp" else inst.url + inst.process.readiness
        state = "ready" if inst.alive() and inst.answers() else f"NOT READY (see {inst.log_path})"
        print(f"{inst.name:<18} {at:<32} {state}")
    if error is not None:
        print(str(error), file=sys.stderr)
        return 1
    return 0


def _down(args: argparse.Namespace) -> int:
    for name in LocalSystem.attach(args.run_dir).stop():
        print(f"stopped {name}")
    return 0


def _status(args: argparse.Namespace) -> int:
    system = LocalSystem.attach(args.run_dir)
    if not system.instances:
        print(f"nothing started from {args.run_dir}")
        return 1
    rc = 0
    for name, inst in system.instances.items():
        if inst.alive():
            print(f"{name}: running (pid {inst.pid}, {inst.url})")
        else:
            print(f"{name}: stopped")
            rc = 1
    return rc


def _urls(args: argparse.Namespace) -> int:
    ports = demo_ports(_offset(args.port_offset))
    for p in PROCESSES:
        if p.role in ("service", "console"):
            print(f"export BILLING_{p.name.upper()}_URL=http://127.0.0.1:{ports(p, 1)}")
    return 0


def _credentials_of(folder: Path | None) -> Issued:
    if folder is None:
        raise SystemExit(
            "--credentials-dir is needed to start the services or the console (deploy/local/demo.sh gives it)"
        )
    return ensure(folder)


def _credentials(args: argparse.Namespace) -> int:
    issued = ensure(args.dir)
    print(issued.folder)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_testkit.local", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start what is not running and wait until ready")
    start.add_argument("--run-dir", type=Path, required=True, help="pid files and what down needs")
    start.add_argument("--out", type=Path, required=True, help="mail/, einvoice/, print/")
    start.add_argument("--log-dir", type=Path, default=None, help="one log per process (default OUT/logs)")
    start.add_argument("--port-offset", default=None, help="added to every port (default $BILLING_DEMO_PORT_OFFSET)")
    start.add_argument("--only", default="", help="comma-separated process names (default: all)")
    start.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a setting (repeatable)")
    start.add_argument("--timeout", type=float, default=420.0, help="seconds for all to be ready")
    start.add_argument(
        "--credentials-dir", type=Path, default=None, help="the callers' credentials (made there when missing)"
    )
    for name, what in (("down", "stop what start left in the run dir"), ("status", "which of them run")):
        sub.add_parser(name, help=what).add_argument("--run-dir", type=Path, required=True)
    urls = sub.add_parser("urls", help="the services' and the console's URLs as shell exports")
    urls.add_argument("--port-offset", default=None)
    creds = sub.add_parser("credentials", help="make the callers' credentials unless they are there")
    creds.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if any("=" not in item for item in getattr(args, "env", [])):
        parser.error("--env takes NAME=VALUE")
    handler = {"start": _start, "down": _down, "status": _status, "urls": _urls, "credentials": _credentials}[
        args.command
    ]
    return handler(args)
