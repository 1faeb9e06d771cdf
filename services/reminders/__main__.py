"""``python -m services.reminders``: run the service.

The process tunes Python's garbage collector for the create job: a chunk makes tens of
thousands of short-lived objects (rows, decisions, documents), and with the default
thresholds the collector ran a full collection over every module's objects several
times per chunk (a third of the job's time in a profile). So: a younger generation
that collects less often, and the objects alive once the service has started (modules,
models, the app) frozen out of collections (``gc.freeze``): they live as long as the
process anyway."""

import gc

from fastapi import FastAPI

from services.reminders.app import build, http_app
from services.reminders.config import Settings
from shared.serve import main

GC_THRESHOLDS = (20_000, 20, 20)


async def _freeze() -> None:
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = build(settings)
    runtime.on_started.append(_freeze)
    return http_app(runtime)


gc.set_threshold(*GC_THRESHOLDS)
main(Settings, create_app)
