"""The order system's tests against the real billing back-office.

``billing_system`` (the test kit's pytest plugin) starts the back-office from its images
once per session; each test uses its own customers and orders, so they share it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from billing_testkit.contract import address
from billing_testkit.system import BillingSystem

from order_system.billing import BillingPublisher


@pytest.fixture(scope="session")
def publisher(billing_system: BillingSystem) -> Iterator[BillingPublisher]:
    """The order system's own publisher, pointed at the back-office's Kafka."""
    publisher = BillingPublisher(billing_system.kafka_bootstrap)
    yield publisher
    publisher.close()


@pytest.fixture
def unique() -> Callable[[str], str]:
    run = uuid.uuid4().hex[:8].upper()
    return lambda prefix: f"{prefix}-{run}"


@pytest.fixture
def mail_customer(billing_system: BillingSystem, unique: Callable[[str], str]) -> tuple[str, str]:
    """A company billed by e-mail, known to the back-office (its CRM upsert published and
    its billing profile valid): (customer number, e-mail address)."""
    number = unique("C")
    email = f"laskut-{number.lower()}@tilaaja.example"
    billing_system.upsert_customer(
        number,
        customer_type="company",
        name="Tilaaja Oy",
        business_id="0112038-9",
        address=address("Kauppakatu 1", postal_code="00100", city="Helsinki"),
        email=email,
        delivery_channel="email",
    )
    profile = billing_system.wait_profile(number)
    assert profile["valid"], profile["errors"]
    return number, email
