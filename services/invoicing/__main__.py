"""``python -m services.invoicing``: run the service."""

from services.invoicing.app import create_app
from services.invoicing.config import Settings
from shared.serve import run

settings = Settings()
run(
    create_app(settings),
    settings.http_host,
    settings.http_port,
    service=settings.service_name,
    log_format=settings.log_format,
)
