"""Run a service's ASGI app with uvicorn, logging set up once and without payloads."""

from __future__ import annotations

import logging
import os

import uvicorn
from fastapi import FastAPI


def configure_logging() -> None:
    level = os.environ.get("BILLING_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka logs rebalances and retries at INFO/WARNING: keep them, they carry no payload.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def run(app: FastAPI, host: str, port: int) -> None:
    configure_logging()
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
