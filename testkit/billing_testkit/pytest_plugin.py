"""pytest fixtures of the test kit (registered through the ``pytest11`` entry point).

``billing_system``: the billing back-office, started once per test session from its
images the first time a test asks for it (nothing starts otherwise) and removed at the
end of the session. ``billing_clerk``: its clerk (HTTP API calls).

Images: ``--billing-image``, ``--billing-kafka-image``, ``--billing-postgres-image``,
``--billing-mail-image`` (or the ini keys of the same names with ``_`` for ``-``, or the
``BILLING_TESTKIT_*_IMAGE`` environment variables). ``billing_settings`` (ini, lines of
``NAME=value``) adds settings of our processes, e.g. ``REMINDERS_TODAY=2026-03-01``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billing_testkit.clerk import Clerk
from billing_testkit.containers import Images
from billing_testkit.system import BillingSystem

_IMAGES = {
    "billing": ("--billing-image", "the project image (services, workers, console)"),
    "kafka": ("--billing-kafka-image", "Apache Kafka (KRaft; apache/kafka env convention)"),
    "postgres": ("--billing-postgres-image", "PostgreSQL (official image env convention)"),
    "mail": ("--billing-mail-image", "the SMTP sink writing each mail to /mail"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("billing-testkit", "billing back-office test kit")
    for option, help_text in _IMAGES.values():
        dest = option.lstrip("-").replace("-", "_")
        group.addoption(option, dest=dest, default=None, help=f"image: {help_text}")
        parser.addini(dest, f"image: {help_text}", default=None)
    parser.addini("billing_settings", "settings of the billing processes, NAME=value per line", type="linelist")
    parser.addini("billing_start_timeout", "seconds the billing system may take to start", default="300")


def images_from(config: pytest.Config) -> Images:
    chosen: dict[str, str] = {}
    for field, (option, _) in _IMAGES.items():
        dest = option.lstrip("-").replace("-", "_")
        value = config.getoption(dest) or config.getini(dest)
        if value:
            chosen[field] = str(value)
    return Images(**chosen)


def settings_from(config: pytest.Config) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in config.getini("billing_settings"):
        name, sep, value = str(line).partition("=")
        if not sep:
            raise pytest.UsageError(f"billing_settings: {line!r} is not NAME=value")
        out[name.strip()] = value.strip()
    return out


@pytest.fixture(scope="session")
def billing_system(pytestconfig: pytest.Config) -> Iterator[BillingSystem]:
    """The whole billing back-office from its images, once per session."""
    system = BillingSystem.start(
        images_from(pytestconfig),
        settings=settings_from(pytestconfig),
        start_timeout_s=float(pytestconfig.getini("billing_start_timeout")),
    )
    with system:
        yield system


@pytest.fixture
def billing_clerk(billing_system: BillingSystem) -> Clerk:
    """The clerk's HTTP calls against ``billing_system``."""
    return billing_system.clerk
