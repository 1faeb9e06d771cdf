"""Logging set up once per process: text (the default) or JSON, one object a line.

``log_format`` (``<PREFIX>LOG_FORMAT``: ``INVOICING_LOG_FORMAT=json``,
``DISPATCH_LOG_FORMAT``, ``CONSOLE_LOG_FORMAT``, ...) picks the format; the level is
``BILLING_LOG_LEVEL`` (INFO).

- ``text``: ``2026-12-06 10:00:00,123 INFO shared.messaging.outbox: ...`` as before.
- ``json`` (python-json-logger): ``{"timestamp": "2026-12-06T10:00:00.123+00:00",
  "level": "INFO", "logger": "shared.messaging.outbox", "message": "...",
  "service": "invoicing", "trace_id": "4bf9..."}``; ``trace_id`` only when the unit of
  work has a trace (:mod:`shared.tracing`), ``exc_info`` when an exception is logged.
  A log collector reads it without a parser of its own.

Either way the payload loggers stay muted below their guard level
(:func:`guard_payload_loggers`): aiokafka's producer logs record keys and values at
DEBUG and SQLAlchemy's engine logs statement parameters at INFO, both personal data.
Our own log calls name ids, codes and exception types, never field values.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import IO, Literal

from pythonjsonlogger.json import JsonFormatter

from shared import tracing

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Loggers that write record contents (personal data) below this level: aiokafka's
# producer logs every key and value at DEBUG; SQLAlchemy's engine logs parameters at
# INFO. They stay at this level whatever BILLING_LOG_LEVEL says.
PAYLOAD_LOGGERS = {"aiokafka.producer.producer": logging.INFO, "sqlalchemy.engine": logging.WARNING}


def guard_payload_loggers() -> None:
    for name, level in PAYLOAD_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


class _TraceId(logging.Filter):
    """Adds ``trace_id`` to a record logged inside a unit of work that has a trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = tracing.current()
        if context is not None and not hasattr(record, "trace_id"):
            record.trace_id = context.trace_id
        return True


def json_formatter(service: str) -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        static_fields={"service": service},
        timestamp="timestamp",  # ISO 8601, UTC
        json_ensure_ascii=False,
    )


def configure_logging(
    service: str, log_format: LogFormat = "text", *, level: str | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """Route every logger (uvicorn's too) to one handler on stderr in ``log_format``.
    Replaces the handlers of an earlier call, so calling it twice is harmless."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log_format must be 'text' or 'json', not {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter(service) if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(_TraceId())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("BILLING_LOG_LEVEL", "INFO")).upper())
    guard_payload_loggers()
    return handler
