"""``python -m services.reminders``: run the service."""

from services.reminders.app import create_app
from services.reminders.config import Settings
from shared.serve import run

settings = Settings()
run(
    create_app(settings),
    settings.http_host,
    settings.http_port,
    service=settings.service_name,
    log_format=settings.log_format,
)
