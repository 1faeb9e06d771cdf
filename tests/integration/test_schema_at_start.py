"""Production mode against real PostgreSQL and Kafka: a service never migrates at start;
it refuses a database behind its code (clear error, the process exits) and runs on a
database ahead of it, the expand step of an additive change: the old code against the
new schema, its real work included."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from services.customers.app import SPEC, build, http_app
from services.customers.config import Settings
from shared.db.migrations import upgrade
from shared.db.schema_check import SchemaBehind
from shared.events.customers import BillingProfileChanged
from shared.events.topics import BILLING_PROFILES, CUSTOMER_UPSERTS
from shared.messaging.topics_admin import prepare_topics
from tests.support.credentials import as_clerk
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import Publisher, ce_headers, read_topic
from tests.support.migrations import next_release_migrations, revisions
from tests.support.servers import REPO

pytestmark = pytest.mark.integration


DEV_TOPICS = REPO / "deploy/topics/development.toml"


def production(sandbox: Sandbox) -> Settings:
    # one broker here: the topics as development.toml declares them (RF 1) are what it verifies
    return Settings(**sandbox.settings_kwargs(mode="production", kafka_topics_file=DEV_TOPICS))


async def test_old_code_runs_on_the_schema_of_an_additive_change(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    head, _ = revisions()
    await upgrade(next_release_migrations(tmp_path), sandbox.db_url)  # the new release's migrate Job
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == "9001_expand"
    # production creates no topics: they are there before (billing topics apply)
    await prepare_topics(
        Settings(**sandbox.settings_kwargs(kafka_topics_file=DEV_TOPICS)), SPEC.produces, SPEC.consumes
    )

    runtime = build(production(sandbox))  # the CURRENT code, which knows only `head`
    with caplog.at_level(logging.INFO, logger="shared.runtime"):
        await runtime.start()
    try:
        assert f"revision 9001_expand, newer than this code's head {head}: accepted" in caplog.text
        transport = httpx.ASGITransport(app=http_app(runtime, title="customers (old code)"))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://customers", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ) as api:
            ready = await api.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["schema"] == "ok"
            assert "schema" in ready.json()["serving"]

            # its real work: an upsert consumed from Kafka is stored and its profile published
            async with Publisher(sandbox.bootstrap) as pub:
                await pub.send(
                    sandbox.topic(CUSTOMER_UPSERTS.name), upsert("C-9"), key="C-9", headers=ce_headers(UPSERT_TYPE)
                )
            records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=1)
            profile = BillingProfileChanged.model_validate_json(records[0].value)
            assert (profile.customer_number, profile.version) == ("C-9", 1)

            # and an API write
            patched = await api.patch(
                "/customers/C-9", json={"address": {"city": "Tampere"}}, headers=as_clerk("clerk-1")
            )
            assert patched.status_code == 200, patched.text
            records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=2)
            assert [BillingProfileChanged.model_validate_json(r.value).version for r in records] == [1, 2]
        (row,) = await sandbox.fetch("SELECT version, preferred_language FROM customers WHERE customer_number = 'C-9'")
        assert (row["version"], row["preferred_language"]) == (2, None)  # the new column: left to the new code
        assert await sandbox.scalar("SELECT count(*) FROM customer_notes") == 0
    finally:
        await runtime.stop()
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == "9001_expand"  # never migrated back


async def test_a_database_one_revision_behind_is_refused_in_production(sandbox: Sandbox) -> None:
    head, previous = revisions()
    await upgrade(SPEC.migrations_dir, sandbox.db_url, previous)

    runtime = build(production(sandbox))
    try:
        with pytest.raises(SchemaBehind) as refused:
            await runtime.start()
    finally:
        await runtime.engine.dispose()

    message = str(refused.value)
    assert message.startswith("customers: the database schema is behind this code")
    assert f"the database is at revision {previous}, the code needs {head}" in message
    assert "`billing migrate customers`" in message
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == previous  # it did not migrate


async def test_an_empty_database_is_refused_in_production(sandbox: Sandbox) -> None:
    runtime = build(production(sandbox))
    try:
        with pytest.raises(SchemaBehind, match=r"at revision none \(an empty, never migrated database\)"):
            await runtime.start()
    finally:
        await runtime.engine.dispose()
    assert await sandbox.scalar("SELECT to_regclass('alembic_version') IS NULL")


async def test_a_production_process_behind_exits_non_zero_with_the_error(sandbox: Sandbox, log_dir: Path) -> None:
    head, previous = revisions()
    await upgrade(SPEC.migrations_dir, sandbox.db_url, previous)
    service = ServiceProcess(sandbox, "customers", log_dir, mode="production").start()
    try:
        code = await service.wait_exit()
    finally:
        service.stop()
    assert code != 0
    log = service.log_path.read_text()
    assert f"the database is at revision {previous}, the code needs {head}" in log
    assert "Run `billing migrate customers` first" in log


async def test_the_schema_readiness_check_fails_when_the_database_falls_behind(sandbox: Sandbox) -> None:
    head, previous = revisions()
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    await prepare_topics(
        Settings(**sandbox.settings_kwargs(kafka_topics_file=DEV_TOPICS)), SPEC.produces, SPEC.consumes
    )
    runtime = build(production(sandbox))
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=http_app(runtime, title="customers"))
        async with httpx.AsyncClient(transport=transport, base_url="http://customers") as client:
            assert (await client.get("/readyz")).status_code == 200
            # a database restored from an older backup, say
            await sandbox.fetch("UPDATE alembic_version SET version_num = $1", previous)
            answer = await client.get("/readyz")
            assert answer.status_code == 503
            assert answer.json()["checks"]["schema"] == "down"
            await sandbox.fetch("UPDATE alembic_version SET version_num = $1", head)
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await runtime.stop()


async def test_a_development_service_starts_on_a_database_ahead_of_it(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Development mode migrates at start, but not a database at a revision the code does
    not know (Alembic cannot locate it): the older code starts and works on it."""
    head, _ = revisions()
    await upgrade(next_release_migrations(tmp_path), sandbox.db_url)  # the new release's migrate step
    settings = Settings(**sandbox.settings_kwargs(mode="development", kafka_topics_file=DEV_TOPICS))
    assert settings.run_migrations_on_start

    runtime = build(settings)  # the CURRENT code, which knows only `head`
    with caplog.at_level(logging.INFO, logger="shared.runtime"):
        await runtime.start()
    try:
        assert f"revision 9001_expand, newer than this code's head {head}: accepted" in caplog.text
        transport = httpx.ASGITransport(app=http_app(runtime, title="customers (old code)"))
        async with httpx.AsyncClient(transport=transport, base_url="http://customers") as api:
            assert (await api.get("/readyz")).status_code == 200
        async with Publisher(sandbox.bootstrap) as pub:
            await pub.send(
                sandbox.topic(CUSTOMER_UPSERTS.name), upsert("C-7"), key="C-7", headers=ce_headers(UPSERT_TYPE)
            )
        records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=1)
        profile = BillingProfileChanged.model_validate_json(records[0].value)
        assert (profile.customer_number, profile.version) == ("C-7", 1)
    finally:
        await runtime.stop()
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == "9001_expand"  # never migrated back
