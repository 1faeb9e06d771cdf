"""``python -m services.invoicing``: run the service."""

from services.invoicing.app import create_app
from services.invoicing.config import Settings
from shared.serve import main

main(Settings, create_app)
