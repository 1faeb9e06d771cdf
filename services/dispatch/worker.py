"""``python -m services.dispatch.worker --channel email|einvoice|print``: one channel
worker (``billing worker <channel>`` does the same). Run as many as the channel needs:
they share the channel's partitions in its consumer group (``dispatch-<channel>``).
It serves health, readiness and metrics over HTTP on ``--port`` (default
``DISPATCH_WORKER_HTTP_PORT``, else 8011 e-mail, 8012 e-invoice, 8013 print)."""

from __future__ import annotations

import argparse
from typing import cast

from services.dispatch.app import WORKER_PORTS, build_worker, worker_app
from services.dispatch.config import Settings
from shared.events.customers import Channel
from shared.settings import MissingSettings, StartRefused


def run(channel: str, port: int | None = None) -> None:
    from shared.serve import run as serve

    if channel not in WORKER_PORTS:
        raise SystemExit(f"unknown channel {channel!r}; one of {', '.join(WORKER_PORTS)}")
    try:
        settings = Settings()
    except (MissingSettings, StartRefused) as missing:
        raise SystemExit(f"dispatch worker: {missing}") from None
    runtime = build_worker(cast(Channel, channel), settings)
    try:
        app = worker_app(runtime, channel)
    except StartRefused as refused:
        raise SystemExit(f"dispatch worker {channel}: {refused}") from None
    serve(
        app,
        settings.http_host,
        port or settings.worker_http_port or WORKER_PORTS[channel],
        service=f"{settings.service_name}-worker-{channel}",
        log_format=settings.log_format,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.dispatch.worker", description=__doc__)
    parser.add_argument("--channel", required=True, choices=sorted(WORKER_PORTS))
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    run(args.channel, args.port)


if __name__ == "__main__":
    main()
