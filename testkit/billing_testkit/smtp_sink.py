"""A local SMTP server (aiosmtpd) that keeps what it receives: for tests (read the mails
back, parse their PDFs), the demo, the benchmark, and the ``local/smtp-sink`` image (the
mail catcher of the container backend and compose).

Only the standard library and aiosmtpd: the sink image has nothing else (Debian's
python3 and python3-aiosmtpd, and this one module).

In a test::

    with SmtpSink() as sink:                       # a free port on 127.0.0.1
        ...  # DISPATCH_SMTP_HOST / _PORT = sink.host / sink.port
        await sink.wait_for(10)
        mails = sink.messages()                    # email.message.EmailMessage each
        sink.down(); ...; sink.up()                # the server away, then back on the same port

As a process (the demo, the benchmark)::

    python -m billing_testkit.smtp_sink --port 1025 [--host 0.0.0.0] [--folder /mail] [--stats stats.json]

(``python -m tests.support.smtp_sink`` is the same.) ``--host`` defaults to
``$SMTP_SINK_HOST``, else 127.0.0.1; the image sets ``SMTP_SINK_HOST=0.0.0.0``.

``--folder`` writes each message as ``<n>.eml``, numbered on after the highest number
already in the folder (a restarted sink never overwrites an earlier run's mails); ``--stats`` rewrites a small JSON file
with the counts every 0.2 s (how a benchmark in another process reads them).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import os
import re
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    at: float

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        reply = self.sink.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sink._store(Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content), time.time()))
        return "250 Message accepted for delivery"


_MAIL_FILE = re.compile(r"^(\d+)\.eml$")


def last_number(folder: Path) -> int:
    """The highest ``<n>.eml`` already in ``folder`` (0: none)."""
    numbers = (int(m.group(1)) for p in folder.iterdir() if (m := _MAIL_FILE.match(p.name)))
    return max(numbers, default=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None, folder: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self.folder = folder
        self.refuse: dict[str, str] = {}
        """Recipient -> SMTP reply for RCPT TO (e.g. ``"550 5.1.1 No such user"``)."""
        self._received: list[Received] = []
        self._bytes = 0
        self._lock = threading.Lock()
        self._last_file = 0
        self._controller: Controller | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> Self:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._last_file = max(self._last_file, last_number(self.folder))
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, data_size_limit=50 * 1024 * 1024
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def down(self) -> None:
        """The server goes away: new connections are refused, open ones are closed."""
        self.stop()

    def up(self) -> None:
        """The server is back, on the same port, keeping what it received before."""
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- what it received -------------------------------------------------------------

    def _store(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)
            self._bytes += len(received.data)
            if self.folder is None:
                return
            while True:  # exclusive create: never over a file already there (another sink's)
                self._last_file += 1
                try:
                    with open(self.folder / f"{self._last_file:07d}.eml", "xb") as handle:
                        handle.write(received.data)
                    return
                except FileExistsError:
                    continue

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def count(self) -> int:
        with self._lock:
            return len(self._received)

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes

    def messages(self) -> list[EmailMessage]:
        return [r.message() for r in self.received()]

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived (a value of 2: the same mail twice)."""
        return Counter(str(m["Message-ID"]) for m in self.messages())

    async def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:  # noqa: ASYNC109 (the API the tests use)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= count:
                return self.received()
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.count()} of {count} mails arrived in {timeout}s")


def _write_stats(sink: SmtpSink, path: Path) -> None:
    received = sink.received()
    ids = Counter(r.data.split(b"Message-ID:", 1)[-1].split(b"\n", 1)[0].strip() for r in received)
    stats = {
        "received": len(received),
        "bytes": sink.bytes,
        "distinct_message_ids": len(ids),
        "first_at": received[0].at if received else None,
        "last_at": received[-1].at if received else None,
    }
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(stats))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m billing_testkit.smtp_sink", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--host",
        default=os.environ.get("SMTP_SINK_HOST") or "127.0.0.1",
        help="the address to listen on (default: $SMTP_SINK_HOST, else 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument(
        "--folder",
        type=Path,
        default=None,
        help="write each message as <n>.eml here (numbered on after those already there)",
    )
    parser.add_argument("--stats", type=Path, default=None, help="keep the counts in this JSON file")
    args = parser.parse_args(argv)
    sink = SmtpSink(args.host, args.port, args.folder).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on {args.host}:{args.port}" + (f", mails in {args.folder}" if args.folder else ""), flush=True)
    try:
        while not stop.wait(0.2):
            if args.stats is not None:
                _write_stats(sink, args.stats)
    finally:
        if args.stats is not None:
            _write_stats(sink, args.stats)
        sink.stop()


if __name__ == "__main__":
    main()
