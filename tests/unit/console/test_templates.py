"""Every template compiles (a syntax error would otherwise show only when a clerk opens
that page), and the billing list says when it shows only part of the requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console import i18n
from console.web import TEMPLATES

ROOT = Path(TEMPLATES.env.loader.searchpath[0])  # type: ignore[union-attr]


def test_every_template_compiles() -> None:
    names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.html")]
    assert "billing/_requests.html" in names
    for name in names:
        TEMPLATES.env.get_template(name)


def _context(**ctx: Any) -> dict[str, Any]:
    return {
        "lang": "fi",
        "t": lambda key, **values: i18n.translate("fi", key, **values),
        "money": lambda amount: i18n.format_amount(amount, "fi"),
        "day": lambda value: i18n.format_date(value, "fi"),
        "csrf_field": "csrf_token",
        "csrf_token": "tok",
        **ctx,
    }


def test_the_billing_list_says_when_it_shows_only_part() -> None:
    row = {
        "request_id": "R-1",
        "customer_number": "C-1",
        "order_id": "O-1",
        "invoice_date": "2026-11-23",
        "net": "30.00",
        "state": "ready",
        "label_fi": "valmis",
        "reasons": [],
    }
    listing = {"notice": None, "ready": 501, "errors": 0, "total": 501, "items": [row], "card_back": "%2Fbilling"}
    html = TEMPLATES.env.get_template("billing/_requests.html").render(_context(kind="subscription", listing=listing))
    assert "Näytetään 1 / 501." in html
    assert 'value="R-1"' in html
    assert "30,00\u00a0€" in html
    listing["total"] = 1
    html = TEMPLATES.env.get_template("billing/_requests.html").render(_context(kind="subscription", listing=listing))
    assert "Näytetään" not in html
