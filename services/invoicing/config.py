"""Settings of the invoicing service: env prefix ``INVOICING_``.

The seller block is what every invoice prints and every e-invoice carries (defaults
describe the demo publisher; a real deployment sets its own). The daily run: time in
``jobs_schedule`` (``{"invoicing.daily-run": "06:00"}``), kinds and mode here.
"""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVOICING_", extra="ignore")

    service_name: str = "invoicing"
    http_port: int = 8002

    seller_name: str = "Esimerkkimedia Oy"
    seller_business_id: str = "0737546-2"
    seller_vat_number: str = "FI07375462"
    seller_street: str = "Mediakatu 1"
    seller_postal_code: str = "00100"
    seller_city: str = "Helsinki"
    seller_country: str = "FI"
    seller_iban: str = "FI2112345600000785"
    seller_bic: str = "NDEAFIHH"
    seller_email: str | None = "laskutus@esimerkkimedia.example"
    seller_phone: str | None = "+358 9 123 4567"
    seller_einvoice_address: str = "003707375462"
    seller_einvoice_operator: str = "003721291126"

    vat_table_path: Path | None = None
    """A VAT table other than the one shipped (``services/invoicing/data/vat_rates.toml``)."""

    daily_run_enabled: bool = True
    daily_run_at: str = "06:00"
    """Local time (``jobs_timezone``) of the automated daily run."""
    daily_run_kinds: list[Literal["subscription", "notice"]] = Field(default=["subscription", "notice"])
    daily_run_mode: Literal["draft", "confirm"] = "confirm"
    run_chunk_customers: int = Field(default=1000, ge=1, le=20_000)
    """Customers per chunk (one transaction) of a billing run."""
    run_part_workers: int = Field(default=2, ge=1, le=8)
    """Chunks of a billing run one process does at once (each its own transaction and
    connection, within the jobs' share of the pool): one chunk's database round trips
    overlap another's Python work. Every replica takes chunks of the same run."""

    # issue 18 (restore): the invoice-number check against invoicing.invoices.v1
    numbering_check_enabled: bool = True
    """At start, read the highest invoice number of each series from the tail of the
    invoices topic; a number series behind it (a restored backup) issues nothing until
    ``billing invoicing reconcile``. Off only for tests that need no Kafka at start."""
    numbering_check_window: int = Field(default=500, ge=1, le=100_000)
    """Records read per step when reading a partition backwards from its end."""
    numbering_check_margin_s: float = Field(default=3600.0, ge=0)
    """How far before the newest invoice in the database the tail is read at most
    (longer than any issuing transaction, plus clock skew between hosts)."""
    numbering_check_timeout_s: float = Field(default=90.0, gt=0)
    """The whole budget: how long the start keeps trying to read the log (every read and
    the pauses between them) before it gives up (fails). The Deployment's startupProbe
    must allow more (deploy/k8s/rules.py checks), or the pod is killed before the error
    is logged."""
    numbering_check_read_timeout_s: float = Field(default=20.0, gt=0)
    """How long one read of the log may take within that budget (a read is retried until
    the budget is spent)."""
