"""Where the console puts the outcome of an action, what a progress bar and a table
header are called, and that no list stops at its page size: the console's own pages and
partials against services answered in-process (what the services do is their tests').

- Every outcome (a run's summary, reminders created, a hand-over, invoices sent or
  previewed, a flash after a redirect, an action's error) is marked ``data-outcome`` and
  focusable (``tabindex=-1``): console.js scrolls it to the top and focuses it.
- The results region of each list is above the list, not below its rows.
- Lists that the services page (dead letters, sending lists, drafts, reminder and
  collection candidates) say "Näytetään a–b / n" and lead to the other pages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from console import i18n
from console.app import create_app
from console.auth import hash_password
from console.config import SERVICES, ConsoleSettings

PASSWORD = "salasana ei ole tämä"
TEMPLATES = Path(i18n.__file__).parent / "templates"
JOB = str(uuid.uuid4())
RUN = str(uuid.uuid4())
DOC = "0b0c7a52-3f3e-4d7e-9a41-2b8a7d3e9f10"

Answer = Callable[[httpx.Request], Any]


class Services:
    """Answers per (service, path); records every request."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], Answer] = {}
        self.seen: list[tuple[str, httpx.Request]] = []

    def transport(self, service: str) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.seen.append((service, request))
            answer = self.answers.get((service, request.url.path))
            if answer is None:
                return httpx.Response(404, json={"detail": {"code": "x", "message_fi": "ei", "message_en": "no"}})
            return httpx.Response(200, json=answer(request))

        return httpx.MockTransport(handle)

    def params(self, service: str, path: str) -> list[dict[str, list[str]]]:
        return [
            {k: r.url.params.get_list(k) for k in r.url.params}
            for s, r in self.seen
            if s == service and r.url.path == path
        ]


@pytest.fixture
def services() -> Services:
    return Services()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    settings = ConsoleSettings(users=[f"anna:{hash_password(PASSWORD)}"], login_delay_s=0)
    app = create_app(settings, transports={s: services.transport(s) for s in SERVICES})
    with TestClient(app) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert token
        c.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token.group(1)})
        signed_in = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/billing").text)
        assert signed_in
        c.headers["X-CSRF-Token"] = signed_in.group(1)
        yield c


def _outcome(html: str) -> str:
    """The opening tag of the element marked as the outcome (exactly one)."""
    tags = re.findall(r"<[a-z]+\b[^>]*\bdata-outcome\b[^>]*>", html)
    assert len(tags) == 1, tags
    assert 'tabindex="-1"' in tags[0]
    return tags[0]


# --- outcomes -----------------------------------------------------------------------------


def test_the_run_summary_is_the_outcome_and_named_by_its_heading(services: Services, client: TestClient) -> None:
    run = {"run_id": RUN, "mode": "confirm", "kind": "subscription", "summary": {"invoices": 1, "requests": 1,
           "totals": {"net": "10.00", "vat": "2.55", "gross": "12.55"}}}  # fmt: skip
    services.answers["invoicing", f"/billing-runs/{RUN}"] = lambda _: run
    services.answers["invoicing", f"/billing-runs/{RUN}/invoices"] = lambda _: {"total": 0, "items": []}
    html = client.get(f"/billing/runs/{RUN}/summary", headers={"HX-Request": "true"}).text
    tag = _outcome(html)
    assert "data-summary" in tag
    labelled = re.search(r'aria-labelledby="([^"]+)"', tag)
    assert labelled and f'<h2 id="{labelled.group(1)}">' in html
    # the PDF link is the first thing to Tab to after the summary itself
    pdf = html.rfind("<a ", 0, html.index("data-pdf"))
    assert not re.search(r"<(a|button|input|select|summary)\b", html[html.index(tag) + len(tag) : pdf])


def test_reminders_created_handed_over_and_sent_are_outcomes(services: Services, client: TestClient) -> None:
    summary = {"job": {"actor": "anna", "finished_at": "2026-11-23T10:00:00Z"},
               "levels": [{"level": 1, "created": 3, "skipped": []}]}  # fmt: skip
    services.answers["reminders", f"/reminders/jobs/{JOB}/summary"] = lambda _: summary
    html = client.get(f"/invoices/reminders/jobs/{JOB}?level=1", headers={"HX-Request": "true"}).text
    assert 'data-created="3"' in _outcome(html)

    services.answers["reminders", "/collection/handover"] = lambda _: {
        "handed_over": 2, "message_fi": "Siirretty.", "message_en": "Handed over.", "more": False}  # fmt: skip
    html = client.post("/invoices/collection/handover", data={"invoice_id": ["1", "2"], "select_all": "0"}).text
    assert 'data-handed-over="2"' in _outcome(html)

    job = {"id": JOB, "state": "done", "actor": "anna", "finished_at": "2026-11-23T10:00:00Z",
           "result": {"channel": "email", "preview": False, "delivered": 2, "failed": 0}}  # fmt: skip
    services.answers["dispatch", f"/jobs/{JOB}"] = lambda _: job
    services.answers["dispatch", "/sending"] = lambda _: []
    services.answers["dispatch", "/sending/email/documents"] = lambda _: {"total": 0, "items": []}
    html = client.get(f"/sending/email/jobs/{JOB}", headers={"HX-Request": "true"}).text
    assert "data-sent=" in _outcome(html)


def test_an_actions_error_and_a_flash_after_a_redirect_are_outcomes(services: Services, client: TestClient) -> None:
    html = client.post("/billing/runs", data={"kind": "subscription"}, headers={"HX-Request": "true"}).text
    assert "data-service-error" in _outcome(html)  # nothing selected: said where the result goes
    replay = {"replayed": 1, "skipped": 0, "replayed_ids": [7], "skipped_ids": [], "message_fi": "", "message_en": ""}
    services.answers["customers", "/dead-letters/replay"] = lambda _: replay
    services.answers["customers", "/dead-letters"] = lambda _: {"total": 0, "items": []}
    html = client.post("/dead-letters/customers/replay", data={"ids": ["7"]}).text
    assert 'role="status"' in _outcome(html)
    assert "1 viestiä lähetetty uudelleen" in html


def test_the_results_region_is_above_each_list() -> None:
    def order(name: str, first: str, then: str) -> None:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        assert first in text and then in text, name
        assert text.index(first) < text.index(then), f"{name}: {first} is below {then}"

    order("invoices/_candidates.html", 'id="reminder-result-', "data-candidate-table")
    order("invoices/_collection.html", 'id="handover-result"', "<table")
    order("billing/index.html", 'id="run"', 'id="requests"')
    order("sending/page.html", 'id="send-result"', 'include "sending/_waiting.html"')
    assert 'id="run"' not in (TEMPLATES / "billing/_requests.html").read_text(encoding="utf-8")


def test_console_js_focuses_the_outcome_and_every_page_loads_it() -> None:
    js = (TEMPLATES.parent / "static" / "console.js").read_text(encoding="utf-8")
    assert "htmx:load" in js and "[data-outcome]" in js and ".focus(" in js
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert '<script src="/static/console.js" defer></script>' in base
    scripts = {p.name for p in TEMPLATES.rglob("*.html") if "<script>" in p.read_text(encoding="utf-8")}
    assert scripts == set(), "inline scripts"


# --- names for assistive technology --------------------------------------------------------


def test_the_progress_bar_has_a_name(services: Services, client: TestClient) -> None:
    services.answers["reminders", f"/jobs/{JOB}"] = lambda _: {"id": JOB, "state": "running", "done": 5, "total": 20}
    html = client.get(f"/jobs/reminders/{JOB}", headers={"HX-Request": "true"}).text
    # a native <progress> (role progressbar, its value from the attributes): no inline width
    bar = re.search(r'<progress class="progress"[^>]*>', html)
    assert bar
    assert 'aria-label="Työn eteneminen"' in bar.group(0)
    assert 'value="25"' in bar.group(0) and 'max="100"' in bar.group(0)
    assert "style=" not in html


def test_no_table_header_is_empty() -> None:
    empty = {
        str(p.relative_to(TEMPLATES)): len(re.findall(r"<th(?:\s[^>]*)?>\s*</th>", p.read_text(encoding="utf-8")))
        for p in TEMPLATES.rglob("*.html")
    }
    assert {name: n for name, n in empty.items() if n} == {}


# --- paging ---------------------------------------------------------------------------------


def _dead_letters(total: int) -> Answer:
    def answer(request: httpx.Request) -> dict[str, Any]:
        offset, limit = int(request.url.params.get("offset", 0)), int(request.url.params["limit"])
        rows = range(offset, min(offset + limit, total))
        items = [{"id": i + 1, "topic": "t", "partition": 0, "offset": i, "error_code": "e", "reason": "r",
                  "received_at": "2026-11-23T10:00:00Z", "replays": 0, "replayed_by": None} for i in rows]  # fmt: skip
        return {"total": total, "items": items}

    return answer


def test_dead_letters_lead_to_every_page(services: Services, client: TestClient) -> None:
    services.answers["customers", "/dead-letters"] = _dead_letters(450)
    html = client.get("/dead-letters?service=customers").text
    assert "Näytetään 1–200 / 450" in html
    assert 'href="/dead-letters?service=customers&amp;page=2"' in html
    html = client.get("/dead-letters?service=customers&page=3").text
    assert "Näytetään 401–450 / 450" in html
    assert html.count("data-dead-letter=") == 50
    assert "page=4" not in html and 'href="/dead-letters?service=customers&amp;page=2"' in html
    assert [p["offset"] for p in services.params("customers", "/dead-letters")] == [["0"], ["400"]]
    assert client.get("/dead-letters?service=customers&page=0").status_code == 422


def test_a_short_list_has_no_pager(services: Services, client: TestClient) -> None:
    services.answers["customers", "/dead-letters"] = _dead_letters(3)
    html = client.get("/dead-letters?service=customers").text
    assert "data-pager" not in html and html.count("data-dead-letter=") == 3


def test_the_sending_lists_page(services: Services, client: TestClient) -> None:
    services.answers["dispatch", "/sending"] = lambda _: []

    def documents(request: httpx.Request) -> dict[str, Any]:
        offset = int(request.url.params.get("offset", 0))
        total = 1_200 if request.url.params["state"] == "waiting" else 3
        n = max(0, min(500, total - offset))
        items = [{"id": DOC, "kind": "invoice", "reminder_level": None, "number": str(offset + i),
                  "customer_number": "C", "document_date": "2026-11-23", "due_date": "2026-12-07", "amount": "1.00",
                  "language": "fi", "attempts": 1, "error_code": None, "error_reason": None}
                 for i in range(n)]  # fmt: skip
        return {"total": total, "items": items}

    services.answers["dispatch", "/sending/email/documents"] = documents
    html = client.get("/sending/email?page=3").text
    assert "Näytetään 1001–1200 / 1200" in html
    assert 'href="/sending/email?page=2"' in html
    assert 'name="more" value="1"' in html  # Valitse kaikki still takes every page
    offsets = {p["state"][0]: p["offset"] for p in services.params("dispatch", "/sending/email/documents")}
    assert offsets == {"waiting": ["1000"], "failed": ["0"]}


def test_the_drafts_page(services: Services, client: TestClient) -> None:
    services.answers["invoicing", "/invoices"] = lambda r: {"total": 501, "items": [
        {"id": 1, "document_type": "invoice", "customer_number": "C", "customer_name": "N",
         "invoice_date": "2026-11-23", "gross": "1.00"}]}  # fmt: skip
    html = client.get("/billing/drafts?kind=notice").text
    assert "Näytetään 1–1 / 501" in html and 'href="/billing/drafts?kind=notice&amp;page=2"' in html
    client.get("/billing/drafts?kind=notice&page=2")
    assert [p["offset"] for p in services.params("invoicing", "/invoices")] == [["0"], ["500"]]


def test_reminder_candidates_page_on_by_the_last_invoice(services: Services, client: TestClient) -> None:
    def listing(request: httpx.Request) -> dict[str, Any]:
        after = request.url.params.get("after", "")
        first = 1 if not after else 1001
        items = [{"invoice_id": f"{i:05d}", "invoice_number": i, "candidate": True, "customer_number": "C",
                  "due_date": "2026-10-01", "days_overdue": 30, "open_amount": "1.00", "fee": "5.00",
                  "compensation": "0", "interest": "0.01", "total_due": "6.01", "new_due_date": "2026-12-07"}
                 for i in range(first, min(first + 1000, 1501))]  # fmt: skip
        return {"items": items, "next_after": None if after else "01000",
                "totals": {"candidates": 1500, "total_due": "9015.00", "excluded": 0, "open_amount": "0",
                           "fees": "0", "compensation": "0", "interest": "0"}}  # fmt: skip

    services.answers["reminders", "/reminders/candidates"] = listing
    html = client.get("/invoices/reminders/candidates?level=1", headers={"HX-Request": "true"}).text
    assert "Näytetään 1–1000 / 1500" in html
    assert 'hx-get="/invoices/reminders/candidates?level=1&amp;after=01000&amp;start=1000"' in html
    html = client.get(
        "/invoices/reminders/candidates?level=1&after=01000&start=1000", headers={"HX-Request": "true"}
    ).text
    assert "Näytetään 1001–1500 / 1500" in html
    assert 'hx-get="/invoices/reminders/candidates?level=1"' in html  # back to the start
    assert 'name="more" value="1"' in html
    assert [p.get("after") for p in services.params("reminders", "/reminders/candidates")] == [[""], ["01000"]]
