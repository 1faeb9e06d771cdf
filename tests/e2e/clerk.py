"""The clerk's calls, as the CLI makes them (``billing_cli``): the same endpoints, the
clerk's own token (clerk-1's credential: the audit trails name clerk-1); jobs followed
to their end as the progress bar does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.e2e.system import System
from tests.support.kafka import wait_for

D = Decimal


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


async def job_done(api: httpx.AsyncClient, started: httpx.Response, timeout: float = 120) -> dict[str, Any]:
    """Follow a job a POST started (202 + Location) to its end, as the CLI's progress bar does."""
    await ok(started, 202)
    url = started.headers["Location"]

    async def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = (await api.get(url)).json()
        assert job["state"] != "failed", job
        return job if job["state"] == "done" else None

    result: dict[str, Any] = await wait_for(finished, timeout=timeout, interval=0.2)
    return result


async def requests_page(system: System, kind: str, **params: Any) -> dict[str, Any]:
    """Fetch billing requests (seed steps 7-8), as ``billing invoicing requests``."""
    page: dict[str, Any] = await ok(
        await system.api("invoicing").get("/billing-requests", params={"kind": kind, "limit": 1000, **params})
    )
    return page


async def billing_run(system: System, kind: str, mode: str, **body: Any) -> dict[str, Any]:
    """Run a billing run (steps 14-16), as ``billing invoicing run``: the job, then the run."""
    api = system.api("invoicing")
    job = await job_done(api, await api.post("/billing-runs", json={"kind": kind, "mode": mode, **body}))
    run: dict[str, Any] = await ok(await api.get(f"/billing-runs/{job['id']}"))
    assert run["summary"] is not None
    return run


async def run_invoices(system: System, run_id: str) -> list[dict[str, Any]]:
    page = await ok(await system.api("invoicing").get(f"/billing-runs/{run_id}/invoices", params={"limit": 1000}))
    items: list[dict[str, Any]] = page["items"]
    return items


def check_summary(run: dict[str, Any], expected: dict[str, Any]) -> None:
    s = run["summary"]
    assert (s["invoices"], s["requests"]) == (expected["invoices"], expected["requests"])
    totals = s["totals"]
    assert (D(totals["net"]), D(totals["vat"]), D(totals["gross"])) == (
        expected["net"],
        expected["vat"],
        expected["gross"],
    )
    assert s["by_channel"] == expected["by_channel"]


async def candidates(system: System, level: int, **params: Any) -> dict[str, Any]:
    """Fetch the candidates for reminder #level (step 2), as ``billing reminders candidates``."""
    page: dict[str, Any] = await ok(
        await system.api("reminders").get("/reminders/candidates", params={"level": level, **params})
    )
    return page


async def create_reminders(system: System, level: int, **body: Any) -> dict[str, Any]:
    """Select all + create reminder #level (steps 3-5), as ``billing reminders create --all``."""
    api = system.api("reminders")
    started = await api.post("/reminders/create", json={"level": level, "all": True, **body})
    await job_done(api, started)
    summary: dict[str, Any] = await ok(await api.get(f"/reminders{started.headers['Location']}/summary"))
    return summary


def by_customer(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {r["customer_number"]: r for r in page["items"]}
    assert len(rows) == len(page["items"])  # one invoice per customer in each list of this data set
    return rows


async def sending(system: System) -> dict[str, dict[str, Any]]:
    rows = await ok(await system.api("dispatch").get("/sending"))
    return {r["channel"]: r for r in rows}


ALL_STATES = ("waiting", "queued", "sending", "staged", "retry", "delivered", "failed")


async def documents(system: System, channel: str, *states: str) -> list[dict[str, Any]]:
    """A channel's documents (default: in any state; the API's default is "waiting")."""
    params: dict[str, Any] = {"limit": 1000, "state": list(states or ALL_STATES)}
    page = await ok(await system.api("dispatch").get(f"/sending/{channel}/documents", params=params))
    assert page["total"] == len(page["items"])
    items: list[dict[str, Any]] = page["items"]
    return items


def amount_fi(value: Decimal) -> str:
    """33.00 -> '33,00' (every amount of this data set is under 1 000)."""
    assert value < 1000
    return f"{value:.2f}".replace(".", ",")


def fi_amount(text: str) -> Decimal:
    return D(text.replace(",", "."))
