"""Bad upserts from the CRM (issue 6, item 9): loose types, control characters,
overlong text and other scripts' digits are dead-lettered with the field path (and
without the values), never stored; the valid upsert after them is processed. Each
of these was stored before."""

from __future__ import annotations

from typing import Any

import pytest

from services.customers.tables import CustomersUnitOfWork
from shared.events.topics import BILLING_PROFILES, CUSTOMER_UPSERTS
from shared.runtime import Runtime
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, read_topic

pytestmark = pytest.mark.integration

BAD: list[tuple[dict[str, Any], str]] = [
    (upsert("C-1", consumer="yes"), "customer.consumer"),
    (upsert("C-2", no_reminders=1), "customer.no_reminders"),
    (upsert("C-3", business_id="٠٧٣٧٥٤٦-٢"), "customer.business_id"),
    (upsert("C-4", business_id="0737546-2 "), "customer.business_id"),
    (upsert("C-5", name="Maija\x00Meikäläinen"), "customer.name"),
    (upsert("C-6", name="M" * 5000), "customer.name"),
    (upsert("C-7", address={"street_lines": ["Katu 1"], "postal_code": 100, "city": "Helsinki"}), "postal_code"),
]


async def test_bad_upserts_are_dead_lettered_with_the_field_path_and_not_stored(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    async with Publisher(sandbox.bootstrap) as pub:
        for body, _ in [*BAD, (upsert("C-OK"), "")]:
            number = str(body["customer_number"])
            await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), body, key=number, headers=ce_headers(UPSERT_TYPE))

    dead = await read_topic(sandbox.bootstrap, sandbox.topic(CUSTOMER_UPSERTS.dead_letter), expect=len(BAD))
    reasons = {r.key.decode(): dict(r.headers)["dlq_reason"].decode() for r in dead if r.key}
    for body, path in BAD:
        assert path in reasons[str(body["customer_number"])], (body["customer_number"], reasons)
    assert not any("Maija" in r for r in reasons.values())
    (profile,) = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=1)
    assert profile.key == b"C-OK"
    assert await sandbox.scalar("SELECT count(*) FROM customers") == 1
    assert "Maija" not in caplog.text
