"""Run a service's ASGI app with uvicorn, logging set up once and without payloads."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.logs import PAYLOAD_LOGGERS, LogFormat, configure_logging, guard_payload_loggers

__all__ = ["PAYLOAD_LOGGERS", "configure_logging", "guard_payload_loggers", "run"]


def run(app: FastAPI, host: str, port: int, *, service: str = "billing", log_format: LogFormat = "text") -> None:
    """Serve ``app``; logs in ``log_format`` (the settings' ``log_format``) named by ``service``."""
    configure_logging(service, log_format)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
