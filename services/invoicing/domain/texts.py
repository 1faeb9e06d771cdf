"""What a clerk reads, in Finnish and English: reasons a request is not ready, why a
run left requests out, the error notice above the request list (seed step 9)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.limits import MAX_DOCUMENT_LINES, MAX_INVOICE_AMOUNT
from shared.money import format_amount


@dataclass(frozen=True)
class Text:
    code: str
    fi: str
    en: str


NO_PROFILE = Text(
    "no-billing-profile",
    "Asiakkaan laskutustietoja ei ole vielä saatu asiakasrekisteristä.",
    "The customer's billing data has not arrived from the customer register yet.",
)
PROFILE_INVALID = Text(
    "billing-data-invalid",
    "Asiakkaan laskutustiedoissa on virheitä.",
    "The customer's billing data has errors.",
)
ORDER_CANCELLED = Text("order-cancelled", "Tilaus on peruttu.", "The order has been cancelled.")
INVOICED_AFTER_CANCEL = Text(
    "invoiced-order-cancelled",
    "Tilaus peruttiin laskutuksen jälkeen: tee hyvityslasku.",
    "The order was cancelled after it was invoiced: make a corrective invoice.",
)
IN_DRAFT = Text("in-draft", "Pyyntö on jo laskuluonnoksella.", "The request is already on a draft invoice.")
ALREADY_INVOICED = Text("already-invoiced", "Pyyntö on jo laskutettu.", "The request has already been invoiced.")
NON_CHARGEABLE = Text("non-chargeable", "Pyyntö on merkitty veloituksettomaksi.", "The request is non-chargeable.")
UNKNOWN_REQUEST = Text("unknown-request", "Laskutuspyyntöä ei löydy.", "No such billing request.")
WRONG_KIND = Text("other-kind", "Pyyntö on toista laskutuslajia.", "The request is of the other kind.")
_LIMIT_FI = format_amount(MAX_INVOICE_AMOUNT, "fi") + "\u00a0€"
_LIMIT_EN = "€" + format_amount(MAX_INVOICE_AMOUNT, "en")
INVOICE_OVER_LIMIT = Text(
    "invoice-over-limit",
    f"Asiakkaan laskun summa ylittäisi {_LIMIT_FI}: laskua ei tehty. Laskuta pyynnöt osissa valitsemalla ne.",
    f"The customer's invoice would exceed {_LIMIT_EN}: no invoice was made. Bill the requests in parts by "
    "selecting them.",
)
INVOICE_TOO_MANY_LINES = Text(
    "invoice-too-many-lines",
    f"Asiakkaan laskulle tulisi yli {MAX_DOCUMENT_LINES} riviä: laskua ei tehty. "
    "Laskuta pyynnöt osissa valitsemalla ne.",
    f"The customer's invoice would have over {MAX_DOCUMENT_LINES} lines: no invoice was made. Bill the requests in "
    "parts by selecting them.",
)
INVOICE_INVALID = Text(
    "invoice-invalid",
    "Asiakkaan laskua ei voitu muodostaa (tiedot eivät kelpaa laskulle): laskua ei tehty.",
    "The customer's invoice could not be made (its data do not fit an invoice): no invoice was made.",
)
KEY_NOT_CUSTOMER = Text(
    "key-not-customer-number",
    "Tietueen Kafka-avain ei ole sisällön asiakasnumero: lähetä se uudelleen avaimena asiakasnumero "
    "(saman asiakkaan tapahtumien järjestys riippuu avaimesta).",
    "The record's Kafka key is not the customer number of its body: send it again keyed by the customer "
    "number (the order of one customer's events depends on the key).",
)
BREACHES = {"amount": INVOICE_OVER_LIMIT, "lines": INVOICE_TOO_MANY_LINES}
"""Why a run left a customer out, by :func:`services.invoicing.domain.billing.limit_breach`."""
REQUEST_OVER_LIMIT = Text(
    "amount-over-limit",
    f"Laskutuspyynnön summa ylittää yhden laskun enimmäismäärän {_LIMIT_FI}.",
    f"The billing request's amount exceeds the most one invoice may carry, {_LIMIT_EN}.",
)
DRAFT_OVER_LIMIT = Text(
    "amount-over-limit",
    f"Muutoksen jälkeen laskun summa ylittäisi yhden laskun enimmäismäärän {_LIMIT_FI}.",
    f"After the change the invoice's amount would exceed the most one invoice may carry, {_LIMIT_EN}.",
)

LEFT_OUT_BY_STATE = {
    "error": PROFILE_INVALID,
    "no-profile": NO_PROFILE,
    "cancelled": ORDER_CANCELLED,
    "draft": IN_DRAFT,
    "invoiced": ALREADY_INVOICED,
    "non-chargeable": NON_CHARGEABLE,
    "other-kind": WRONG_KIND,
    "unknown": UNKNOWN_REQUEST,
}
"""Why a run left requests out, by the state they were in."""

LEFT_OUT = {
    t.code: t
    for t in (
        NO_PROFILE,
        PROFILE_INVALID,
        ORDER_CANCELLED,
        IN_DRAFT,
        ALREADY_INVOICED,
        NON_CHARGEABLE,
        UNKNOWN_REQUEST,
        WRONG_KIND,
        INVOICE_OVER_LIMIT,
        INVOICE_TOO_MANY_LINES,
        INVOICE_INVALID,
    )
}


def notice(errors: int, cancelled_orders: int, cancelled_requests: int, invoiced_cancelled: int) -> Text | None:
    """The red notice above the list, or None when there is nothing to fix."""
    if not (errors or cancelled_orders or invoiced_cancelled):
        return None
    fi, en = [], []
    if errors:
        fi.append(f"{errors} laskutuspyynnössä on virheellisiä laskutustietoja")
        en.append(f"{errors} billing requests have erroneous billing data")
    if cancelled_orders:
        fi.append(f"{cancelled_orders} tilausta on peruttu ({cancelled_requests} pyyntöä ei laskuteta)")
        en.append(f"{cancelled_orders} orders are cancelled ({cancelled_requests} requests will not be invoiced)")
    if invoiced_cancelled:
        fi.append(f"{invoiced_cancelled} jo laskutettua pyyntöä kuuluu peruttuun tilaukseen: tee hyvityslasku")
        en.append(f"{invoiced_cancelled} invoiced requests belong to cancelled orders: make corrective invoices")
    return Text("billing-requests-need-attention", "Virhe: " + "; ".join(fi) + ".", "Error: " + "; ".join(en) + ".")
