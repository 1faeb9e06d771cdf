"""``python -m services.customers``: run the service (consumers, relay, HTTP API)."""

from services.customers.app import create_app
from services.customers.config import Settings
from shared.serve import run

settings = Settings()
run(
    create_app(settings),
    settings.http_host,
    settings.http_port,
    service=settings.service_name,
    log_format=settings.log_format,
)
