"""Run a service's ASGI app with uvicorn, logging set up once and without payloads."""

from __future__ import annotations

import logging
import os

import uvicorn
from fastapi import FastAPI

# Loggers that write record contents (personal data) below this level: aiokafka's
# producer logs every key and value at DEBUG; SQLAlchemy's engine logs parameters at
# INFO. They stay at this level whatever BILLING_LOG_LEVEL says.
PAYLOAD_LOGGERS = {"aiokafka.producer.producer": logging.INFO, "sqlalchemy.engine": logging.WARNING}


def guard_payload_loggers() -> None:
    for name, level in PAYLOAD_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


def configure_logging() -> None:
    level = os.environ.get("BILLING_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    guard_payload_loggers()


def run(app: FastAPI, host: str, port: int) -> None:
    configure_logging()
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
