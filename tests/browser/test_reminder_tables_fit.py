"""The Invoices tab's reminder and collection tables fit a 1,400 px screen, also with the
long names and six-figure amounts of a real ledger: the page never scrolls sideways and
no table is wider than its card (nothing to scroll inside a table either).

Chromium renders the tab as the console serves it; the reminders service is a stand-in
answering with such a list (the walk through the real services is
``test_invoices_tab.py``, which checks the same widths on its data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page

from console.app import create_app
from console.auth import hash_password
from console.config import ConsoleSettings
from tests.browser.widths import too_wide

PASSWORD = "salasana ei ole tämä"
WIDTH = 1400
COMPANY = "Kiinteistö Osakeyhtiö Pohjoisen Teollisuusalueen Huolto ja Kunnossapito Oy"
PERSON = "Maija-Liisa Meikäläinen-Virtanen"


def _row(i: int, candidate: bool = True) -> dict[str, Any]:
    consumer = i % 2 == 0
    return {
        "invoice_id": str(5000 + i),
        "invoice_number": str(1000000000 + i),
        "customer_number": f"A-{1000000 + i}",
        "customer_name": PERSON if consumer else COMPANY,
        "consumer": consumer,
        "invoice_date": "2026-02-02",
        "due_date": "2026-02-16",
        "days_overdue": 280,
        "open_amount": "123456.78",
        "candidate": candidate,
        "fee": "0.00" if not consumer else "5.00",
        "compensation": "40.00" if not consumer else "0.00",
        "interest": "12345.67",
        "interest_periods": [],
        "interest_not_charged": [],
        "total_due": "135847.45",
        "new_due_date": "2026-12-07",
        "reminders_made": 2,
        "reason": None if candidate else "too_early",
        "earliest": None,
        "message_fi": None if candidate else "Liian aikaista: aikaisintaan 27.11.2026.",
        "message_en": None if candidate else "Too early: 2026-11-27 at the earliest.",
    }


def _listing() -> dict[str, Any]:
    return {
        "level": 1,
        "date": "2026-11-23",
        "totals": {
            "candidates": 20,
            "excluded": 3,
            "excluded_by_reason": [{"reason": "too_early", "count": 3}],
            "open_amount": "2469135.60",
            "fees": "50.00",
            "compensation": "400.00",
            "interest": "246913.40",
            "total_due": "2716498.90",
        },
        "items": [_row(i) for i in range(20)] + [_row(100 + i, candidate=False) for i in range(3)],
        "next_after": None,
        "message_fi": "",
        "message_en": "",
        "reference_rates_missing": [],
    }


def _reminders(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/reminders/reference-rates":
        return httpx.Response(200, json={"date": "2026-11-23", "covered_until": "2026-06-30", "missing": []})
    return httpx.Response(200, json=_listing())  # candidates #1 and the collection list alike


def _tab(lang: str) -> str:
    """The tab as the clerk has it after fetching #1 and the collection list: the page
    with both lists in it (what htmx swaps in), the stylesheet inline."""
    settings = ConsoleSettings(users=[f"anna:{hash_password(PASSWORD)}"], login_delay_s=0)
    app = create_app(settings, transports={"reminders": httpx.MockTransport(_reminders)})
    with TestClient(app) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token.group(1)})
        client.get(f"/lang/{lang}?next=/invoices")
        page = client.get("/invoices").text
        candidates = client.get("/invoices/reminders/candidates", params={"level": 1}).text
        collection = client.get("/invoices/collection").text
        css = client.get("/static/console.css").text
    page = re.sub(r'<link rel="stylesheet" href="/static/console.css">', lambda _: f"<style>{css}</style>", page)
    page = re.sub(r"<script[^>]*></script>", "", page)
    page = page.replace('<div id="reminder-list"></div>', f'<div id="reminder-list">{candidates}</div>')
    return page.replace('<div id="collection-list"></div>', f'<div id="collection-list">{collection}</div>')


@pytest.fixture
def screen(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_reminder_tables_fit_a_1400_px_screen(screen: Page, lang: str) -> None:
    screen.set_content(_tab(lang))
    screen.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")  # the left-out ones too
    assert screen.locator("[data-candidate-table] tbody tr").count() == 20
    assert screen.locator("[data-collection] tbody tr").count() == 20
    assert screen.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert too_wide(screen) == []
    # nothing was dropped to make them fit: every amount, the name, the days overdue
    first = screen.locator("[data-candidate-table] tbody tr").nth(1).inner_text()
    due, compensation = ("16.2.2026", "40,00") if lang == "fi" else ("16 Feb 2026", "40.00")
    for part in ("1000000001", "A-1000001", "Kunnossapito Oy", due, "280", compensation):
        assert part in first, (part, first)
