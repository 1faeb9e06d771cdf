"""Test support for the dispatch service: publish issued documents the way invoicing and
reminders do, run the service and its channel workers (in this process, or as real
processes that can be SIGKILLed), and follow a send through the API."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.dispatch.app import build, build_worker, http_app
from services.dispatch.config import Settings
from services.dispatch.runtime import DispatchRuntime
from shared.events import topics
from shared.events.customers import BillingProfileChanged, CustomerData, ProfileError
from shared.events.invoicing import CorrectiveInvoiceIssued, InvoiceDocument, InvoiceIssued
from shared.events.reminders import ReminderDocument, ReminderIssued
from tests.support import spawn
from tests.support.credentials import as_clerk
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import Publisher, ce_headers, wait_for
from tests.support.servers import REPO


def dispatch_settings(sandbox: Sandbox, tmp: Path, **overrides: Any) -> dict[str, Any]:
    """Settings of the dispatch service and workers for a test: its own database and
    topics, folders under ``tmp``, quick polls, short retry backoff."""
    values: dict[str, Any] = {
        "einvoice_folder": str(tmp / "einvoice"),
        "print_folder": str(tmp / "print"),
        "jobs_poll_interval_s": 0.2,
        "send_track_interval_s": 0.2,
        "retry_poll_interval_s": 0.2,
        "retry_base_s": 0.5,
        "print_close_interval_s": 0.2,
        "consumer_stall_max_s": 2.0,
        "message_id_domain": "billing.test",
        "mail_from": "laskutus@esimerkkimedia.example",
    }
    values.update(overrides)
    return sandbox.settings_kwargs(**values)


def _event(doc: InvoiceDocument | ReminderDocument) -> tuple[str, Any, str]:
    if isinstance(doc, ReminderDocument):
        return topics.REMINDERS.name, ReminderIssued(reminder=doc), "urn:billing:reminders"
    if doc.document_type == "invoice":
        return topics.INVOICES.name, InvoiceIssued(invoice=doc), "urn:billing:invoicing"
    return topics.INVOICES.name, CorrectiveInvoiceIssued(invoice=doc), "urn:billing:invoicing"


async def publish(sandbox: Sandbox, docs: Sequence[InvoiceDocument | ReminderDocument]) -> None:
    """Publish each document's issued event on its topic, keyed by customer number."""
    async with Publisher(sandbox.bootstrap) as pub:
        items = []
        for doc in docs:
            topic, event, source = _event(doc)
            headers = ce_headers(event.EVENT_TYPE, str(uuid.uuid4()), source=source)
            items.append(
                (sandbox.topic(topic), event.model_dump_json().encode(), doc.customer.customer_number, headers)
            )
        await pub.send_many(items)


async def publish_profile(
    sandbox: Sandbox, number: str, version: int, data: CustomerData, errors: Sequence[ProfileError] = ()
) -> None:
    """A billing profile as the customers service publishes it (after a clerk fixed the
    card): valid unless ``errors`` are given."""
    event = BillingProfileChanged(
        customer_number=number, version=version, valid=not errors, errors=list(errors), snapshot=data, consumer=True
    )
    headers = ce_headers(event.EVENT_TYPE, str(uuid.uuid4()), source="urn:billing:customers")
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send_many(
            [(sandbox.topic(topics.BILLING_PROFILES.name), event.model_dump_json().encode(), number, headers)]
        )


async def wait_profile(sandbox: Sandbox, number: str, version: int, timeout: float = 60) -> None:
    """Until dispatch's projection has the customer's profile ``version`` (or a later one)."""

    async def arrived() -> bool:
        got = await sandbox.scalar("SELECT version FROM billing_profiles WHERE customer_number = $1", number)
        return got is not None and int(got) >= version

    await wait_for(arrived, timeout=timeout)


@dataclass
class Stack:
    """The dispatch service (with its API client) and the workers started so far."""

    sandbox: Sandbox
    settings: dict[str, Any]
    service: DispatchRuntime
    api: httpx.AsyncClient
    workers: list[DispatchRuntime] = field(default_factory=list)

    async def worker(self, channel: str, **overrides: Any) -> DispatchRuntime:
        runtime = build_worker(channel, Settings(**{**self.settings, **overrides}))  # type: ignore[arg-type]
        await runtime.start()
        self.workers.append(runtime)
        return runtime

    async def stop_worker(self, runtime: DispatchRuntime) -> None:
        await runtime.stop()
        self.workers.remove(runtime)

    async def counts(self) -> dict[str, dict[str, int]]:
        rows = (await self.api.get("/sending")).json()
        return {r["channel"]: r for r in rows}

    async def wait_arrived(self, n: int, timeout: float = 60) -> None:
        async def arrived() -> bool:
            return int(await self.sandbox.scalar("SELECT count(*) FROM documents") or 0) >= n

        await wait_for(arrived, timeout=timeout)

    async def send(self, channel: str, timeout: float = 120, **body: Any) -> dict[str, Any]:
        """POST a send (default: all waiting), then wait for its job to end; returns
        ``{"answer": ..., "job": ...}``."""
        body = {"all": True, **body} if "document_ids" not in body else body
        response = await self.api.post(f"/sending/{channel}/send", json=body, headers=as_clerk("clerk-1"))
        assert response.status_code == 202, response.text
        answer = response.json()
        assert response.headers["Location"] == answer["job"]["url"]
        job = await self.job(answer["job"]["url"], timeout=timeout)
        return {"answer": answer, "job": job}

    async def job(self, url: str, timeout: float = 120) -> dict[str, Any]:
        async def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = (await self.api.get(url)).json()
            return job if job["state"] in ("done", "failed") else None

        result: dict[str, Any] = await wait_for(finished, timeout=timeout, interval=0.2)
        return result


@asynccontextmanager
async def dispatch_stack(sandbox: Sandbox, tmp: Path, **overrides: Any) -> AsyncIterator[Stack]:
    settings = dispatch_settings(sandbox, tmp, **overrides)
    if "database_url" not in overrides:
        await sandbox.migrated("dispatch")  # the schema copied while the database is new
    service = build(Settings(**settings))
    await service.start()
    app = http_app(service, title="dispatch (test)")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://dispatch", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as api:
        stack = Stack(sandbox, settings, service, api)
        try:
            yield stack
        finally:
            for worker in list(stack.workers):
                await worker.stop()
            await service.stop()


class WorkerProcess(ServiceProcess):
    """A channel worker as a real OS process (``python -m services.dispatch.worker``)."""

    def __init__(self, sandbox: Sandbox, channel: str, log_dir: Path, **overrides: Any) -> None:
        super().__init__(sandbox, "dispatch", log_dir, **overrides)
        self.channel = channel
        self.log_path = log_dir / f"dispatch-{channel}-{self.port}.log"

    def start(self, extra_env: dict[str, str] | None = None) -> WorkerProcess:
        env = {**self.env, **(extra_env or {})}
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = spawn.start(
            [sys.executable, "-m", "services.dispatch.worker", "--channel", self.channel, "--port", str(self.port)],
            env=env,
            cwd=REPO,
            log=self._log,
        )
        return self


async def metric(url: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus series from ``url``/metrics (0 when absent)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def gather_ready(*processes: ServiceProcess) -> None:
    await asyncio.gather(*(p.wait_ready() for p in processes))
