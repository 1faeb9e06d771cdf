"""Words and number formats of the billing run summary (*laskutusajon kooste*), fi and en.

Kept apart from the layout so a clerk's wording can be corrected without touching the
drawing code. Finnish follows Finnish office habits: ``1 234,56`` (no-break space as
thousands separator, :func:`shared.money.format_fi`), dates ``23.11.2026``, times
``14.05``, ``25,5 %``. English uses ``1,234.56``, ISO dates ``2026-11-23`` (unambiguous
for a reader from anywhere) and ``25.5%``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from shared.money import format_amount

Language = Literal["fi", "en"]
RunMode = Literal["preview", "draft", "confirm"]

LOCAL_TZ = ZoneInfo("Europe/Helsinki")
"""Times on the printout are the clerk's local time."""


@dataclass(frozen=True)
class Words:
    title: str
    kinds: dict[str, str]
    mode_names: dict[str, str]
    banner_titles: dict[str, str]
    banner_texts: dict[str, str]
    watermark: dict[str, str]
    run_id: str
    kind: str
    mode: str
    invoice_date: str
    invoice_date_none: str
    finished: str
    actor: str
    generated: str
    invoices: str
    requests: str
    left_out_count: str
    gross_total: str
    by_rate: str
    rate: str
    net: str
    vat: str
    gross: str
    total: str
    by_channel: str
    channel: str
    channels: dict[str, str]
    channels_short: dict[str, str]
    """In the invoice list's narrow column."""
    left_out: str
    reason: str
    code: str
    count: str
    nothing_left_out: dict[str, str]
    """By run mode: a preview invoices nothing, a draft run makes drafts."""
    invoice_list: str
    no_invoices: str
    numbers_later: str
    row_no: str
    invoice_number: str
    customer_number: str
    customer: str
    due_date: str
    lines: str
    page: str
    list_continues: str


FI = Words(
    title="Laskutusajon kooste",
    kinds={"subscription": "Tilauslaskut", "notice": "Ilmoituslaskut"},
    mode_names={"preview": "Esikatselu", "draft": "Luonnos (proforma)", "confirm": "Vahvistettu"},
    banner_titles={
        "preview": "ESIKATSELU \u2013 laskuja ei ole luotu",
        "draft": "LUONNOS (PROFORMA) \u2013 laskut odottavat vahvistusta",
        "confirm": "VAHVISTETTU \u2013 laskut on luotu",
    },
    banner_texts={
        "preview": "Mit\u00e4\u00e4n ei tallennettu eik\u00e4 laskunumeroita varattu. Laskut syntyv\u00e4t vasta, "
        "kun laskutusajo suoritetaan ilman esikatselua.",
        "draft": "Laskut on tallennettu luonnoksina, ja niit\u00e4 voi viel\u00e4 muokata. "
        "Laskunumerot annetaan vasta vahvistettaessa.",
        "confirm": "Laskut on numeroitu, ja ne l\u00e4hetet\u00e4\u00e4n asiakkaiden valitsemissa kanavissa.",
    },
    watermark={"preview": "ESIKATSELU", "draft": "LUONNOS", "confirm": ""},
    run_id="Ajon tunnus",
    kind="Laskulaji",
    mode="Tila",
    invoice_date="Laskup\u00e4iv\u00e4",
    invoice_date_none="useita",
    finished="Ajo valmistui",
    actor="K\u00e4ynnist\u00e4j\u00e4",
    generated="Tulostettu",
    invoices="Laskuja",
    requests="Laskutuspyynt\u00f6j\u00e4",
    left_out_count="J\u00e4tetty pois",
    gross_total="Laskutetaan yhteens\u00e4",
    by_rate="Summat ALV-kannoittain",
    rate="ALV-kanta",
    net="Veroton",
    vat="ALV",
    gross="Verollinen",
    total="Yhteens\u00e4",
    by_channel="Laskut l\u00e4hetyskanavittain",
    channel="Kanava",
    channels={"email": "S\u00e4hk\u00f6posti", "einvoice": "Verkkolasku", "print": "Paperilasku (tulostus)"},
    channels_short={"email": "S\u00e4hk\u00f6posti", "einvoice": "Verkkolasku", "print": "Paperi"},
    left_out="Laskuttamatta j\u00e4\u00e4neet laskutuspyynn\u00f6t",
    reason="Syy",
    code="Koodi",
    count="Kpl",
    nothing_left_out={
        "preview": "Kaikki valitut laskutuspyynn\u00f6t tulisivat laskutetuiksi (esikatselu: mit\u00e4\u00e4n ei "
        "laskutettu).",
        "draft": "Kaikki valitut laskutuspyynn\u00f6t ovat nyt laskuluonnoksilla.",
        "confirm": "Kaikki valitut laskutuspyynn\u00f6t laskutettiin.",
    },
    invoice_list="Laskut",
    no_invoices="Ajossa ei syntynyt yht\u00e4\u00e4n laskua: laskutettavaa ei ollut.",
    numbers_later="Laskunumero on tyhj\u00e4 (\u2013), koska numerot annetaan vasta vahvistettaessa.",
    row_no="Nro",
    invoice_number="Laskunro",
    customer_number="Asiakasnro",
    customer="Asiakas",
    due_date="Er\u00e4p\u00e4iv\u00e4",
    lines="Rivej\u00e4",
    page="Sivu {page}/{pages}",
    list_continues="Laskut jatkuvat",
)

EN = Words(
    title="Billing run summary",
    kinds={"subscription": "Subscription invoices", "notice": "Notice (ad) invoices"},
    mode_names={"preview": "Preview", "draft": "Draft (proforma)", "confirm": "Confirmed"},
    banner_titles={
        "preview": "PREVIEW \u2013 no invoices have been created",
        "draft": "DRAFT (PROFORMA) \u2013 invoices await confirmation",
        "confirm": "CONFIRMED \u2013 invoices have been issued",
    },
    banner_texts={
        "preview": "Nothing was saved and no invoice numbers were used. The invoices are created only "
        "when the billing run is made without preview.",
        "draft": "The invoices are saved as drafts and can still be edited. "
        "Invoice numbers are given only at confirmation.",
        "confirm": "The invoices are numbered and will be sent on the channels the customers chose.",
    },
    watermark={"preview": "PREVIEW", "draft": "DRAFT", "confirm": ""},
    run_id="Run id",
    kind="Invoice kind",
    mode="Mode",
    invoice_date="Invoice date",
    invoice_date_none="several",
    finished="Run finished",
    actor="Started by",
    generated="Printed",
    invoices="Invoices",
    requests="Billing requests",
    left_out_count="Left out",
    gross_total="Total to invoice",
    by_rate="Totals per VAT rate",
    rate="VAT rate",
    net="Net",
    vat="VAT",
    gross="Gross",
    total="Total",
    by_channel="Invoices per delivery channel",
    channel="Channel",
    channels={"email": "E-mail", "einvoice": "E-invoice", "print": "Paper (print)"},
    channels_short={"email": "E-mail", "einvoice": "E-invoice", "print": "Paper"},
    left_out="Billing requests left out",
    reason="Reason",
    code="Code",
    count="Count",
    nothing_left_out={
        "preview": "Every selected billing request would be invoiced (a preview: no invoice was made).",
        "draft": "Every selected billing request is now on a draft invoice.",
        "confirm": "Every selected billing request was invoiced.",
    },
    invoice_list="Invoices",
    no_invoices="The run produced no invoices: there was nothing to invoice.",
    numbers_later="The invoice number is empty (\u2013): numbers are given only at confirmation.",
    row_no="No.",
    invoice_number="Invoice no.",
    customer_number="Customer no.",
    customer="Customer",
    due_date="Due date",
    lines="Lines",
    page="Page {page} of {pages}",
    list_continues="Invoices continued",
)

WORDS: dict[str, Words] = {"fi": FI, "en": EN}


def money(amount: Decimal, language: Language) -> str:
    """``1 234,56`` / ``1,234.56`` (no currency sign: the column head says €)."""
    return format_amount(amount, language)


def euros(amount: Decimal, language: Language) -> str:
    """``1 234,56 €`` / ``€1,234.56``."""
    if language == "fi":
        return format_amount(amount, language) + "\u00a0\u20ac"
    text = format_amount(amount, language)
    return f"-\u20ac{text[1:]}" if text.startswith("-") else f"\u20ac{text}"


def percent(rate: Decimal, language: Language) -> str:
    """``25,5 %`` / ``25.5%``; ``24`` not ``24.00``."""
    text = format(rate.normalize(), "f") if rate.is_finite() else str(rate)
    return text.replace(".", ",") + "\u00a0%" if language == "fi" else text + "%"


def count(n: int, language: Language) -> str:
    """``12 345`` / ``12,345``."""
    text = f"{n:,}"
    return text.replace(",", "\u00a0") if language == "fi" else text


def day(d: date, language: Language) -> str:
    """``23.11.2026`` / ``2026-11-23``."""
    return f"{d.day:02d}.{d.month:02d}.{d.year}" if language == "fi" else d.isoformat()


def moment(t: datetime, language: Language) -> str:
    """A point in time in Helsinki local time: ``23.11.2026 klo 16.40`` / ``2026-11-23 16:40``.

    A naive datetime is taken as UTC (events carry aware times; this is only a guard)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=ZoneInfo("UTC"))
    local = t.astimezone(LOCAL_TZ)
    if language == "fi":
        return f"{day(local.date(), 'fi')} klo {local.hour:02d}.{local.minute:02d}"
    return f"{local.date().isoformat()} {local.hour:02d}:{local.minute:02d} ({local.tzname()})"
