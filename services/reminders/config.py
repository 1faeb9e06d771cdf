"""Settings of the reminders service: env prefix ``REMINDERS_``."""

from datetime import date
from decimal import Decimal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REMINDERS_", extra="ignore")

    service_name: str = "reminders"
    http_port: int = 8003

    today: date | None = None
    """Fix the service's date (``REMINDERS_TODAY=2026-12-01``): tests and demos run the
    rules on an exact day. Unset: the local date in ``jobs_timezone``. A test hook: refused
    unless ``BILLING_TEST_HOOKS=on`` (or ``REMINDERS_TEST_HOOKS=true``)."""
    extra_reference_rates: dict[date, Decimal] = Field(default_factory=dict)
    """Half-years the rate table in ``services/reminders/domain/data`` lacks yet, as
    ``{"2026-07-01": "2.5"}`` (the Bank of Finland's figure): a stopgap until the row is
    added to the file; a half-year the file has cannot be replaced here."""
    daily_reminders: bool = False
    """Create the reminders of every level each day (job ``reminders.daily``, at 07:00
    local time unless ``jobs_schedule`` moves it), single-instance, once per date."""
    collection_agency: str = "perintatoimisto"
    """The agency code a hand-over names when the clerk gives none."""
    create_chunk_size: int = 2000
    """Reminders created per transaction (one chunk of the create job)."""

    @model_validator(mode="after")
    def _fixed_clock_is_a_test_hook(self) -> "Settings":
        if self.today is not None:
            self.refuse_test_hook("REMINDERS_TODAY")
        return self
