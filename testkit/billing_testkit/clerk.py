"""The clerk's steps through our HTTP APIs, as ``billing`` (the CLI) makes them: the
clerk's own bearer token (a person credential: the services record its name as who
acted), long work followed as a job (202 + ``Location``) to its end."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

ALL_STATES = ("waiting", "queued", "sending", "staged", "retry", "delivered", "failed")


class ApiError(AssertionError):
    """An API answered something else than expected; the message has the call and the body."""


class Clerk:
    def __init__(self, urls: Callable[[str], str], token: str, actor: str = "testkit-clerk", timeout_s: float = 60.0):
        self._urls = urls
        self._token = token
        self.actor = actor
        """The credential's name: what the services' audit trails record (they take the
        actor from the token, never from a header)."""
        self.timeout_s = timeout_s
        self._clients: dict[str, httpx.Client] = {}

    def api(self, service: str) -> httpx.Client:
        """An HTTP client for ``service`` (``customers``, ``invoicing``, ``reminders``,
        ``dispatch``) with the clerk's token."""
        if service not in self._clients:
            self._clients[service] = httpx.Client(
                base_url=self._urls(service),
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self.timeout_s,
            )
        return self._clients[service]

    def call(self, service: str, method: str, path: str, *, status: int | Sequence[int] = 200, **kw: Any) -> Any:
        response = self.api(service).request(method, path, **kw)
        expected = (status,) if isinstance(status, int) else tuple(status)
        if response.status_code not in expected:
            raise ApiError(f"{method} {service}{path}: {response.status_code} {response.text[:1000]}")
        return response.json() if response.content else None

    def job(self, service: str, path: str, body: Mapping[str, Any], timeout_s: float = 300.0) -> dict[str, Any]:
        """POST a job (202), follow ``Location`` until it is done; its last state."""
        response = self.api(service).post(path, json=dict(body))
        if response.status_code != 202:
            raise ApiError(f"POST {service}{path}: {response.status_code} {response.text[:1000]}")
        location = response.headers["Location"]
        deadline = time.monotonic() + timeout_s
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.call(service, "GET", location)
            if job["state"] == "failed":
                raise ApiError(f"job {location} of {service} failed: {job}")
            if job["state"] == "done":
                job["location"] = location
                return job
            time.sleep(0.2)
        raise TimeoutError(f"job {location} of {service} not done in {timeout_s:.0f} s; last: {job}")

    # --- billing (invoicing) ---------------------------------------------------------
    def requests(self, kind: str = "subscription", **params: Any) -> dict[str, Any]:
        """The Billing tab's list (``GET /billing-requests``): notice, counts, rows."""
        page: dict[str, Any] = self.call("invoicing", "GET", "/billing-requests", params={"kind": kind, **params})
        return page

    def request(self, request_id: str) -> dict[str, Any] | None:
        """One billing request with its state and reasons; None if not (yet) known. A
        request refused at intake (a dead letter: never stored) is found in the list."""
        response = self.api("invoicing").get(f"/billing-requests/{request_id}")
        if response.status_code == 404:
            for kind in ("subscription", "notice"):
                refused = self.requests(kind, state="refused", limit=1000)["items"]
                found = next((r for r in refused if r["request_id"] == request_id), None)
                if found is not None:
                    return dict(found)
            return None
        if response.status_code != 200:
            raise ApiError(f"GET /billing-requests/{request_id}: {response.status_code} {response.text[:500]}")
        row: dict[str, Any] = response.json()
        return row

    def billing_run(
        self, kind: str = "subscription", mode: str = "confirm", request_ids: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Run a billing run (``preview``, ``draft`` or ``confirm``) over all ready
        requests of ``kind`` or the selected ones; the finished run with its summary."""
        body: dict[str, Any] = {"kind": kind, "mode": mode}
        if request_ids:
            body["request_ids"] = list(request_ids)
        job = self.job("invoicing", "/billing-runs", body)
        run: dict[str, Any] = self.call("invoicing", "GET", f"/billing-runs/{job['id']}")
        return run

    def preview(self, kind: str = "subscription", request_ids: Sequence[str] | None = None) -> dict[str, Any]:
        return self.billing_run(kind, "preview", request_ids)

    def confirm(self, kind: str = "subscription", request_ids: Sequence[str] | None = None) -> dict[str, Any]:
        return self.billing_run(kind, "confirm", request_ids)

    def run_invoices(self, run_id: str) -> list[dict[str, Any]]:
        page = self.call("invoicing", "GET", f"/billing-runs/{run_id}/invoices", params={"limit": 1000})
        items: list[dict[str, Any]] = page["items"]
        return items

    def invoice(self, invoice_id: int | str) -> dict[str, Any]:
        row: dict[str, Any] = self.call("invoicing", "GET", f"/invoices/{invoice_id}")
        return row

    # --- reminders -------------------------------------------------------------------
    def reminder_candidates(self, level: int = 1, **params: Any) -> dict[str, Any]:
        page: dict[str, Any] = self.call("reminders", "GET", "/reminders/candidates", params={"level": level, **params})
        return page

    def create_reminders(self, level: int = 1, **body: Any) -> dict[str, Any]:
        """Select all candidates and create reminder #level; its summary."""
        job = self.job("reminders", "/reminders/create", {"level": level, "all": True, **body})
        summary: dict[str, Any] = self.call("reminders", "GET", f"/reminders{job['location']}/summary")
        return summary

    # --- dispatch --------------------------------------------------------------------
    def sending(self) -> dict[str, dict[str, Any]]:
        """Per channel: waiting, on their way, delivered, failed."""
        rows = self.call("dispatch", "GET", "/sending")
        return {r["channel"]: r for r in rows}

    def documents(self, channel: str, *states: str, **params: Any) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"limit": 1000, "state": list(states or ALL_STATES), **params}
        items: list[dict[str, Any]] = self.call("dispatch", "GET", f"/sending/{channel}/documents", params=query)[
            "items"
        ]
        return items

    def send(self, channel: str, document_ids: Sequence[str] | None = None, **body: Any) -> dict[str, Any]:
        """Send a channel's waiting documents (all, or the given ones); the finished job."""
        selection: dict[str, Any] = {"document_ids": list(document_ids)} if document_ids else {"all": True}
        return self.job("dispatch", f"/sending/{channel}/send", {**selection, **body})

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
