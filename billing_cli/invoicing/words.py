"""The CLI's own words for ``billing invoicing`` output, Finnish and English (the
service's texts, such as reasons and refusals, come with its answers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    kinds: dict[str, str]
    modes: dict[str, str]
    channels: dict[str, str]
    statuses: dict[str, str]
    document_types: dict[str, str]
    payment_statuses: dict[str, str]
    payment_states: dict[str, str]
    requests_head: str
    ready: str
    errors: str
    card: str
    no_requests: str
    summary: str
    run: str
    started_by: str
    finished: str
    running: str
    invoices: str
    requests: str
    net: str
    vat: str
    gross: str
    total: str
    by_channel: str
    left_out: str
    nothing_left_out: dict[str, str]
    """By run mode: a preview invoices nothing, a draft run makes drafts."""
    outcomes: dict[str, str]
    """What a preview or draft run did (a confirmed run's summary says it itself)."""
    nothing_to_invoice: str
    invoice: str
    customer: str
    invoice_date: str
    due_date: str
    days: str
    reference: str
    reference_rf: str
    original: str
    lines: str
    non_chargeable: str
    reversal: str
    paid: str
    credited: str
    open: str
    payments: str
    no_payments: str
    correctives: str
    corrective_draft: str
    new_quantity: str
    original_quantity: str
    columns: dict[str, str]


FI = Words(
    kinds={"subscription": "Tilauslaskut", "notice": "Ilmoituslaskut"},
    modes={
        "preview": "ESIKATSELU (mitään ei tallennettu, laskunumeroita ei varattu)",
        "draft": "LUONNOS (proforma: muokattavissa, numerot vahvistettaessa)",
        "confirm": "VAHVISTETTU (laskut numeroitu)",
    },
    channels={"email": "sähköposti", "einvoice": "verkkolasku", "print": "paperi"},
    statuses={"draft": "luonnos", "confirmed": "vahvistettu"},
    document_types={"invoice": "lasku", "corrective": "korjauslasku", "credit-note": "hyvityslasku"},
    payment_statuses={
        "open": "avoin",
        "partially-paid": "osittain maksettu",
        "paid": "maksettu",
        "overpaid": "ylimaksettu",
        "credited": "hyvitetty",
    },
    payment_states={
        "matched": "kohdistettu",
        "unmatched": "kohdistamaton",
        "allocated": "kohdistettu käsin",
        "reversed": "peruttu",
        "reversal": "peruutus",
    },
    requests_head="{kind}: {total} laskutuspyyntöä",
    ready="valmiina",
    errors="virheellisiä",
    card="asiakaskortti",
    no_requests="Ei laskutuspyyntöjä.",
    summary="Laskutusajon kooste",
    run="Ajo",
    started_by="käynnistäjä",
    finished="valmistui",
    running="kesken",
    invoices="Laskuja",
    requests="laskutuspyyntöjä",
    net="Veroton",
    vat="ALV",
    gross="Verollinen",
    total="Yhteensä",
    by_channel="Lähetyskanavat",
    left_out="Laskuttamatta jääneet",
    nothing_left_out={
        "preview": "Kaikki valitut laskutuspyynnöt tulisivat laskutetuiksi.",
        "draft": "Kaikki valitut laskutuspyynnöt ovat nyt laskuluonnoksilla.",
        "confirm": "Kaikki valitut laskutuspyynnöt laskutettiin.",
    },
    outcomes={
        "preview": "Esikatselu: mitään ei laskutettu eikä tallennettu, eikä laskunumeroita varattu."
        " Laskut syntyvät, kun ajat laskutusajon tilassa --mode confirm.",
        "draft": "Laskut tallennettiin luonnoksina: ne laskutetaan vasta vahvistettaessa (invoicing confirm).",
    },
    nothing_to_invoice="Laskutettavaa ei ollut.",
    invoice="Lasku",
    customer="Asiakas",
    invoice_date="Laskupäivä",
    due_date="eräpäivä",
    days="pv",
    reference="Viite",
    reference_rf="RF-viite",
    original="Korjaa laskua",
    lines="Rivit",
    non_chargeable="veloitukseton",
    reversal="peruutus",
    paid="Maksettu",
    credited="hyvitetty",
    open="avoinna",
    payments="Maksut",
    no_payments="Ei maksuja.",
    correctives="Hyvitys-/korjauslaskut (id)",
    corrective_draft=(
        "Korjattavat rivit: laskun alkuperäinen määrä ja uusi määrä"
        " (0 = peru rivi; summat alla ovat erotus laskuun nähden):"
    ),
    new_quantity="Uusi määrä",
    original_quantity="Alkup. määrä",
    columns={
        "request": "Pyyntö",
        "customer": "Asiakas",
        "state": "Tila",
        "invoice_date": "Laskupv",
        "net": "Veroton",
        "id": "Id",
        "number": "Laskunro",
        "type": "Tyyppi",
        "due": "Eräpv",
        "gross": "Verollinen",
        "open": "Avoinna",
        "payment": "Maksutila",
        "no": "Nro",
        "product": "Tuote",
        "description": "Kuvaus",
        "quantity": "Määrä",
        "unit_price": "À-hinta",
        "rate": "ALV",
        "payment_id": "Maksu",
        "date": "Päivä",
        "amount": "Summa",
        "payer": "Maksaja",
        "reason": "Syy",
        "run": "Ajo",
        "mode": "Tila",
        "started": "Aloitettu",
        "actor": "Käynnistäjä",
        "kind": "Laskulaji",
        "invoice_id": "Lasku (id)",
    },
)

EN = Words(
    kinds={"subscription": "Subscription invoices", "notice": "Notice (ad) invoices"},
    modes={
        "preview": "PREVIEW (nothing saved, no invoice numbers used)",
        "draft": "DRAFT (proforma: editable, numbered when confirmed)",
        "confirm": "CONFIRMED (invoices numbered)",
    },
    channels={"email": "e-mail", "einvoice": "e-invoice", "print": "paper"},
    statuses={"draft": "draft", "confirmed": "confirmed"},
    document_types={"invoice": "invoice", "corrective": "corrective", "credit-note": "credit note"},
    payment_statuses={
        "open": "open",
        "partially-paid": "partially paid",
        "paid": "paid",
        "overpaid": "overpaid",
        "credited": "credited",
    },
    payment_states={
        "matched": "matched",
        "unmatched": "unmatched",
        "allocated": "allocated by hand",
        "reversed": "reversed",
        "reversal": "reversal",
    },
    requests_head="{kind}: {total} billing requests",
    ready="ready",
    errors="with errors",
    card="customer card",
    no_requests="No billing requests.",
    summary="Billing run summary",
    run="Run",
    started_by="started by",
    finished="finished",
    running="running",
    invoices="Invoices",
    requests="billing requests",
    net="Net",
    vat="VAT",
    gross="Gross",
    total="Total",
    by_channel="Delivery channels",
    left_out="Left out",
    nothing_left_out={
        "preview": "Every selected billing request would be invoiced.",
        "draft": "Every selected billing request is now on a draft invoice.",
        "confirm": "Every selected billing request was invoiced.",
    },
    outcomes={
        "preview": "Preview: nothing was invoiced or saved, and no invoice numbers were used."
        " The invoices are made when you run the billing run with --mode confirm.",
        "draft": "The invoices were saved as drafts: they are invoiced only when confirmed (invoicing confirm).",
    },
    nothing_to_invoice="There was nothing to invoice.",
    invoice="Invoice",
    customer="Customer",
    invoice_date="Invoice date",
    due_date="due",
    days="days",
    reference="Reference",
    reference_rf="RF reference",
    original="Corrects invoice",
    lines="Lines",
    non_chargeable="non-chargeable",
    reversal="reversal",
    paid="Paid",
    credited="credited",
    open="open",
    payments="Payments",
    no_payments="No payments.",
    correctives="Corrective invoices (id)",
    corrective_draft=(
        "Lines to correct: the invoice's original quantity and the new one"
        " (0 = reverse the line; the totals below are the difference from the invoice):"
    ),
    new_quantity="New qty",
    original_quantity="Orig. qty",
    columns={
        "request": "Request",
        "customer": "Customer",
        "state": "State",
        "invoice_date": "Inv. date",
        "net": "Net",
        "id": "Id",
        "number": "Number",
        "type": "Type",
        "due": "Due",
        "gross": "Gross",
        "open": "Open",
        "payment": "Payment",
        "no": "No",
        "product": "Product",
        "description": "Description",
        "quantity": "Qty",
        "unit_price": "Unit price",
        "rate": "VAT",
        "payment_id": "Payment",
        "date": "Date",
        "amount": "Amount",
        "payer": "Payer",
        "reason": "Reason",
        "run": "Run",
        "mode": "Mode",
        "started": "Started",
        "actor": "Started by",
        "kind": "Kind",
        "invoice_id": "Invoice (id)",
    },
)

WORDS = {"fi": FI, "en": EN}
