"""Sample documents for the renderer's tests and for looking at the layout:

    uv run python -m tests.support.render_samples /tmp/render
    pdftoppm -r 100 -png /tmp/render/invoice-fi.pdf /tmp/render/invoice-fi   # poppler-utils

Writes an invoice per language, a credit note, a reminder with interest periods for a
customer abroad, and an 80-line invoice that runs over several pages.
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from shared.events.customers import CustomerData, PostalAddress
from shared.events.invoicing import InvoiceDocument
from shared.events.reminders import InterestPeriod, ReminderDocument
from tests.support import documents as d

LONG_TEXT = "Ilmoitus: Helsingin Sanomat, sunnuntain erikoisliite, koko sivu, värillinen, kaksi julkaisukertaa"
ABROAD = d.PERSON.model_copy(
    update={
        "name": "Łukasz Wądołowski",
        "language": "en",
        "address": PostalAddress(street_lines=["Storgatan 1"], postal_code="111 22", city="Stockholm", country="SE"),
    }
)


def person(language: str) -> CustomerData:
    return d.PERSON.model_copy(update={"language": language})


def long_spec(count: int) -> tuple[tuple[str, str, str, str, str], ...]:
    """``count`` lines: line i is i % 3 + 1 pieces at i.25 €, 25.5 % VAT on odd lines and
    10 % on even ones; every seventh has a description that wraps."""
    return tuple(
        (
            f"P{i}",
            f"{LONG_TEXT} ({i})" if i % 7 == 0 else f"Tuote {i}",
            str(i % 3 + 1),
            f"{i}.25",
            "25.5" if i % 2 else "10",
        )
        for i in range(1, count + 1)
    )


def reminder_with_interest() -> ReminderDocument:
    """Reminder #2 of invoice 1000000003 (63.37 €) for a customer in Sweden: fee 5.00,
    interest 0.90 + 0.17 = 1.07, total 63.37 + 5.00 + 1.07 = 69.44."""
    original = d.invoice(1000000003, who=d.customer("C-3", ABROAD))
    reminder = d.reminder(original, level=2, interest="1.07")
    periods = [
        InterestPeriod(
            start=date(2026, 11, 17), end=date(2026, 12, 31), days=45, rate=Decimal("11.50"), amount=Decimal("0.90")
        ),
        InterestPeriod(
            start=date(2027, 1, 1), end=date(2027, 1, 8), days=8, rate=Decimal("12"), amount=Decimal("0.17")
        ),
    ]
    return reminder.model_copy(update={"interest_periods": periods})


def samples() -> dict[str, InvoiceDocument | ReminderDocument]:
    out: dict[str, InvoiceDocument | ReminderDocument] = {
        f"invoice-{lang}": d.invoice(who=d.customer(data=person(lang))) for lang in ("fi", "sv", "en")
    }
    out["credit-note-fi"] = d.credit_note(d.invoice(1000000002, who=d.customer("C-2", d.COMPANY)))
    out["reminder-en-abroad"] = reminder_with_interest()
    out["invoice-80-lines"] = d.invoice(1000000004, spec=long_spec(80))
    return out


def main() -> None:
    from services.dispatch.render import render_pdf

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "render-samples")
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in samples().items():
        (folder / f"{name}.pdf").write_bytes(render_pdf(doc))
        print(folder / f"{name}.pdf")


if __name__ == "__main__":
    main()
