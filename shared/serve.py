"""Run a service's ASGI app with uvicorn, logging set up once and without payloads."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shared.logs import PAYLOAD_LOGGERS, LogFormat, configure_logging, guard_payload_loggers
from shared.settings import MissingSettings, ServiceSettings, StartRefused

__all__ = ["PAYLOAD_LOGGERS", "configure_logging", "guard_payload_loggers", "main", "run", "serve"]

S = TypeVar("S", bound=ServiceSettings)


def run(app: FastAPI, host: str, port: int, *, service: str = "billing", log_format: LogFormat = "text") -> None:
    """Serve ``app``; logs in ``log_format`` (the settings' ``log_format``) named by ``service``."""
    configure_logging(service, log_format)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")


GC_THRESHOLD = (20_000, 20, 20)
"""Allocations between two young collections (CPython's default: 700), and how many of
each generation before the next older one is collected too (default: 10, 10)."""


def tune_gc() -> None:
    """Fewer garbage collections in a service process, none over its startup objects.

    A consumer batch keeps hundreds of decoded events (pydantic models) alive across
    thousands of allocations, so with the defaults they are promoted and scanned over
    and over, and each full collection walks every module, class and compiled query
    the process loaded: a fifth to a third of the consumers' time (py-spy, issue 20).
    The objects made before serving (the app, its imports) are frozen out of the
    collector (``gc.freeze``), and young collections run 30 times less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def serve(settings: S, create_app: Callable[[S], FastAPI]) -> None:
    """Serve a service's app made from ``settings`` on its ``http_host``/``http_port``,
    logging as ``settings.service_name`` in ``settings.log_format``. A start refused by
    the configuration exits with its one line (:class:`StartRefused`)."""
    try:
        app = create_app(settings)
    except StartRefused as refused:
        raise SystemExit(f"{settings.service_name}: {refused}") from None
    tune_gc()
    run(
        app,
        settings.http_host,
        settings.http_port,
        service=settings.service_name,
        log_format=settings.log_format,
    )


def main(settings_class: Callable[[], S], create_app: Callable[[S], FastAPI]) -> None:
    """``python -m services.<name>``: the settings from the environment, then :func:`serve`."""
    try:
        settings = settings_class()
    except (MissingSettings, StartRefused) as refused:
        raise SystemExit(str(refused)) from None
    serve(settings, create_app)
