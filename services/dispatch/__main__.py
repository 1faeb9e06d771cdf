"""``python -m services.dispatch``: run the service."""

from services.dispatch.app import create_app
from services.dispatch.config import Settings
from shared.serve import run

settings = Settings()
run(
    create_app(settings),
    settings.http_host,
    settings.http_port,
    service=settings.service_name,
    log_format=settings.log_format,
)
