"""``python -m services.reminders``: run the service."""

from services.reminders.app import create_app
from services.reminders.config import Settings
from shared.serve import main

main(Settings, create_app)
