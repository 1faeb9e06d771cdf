"""``python -m services.customers``: run the service (consumers, relay, HTTP API)."""

from services.customers.app import create_app
from services.customers.config import Settings
from shared.serve import main

main(Settings, create_app)
