"""``python -m services.dispatch``: run the service."""

from services.dispatch.app import create_app
from services.dispatch.config import Settings
from shared.serve import main

main(Settings, create_app)
