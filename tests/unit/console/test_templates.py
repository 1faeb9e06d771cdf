"""Every template compiles (a syntax error would otherwise show only when a clerk opens
that page), and the billing list says when it shows only part of the requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console import i18n
from console.routes import billing
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
    paging = {"page": 1, "pages": 2, "first": 1, "last": 1, "total": 501, "links": {"next": ("/n", "/np")}}
    listing = {
        "notice": None,
        "ready": 501,
        "errors": 0,
        "total": 501,
        "items": [row],
        "card_back": "%2Fbilling",
        "filter": {"state": None, "reason": None},
        "paging": paging,
    }
    urls = {"list_url": billing.list_url, "partial_url": billing.partial_url}
    html = TEMPLATES.env.get_template("billing/_requests.html").render(
        _context(kind="subscription", listing=listing, **urls)
    )
    assert "Näytetään 1 / 501: virheelliset ja perutut ensin" in html
    assert "Rivit 1–1 / 501 (sivu 1 / 2)" in html and 'hx-get="/np"' in html
    assert 'value="R-1"' in html
    assert "30,00\u00a0€" in html
    listing["total"] = 1
    paging.update(total=1, pages=1, links={})
    html = TEMPLATES.env.get_template("billing/_requests.html").render(
        _context(kind="subscription", listing=listing, **urls)
    )
    assert "Näytetään" not in html


def test_the_billing_notice_leads_to_its_rows_and_problem_rows_say_what_to_do() -> None:
    base = {"customer_number": "C-1", "order_id": "O-1", "invoice_date": "2026-11-23", "net": "30.00"}
    refused = {
        **base,
        "request_id": "R-1",
        "state": "refused",
        "label_fi": "virhe: hylätty vastaanotossa",
        "reasons": [{"code": "vat-rate-invalid", "message_fi": "ALV-kanta ei ole voimassa"}],
        "action_fi": "Korjauksen jälkeen lähetä hylätty viesti uudelleen",
        "dead_letter_id": 42,
        "replays": 0,
    }
    invoiced = {
        **base,
        "request_id": "R-2",
        "state": "cancelled-after-invoicing",
        "label_fi": "peruttu laskutuksen jälkeen",
        "reasons": [{"code": "invoiced-order-cancelled", "message_fi": "tee laskusta 1000000003 hyvityslasku"}],
        "invoice_id": 7,
        "invoice_number": 1000000003,
    }
    notice = {
        "message_fi": "Virhe: ...",
        "refused": 1,
        "refused_unknown_kind": 2,
        "errors": 0,
        "cancelled_orders": 0,
        "cancelled_requests": 0,
        "invoiced_cancelled": 1,
        "reasons": [
            {"state": "refused", "code": "vat-rate-invalid", "message_fi": "1 × ALV"},
            {"state": "cancelled-after-invoicing", "code": "invoiced-order-cancelled", "message_fi": "1 × peruttu"},
        ],
    }
    paging = {"page": 1, "pages": 1, "first": 1, "last": 2, "total": 2, "links": {}}
    listing = {
        "notice": notice,
        "ready": 0,
        "errors": 0,
        "refused": 1,
        "total": 2,
        "items": [refused, invoiced],
        "card_back": "%2Fbilling",
        "filter": {"state": None, "reason": None},
        "paging": paging,
    }
    html = TEMPLATES.env.get_template("billing/_requests.html").render(
        _context(kind="notice", listing=listing, list_url=billing.list_url, partial_url=billing.partial_url)
    )
    assert 'hx-get="/billing/requests?kind=notice&amp;reason=vat-rate-invalid"' in html
    assert 'href="/billing?kind=notice&amp;reason=invoiced-order-cancelled&amp;fetch=1"' in html
    assert 'hx-get="/billing/requests?kind=notice&amp;state=refused"' in html  # the count of refused
    assert 'href="/dead-letters?service=invoicing"' in html  # the records of no readable kind
    assert 'form="replay-form" name="dead_letter_id" value="42"' in html
    assert 'href="/dead-letters/invoicing/42"' in html and "lähetä hylätty viesti uudelleen" in html
    assert '<a href="/invoices/7">Lasku 1000000003</a>' in html
    assert 'href="/billing/corrective?number=1000000003"' in html
    assert 'name="request_ids"' not in html  # neither row can be selected for a run
