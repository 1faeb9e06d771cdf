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


def notice(  # noqa: PLR0917 (one count per line of the notice)
    errors: int,
    cancelled_orders: int,
    cancelled_requests: int,
    invoiced_cancelled: int,
    refused: int = 0,
    refused_unknown_kind: int = 0,
) -> Text | None:
    """The red notice above the list, or None when there is nothing to fix."""
    if not (errors or cancelled_orders or invoiced_cancelled or refused or refused_unknown_kind):
        return None
    fi, en = [], []
    if refused:
        fi.append(f"{refused} laskutuspyyntöä hylättiin vastaanotossa eikä niitä laskuteta ennen korjausta")
        en.append(f"{refused} billing requests were refused at intake and will not be invoiced until fixed")
    if refused_unknown_kind:
        fi.append(f"{refused_unknown_kind} hylätyn viestin laskutuslajia ei voi lukea (katso Virheelliset viestit)")
        en.append(f"{refused_unknown_kind} refused records whose kind cannot be read (see Dead letters)")
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


# --- requests refused at intake (dead letters of the requests topic) ----------------------

DRAFT_AFTER_CANCEL = Text(
    "draft-order-cancelled",
    "Tilaus peruttiin, kun pyyntö oli jo laskuluonnoksella: tarkista luonnos ennen vahvistusta.",
    "The order was cancelled while the request was on a draft invoice: check the draft before confirming it.",
)


def invoiced_after_cancel(number: int | None) -> Text:
    """The row of an invoiced request whose order was cancelled afterwards."""
    if number is None:
        return INVOICED_AFTER_CANCEL
    return Text(
        INVOICED_AFTER_CANCEL.code,
        f"Tilaus peruttiin laskutuksen jälkeen: tee laskusta {number} hyvityslasku.",
        f"The order was cancelled after it was invoiced: make a corrective invoice of invoice {number}.",
    )


_VAT_FIX = (
    "Jos ALV-taulukko on väärin, ylläpito korjaa sen; muuten tilausjärjestelmä korjaa verokannan. "
    "Korjauksen jälkeen lähetä hylätty viesti uudelleen (Virheelliset viestit), niin pyyntö tulee laskutettavaksi.",
    "If the VAT table is wrong, ops fix it; otherwise the order system fixes the rate. "
    "After the fix, replay the refused record (Dead letters) and the request comes in to be invoiced.",
)
_SENDER_FIX = (
    "Lähettäjän (tilausjärjestelmä) on korjattava pyyntö ja lähetettävä se uudelleen; jos vika oli "
    "laskutuksessa, lähetä hylätty viesti uudelleen korjauksen jälkeen (Virheelliset viestit).",
    "The sender (order system) must fix the request and send it again; if the fault was in invoicing, "
    "replay the refused record after the fix (Dead letters).",
)
_RESEND = (
    "Lähettäjän (tilausjärjestelmä) on korjattava pyyntö ja lähetettävä se uudelleen; sellaisenaan "
    "uudelleenlähetetty viesti hylätään taas.",
    "The sender (order system) must fix the request and send it again; replayed as it is, the record is refused again.",
)
_NEW_ID = (
    "Pyyntötunnus on jo käytössä toisella sisällöllä: lähettäjän on lähetettävä pyyntö uudella tunnuksella "
    "(uudelleenlähetys hylätään taas).",
    "The request id is already used for other content: the sender must send the request with a new id "
    "(a replay is refused again).",
)

REFUSED_TITLES: dict[str, tuple[str, str, tuple[str, str]]] = {
    "vat-rate-invalid": (
        "ALV-kanta ei ole voimassa palvelupäivänä",
        "VAT rate not in force on the service date",
        _VAT_FIX,
    ),
    "vat-rate-category-mismatch": (
        "ALV-kanta ei kuulu ilmoitettuun luokkaan",
        "VAT rate not of the category given",
        _VAT_FIX,
    ),
    "vat-category-unknown": ("Tuntematon ALV-luokka", "Unknown VAT category", _VAT_FIX),
    "vat-category-not-in-force": (
        "ALV-luokka ei ole voimassa palvelupäivänä",
        "VAT category not in force on the service date",
        _VAT_FIX,
    ),
    "request-id-reused": (
        "Pyyntötunnus käytetty jo toiseen pyyntöön",
        "Request id already used for another request",
        _NEW_ID,
    ),
    "amount-over-limit": (
        "Pyyntö ei mahdu yhdelle laskulle (määrä- tai summaraja)",
        "The request does not fit on one invoice (quantity or amount limit)",
        _RESEND,
    ),
    "key-not-customer-number": (
        "Viestin avain ei ole sen asiakasnumero",
        "The record's key is not its customer number",
        _RESEND,
    ),
    "invalid-data": ("Pyynnön tiedot eivät kelpaa", "The request's data is not valid", _SENDER_FIX),
    "bad-json": ("Pyyntö ei ole JSON-muotoinen", "The request is not JSON", _SENDER_FIX),
    "empty-body": ("Pyyntö on tyhjä", "The request is empty", _SENDER_FIX),
    "data-error": ("Tietokanta hylkäsi pyynnön tiedot", "The database refused the request's data", _SENDER_FIX),
}
"""A dead letter's code -> (fi, en, how to get the request billed after the fix);
any other code (a header missing, a key that differs from the customer) reads as
:data:`REFUSED_OTHER` with the code."""
REFUSED_OTHER = ("Pyyntö hylättiin vastaanotossa", "The request was refused at intake", _SENDER_FIX)


_BILINGUAL_DETAIL = {KEY_NOT_CUSTOMER.code, REQUEST_OVER_LIMIT.code}


def refused(code: str, detail: str) -> tuple[Text, Text]:
    """A refused request's reason (with the service's detail, which names the field and
    rule, never the values) and what to do to get it invoiced."""
    fi, en, (do_fi, do_en) = REFUSED_TITLES.get(code, REFUSED_OTHER)
    detail_fi = detail_en = detail
    # a VAT refusal says "lines[i]: <en> / <fi>": each language its own half
    head, sep, rest = detail.partition(": ")
    if sep and " / " in rest and head.startswith("lines["):
        text_en, _, text_fi = rest.rpartition(" / ")
        detail_fi, detail_en = f"{head}: {text_fi}", f"{head}: {text_en}"
    elif code in _BILINGUAL_DETAIL and " / " in detail:
        # intake words these "<en> / <fi>" (KEY_NOT_CUSTOMER, REQUEST_OVER_LIMIT)
        detail_en, _, detail_fi = detail.rpartition(" / ")
    if code not in REFUSED_TITLES:
        fi, en = f"{fi} ({code})", f"{en} ({code})"
    return Text(code, f"{fi}: {detail_fi}", f"{en}: {detail_en}"), Text("replay", do_fi, do_en)


def refused_title(code: str) -> Text:
    fi, en, _ = REFUSED_TITLES.get(code, REFUSED_OTHER)
    if code not in REFUSED_TITLES:
        fi, en = f"{fi} ({code})", f"{en} ({code})"
    return Text(code, fi, en)
